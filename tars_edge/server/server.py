"""The asyncio JSON-RPC server on a Unix socket.

Each connection has one reader loop and one writer task; requests run as their own tasks, so a
long ``ask`` does not hold up a ``status`` on the same or another connection. Limits
(docs/api.md) keep one client from hurting the others: a line of at most ``max_line_bytes``
(more gets error -32000 and the connection is closed), at most ``max_inflight`` requests per
connection and ``max_connections`` connections (-32001), a started line must finish within
``line_timeout_s``, a client that does not read its replies for ``write_timeout_s`` is dropped,
and a quiet connection with nothing running is closed after ``idle_timeout_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tars_edge.server import protocol as rpc
from tars_edge.server.bus import QUEUE_SIZE, EventBus, Subscription

log = logging.getLogger("tars_edge.server")
MAX_QUEUED_LINES = 20000  # outgoing lines a connection may have waiting before it is dropped


@dataclass
class Limits:
    max_line_bytes: int = 65536
    max_connections: int = 64
    max_inflight: int = 8
    idle_timeout_s: float = 600.0
    line_timeout_s: float = 10.0
    write_timeout_s: float = 10.0
    request_timeout_s: float = 300.0

    @classmethod
    def from_config(cls, daemon: dict) -> Limits:
        return cls(**{k: daemon[k] for k in cls.__dataclass_fields__})


class Call:
    """What a method handler sees of its request and connection."""

    def __init__(self, conn: Connection, request: rpc.Request):
        self.conn = conn
        self.request = request

    @property
    def id(self) -> Any:
        return self.request.id

    def notify(self, method: str, params: dict) -> None:
        """Send a notification on this connection (event loop thread only)."""
        self.conn.send(rpc.notification(method, params))

    def subscribe(self, bus: EventBus, topics: list[str]) -> list[str]:
        return self.conn.subscribe(bus, topics)

    def unsubscribe(self, topics: list[str] | None) -> list[str]:
        return self.conn.unsubscribe(topics)


Handler = Callable[[dict, Call], Awaitable[Any]]


class Connection:
    _next_id = 0

    def __init__(self, server: RpcServer, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter):
        Connection._next_id += 1
        self.id = Connection._next_id
        self.server = server
        self.reader = reader
        self.writer = writer
        self.limits = server.limits  # the limits in force when it connected
        self.outbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.tasks: set[asyncio.Task] = set()
        self.subscription: Subscription | None = None
        self.closing = False
        self.peer = self._peer_credentials()

    def _peer_credentials(self) -> str:
        sock = self.writer.get_extra_info("socket")
        try:
            creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            pid, uid, gid = struct.unpack("3i", creds)
            return f"pid={pid} uid={uid} gid={gid}"
        except (OSError, AttributeError):
            return "pid=? uid=? gid=?"

    # ---- output --------------------------------------------------------------------------
    def send(self, message: dict) -> None:
        if self.closing:
            return
        if self.outbox.qsize() >= MAX_QUEUED_LINES:
            log.warning("client not reading, dropping conn=%d %s", self.id, self.peer)
            self.abort()
            return
        try:
            line = rpc.encode(message)
        except ValueError:  # a NaN slipped into a result: say so instead of sending bad JSON
            line = rpc.encode(rpc.error_message(message.get("id"), rpc.RpcError(
                rpc.INTERNAL_ERROR, "internal error: the result was not valid JSON")))
        self.outbox.put_nowait(line)

    def send_event(self, event: dict) -> None:
        if self.subscription is None:
            return
        if self.outbox.qsize() >= QUEUE_SIZE:
            self.subscription.dropped += 1
            return
        params = dict(event)
        if self.subscription.dropped:
            params["dropped"] = self.subscription.dropped
            self.subscription.dropped = 0
        self.send(rpc.notification("event", params))

    async def writer_loop(self) -> None:
        try:
            while True:
                line = await self.outbox.get()
                if line is None:
                    break
                self.writer.write(line)
                await asyncio.wait_for(self.writer.drain(), self.limits.write_timeout_s)
        except TimeoutError:
            log.warning("client stopped reading for %.1fs, dropping conn=%d %s",
                        self.limits.write_timeout_s, self.id, self.peer)
            self.abort()
        except (ConnectionError, OSError):
            self.abort()

    def abort(self) -> None:
        self.closing = True
        for task in self.tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            self.writer.transport.abort()

    # ---- subscriptions ---------------------------------------------------------------------
    def subscribe(self, bus: EventBus, topics: list[str]) -> list[str]:
        if self.subscription is None:
            self.subscription = bus.subscribe(self.send_event, topics)
        else:
            self.subscription.topics.update(topics)
        return sorted(self.subscription.topics)

    def unsubscribe(self, topics: list[str] | None) -> list[str]:
        if self.subscription is None:
            return []
        if topics is None:
            self.subscription.topics.clear()
        else:
            self.subscription.topics.difference_update(topics)
        return sorted(self.subscription.topics)

    # ---- input -----------------------------------------------------------------------------
    def _busy(self) -> bool:
        return bool(self.tasks) or bool(self.subscription and self.subscription.topics)

    async def read_line(self) -> bytes | None:
        """The next line; None at EOF or when the connection should be closed quietly.

        Wakes up once per ``line_timeout_s`` at most (no polling at rest): a partial line
        still unfinished at two consecutive wake-ups is a stalled or slow-loris client."""
        limits = self.limits
        wait = limits.line_timeout_s
        idle = 0.0
        partial_seen = False
        while True:
            try:
                return await asyncio.wait_for(self.reader.readuntil(b"\n"), wait)
            except asyncio.IncompleteReadError as exc:
                return exc.partial if exc.partial.strip() else None  # last line, no newline
            except TimeoutError:
                if len(getattr(self.reader, "_buffer", b"")):
                    if partial_seen:
                        log.info("line not finished in time, closing conn=%d %s",
                                 self.id, self.peer)
                        self.send(rpc.error_message(None, rpc.RpcError(
                            rpc.INVALID_REQUEST,
                            f"a request line was not finished within {wait:g} s; "
                            "connection closed")))
                        return None
                    partial_seen = True
                    continue
                partial_seen = False
                idle = 0.0 if self._busy() else idle + wait
                if limits.idle_timeout_s and idle >= limits.idle_timeout_s:
                    log.debug("idle, closing conn=%d", self.id)
                    return None

    async def serve(self) -> None:
        writer_task = asyncio.create_task(self.writer_loop())
        log.debug("connected conn=%d %s", self.id, self.peer)
        try:
            while not self.closing:
                try:
                    line = await self.read_line()
                except asyncio.LimitOverrunError:
                    self.send(rpc.error_message(None, rpc.RpcError(
                        rpc.LINE_TOO_LONG,
                        f"request line longer than {self.limits.max_line_bytes} bytes; "
                        "connection closed")))
                    log.info("line too long, closing conn=%d %s", self.id, self.peer)
                    break
                except (ConnectionError, OSError):
                    break
                if line is None:
                    break
                if not line.strip():
                    continue
                self.handle_line(line)
        finally:
            await self.close(writer_task)

    def handle_line(self, line: bytes) -> None:
        try:
            request = rpc.parse_request(line)
        except rpc.BadRequest as bad:
            self.send(rpc.error_message(bad.id, bad.error))
            return
        if self.server.stopping:
            if not request.notification:
                self.send(rpc.error_message(request.id, rpc.RpcError(
                    rpc.SHUTTING_DOWN, "the daemon is shutting down; try again when it is back")))
            return
        if len(self.tasks) >= self.limits.max_inflight:
            if not request.notification:
                self.send(rpc.error_message(request.id, rpc.RpcError(
                    rpc.BUSY, f"too many requests in flight on this connection "
                              f"({self.limits.max_inflight}); wait for a reply first")))
            return
        task = asyncio.create_task(self.server.run_request(self, request))
        self.tasks.add(task)
        self.server.inflight.add(task)
        task.add_done_callback(self.tasks.discard)
        task.add_done_callback(self.server.inflight.discard)

    async def close(self, writer_task: asyncio.Task) -> None:
        if self.subscription is not None:
            self.server.bus.unsubscribe(self.subscription)
            self.subscription = None
        # EOF may be a half-close (`printf ... | socat - UNIX:...`): requests still get their
        # replies. A client that is really gone fails the next write and is aborted, which
        # cancels its requests (a streaming ask notices at its next token).
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        self.outbox.put_nowait(None)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer_task, self.limits.write_timeout_s)
        self.closing = True
        with contextlib.suppress(Exception):
            self.writer.close()
            await asyncio.wait_for(self.writer.wait_closed(), 1.0)
        self.server.connections.discard(self)
        log.debug("closed conn=%d", self.id)


class RpcServer:
    def __init__(self, handlers: dict[str, Handler], limits: Limits, bus: EventBus):
        self.handlers = handlers
        self.limits = limits
        self.bus = bus
        self.connections: set[Connection] = set()
        self.inflight: set[asyncio.Task] = set()
        self.stopping = False
        self._server: asyncio.AbstractServer | None = None
        self._conn_tasks: set[asyncio.Task] = set()
        self.requests = 0
        self.errors = 0

    async def start(self, sock: socket.socket) -> None:
        self.bus.bind(asyncio.get_running_loop())
        self._server = await asyncio.start_unix_server(
            self._accept, sock=sock, limit=self.limits.max_line_bytes
        )

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.stopping or len(self.connections) >= self.limits.max_connections:
            reason = ("the daemon is shutting down" if self.stopping else
                      f"too many connections ({self.limits.max_connections}); try again later")
            code = rpc.SHUTTING_DOWN if self.stopping else rpc.BUSY
            with contextlib.suppress(Exception):
                writer.write(rpc.encode(rpc.error_message(None, rpc.RpcError(code, reason))))
                await asyncio.wait_for(writer.drain(), 1.0)
                writer.close()
            return
        conn = Connection(self, reader, writer)
        self.connections.add(conn)
        task = asyncio.current_task()
        self._conn_tasks.add(task)
        try:
            await conn.serve()
        finally:
            self._conn_tasks.discard(task)

    async def run_request(self, conn: Connection, request: rpc.Request) -> None:
        self.requests += 1
        started = time.perf_counter()
        handler = self.handlers.get(request.method)
        try:
            if handler is None:
                raise rpc.RpcError(rpc.METHOD_NOT_FOUND,
                                   f"unknown method {request.method[:64]!r}; known: "
                                   f"{', '.join(sorted(self.handlers))}")
            result = await asyncio.wait_for(handler(request.params, Call(conn, request)),
                                            conn.limits.request_timeout_s)
            if not request.notification:
                conn.send(rpc.result_message(request.id, result))
        except rpc.RpcError as exc:
            self.errors += 1
            if not request.notification:
                conn.send(rpc.error_message(request.id, exc))
        except TimeoutError:
            self.errors += 1
            if not request.notification:
                conn.send(rpc.error_message(request.id, rpc.RpcError(
                    rpc.TIMEOUT, f"{request.method} took longer than "
                                 f"{conn.limits.request_timeout_s:g} s and was stopped")))
        except asyncio.CancelledError:
            if self.stopping and not request.notification:
                conn.send(rpc.error_message(request.id, rpc.RpcError(
                    rpc.SHUTTING_DOWN, "the daemon is shutting down; the request was stopped")))
            raise
        except Exception as exc:  # a bug must cost one request, never the daemon
            self.errors += 1
            log.exception("internal error method=%s conn=%d", request.method, conn.id)
            if not request.notification:
                first = str(exc).splitlines()[0][:200] if str(exc) else ""
                conn.send(rpc.error_message(request.id, rpc.RpcError(
                    rpc.INTERNAL_ERROR, f"internal error: {type(exc).__name__}: {first}")))
        finally:
            log.debug("request method=%s conn=%d ms=%.1f", request.method, conn.id,
                      (time.perf_counter() - started) * 1e3)

    async def shutdown(self, grace_s: float) -> None:
        """Stop accepting, let in-flight requests finish for ``grace_s``, cancel the rest
        (their clients get -32003), flush replies, close every connection."""
        self.stopping = True
        if self._server is not None:
            self._server.close()
        if self.inflight:
            _, pending = await asyncio.wait(set(self.inflight), timeout=grace_s)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=2.0)
        for conn in list(self.connections):
            conn.outbox.put_nowait(None)
        # connections close once their writer has flushed
        for conn in list(self.connections):
            with contextlib.suppress(Exception):
                conn.reader.feed_eof()
        if self._conn_tasks:
            await asyncio.wait(set(self._conn_tasks), timeout=self.limits.write_timeout_s)
        for conn in list(self.connections):
            conn.abort()
