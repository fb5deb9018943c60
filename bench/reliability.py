"""Reliability of the daemon under load, hostile input, hostile clients and kill -9
(DESIGN §9, docs/reliability.md). Everything runs against a real `tars-edge serve` process on a
temporary Unix socket and state directory, with the committed bundle.

    nice -n 5 python bench/reliability.py                        # the full run: one JSON object
    python bench/reliability.py --clients 32 --requests 5000 --fuzz 10000 --kill-rounds 3
    python bench/reliability.py --only load,fuzz

Parts (``--only``):
  load     N concurrent clients, M requests mixing ask / remember / recall / status; every
           reply checked (id, shape); protocol errors counted; latency p50/p99 per method
  fuzz     property-based hostile lines (hypothesis): invalid UTF-8, deep nesting, huge numbers,
           wrong types, real methods with wrong params, lines split in pieces or never finished;
           after every case a bystander must still be answered and no reply may be -32603
  hostile  slow-loris writers, stalled readers, 10 MB lines and a connection flood while a
           bystander keeps asking: its latency, and how long each attacker survives
  kill9    writers storm `remember`; the daemon is SIGKILLed; after a restart every
           acknowledged memory must be in memory.db and PRAGMA integrity_check must say ok

tests/test_reliability.py imports the same functions and runs small versions of each part.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Self

import numpy as np
from tqdm import tqdm

REPO = Path(__file__).resolve().parent.parent
DEFAULT_BUNDLE = Path(os.environ.get("TARS_EDGE_TEST_BUNDLE", REPO / "models"))
METHODS = ("ask", "remember", "recall", "forget", "status", "sensors.list", "events.subscribe",
           "events.unsubscribe", "session.reset", "timers.list", "timers.cancel")
# Hostile-friendly limits: attackers are cut off in seconds rather than minutes, and a fuzzed
# `ask` that reaches the core model is short and bounded.
DAEMON_CONFIG = """
[daemon]
max_connections = 64
line_timeout_s = 1.0
write_timeout_s = 2.0
request_timeout_s = 5.0
[core]
max_tokens = 8
"""


# ---- a daemon process ------------------------------------------------------------------------------
class ServedDaemon:
    """`tars-edge serve` in a child process on ``root/tars.sock`` and ``root/state``."""

    def __init__(self, root: Path, config: str = DAEMON_CONFIG, bundle: Path = DEFAULT_BUNDLE,
                 command: list[str] | None = None):
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.socket = root / "tars.sock"
        self.state = root / "state"
        self.config = root / "config.toml"
        self.config.write_text(config)
        self.bundle = bundle
        self.logfile = root / "daemon.log"
        self.proc: subprocess.Popen | None = None
        self.env = {**os.environ, "XDG_CONFIG_HOME": str(root / "xdg"),
                    "XDG_RUNTIME_DIR": str(root / "run"), "PYTHONUNBUFFERED": "1"}
        for key in ("TARS_EDGE_CONFIG", "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
            self.env.pop(key, None)
        self.command = command or [
            sys.executable, "-m", "tars_edge.cli", "serve", "--socket", str(self.socket),
            "--state-dir", str(self.state), "--config", str(self.config),
            "--bundle", str(self.bundle)]

    def start(self, timeout: float = 90.0) -> ServedDaemon:
        with open(self.logfile, "ab") as log:
            self.proc = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT,
                                         env=self.env, cwd=self.root)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited {self.proc.returncode}:\n{self.log()[-3000:]}")
            try:
                with LineClient(self.socket, timeout=5) as c:
                    if "result" in c.call("status"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"daemon not ready in {timeout:g} s:\n{self.log()[-3000:]}")

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def log(self) -> str:
        return self.logfile.read_text(errors="replace") if self.logfile.exists() else ""


class LineClient:
    """One JSON line per request; replies matched by id, notifications skipped."""

    def __init__(self, path: Path, timeout: float = 30.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.file = self.sock.makefile("rb")
        self.next_id = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def call(self, method: str, params: dict | None = None) -> dict:
        self.next_id += 1
        rid = self.next_id
        msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        self.sock.sendall(json.dumps(msg, ensure_ascii=False).encode() + b"\n")
        while True:
            line = self.file.readline()
            if not line:
                raise ConnectionError(f"closed while waiting for the reply to {method}")
            reply = json.loads(line)
            if reply.get("id") == rid:
                return reply
            if "id" in reply:
                raise ProtocolViolation(f"reply for id {reply.get('id')!r}, expected {rid}")

    def close(self) -> None:
        for closer in (self.file.close, self.sock.close):
            try:
                closer()
            except OSError:
                pass


class ProtocolViolation(AssertionError):
    """The daemon sent something the protocol (docs/api.md) does not allow."""


def check_message(msg: object) -> None:
    """One message from the daemon must be a well-formed reply or notification, and an error
    must be one line; -32603 (a bug) is a violation for any input."""
    if not isinstance(msg, dict) or msg.get("jsonrpc") != "2.0":
        raise ProtocolViolation(f"not a JSON-RPC 2.0 object: {msg!r:.200}")
    if "method" in msg:
        if msg["method"] not in ("ask.token", "event") or not isinstance(msg.get("params"), dict):
            raise ProtocolViolation(f"bad notification: {msg!r:.200}")
        return
    if "id" not in msg or ("result" in msg) == ("error" in msg):
        raise ProtocolViolation(f"a reply needs an id and one of result/error: {msg!r:.200}")
    if "error" in msg:
        error = msg["error"]
        if not isinstance(error.get("code"), int) or not isinstance(error.get("message"), str) \
                or "\n" in error["message"] or not error["message"]:
            raise ProtocolViolation(f"bad error object: {msg!r:.200}")
        if error["code"] == -32603:
            raise ProtocolViolation(f"internal error (a bug): {error['message']}")


# ---- load -------------------------------------------------------------------------------------------
ASK_TEXTS = ("what time is it", "который час", "привет", "hello", "сколько свободной памяти",
             "what's the date today", "where is the spare key?", "thank you")
RECALL_QUERIES = ("spare key", "where did I park", "doctor", "wifi password", "ключ от гаража")


def _check_result(method: str, result: object) -> bool:
    if method == "ask":
        return isinstance(result, dict) and isinstance(result.get("text"), str) \
            and result.get("tier") in ("reflex", "memo", "memory", "core")
    if method == "remember":
        return isinstance(result, dict) and isinstance(result.get("id"), int)
    if method == "recall":
        return isinstance(result, dict) and isinstance(result.get("results"), list)
    if method == "status":
        return isinstance(result, dict) and "uptime_s" in result and "server" in result
    return True


def _load_params(method: str, i: int, client: int, rng: random.Random) -> dict | None:
    if method == "ask":
        return {"text": rng.choice(ASK_TEXTS), "session": f"load{client}"}
    if method == "remember":
        return {"text": f"load fact {i}: box {i} is on shelf {i % 13}", "tags": ["load"]}
    if method == "recall":
        return {"query": rng.choice(RECALL_QUERIES), "k": 3}
    return None


def run_load(path: Path, clients: int = 32, requests: int = 5000, seed: int = 0,
             progress: bool = True) -> dict:
    """``clients`` threads, each on its own connection, share ``requests`` calls; the mix is
    45 % ask, 20 % remember, 20 % recall, 15 % status. Returns counts and latencies (ms)."""
    rng = random.Random(seed)
    plan = rng.choices(("ask", "remember", "recall", "status"), (45, 20, 20, 15), k=requests)
    with LineClient(path) as c:  # a fact for "where is the spare key?" to find
        c.call("remember", {"text": "the spare key is under the mat", "tags": ["load"]})
    lock = threading.Lock()
    cursor = iter(enumerate(plan))
    latency: dict[str, list[float]] = defaultdict(list)
    tiers: dict[str, int] = defaultdict(int)
    errors: dict[str, int] = defaultdict(int)
    violations: list[str] = []
    bar = tqdm(total=requests, desc="load", unit="req", disable=not progress)

    def worker(n: int) -> None:
        local = random.Random(seed * 1000 + n)
        try:
            with LineClient(path, timeout=60) as c:
                while True:
                    with lock:
                        item = next(cursor, None)
                    if item is None:
                        return
                    i, method = item
                    params = _load_params(method, i, n, local)
                    t = time.perf_counter()
                    reply = c.call(method, params)
                    ms = (time.perf_counter() - t) * 1e3
                    check_message(reply)
                    with lock:
                        latency[method].append(ms)
                        if "error" in reply:
                            errors[f"{method} {reply['error']['code']}"] += 1
                        elif not _check_result(method, reply["result"]):
                            violations.append(f"{method}: unexpected result {reply['result']!r:.100}")
                        elif method == "ask":
                            tiers[reply["result"]["tier"]] += 1
                        bar.update()
        except (OSError, ValueError, ProtocolViolation) as exc:
            with lock:
                violations.append(f"client {n}: {type(exc).__name__}: {exc}")

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    bar.close()
    everything = [ms for values in latency.values() for ms in values]

    def pct(values: list[float], q: float) -> float | None:
        return round(float(np.percentile(values, q)), 2) if values else None

    return {
        "load_clients": clients, "load_requests": len(everything), "load_wall_s": round(wall, 2),
        "load_throughput_rps": round(len(everything) / wall, 1),
        "load_protocol_errors": len(violations), "load_error_replies": sum(errors.values()),
        "load_p50_ms": pct(everything, 50), "load_p99_ms": pct(everything, 99),
        **{f"load_{m}_p50_ms": pct(v, 50) for m, v in sorted(latency.items())},
        **{f"load_{m}_p99_ms": pct(v, 99) for m, v in sorted(latency.items())},
        "load_ask_tiers": dict(tiers), "load_errors": dict(errors),
        "load_violations": violations[:10],
    }


# ---- fuzz -------------------------------------------------------------------------------------------
def fuzz_strategy():
    """Hostile connections: each example is a list of byte chunks sent in order on one
    connection, which is then half-closed."""
    from hypothesis import strategies as st

    scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
               | st.text(max_size=40) | st.sampled_from(["", " ", "\u0000", "ы" * 50, "-1"]))
    values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                          max_leaves=12)
    param_names = st.sampled_from(["text", "query", "k", "tags", "id", "topics", "session",
                                   "stream", "max_tokens", "temperature", "seed", "speculative",
                                   "tier", "zzz"])
    params = st.dictionaries(param_names, values, max_size=5) | values
    ids = st.none() | st.integers() | st.text(max_size=8) | st.floats() | values
    request = st.fixed_dictionaries(
        {"jsonrpc": st.sampled_from(["2.0", "2.0", "2.0", "1.0", 2]),
         "method": st.sampled_from(METHODS) | st.text(max_size=12) | values},
        optional={"id": ids, "params": params})

    # well-formed calls of the real methods with near-valid params: they get past the
    # framing and exercise the handlers (text that reaches the core, odd tags, edge numbers)
    text = st.text(min_size=0, max_size=120)
    numbers = st.integers(-3, 40) | st.sampled_from([0, -1, 2**63, 10**20, 8193]) | st.floats()
    tags = st.lists(text | st.integers(), max_size=4) | values
    method_params = st.one_of(
        st.fixed_dictionaries({"text": text}, optional={
            "session": text, "stream": st.booleans(), "max_tokens": numbers,
            "temperature": numbers, "seed": numbers, "speculative": st.booleans() | values,
            "tier": st.sampled_from(["auto", "core", "reflex", ""])}).map(lambda p: ("ask", p)),
        st.fixed_dictionaries({"text": text}, optional={"tags": tags}).map(
            lambda p: ("remember", p)),
        st.fixed_dictionaries({"query": text}, optional={"k": numbers, "tags": tags}).map(
            lambda p: ("recall", p)),
        st.fixed_dictionaries({"id": numbers}).map(lambda p: ("forget", p)),
        st.fixed_dictionaries({"id": numbers}).map(lambda p: ("timers.cancel", p)),
        st.fixed_dictionaries({"topics": st.lists(st.sampled_from(["*", "timer", "a..b", ""])
                                                  | text, max_size=3)}).map(
            lambda p: ("events.subscribe", p)),
        st.fixed_dictionaries({"session": text | values}).map(lambda p: ("session.reset", p)),
        st.sampled_from(["status", "sensors.list", "timers.list", "events.unsubscribe"]).map(
            lambda m: (m, {})),
    )
    real_call = st.tuples(method_params, st.integers(0, 10**6)).map(
        lambda pair: {"jsonrpc": "2.0", "id": pair[1], "method": pair[0][0],
                      "params": pair[0][1]})

    def dumps(obj) -> bytes:
        return json.dumps(obj, ensure_ascii=False).encode("utf-8", "surrogatepass")

    deep = st.integers(1, 30000).map(lambda n: b"[" * n + b"]" * n)
    deep_params = st.integers(100, 20000).map(
        lambda n: b'{"jsonrpc":"2.0","id":1,"method":"ask","params":{"text":' + b"[" * n
        + b"]" * n + b"}}")
    huge_number = st.sampled_from([b"9" * 5000, b"1e400", b"-1e400", b"1" + b"0" * 400,
                                   b"0." + b"1" * 5000]).map(
        lambda n: b'{"jsonrpc":"2.0","method":"recall","id":' + n + b',"params":{"query":"x",'
        b'"k":' + n + b"}}")
    bad_utf8 = st.binary(min_size=1, max_size=8).map(
        lambda b: b'{"jsonrpc":"2.0","id":1,"method":"remember","params":{"text":"'
        + b + b'\xff\xfe"}}')
    line = st.one_of(real_call.map(dumps), real_call.map(dumps), request.map(dumps),
                     st.binary(max_size=300), deep, deep_params,
                     huge_number, bad_utf8, values.map(dumps),
                     st.just(b"\r"), st.just(b""), st.just(b" " * 100))
    ending = st.sampled_from([b"\n", b"\n", b"\n", b"\r\n", b""])
    lines = st.lists(st.tuples(line, ending), min_size=1, max_size=4).map(
        lambda items: b"".join(body + end for body, end in items))

    def split(data_and_cuts):
        data, cuts = data_and_cuts
        points = sorted({c % (len(data) + 1) for c in cuts})
        return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=False)
                if data[a:b]]

    return st.tuples(lines, st.lists(st.integers(0, 10**6), max_size=3)).map(split)


def send_case(path: Path, chunks: list[bytes], timeout: float = 15.0) -> list[dict]:
    """Send the chunks, half-close, read every reply until the daemon closes; each reply is
    checked with :func:`check_message`."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(str(path))
    try:
        try:
            for chunk in chunks:
                sock.sendall(chunk)
            sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the daemon closed first (a line over the limit): read what it said
        data = bytearray()
        while True:
            try:
                block = sock.recv(65536)
            except ConnectionResetError:
                break
            if not block:
                break
            data += block
    finally:
        sock.close()
    replies = []
    for raw in bytes(data).splitlines():
        try:
            msg = json.loads(raw)
        except ValueError:
            raise ProtocolViolation(f"the daemon sent a line that is not JSON: {raw[:200]!r}") \
                from None
        check_message(msg)
        replies.append(msg)
    return replies


