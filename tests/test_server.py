"""The JSON-RPC server on a real Unix socket, with stub methods: framing, every protocol error,
limits, slow and hostile clients, subscriptions, shutdown, and socket ownership."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tars_edge.server import protocol as rpc
from tars_edge.server.bus import EventBus
from tars_edge.server.server import Limits, RpcServer
from tars_edge.server.unix import SocketBusyError, claim_socket


# ---- a server in a background event loop --------------------------------------------------------
async def h_echo(params, call):
    return params


async def h_slow(params, call):
    await asyncio.sleep(params.get("s", 1.0))
    return "done"


async def h_stream(params, call):
    for i in range(params.get("n", 3)):
        call.notify("ask.token", {"id": call.id, "text": "x" * params.get("size", 1) + str(i)})
        if params.get("yield", True):
            await asyncio.sleep(0)
    return "streamed"


async def h_boom(params, call):
    raise RuntimeError("kaput\nsecond line")


async def h_nan(params, call):
    return float("nan")


class Running:
    def __init__(self, path: Path, limits: Limits):
        self.path = path
        self.bus = EventBus()
        self.loop = asyncio.new_event_loop()
        handlers = {"echo": h_echo, "slow": h_slow, "stream": h_stream, "boom": h_boom,
                    "nan": h_nan, "subscribe": self.h_subscribe}
        self.server = RpcServer(handlers, limits, self.bus)
        self.claim = claim_socket(path)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.run(self.server.start(self.claim.sock))

    async def h_subscribe(self, params, call):
        return {"topics": call.subscribe(self.bus, params["topics"])}

    def run(self, coro, timeout=30):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def publish(self, topic, data):
        self.loop.call_soon_threadsafe(self.bus.publish, topic, data)

    def stop(self, grace=0.5):
        if not self.server.stopping:
            self.run(self.server.shutdown(grace))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.claim.release()


@pytest.fixture
def serve(tmp_path):
    started = []

    def start(**limits) -> Running:
        base = {"write_timeout_s": 2.0, "line_timeout_s": 2.0, "idle_timeout_s": 60.0,
                "request_timeout_s": 30.0}
        base.update(limits)
        running = Running(tmp_path / f"s{len(started)}.sock", Limits(**base))
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


class Conn:
    """A raw line-level client."""

    def __init__(self, path: Path, timeout: float = 10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.file = self.sock.makefile("rb")

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, method, params=None, rid=1) -> None:
        msg = {"jsonrpc": "2.0", "method": method, "id": rid}
        if params is not None:
            msg["params"] = params
        self.send_raw(json.dumps(msg).encode() + b"\n")

    def read(self) -> dict | None:
        line = self.file.readline()
        return json.loads(line) if line else None

    def call(self, method, params=None, rid=1) -> dict:
        self.send(method, params, rid)
        return self.read()

    def close(self):
        self.file.close()
        self.sock.close()


def error_code(message: dict) -> int:
    return message["error"]["code"]


# ---- framing and protocol errors -----------------------------------------------------------------
def test_request_reply_and_notifications(serve):
    s = serve()
    c = Conn(s.path)
    assert c.call("echo", {"a": "привет"}, rid="x-1") == {"jsonrpc": "2.0", "id": "x-1",
                                                          "result": {"a": "привет"}}
    # a notification (no id) is never answered, not even an unknown method
    c.send_raw(b'{"jsonrpc":"2.0","method":"nope"}\n{"jsonrpc":"2.0","method":"echo"}\n')
    assert c.call("echo", {"n": 2}, rid=7)["id"] == 7
    # blank lines are ignored; a last line without its newline still counts after a half-close
    c.send_raw(b'\n\n{"jsonrpc":"2.0","method":"echo","id":3}')
    c.sock.shutdown(socket.SHUT_WR)
    assert c.read()["id"] == 3
    assert c.read() is None
    c.close()


@pytest.mark.parametrize("line, code", [
    (b"{not json}", rpc.PARSE_ERROR),
    (b'{"jsonrpc":"2.0","method":"echo","id":1,"params":{"t":"\xff\xfe"}}', rpc.PARSE_ERROR),
    (b"[" * 30000 + b"]" * 30000, rpc.PARSE_ERROR),  # deep nesting
    (b'{"jsonrpc":"2.0","method":"echo","id":' + b"9" * 5000 + b"}", rpc.PARSE_ERROR),
    (b'[{"jsonrpc":"2.0","method":"echo","id":1}]', rpc.INVALID_REQUEST),  # batch
    (b'"just a string"', rpc.INVALID_REQUEST),
    (b'{"method":"echo","id":1}', rpc.INVALID_REQUEST),
    (b'{"jsonrpc":"1.0","method":"echo","id":1}', rpc.INVALID_REQUEST),
    (b'{"jsonrpc":"2.0","method":"echo","id":{"a":1}}', rpc.INVALID_REQUEST),
    (b'{"jsonrpc":"2.0","method":"echo","id":true}', rpc.INVALID_REQUEST),
    (b'{"jsonrpc":"2.0","method":5,"id":1}', rpc.INVALID_REQUEST),
    (b'{"jsonrpc":"2.0","method":"echo","id":1,"params":[1,2]}', rpc.INVALID_PARAMS),
    (b'{"jsonrpc":"2.0","method":"nope","id":1}', rpc.METHOD_NOT_FOUND),
    (b'{"jsonrpc":"2.0","method":"boom","id":1}', rpc.INTERNAL_ERROR),
    (b'{"jsonrpc":"2.0","method":"nan","id":1}', rpc.INTERNAL_ERROR),
], ids=["bad-json", "bad-utf8", "deep", "huge-number", "batch", "string", "no-jsonrpc",
        "jsonrpc-1", "id-object", "id-bool", "method-int", "params-array", "unknown-method",
        "handler-raises", "nan-result"])
def test_protocol_errors_keep_the_connection(serve, line, code):
    s = serve()
    c = Conn(s.path)
    c.send_raw(line + b"\n")
    reply = c.read()
    assert error_code(reply) == code, reply
    assert "\n" not in reply["error"]["message"]
    assert c.call("echo", {"still": "here"})["result"] == {"still": "here"}
    c.close()


def test_unknown_method_lists_the_known_ones(serve):
    c = Conn(serve().path)
    reply = c.call("nope")
    assert "unknown method 'nope'" in reply["error"]["message"]
    assert "echo" in reply["error"]["message"]
    c.close()


def test_line_limit(serve):
    s = serve(max_line_bytes=4096)
    other = Conn(s.path)
    c = Conn(s.path)
    # exactly at the limit is fine
    pad = 4096 - len(b'{"jsonrpc":"2.0","method":"echo","id":1,"params":{"p":""}}')
    c.send_raw(b'{"jsonrpc":"2.0","method":"echo","id":1,"params":{"p":"' + b"a" * pad + b'"}}\n')
    assert len(c.read()["result"]["p"]) == pad
    c.send_raw(b'{"jsonrpc":"2.0","method":"echo","id":2,"params":{"p":"' + b"a" * 10000 + b'"}}\n')
    reply = c.read()
    assert error_code(reply) == rpc.LINE_TOO_LONG and reply["id"] is None
    assert "4096 bytes" in reply["error"]["message"]
    assert c.read() is None  # closed
    assert other.call("echo", {"ok": 1})["result"] == {"ok": 1}
    # a 10 MB line without a newline at all
    big = Conn(s.path)
    with pytest.raises(OSError):
        big.send_raw(b"x" * (10 << 20))
        big.read()
        big.send_raw(b"x")
    assert other.call("echo", {"ok": 2})["result"] == {"ok": 2}
    other.close()


# ---- limits and hostile clients ------------------------------------------------------------------
def test_inflight_limit_per_connection(serve):
    s = serve(max_inflight=2)
    c = Conn(s.path)
    for rid in (1, 2, 3):
        c.send("slow", {"s": 0.5}, rid)
    first = c.read()
    assert first["id"] == 3 and error_code(first) == rpc.BUSY
    assert {c.read()["id"], c.read()["id"]} == {1, 2}
    c.close()


def test_connection_limit(serve):
    s = serve(max_connections=2)
    a, b = Conn(s.path), Conn(s.path)
    assert a.call("echo")["result"] == {} and b.call("echo")["result"] == {}
    c = Conn(s.path)
    reply = c.read()
    assert error_code(reply) == rpc.BUSY and "too many connections" in reply["error"]["message"]
    assert c.read() is None
    a.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the freed slot is usable again
        d = Conn(s.path)
        reply = d.call("echo", {"x": 1})
        d.close()
        if "result" in reply:
            break
        time.sleep(0.05)
    assert reply["result"] == {"x": 1}
    b.close()


def test_request_timeout(serve):
    s = serve(request_timeout_s=0.2)
    c = Conn(s.path)
    reply = c.call("slow", {"s": 5})
    assert error_code(reply) == rpc.TIMEOUT and "slow took longer than 0.2 s" in reply["error"]["message"]
    assert c.call("echo")["result"] == {}
    c.close()


def test_slow_loris_is_cut_off_and_others_are_served(serve):
    s = serve(line_timeout_s=0.2)
    loris = Conn(s.path)
    loris.send_raw(b'{"jsonrpc":"2.0",')
    other = Conn(s.path)
    for i in range(5):
        assert other.call("echo", {"i": i})["result"] == {"i": i}
    reply = loris.read()
    assert error_code(reply) == rpc.INVALID_REQUEST and "not finished" in reply["error"]["message"]
    assert loris.read() is None
    other.close()


def test_idle_connection_is_closed_but_a_subscriber_is_not(serve):
    s = serve(idle_timeout_s=0.4, line_timeout_s=0.2)
    idle = Conn(s.path)
    subscriber = Conn(s.path)
    assert subscriber.call("subscribe", {"topics": ["timer"]})["result"] == {"topics": ["timer"]}
    assert idle.read() is None  # closed after ~0.4 s of silence
    time.sleep(0.6)
    s.publish("timer", {"type": "timer.fired"})
    event = subscriber.read()
    assert event["method"] == "event" and event["params"]["topic"] == "timer"
    subscriber.close()


def test_stalled_reader_is_dropped_without_blocking_others(serve):
    s = serve(write_timeout_s=0.3)
    stalled = Conn(s.path)
    stalled.send("stream", {"n": 3000, "size": 4000, "yield": False})  # ~12 MB never read
    other = Conn(s.path)
    for i in range(20):
        assert other.call("echo", {"i": i})["result"] == {"i": i}
    deadline = time.monotonic() + 20
    while s.server.connections and len(s.server.connections) > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(s.server.connections) == 1  # only `other` is left
    other.close()
    stalled.close()


def test_many_concurrent_clients(serve):
    s = serve(max_connections=64)
    errors: list = []

    def client(n: int) -> None:
        try:
            c = Conn(s.path)
            for i in range(10):
                c.send("stream", {"n": 2}, rid=i)
                tokens = [c.read(), c.read()]
                result = c.read()
                assert [t["params"]["id"] for t in tokens] == [i, i]
                assert result == {"jsonrpc": "2.0", "id": i, "result": "streamed"}
            c.close()
        except Exception as exc:  # noqa: BLE001 - collected, asserted below
            errors.append(f"client {n}: {exc!r}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []


def test_events_follow_topics(serve):
    s = serve()
    c = Conn(s.path)
    assert c.call("subscribe", {"topics": ["system", "timer"]})["result"]["topics"] == ["system", "timer"]
    s.publish("wake", {"n": 0})
    s.publish("system.overload", {"n": 1})
    s.publish("timer", {"n": 2})
    got = [c.read()["params"] for _ in range(2)]
    assert [(e["topic"], e["data"]["n"]) for e in got] == [("system.overload", 1), ("timer", 2)]
    c.close()


def test_shutdown_answers_in_flight_requests_and_refuses_new_ones(serve):
    s = serve()
    c = Conn(s.path)
    c.send("slow", {"s": 10}, rid=5)
    time.sleep(0.2)
    s.run(s.server.shutdown(0.2))
    reply = c.read()
    assert reply["id"] == 5 and error_code(reply) == rpc.SHUTTING_DOWN
    assert c.read() is None
    c.close()


# ---- params helpers -----------------------------------------------------------------------------------
def test_param_checks_name_the_param():
    with pytest.raises(rpc.RpcError, match="params.text is required"):
        rpc.text_param({}, "text")
    with pytest.raises(rpc.RpcError, match="params.text is empty"):
        rpc.text_param({"text": "  "}, "text")
    with pytest.raises(rpc.RpcError, match="params.k must be an integer"):
        rpc.param({"k": "5"}, "k", int)
    with pytest.raises(rpc.RpcError, match="params.k must be an integer"):
        rpc.param({"k": True}, "k", int)
    with pytest.raises(rpc.RpcError, match="params.k must be at most 100"):
        rpc.param({"k": 101}, "k", int, max=100)
    with pytest.raises(rpc.RpcError, match="params.tier must be one of auto, core"):
        rpc.param({"tier": "x"}, "tier", str, choices=("auto", "core"))
    with pytest.raises(rpc.RpcError, match="unknown params: txt"):
        rpc.check_unknown({"txt": 1}, ("text",))
    assert rpc.param({"t": 1}, "t", float) == 1.0
    assert rpc.tags_param({"tags": [" home "]}) == ["home"]


# ---- socket ownership -------------------------------------------------------------------------------------
def test_socket_mode_and_one_owner(tmp_path):
    path = tmp_path / "run" / "tars.sock"
    claim = claim_socket(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o660
    with pytest.raises(SocketBusyError, match=rf"another tars-edge daemon \(pid {os.getpid()}\)"):
        claim_socket(path)
    claim.release()
    assert not path.exists()


def test_stale_socket_is_replaced(tmp_path):
    path = tmp_path / "tars.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))  # a socket file nobody listens on, like after kill -9
    dead.close()
    claim = claim_socket(path)
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.connect(str(path))
    probe.close()
    claim.release()


def test_foreign_listener_or_file_is_left_alone(tmp_path):
    path = tmp_path / "tars.sock"
    live = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    live.bind(str(path))
    live.listen(1)
    with pytest.raises(SocketBusyError, match="another process is answering"):
        claim_socket(path)
    live.close()
    path.unlink()
    path.write_text("not a socket")
    with pytest.raises(SocketBusyError, match="exists and is not a socket"):
        claim_socket(path)
    assert path.read_text() == "not a socket"


# ---- fuzzed lines never escape the protocol's own errors -------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"jsonrpc": st.sampled_from(["2.0", "1.0", 2]),
                           "method": json_values | st.text(max_size=10),
                           "id": json_values, "params": json_values}
                          ).map(lambda v: json.dumps(v).encode()),
))
def test_parse_request_only_ever_raises_bad_request(line):
    try:
        request = rpc.parse_request(line)
    except rpc.BadRequest as bad:
        assert bad.error.code in (rpc.PARSE_ERROR, rpc.INVALID_REQUEST, rpc.INVALID_PARAMS)
        rpc.encode(rpc.error_message(bad.id, bad.error))  # the reply itself is sendable
    else:
        assert isinstance(request.method, str) and isinstance(request.params, dict)
