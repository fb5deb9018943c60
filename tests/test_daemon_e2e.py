"""End to end: a real `tars-edge serve` process on a temporary socket and state directory,
with the committed bundle (real reflex; real memory when the bundle has an embedder).

Daemons here:
- ``daemon``: the product as shipped (`tars-edge serve --socket --state-dir --config --bundle`);
- ``slow``: the same daemon with a scripted stand-in for the core model (T3 is not built yet;
  the stand-in streams "w0 w1 ..." at 20 tokens/s) so that streaming, timeouts, per-connection
  limits, cancellation and SIGTERM during a streaming answer can be driven deterministically.
  It also runs with memory switched off, for error -32011;
- short-lived ones for socket ownership, restart, reload and timer persistence.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from reliability import LineClient, ServedDaemon

REPO = Path(__file__).resolve().parent.parent
BUNDLE = Path(os.environ.get("TARS_EDGE_TEST_BUNDLE", REPO / "models"))
MANIFEST = json.loads((BUNDLE / "manifest.json").read_text()) if (BUNDLE / "manifest.json").exists() else {}
HAS_EMBEDDER = "embedder" in MANIFEST.get("models", {})
HAS_CORE = "core" in MANIFEST.get("models", {})

SLOW_CORE_LAUNCHER = r'''
"""Runs the real daemon with a scripted T3 stand-in (tests only)."""
import sys
from tars_edge.cascade import CoreAnswer
from tars_edge.daemon import serve


class SlowCore:
    unavailable_reason = None

    def __init__(self, bundle, settings, persona):
        self.cancelled = 0
        self.answered = 0

    def answer(self, prompt, params, on_token, cancel):
        out = []
        for i in range(params.max_tokens):
            if cancel.wait(0.05):
                self.cancelled += 1
                return CoreAnswer("".join(out), len(out), cancelled=True)
            piece = f"w{i} "
            on_token(piece)
            out.append(piece)
        self.answered += 1
        return CoreAnswer("".join(out).strip(), len(out), {"decode_ms": 50.0 * len(out)})

    def prewarm(self, persona):
        pass

    def reset_session(self, session):
        return True

    def status(self):
        return {"loaded": True, "cancelled": self.cancelled, "answered": self.answered,
                "prefix_cache": {"hits": 0, "misses": 0}}

    def close(self):
        pass


config, sock, state, bundle = sys.argv[1:5]
overrides = {("daemon", "socket"): sock, ("daemon", "state_dir"): state,
             ("daemon", "bundle"): bundle}
sys.exit(serve(config, overrides, core_factory=SlowCore))
'''


# ---- a daemon process -----------------------------------------------------------------------------
class DaemonProcess(ServedDaemon):
    """bench/reliability.py's daemon with the tests' bundle and an empty default config.
    ``launcher``: a script run instead of `tars-edge serve`, given CONFIG SOCKET STATE BUNDLE
    (``slow_core``: the scripted slow core)."""

    def __init__(self, root: Path, config: str = "", slow_core: bool = False,
                 launcher: str | None = None):
        super().__init__(root, config, bundle=BUNDLE)
        launcher = SLOW_CORE_LAUNCHER if slow_core else launcher
        if launcher is not None:
            script = root / "launch.py"
            script.write_text(launcher)
            self.command = [sys.executable, str(script), str(self.config), str(self.socket),
                            str(self.state), str(BUNDLE)]


class Conn(LineClient):
    """A raw JSON-lines client: sees every notification and every byte."""

    def send(self, method: str, params: dict | None = None, rid=None) -> int:
        if rid is None:
            self.next_id += 1
            rid = self.next_id
        msg = {"jsonrpc": "2.0", "method": method, "id": rid}
        if params is not None:
            msg["params"] = params
        self.sock.sendall(json.dumps(msg, ensure_ascii=False).encode() + b"\n")
        return rid

    def raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read(self) -> dict | None:
        line = self.file.readline()
        return json.loads(line) if line else None

    def call(self, method: str, params: dict | None = None) -> dict:
        """The reply to this request; notifications on the way are kept in ``self.seen``."""
        rid = self.send(method, params)
        self.seen = []
        while True:
            msg = self.read()
            if msg is None or msg.get("id") == rid:
                return msg
            self.seen.append(msg)

    def result(self, method: str, params: dict | None = None):
        reply = self.call(method, params)
        assert "result" in reply, reply
        return reply["result"]


def code(reply: dict) -> int:
    return reply["error"]["code"]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    d = DaemonProcess(tmp_path_factory.mktemp("daemon"), '[skills]\nclock = "24h"\n').start()
    yield d
    assert d.stop() == 0, d.log()


@pytest.fixture(scope="module")
def slow(tmp_path_factory):
    d = DaemonProcess(tmp_path_factory.mktemp("slow"), """