def run_fuzz(daemon: ServedDaemon, cases: int = 10000, seed: int = 0,
             progress: bool = True) -> dict:
    """``cases`` hypothesis examples against the daemon; after each, a bystander connection
    must still get its `status` answered. Raises on the first violation (after shrinking)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hseed

    counts = {"cases": 0, "replies": 0, "results": 0, "error_codes": defaultdict(int),
              "bytes": 0}
    bystander = LineClient(daemon.socket, timeout=30)
    bar = tqdm(total=cases, desc="fuzz", unit="case", disable=not progress)

    @hseed(seed)
    @settings(max_examples=cases, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(fuzz_strategy())
    def case(chunks):
        replies = send_case(daemon.socket, chunks)
        counts["cases"] += 1
        counts["bytes"] += sum(map(len, chunks))
        counts["replies"] += len(replies)
        for r in replies:
            if "error" in r:
                counts["error_codes"][r["error"]["code"]] += 1
            elif "result" in r:
                counts["results"] += 1
        assert daemon.alive, f"the daemon died:\n{daemon.log()[-2000:]}"
        reply = bystander.call("status")
        assert "result" in reply, reply
        bar.update()

    started = time.perf_counter()
    try:
        case()
    finally:
        bar.close()
        bystander.close()
    return {"fuzz_cases": counts["cases"], "fuzz_replies": counts["replies"],
            "fuzz_results": counts["results"],
            "fuzz_bytes": counts["bytes"], "fuzz_wall_s": round(time.perf_counter() - started, 1),
            "fuzz_error_codes": {str(k): v for k, v in sorted(counts["error_codes"].items())},
            "fuzz_daemon_alive": daemon.alive}


# ---- hostile clients --------------------------------------------------------------------------------
def slow_loris(path: Path, stop: threading.Event, every_s: float = 0.2) -> float:
    """Dribble one byte of a never-finished request every ``every_s``; seconds until the
    daemon cut the connection."""
    started = time.monotonic()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(60)
        s.connect(str(path))
        s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"ask","params":{"text":"')
        try:
            while not stop.is_set():
                s.sendall(b"a")
                time.sleep(every_s)
        except OSError:
            pass
    return time.monotonic() - started


def stalled_reader(path: Path, requests: int = 20000) -> float:
    """Pipeline many `status` requests and never read a reply; seconds until the daemon
    dropped the connection (a send fails)."""
    started = time.monotonic()
    line = b'{"jsonrpc":"2.0","id":1,"method":"status"}\n'
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(60)
        s.connect(str(path))
        try:
            for _ in range(requests):
                s.sendall(line * 50)
        except OSError:
            return time.monotonic() - started
    return float("nan")  # never dropped: the caller reports it


def huge_line(path: Path, size: int = 10 << 20) -> dict | None:
    """One line of ``size`` bytes; the daemon's answer (-32000) or None if it just closed."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.connect(str(path))
        try:
            s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"ask","params":{"text":"'
                      + b"x" * size + b'"}}\n')
        except OSError:
            pass
        data = b""
        try:
            while chunk := s.recv(65536):
                data += chunk
        except OSError:
            pass
    return json.loads(data.splitlines()[0]) if data.strip() else None


