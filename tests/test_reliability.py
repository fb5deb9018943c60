"""Reliability against a real daemon (DESIGN §9): small versions of bench/reliability.py — load,
fuzzed input, hostile clients, kill -9 during a write storm — and the faults a person meets:
a corrupt or missing bundle, an unreadable memory database, a full disk.

The stub-server cases (framing, each protocol error, line/inflight/connection limits,
slow-loris and stalled readers) are in tests/test_server.py, and the end-to-end method tests in
tests/test_daemon_e2e.py; this file covers what those do not: the real methods under
concurrency and fuzzing, attackers and a bystander at once, durability across kill -9, faults.
No timing asserts: the bench script reports times.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
import reliability as rel  # bench/reliability.py: the same code the bench runs

BUNDLE = rel.DEFAULT_BUNDLE
MANIFEST = json.loads((BUNDLE / "manifest.json").read_text())
HAS_EMBEDDER = "embedder" in MANIFEST["models"]
HAS_CORE = "core" in MANIFEST["models"]
needs_memory = pytest.mark.skipif(not HAS_EMBEDDER, reason="the bundle has no embedder")


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    d = rel.ServedDaemon(tmp_path_factory.mktemp("reliability")).start()
    yield d
    assert d.stop() == 0, d.log()[-3000:]
    assert "Traceback" not in d.log(), d.log()[-3000:]


# ---- load --------------------------------------------------------------------------------------------
@needs_memory
def test_32_clients_mixing_every_method(daemon):
    figures = rel.run_load(daemon.socket, clients=32, requests=480, progress=False)
    assert figures["load_violations"] == [] and figures["load_protocol_errors"] == 0
    assert figures["load_requests"] == 480 and figures["load_error_replies"] == 0, figures
    assert set(figures["load_ask_tiers"]) <= {"reflex", "memory", "memo", "core"}
    with rel.LineClient(daemon.socket) as c:
        found = c.call("recall", {"query": "which shelf is box 7 on", "k": 100,
                                  "tags": ["load"]})["result"]["results"]
    assert any(r["text"].startswith("load fact ") for r in found)  # the writes landed


# ---- hostile input -------------------------------------------------------------------------------------
def test_fuzzed_connections_never_crash_the_daemon(daemon):
    figures = rel.run_fuzz(daemon, cases=250, seed=1, progress=False)
    assert figures["fuzz_cases"] == 250 and figures["fuzz_daemon_alive"]
    # the inputs really were hostile: parse errors and invalid requests/params among them
    assert {"-32700", "-32600", "-32602"} <= set(figures["fuzz_error_codes"]), figures


@pytest.mark.parametrize("chunks, expected", [
    ([b'{"jsonrpc":"2.0","id":1,"method":"remember","params":{"text":"\xc3\x28"}}\n'], [-32700]),
    ([b"[" * 30000 + b"]" * 30000 + b"\n"], [-32700]),
    ([b'{"jsonrpc":"2.0","id":' + b"9" * 5000 + b',"method":"status"}\n'], [-32700]),
    ([b'{"jsonrpc":"2.0","id":1,"method":"ask","params":{"text":"hi","temperature":1e400}}\n'],
     [-32602]),
    ([b'{"jsonrpc":"2.0","id":1,"method":"recall","params":{"query":["x"],"k":5}}\n'], [-32602]),
    ([b'{"jsonrpc":"2.0","id":1,"method":"forget","params":{"id":1e30}}\n'], [-32602]),
    ([b'{"jsonrpc":"2.0","id":1,"method":"forget","params":{"id":9223372036854775808}}\n'],
     [-32602]),  # one past SQLite's 64-bit integers: found by the fuzzer (was -32603)
    ([b'{"jsonrpc":"2.0","id":1,"method":"ask","params":{"text":"hi","\\n":1}}\n'],
     [-32602]),  # a param name with a newline: the message stays one line (fuzzer, too)
    ([b'{"jsonrpc":"2.0","id":1,"met', b'hod":"status"}\n{"jsonrpc":"2.0","id":2,"method":"x"}'],
     ["result", -32601]),
    ([b"\r\n", b'{"jsonrpc":"2.0","id":1,"method":"timers.cancel","params":{"id":-5}}\r\n'],
     [-32602]),
], ids=["bad-utf8", "deep", "huge-id", "inf", "query-list", "float-id-param", "id-2**63",
        "newline-param", "split-lines", "crlf"])
def test_hostile_lines_get_their_error(daemon, chunks, expected):
    replies = rel.send_case(daemon.socket, chunks)
    answers = sorted((r for r in replies if "id" in r), key=lambda r: r["id"])  # any order
    got = ["result" if "result" in r else r["error"]["code"] for r in answers]
    assert got == expected, replies


# ---- hostile clients -----------------------------------------------------------------------------------------
def test_attackers_and_a_flood_do_not_block_a_bystander(daemon):
    figures = rel.run_hostile(daemon, attackers=2, huge_lines=1, bystander_calls=25,
                              progress=False)
    assert figures["hostile_bystander_calls"] == 25 and figures["hostile_daemon_alive"]
    assert figures["hostile_huge_line_codes"] == [-32000]  # the 10 MB line: refused, closed
    # every attacker was cut off (a nan would mean a stalled reader was never dropped)
    assert figures["hostile_loris_cut_after_s"] > 0
    assert not math.isnan(figures["hostile_stalled_dropped_after_s"])
    assert figures["flood_refused_code"] == -32001 and figures["flood_slot_reusable"]
    assert figures["flood_connections_held"] <= 64


# ---- kill -9 ------------------------------------------------------------------------------------------------
@needs_memory
def test_kill_9_during_a_remember_storm_loses_nothing_acknowledged(tmp_path):
    d = rel.ServedDaemon(tmp_path / "storm").start()
    try:
        verdict = rel.kill9_round(d, writers=6, acks_before_kill=60)
        assert verdict["acked"] >= 60
        assert verdict["missing"] == 0, verdict["missing_examples"]
        assert verdict["integrity"] == "ok" and verdict["last_ack_recalled"]
        assert "removing stale socket" in d.log()
    finally:
        assert d.stop() == 0


# ---- faults --------------------------------------------------------------------------------------------------
def serve_once(tmp_path: Path, bundle: Path) -> subprocess.CompletedProcess:
    d = rel.ServedDaemon(tmp_path / "fault", bundle=bundle)
    return subprocess.run(d.command, capture_output=True, text=True, timeout=120, env=d.env,
                          check=False)


def test_missing_bundle_is_one_line_and_exit_2(tmp_path):
    done = serve_once(tmp_path, tmp_path / "no-bundle")
    assert done.returncode == 2
    assert done.stderr == (f"tars-edge: {tmp_path}/no-bundle/manifest.json: no model bundle "
                           "here; pass --bundle DIR or run `tars-export build-default`\n")


def _corrupt(bundle: Path, model: str) -> Path:
    entry = json.loads((bundle / "manifest.json").read_text())["models"][model]
    path = bundle / entry["files"][entry["deployed"]]["path"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte, same size: only the sha256 can tell
    path.write_bytes(bytes(data))
    return path


def test_corrupt_reflex_stops_the_start_with_one_line(tmp_path, bundle_copy):
    path = _corrupt(bundle_copy, "reflex")
    done = serve_once(tmp_path, bundle_copy)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"tars-edge: {path}: ") and "sha256" in done.stderr


@pytest.mark.skipif(not HAS_CORE, reason="the bundle has no core")
def test_corrupt_core_leaves_the_other_tiers_running(tmp_path, bundle_copy):
    path = _corrupt(bundle_copy, "core")
    d = rel.ServedDaemon(tmp_path / "d", bundle=bundle_copy).start()
    try:
        with rel.LineClient(d.socket) as c:
            assert c.call("ask", {"text": "what time is it"})["result"]["tier"] == "reflex"
            reply = c.call("ask", {"text": "tell me a story about the sea", "tier": "core"})
            assert reply["error"]["code"] == -32010 and str(path) in reply["error"]["message"]
            assert "sha256" in reply["error"]["message"]
    finally:
        assert d.stop() == 0


@needs_memory
def test_unreadable_memory_database_turns_memory_off(tmp_path):
    d = rel.ServedDaemon(tmp_path / "d")
    d.state.mkdir(parents=True)
    (d.state / "memory.db").mkdir()  # unreadable as a database whoever we run as (even root)
    d.start()
    try:
        with rel.LineClient(d.socket) as c:
            reply = c.call("remember", {"text": "the key is under the mat"})
            assert reply["error"]["code"] == -32011
            assert str(d.state / "memory.db") in reply["error"]["message"]
            assert c.call("ask", {"text": "what time is it"})["result"]["tier"] == "reflex"
            assert c.call("status")["result"]["memory"]["available"] is False
    finally:
        assert d.stop() == 0
    assert d.log().count("memory disabled:") == 1


# The real daemon with SQLite's own size cap on memory.db: growing it then fails with
# SQLITE_FULL, the very error a full SD card gives. Only this test's launcher sets the cap.
FULL_DISK_LAUNCHER = r'''
import sys
from tars_edge.memory import store
from tars_edge.cli import main

opened = store.MemoryStore.open.__func__


def open_capped(cls, *args, **kwargs):
    s = opened(cls, *args, **kwargs)
    pages = s.conn.execute("PRAGMA page_count").fetchone()[0]
    s.conn.execute(f"PRAGMA max_page_count = {pages + 2}")
    return s


store.MemoryStore.open = classmethod(open_capped)
sys.exit(main(sys.argv[1:]))
'''


@needs_memory
def test_full_disk_refuses_the_write_keeps_the_rest(tmp_path):
    root = tmp_path / "full"
    d = rel.ServedDaemon(root)
    launcher = root / "launch_full_disk.py"
    launcher.write_text(FULL_DISK_LAUNCHER)
    d.command = [sys.executable, str(launcher), *d.command[3:]]
    d.start()
    acked, refused = [], None
    try:
        with rel.LineClient(d.socket) as c:
            for i in range(400):
                text = f"fact {i}: parcel {i} is in locker {i * 7 % 31}" + " padding" * 30
                reply = c.call("remember", {"text": text})
                if "error" in reply:
                    refused = reply["error"]
                    break
                acked.append((reply["result"]["id"], text))
            assert refused is not None, "the capped database never filled up"
            assert refused["code"] == -32011 and "full" in refused["message"], refused
            assert "\n" not in refused["message"]
            said = c.call("ask", {"text": "remember that the bike lock code is 4512"})
            assert "result" in said and "full" in said["result"]["text"], said
            assert c.call("ask", {"text": "what time is it"})["result"]["tier"] == "reflex"
            assert c.call("recall", {"query": "parcel 0", "k": 3})["result"]["results"]
    finally:
        assert d.stop() == 0
    assert "Traceback" not in d.log()
    # space freed (no cap): the same database takes writes again and lost nothing
    d.command = rel.ServedDaemon(root).command
    d.start()
    try:
        with rel.LineClient(d.socket) as c:
            assert "result" in c.call("remember", {"text": "after the disk was freed"})
    finally:
        assert d.stop() == 0
    verdict = rel.check_memories(d.state / "memory.db", acked)
    assert verdict["missing"] == 0 and verdict["integrity"] == "ok", verdict
    assert verdict["stored"] == len(acked) + 1


def test_state_directory_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    d = rel.ServedDaemon(tmp_path / "d")
    d.command[d.command.index("--state-dir") + 1] = str(blocker / "state")
    done = subprocess.run(d.command, capture_output=True, text=True, timeout=120, env=d.env,
                          check=False)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "cannot create the state directory" in done.stderr


@pytest.mark.parametrize("arg", ["9223372036854775808", "0", "-3", "abc"])
def test_cli_forget_rejects_an_impossible_id_in_one_line(arg, capsys):
    """Without a daemon the CLI answers in-process, past the daemon's own param checks."""
    from tars_edge import cli

    with pytest.raises(SystemExit) as exc:
        cli.main(["forget", arg])
    assert exc.value.code == 2
    assert "is not a memory id" in capsys.readouterr().err