[daemon]
max_inflight = 2
request_timeout_s = 3.0
shutdown_grace_s = 0.5
[cascade]
memory = false
""", slow_core=True).start()
    yield d
    assert d.stop() == 0, d.log()


# ---- every method, on the shipped daemon ---------------------------------------------------------
def test_ask_time_is_answered_by_the_reflex(daemon):
    with Conn(daemon.socket) as c:
        before = datetime.now()
        result = c.result("ask", {"text": "который час"})
        after = datetime.now()
    assert (result["tier"], result["intent"], result["lang"]) == ("reflex", "time", "ru")
    assert result["confidence"] >= 0.85 and result["timings_ms"]["reflex_ms"] > 0
    clocks = {f"Сейчас {t:%H:%M}." for t in (before, after, after + timedelta(seconds=1))}
    assert result["text"] in clocks


def test_ask_streams_tokens_before_the_result(daemon):
    with Conn(daemon.socket) as c:
        reply = c.call("ask", {"text": "what time is it", "stream": True})
    tokens = [m for m in c.seen if m.get("method") == "ask.token"]
    assert tokens and all(t["params"]["id"] == reply["id"] for t in tokens)
    assert "".join(t["params"]["text"] for t in tokens) == reply["result"]["text"]


def test_complex_question_needs_the_core(daemon):
    with Conn(daemon.socket) as c:
        reply = c.call("ask", {"text": "explain how photosynthesis works in plants"})
        forced = c.call("ask", {"text": "который час", "tier": "core"})
    if HAS_CORE:
        assert reply["result"]["tier"] == "core" and forced["result"]["tier"] == "core"
    else:
        assert code(reply) == -32010 and code(forced) == -32010
        assert "core model is not in this bundle" in reply["error"]["message"]
        assert reply["error"]["data"]["tier"] == "core"
        assert reply["error"]["data"]["intent"] == "complex"


def test_status(daemon):
    with Conn(daemon.socket) as c:
        c.result("ask", {"text": "привет"})
        status = c.result("status")
    assert status["uptime_s"] >= 0 and status["pid"] == daemon.proc.pid
    assert 10 < status["rss_mb"] < 1000 and status["cpu_pct"] >= 0
    assert status["models"]["reflex"] is True and set(status["models"]) >= {"embedder", "core"}
    assert status["tiers"]["reflex"]["count"] >= 1 and status["tiers"]["reflex"]["p50_ms"] > 0
    assert set(status["tiers"]) == {"reflex", "memo", "memory", "core"}
    assert "prefix" in status["caches"] and "memo" in status["caches"]
    assert {"system", "voice"} <= {s["name"] for s in status["sensors"]}  # docs/sensors.md
    assert status["socket"] == str(daemon.socket)
    assert status["state_dir"] == str(daemon.state)


def test_small_methods(daemon):
    with Conn(daemon.socket) as c:
        listed = {s["name"]: s for s in c.result("sensors.list")["sensors"]}
        assert listed["system"]["enabled"] and not listed["voice"]["enabled"]
        assert c.result("session.reset", {"session": "kitchen"})["ok"] is True
        assert c.result("events.subscribe", {"topics": ["timer", "system"]}) == \
            {"topics": ["system", "timer"]}
        assert c.result("events.unsubscribe", {"topics": ["system"]}) == {"topics": ["timer"]}
        assert isinstance(c.result("timers.list")["timers"], list)


@pytest.mark.parametrize("payload, expected", [
    (b"{oops\n", -32700),
    (b'{"jsonrpc":"2.0","method":"status","id":1,"x":"\xc3\x28"}\n', -32700),
    (b'[{"jsonrpc":"2.0","method":"status","id":1}]\n', -32600),
    (b'{"jsonrpc":"2.0","id":1}\n', -32600),
    (b'{"jsonrpc":"2.0","method":"teleport","id":1}\n', -32601),
    (b'{"jsonrpc":"2.0","method":"ask","id":1,"params":{}}\n', -32602),
    (b'{"jsonrpc":"2.0","method":"ask","id":1,"params":{"text":5}}\n', -32602),
    (b'{"jsonrpc":"2.0","method":"ask","id":1,"params":{"text":"   "}}\n', -32602),
    (b'{"jsonrpc":"2.0","method":"ask","id":1,"params":{"text":"hi","txt":"x"}}\n', -32602),
    (b'{"jsonrpc":"2.0","method":"ask","id":1,"params":{"text":"hi","tier":"x"}}\n', -32602),
    (b'{"jsonrpc":"2.0","method":"ask","id":1,"params":{"text":"hi","max_tokens":0}}\n', -32602),
    (b'{"jsonrpc":"2.0","method":"recall","id":1,"params":{"query":"x","k":"3"}}\n', -32602),
    (b'{"jsonrpc":"2.0","method":"events.subscribe","id":1,"params":{"topics":[]}}\n', -32602),
    (b'{"jsonrpc":"2.0","method":"timers.cancel","id":1,"params":{"id":999999}}\n', -32012),
], ids=["parse", "bad-utf8", "batch", "no-method", "unknown-method", "no-text", "text-int",
        "text-blank", "unknown-param", "bad-tier", "max-tokens-0", "k-string", "no-topics",
        "timer-not-found"])
def test_error_codes(daemon, payload, expected):
    with Conn(daemon.socket) as c:
        c.raw(payload)
        reply = c.read()
        assert code(reply) == expected, reply
        assert reply["error"]["message"] and "\n" not in reply["error"]["message"]
        assert "result" in c.call("status")  # same connection still works


def test_oversized_and_malformed_lines_do_not_hurt_others(daemon):
    with Conn(daemon.socket) as bystander:
        with Conn(daemon.socket) as c:
            c.raw(b'{"jsonrpc":"2.0","method":"ask","id":1,"params":{"text":"' + b"a" * 70000 + b'"}}\n')
            reply = c.read()
            assert code(reply) == -32000 and "65536 bytes" in reply["error"]["message"]
            assert c.read() is None
        with Conn(daemon.socket) as c:
            c.raw(os.urandom(4096).replace(b"\n", b" ") + b"\n")
            assert code(c.read()) in (-32700, -32600)
        assert "result" in bystander.call("status")


def test_many_concurrent_clients(daemon):
    failures: list[str] = []

    def client(n: int) -> None:
        try:
            with Conn(daemon.socket) as c:
                for text in ("привет", "what time is it", "сколько свободной памяти"):
                    result = c.result("ask", {"text": text, "session": f"c{n}"})
                    assert result["tier"] == "reflex", result
                assert c.result("status")["server"]["connections"] >= 1
        except Exception as exc:  # noqa: BLE001 - collected, asserted below
            failures.append(f"client {n}: {exc!r}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert failures == []


def test_timer_is_delivered_to_a_subscriber(daemon):
    with Conn(daemon.socket) as sub, Conn(daemon.socket) as c:
        assert sub.result("events.subscribe", {"topics": ["timer"]}) == {"topics": ["timer"]}
        result = c.result("ask", {"text": "set a timer for two seconds"})
        assert (result["tier"], result["skill"]) == ("reflex", "timer.set"), result
        assert result["text"] == "Timer set for 2 seconds."
        timer_id = result["data"]["timer"]["id"]
        events = [sub.read()["params"], sub.read()["params"]]
    assert [e["data"]["type"] for e in events] == ["timer.set", "timer.fired"]
    fired = events[1]
    assert fired["topic"] == "timer" and fired["data"]["timer"]["id"] == timer_id
    assert fired["data"]["text"] == "Time's up! Your timer for 2 seconds is done."
    assert fired["data"]["timer"]["state"] == "fired"


def test_cli_ask_json_goes_through_the_daemon(daemon):
    done = subprocess.run(
        [sys.executable, "-m", "tars_edge.cli", "ask", "--json", "--socket", str(daemon.socket),
         "what time is it"], check=False, capture_output=True, text=True, timeout=60, env=daemon.env)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["via"] == "daemon" and out["tier"] == "reflex" and out["intent"] == "time"
    done = subprocess.run(
        [sys.executable, "-m", "tars_edge.cli", "status", "--socket", str(daemon.socket)],
        check=False, capture_output=True, text=True, timeout=60, env=daemon.env)
    assert done.returncode == 0 and "models: reflex loaded" in done.stdout


def test_cli_chat_through_the_daemon(daemon):
    script = "привет\n/status\n/remember the cat is called Tom\n/reset\n/quit\n"
    done = subprocess.run(
        [sys.executable, "-m", "tars_edge.cli", "chat", "--socket", str(daemon.socket)],
        input=script, check=False, capture_output=True, text=True, timeout=60, env=daemon.env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].endswith("Чем помочь?")
    assert "models: reflex loaded" in done.stdout and "(session reset)" in done.stdout
    if HAS_EMBEDDER:
        assert "(remembered as #" in done.stdout
    else:
        assert "memory is off" in done.stderr


def test_cli_ask_without_a_daemon_works_in_process(tmp_path):
    (tmp_path / "config.toml").write_text("")
    done = subprocess.run(
        [sys.executable, "-m", "tars_edge.cli", "ask", "--json", "--socket",
         str(tmp_path / "nobody.sock"), "--state-dir", str(tmp_path / "state"), "--bundle",
         str(BUNDLE), "--config", str(tmp_path / "config.toml"), "поставь таймер на 5 минут"],
        check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert (out["via"], out["tier"], out["skill"]) == ("local", "reflex", "timer.set")
    assert (tmp_path / "state" / "timers.db").exists()  # fires once a daemon runs there
    done = subprocess.run(
        [sys.executable, "-m", "tars_edge.cli", "status", "--socket", str(tmp_path / "nobody.sock"),
         "--config", str(tmp_path / "config.toml")],
        check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "no tars-edge daemon is running" in done.stderr


@pytest.mark.skipif(not HAS_EMBEDDER, reason="the bundle has no embedder: memory is off")
def test_memory_methods_and_answers(daemon):
    with Conn(daemon.socket) as c:
        said = c.result("ask", {"text": "remember that the spare key is under the mat"})
        assert (said["tier"], said["skill"]) == ("reflex", "remember")
        answer = c.result("ask", {"text": "where is the spare key?"})
        assert answer["tier"] == "memory" and "under the mat" in answer["text"]
        mid = c.result("remember", {"text": "Wi-Fi password is on the router", "tags": ["home"]})["id"]
        found = c.result("recall", {"query": "what is the wifi password", "k": 3})["results"]
        assert found[0]["id"] == mid and found[0]["tags"] == ["home"]
        assert c.result("recall", {"query": "wifi", "tags": ["work"]})["results"] == []
        assert c.result("forget", {"id": mid}) == {"ok": True}
        assert c.result("forget", {"id": mid}) == {"ok": False}


@pytest.mark.skipif(not HAS_EMBEDDER, reason="the bundle has no embedder: memory is off")
def test_damaged_memory_database_disables_memory_not_the_daemon(tmp_path):
    d = DaemonProcess(tmp_path / "damaged")
    d.state.mkdir(parents=True)
    (d.state / "memory.db").write_bytes(b"this is not a database" * 100)
    d.start()
    with Conn(d.socket) as c:
        reply = c.call("remember", {"text": "the key is under the mat"})
        assert code(reply) == -32011 and "memory.db" in reply["error"]["message"]
        assert c.result("ask", {"text": "what time is it"})["tier"] == "reflex"
        assert c.result("status")["memory"]["available"] is False
    assert d.stop() == 0


# ---- streaming, limits and shutdown with the scripted core -------------------------------------------
def test_core_answer_streams_and_status_stays_responsive(slow):
    with Conn(slow.socket) as c, Conn(slow.socket) as other:
        rid = c.send("ask", {"text": "tell me a story", "stream": True, "max_tokens": 40,
                               "tier": "core"})
        first = c.read()
        assert first["method"] == "ask.token" and first["params"] == {"id": rid, "text": "w0 "}
        # a long generation does not hold up other requests
        assert other.result("ask", {"text": "what time is it"})["tier"] == "reflex"
        assert "result" in other.call("status")
        tokens = [first]
        while True:
            msg = c.read()
            if msg.get("id") == rid:
                break
            tokens.append(msg)
    assert len(tokens) == 40
    result = msg["result"]
    assert result["tier"] == "core" and result["tokens"] == 40
    assert result["text"] == " ".join(f"w{i}" for i in range(40))
    assert {"core_ms", "core_decode_ms", "total_ms"} <= set(result["timings_ms"])


def test_busy_timeout_and_memory_off(slow):
    with Conn(slow.socket) as c:
        ids = [c.send("ask", {"text": "count slowly", "tier": "core", "max_tokens": n})
               for n in (20, 20, 20)]
        replies = {}
        while len(replies) < 3:
            msg = c.read()
            if "id" in msg:
                replies[msg["id"]] = msg
        assert code(replies[ids[2]]) == -32001  # max_inflight = 2
        assert "too many requests in flight" in replies[ids[2]]["error"]["message"]
        assert "result" in replies[ids[0]]
        reply = c.call("ask", {"text": "a very long answer", "tier": "core", "max_tokens": 2000})
        assert code(reply) == -32002 and "took longer than 3 s" in reply["error"]["message"]
        reply = c.call("remember", {"text": "the key is under the mat"})
        assert code(reply) == -32011 and "memory is off" in reply["error"]["message"]
        status = c.result("status")
    assert status["core"]["cancelled"] >= 1  # the timed-out generation was stopped


def test_client_hanging_up_cancels_its_generation(slow):
    with Conn(slow.socket) as c:
        before = c.result("status")["core"]["cancelled"]
    c = Conn(slow.socket)
    c.send("ask", {"text": "go on forever", "stream": True, "tier": "core", "max_tokens": 5000})
    assert c.read()["method"] == "ask.token"
    c.close()
    deadline = time.monotonic() + 30
    with Conn(slow.socket) as probe:
        while probe.result("status")["core"]["cancelled"] == before:
            assert time.monotonic() < deadline, "generation not cancelled"
            time.sleep(0.1)


def test_sigterm_during_a_streaming_answer(tmp_path):
    d = DaemonProcess(tmp_path / "term", "[daemon]\nshutdown_grace_s = 0.5\n[cascade]\nmemory = false\n",
                      slow_core=True).start()
    with Conn(d.socket) as c:
        rid = c.send("ask", {"text": "long", "stream": True, "tier": "core", "max_tokens": 5000})
        for _ in range(3):
            assert c.read()["method"] == "ask.token"
        d.send_signal(signal.SIGTERM)
        while True:
            msg = c.read()
            assert msg is not None, "closed without a final reply"
            if msg.get("id") == rid:
                break
        assert code(msg) == -32003 and "shutting down" in msg["error"]["message"]
        assert c.read() is None
    assert d.proc.wait(30) == 0, d.log()
    assert not d.socket.exists()
    assert "stopped" in d.log()


# ---- socket ownership, restart, reload ---------------------------------------------------------------
def test_socket_mode_stale_socket_and_a_second_daemon(tmp_path):
    d = DaemonProcess(tmp_path / "own").start()
    assert stat.S_IMODE(os.stat(d.socket).st_mode) == 0o660
    second = subprocess.run(d.command, check=False, capture_output=True, text=True, timeout=60, env=d.env)
    assert second.returncode == 2
    assert f"another tars-edge daemon (pid {d.proc.pid})" in second.stderr
    assert second.stderr.count("\n") == 1 and "Traceback" not in second.stderr
    d.stop(signal.SIGKILL)  # leaves a stale socket file behind
    assert d.socket.exists()
    d.start()  # replaces it
    assert "removing stale socket" in d.log()
    assert d.stop() == 0


def test_bad_config_is_one_line(tmp_path):
    d = DaemonProcess(tmp_path / "bad", "[daemon]\nmax_line_byte = 5\n")
    done = subprocess.run(d.command, check=False, capture_output=True, text=True, timeout=60, env=d.env)
    assert done.returncode == 2
    assert done.stderr.strip() == (f"tars-edge: {d.config}: daemon.max_line_byte: unknown key "
                                   "(did you mean 'max_line_bytes'?)")


def test_sighup_reload_and_timers_surviving_a_restart(tmp_path):
    d = DaemonProcess(tmp_path / "reload", "[daemon]\nlog_level = 'info'\n").start()
    with Conn(d.socket) as c:
        reply = c.result("ask", {"text": "turn on the lights"})
        assert reply["skill"] == "action.lights_on" and "not set up" in reply["text"]
        timer = c.result("ask", {"text": "set a timer for 8 seconds"})
        assert timer["skill"] == "timer.set", timer
    d.config.write_text("[actions.lights_on]\nevent = 'lights.on'\nreply = 'Lights are on.'\n")
    d.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 20
    while "config reloaded" not in d.log():
        assert time.monotonic() < deadline, d.log()
        time.sleep(0.05)
    with Conn(d.socket) as sub, Conn(d.socket) as c:
        sub.result("events.subscribe", {"topics": ["action"]})
        assert c.result("ask", {"text": "turn on the lights"})["text"] == "Lights are on."
        event = sub.read()["params"]
    assert event["topic"] == "action" and event["data"]["event"] == "lights.on"
    d.config.write_text("[daemon]\nmax_inflight = 'many'\n")  # broken: keep running as before
    d.send_signal(signal.SIGHUP)
    while "reload failed" not in d.log():
        assert time.monotonic() < deadline, d.log()
        time.sleep(0.05)
    # the timer set before the restart fires after it
    assert d.stop() == 0
    d.config.write_text("")
    d.start()
    with Conn(d.socket) as sub:
        sub.result("events.subscribe", {"topics": ["timer"]})
        fired = sub.read()["params"]["data"]
    assert fired["type"] == "timer.fired" and fired["timer"]["id"] == timer["data"]["timer"]["id"]
    assert fired["text"] == "Time's up! Your timer for 8 seconds is done."
    assert d.stop() == 0