def _first_reply(path: Path) -> tuple[socket.socket, dict]:
    """Connect, ask `sensors.list`, return the socket and the first line the daemon sent (a
    refused connection gets an error with id null)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(str(path))
    try:
        s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"sensors.list"}\n')
    except OSError:
        pass  # refused and closed already; its one line may still be there to read
    line = b""
    while not line.endswith(b"\n"):
        try:
            chunk = s.recv(1)
        except OSError:
            break
        if not chunk:
            break
        line += chunk
    return s, json.loads(line) if line.strip() else {}


def connection_flood(path: Path, limit: int) -> dict:
    """Open connections until the daemon refuses one; then free one slot and connect again."""
    opened: list[socket.socket] = []
    refused = None
    try:
        for _ in range(limit + 5):
            s, reply = _first_reply(path)
            if "result" not in reply:
                refused = reply.get("error")
                s.close()
                break
            opened.append(s)
        held = len(opened)
        opened.pop().close()
        deadline = time.monotonic() + 10
        again = {}
        while time.monotonic() < deadline:  # the daemon notices the hang-up within moments
            s, again = _first_reply(path)
            s.close()
            if "result" in again:
                break
            time.sleep(0.05)
        return {"held": held, "refused": refused, "after_freeing_one": again}
    finally:
        for s in opened:
            s.close()


def run_hostile(daemon: ServedDaemon, attackers: int = 4, huge_lines: int = 3,
                bystander_calls: int = 200, progress: bool = True) -> dict:
    """Slow-loris writers, stalled readers and 10 MB lines at once, while a bystander asks;
    then a connection flood up to the limit."""
    stop = threading.Event()
    results: dict[str, list] = defaultdict(list)
    lock = threading.Lock()

    def attack(kind: str, fn, *args) -> None:
        value = fn(*args)
        with lock:
            results[kind].append(value)

    threads = [threading.Thread(target=attack, args=("loris_s", slow_loris, daemon.socket, stop))
               for _ in range(attackers)]
    threads += [threading.Thread(target=attack, args=("stalled_s", stalled_reader, daemon.socket))
                for _ in range(attackers)]
    threads += [threading.Thread(target=attack, args=("huge", huge_line, daemon.socket))
                for _ in range(huge_lines)]
    for t in threads:
        t.start()
    latency = []
    with LineClient(daemon.socket, timeout=30) as c:
        for _ in tqdm(range(bystander_calls), desc="bystander", disable=not progress):
            t = time.perf_counter()
            reply = c.call("ask", {"text": "what time is it"})
            latency.append((time.perf_counter() - t) * 1e3)
            check_message(reply)
            assert reply["result"]["tier"] == "reflex", reply
            time.sleep(0.01)
    stop.set()
    for t in threads:
        t.join(120)
    with LineClient(daemon.socket) as c:
        status = c.call("status")["result"]
    flood = connection_flood(daemon.socket, limit=64)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the flood's hang-ups noticed: back to one client
        try:
            with LineClient(daemon.socket) as c:
                if c.call("status")["result"]["server"]["connections"] <= 1:
                    break
        except (OSError, ProtocolViolation):
            pass  # refused: the daemon has not yet noticed all the hang-ups
        time.sleep(0.05)
    huge = results["huge"]
    return {
        "hostile_bystander_calls": len(latency),
        "hostile_bystander_p50_ms": round(float(np.percentile(latency, 50)), 2),
        "hostile_bystander_p99_ms": round(float(np.percentile(latency, 99)), 2),
        "hostile_loris_cut_after_s": round(max(results["loris_s"]), 2),
        "hostile_stalled_dropped_after_s": round(max(results["stalled_s"]), 2),
        "hostile_huge_line_codes": [h["error"]["code"] if h else None for h in huge],
        "hostile_connections_after": status["server"]["connections"],
        "flood_connections_held": flood["held"],
        "flood_refused_code": flood["refused"]["code"] if flood["refused"] else None,
        "flood_slot_reusable": "result" in (flood["after_freeing_one"] or {}),
        "hostile_daemon_alive": daemon.alive,
    }


# ---- kill -9 during a write storm --------------------------------------------------------------
def remember_storm(path: Path, writers: int, stop: threading.Event, acked: list,
                   lock: threading.Lock) -> list[threading.Thread]:
    """Writer threads that `remember` unique texts until ``stop`` or the daemon dies; each
    (id, text) whose reply arrived goes into ``acked``."""

    def writer(n: int) -> None:
        i = 0
        while not stop.is_set():
            try:
                with LineClient(path, timeout=30) as c:
                    while not stop.is_set():
                        text = f"storm writer {n} fact {i}: crate {n}-{i} is in bay {i % 17}"
                        i += 1
                        reply = c.call("remember", {"text": text, "tags": ["storm"]})
                        if "result" in reply:
                            with lock:
                                acked.append((reply["result"]["id"], text))
            except (OSError, ValueError, ProtocolViolation):
                # refused (busy, id null) or the daemon was killed mid-request: that one was
                # never acknowledged; try again until told to stop
                time.sleep(0.05)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    return threads


def check_memories(db: Path, acked: list[tuple[int, str]]) -> dict:
    """Every acknowledged (id, text) in the database, and SQLite's integrity verdict."""
    conn = sqlite3.connect(str(db), timeout=10)
    try:
        stored = dict(conn.execute("SELECT id, text FROM memories"))
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()
    missing = [(i, t) for i, t in acked if stored.get(i) != t]
    return {"stored": len(stored), "missing": len(missing), "integrity": integrity,
            "missing_examples": missing[:3]}


