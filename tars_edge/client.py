"""A small synchronous client for the daemon's socket, for the CLI and for scripts::

    from tars_edge.client import Client
    with Client.connect("/run/user/1000/tars-edge/tars.sock") as tars:
        print(tars.call("ask", {"text": "который час"})["text"])
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Self

from tars_edge.server import protocol as rpc


class DaemonUnavailable(ConnectionError):
    """No daemon answers at the socket path (not running, or not allowed to connect)."""


class RemoteError(rpc.RpcError):
    """The daemon answered with a JSON-RPC error (same fields as the error it sent)."""


class Client:
    def __init__(self, sock: socket.socket, path: Path, timeout: float | None = 330.0):
        self.sock = sock
        self.path = path
        self.sock.settimeout(timeout)
        self._reader = sock.makefile("rb")
        self._next_id = 0

    @classmethod
    def connect(cls, paths: str | Path | Iterable[str | Path],
                timeout: float | None = 330.0) -> Client:
        """Connect to the first path a daemon answers on."""
        candidates = [paths] if isinstance(paths, str | Path) else list(paths)
        reasons = []
        for path in candidates:
            path = Path(path)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(5.0)
            try:
                sock.connect(str(path))
                return cls(sock, path, timeout)
            except FileNotFoundError:
                reasons.append(f"{path}: no socket")
            except ConnectionRefusedError:
                reasons.append(f"{path}: nobody listening")
            except PermissionError:
                reasons.append(f"{path}: permission denied (join the socket's group)")
            except OSError as exc:
                reasons.append(f"{path}: {exc.strerror or exc}")
            sock.close()
        raise DaemonUnavailable("; ".join(reasons) or "no socket path given")

    def close(self) -> None:
        try:
            self._reader.close()
        finally:
            self.sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, method: str, params: dict | None = None) -> int:
        self._next_id += 1
        self.sock.sendall(rpc.encode(rpc.request_message(method, params, self._next_id)))
        return self._next_id

    def read(self) -> dict:
        line = self._reader.readline()
        if not line:
            raise DaemonUnavailable(f"{self.path}: the daemon closed the connection")
        return json.loads(line)

    def call(self, method: str, params: dict | None = None,
             on_notification: Callable[[str, dict], None] | None = None) -> Any:
        """Send one request and wait for its reply; notifications that arrive meanwhile
        (``ask.token``, ``event``) go to ``on_notification(method, params)``."""
        rid = self.send(method, params)
        while True:
            message = self.read()
            if "method" in message and "id" not in message:
                if on_notification is not None:
                    on_notification(message["method"], message.get("params") or {})
                continue
            if message.get("id") not in (rid, None):
                continue
            if "error" in message:
                error = message["error"]
                raise RemoteError(error.get("code", 0), error.get("message", ""), error.get("data"))
            return message.get("result")