def kill9_round(daemon: ServedDaemon, writers: int = 8, acks_before_kill: int = 200) -> dict:
    stop, lock, acked = threading.Event(), threading.Lock(), []
    threads = remember_storm(daemon.socket, writers, stop, acked, lock)
    deadline = time.monotonic() + 300
    while len(acked) < acks_before_kill and time.monotonic() < deadline:
        time.sleep(0.01)
    daemon.kill9()  # while the writers are still writing
    stop.set()
    for t in threads:
        t.join(60)
    with lock:
        acked = list(acked)
    daemon.start()  # recovers the WAL, replaces the stale socket
    verdict = check_memories(daemon.state / "memory.db", acked)
    with LineClient(daemon.socket) as c:  # and the daemon itself finds them
        probe = acked[-1][1] if acked else "crate"
        found = c.call("recall", {"query": probe, "k": 5, "tags": ["storm"]})["result"]["results"]
    verdict["acked"] = len(acked)
    verdict["last_ack_recalled"] = any(r["text"] == probe for r in found)
    return verdict


def run_kill9(daemon: ServedDaemon, rounds: int = 3, writers: int = 8,
              acks_before_kill: int = 200, progress: bool = True) -> dict:
    totals = {"acked": 0, "missing": 0, "integrity_ok": 0, "recalled": 0}
    for _ in tqdm(range(rounds), desc="kill -9", disable=not progress):
        r = kill9_round(daemon, writers, acks_before_kill)
        totals["acked"] += r["acked"]
        totals["missing"] += r["missing"]
        totals["integrity_ok"] += r["integrity"] == "ok"
        totals["recalled"] += r["last_ack_recalled"]
    return {"kill9_rounds": rounds, "kill9_acked": totals["acked"],
            "kill9_missing": totals["missing"], "kill9_integrity_ok_rounds": totals["integrity_ok"],
            "kill9_last_ack_recalled_rounds": totals["recalled"]}


# ---- the command ------------------------------------------------------------------------------------
PARTS = ("load", "fuzz", "hostile", "kill9")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[1:]))
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--fuzz", type=int, default=10000, help="hypothesis cases")
    parser.add_argument("--kill-rounds", type=int, default=3)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", metavar="PART,...", help=f"some of {','.join(PARTS)}")
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    only = set(args.only.split(",")) if args.only else set(PARTS)
    if only - set(PARTS):
        parser.error(f"unknown part(s): {', '.join(sorted(only - set(PARTS)))}")
    root = Path(tempfile.mkdtemp(prefix="tars-reliability-"))
    out: dict = {"cpu_count": os.cpu_count(), "load_avg_start": os.getloadavg()[0]}
    daemon = ServedDaemon(root / "d", bundle=args.bundle).start()
    try:
        if "load" in only:
            out |= run_load(daemon.socket, args.clients, args.requests, args.seed)
        if "fuzz" in only:
            out |= run_fuzz(daemon, args.fuzz, args.seed)
        if "hostile" in only:
            out |= run_hostile(daemon)
        if "kill9" in only:
            out |= run_kill9(daemon, args.kill_rounds, args.writers)
        with LineClient(daemon.socket) as c:
            status = c.call("status")["result"]
        out["daemon_rss_mb_end"] = status["rss_mb"]
        out["daemon_alive_end"] = daemon.alive
        out["daemon_tracebacks_in_log"] = daemon.log().count("Traceback")
    finally:
        daemon.stop()
        out["load_avg_end"] = os.getloadavg()[0]
        if not args.keep:
            import shutil

            shutil.rmtree(root, ignore_errors=True)
        else:
            out["root"] = str(root)
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
