"""The daemon at rest (DESIGN §8: RSS <= 250 MB, CPU <= 1 % with the text models loaded).

Starts a real `tars-edge serve` on a temporary socket and state directory, loads every text
model the bundle has by using it once (reflex; embedder through remember/recall; the core
through an ``ask`` with ``tier: core``), lets it settle, then reads the process's CPU time and
RSS over ``TARS_EDGE_BENCH_IDLE_S`` seconds (default 60) of silence. The ``*_total`` keys add
the sensor plugins' child processes (docs/sensors.md), which run beside the daemon by default.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from tqdm import tqdm

from tars_edge.bundle import Bundle

IDLE_S = float(os.environ.get("TARS_EDGE_BENCH_IDLE_S", "60"))
SETTLE_S = 3.0


def _wait_ready(proc: subprocess.Popen, sock: Path, timeout: float = 120.0):
    from tars_edge.client import Client, DaemonUnavailable

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the daemon exited with status {proc.returncode} during the bench")
        try:
            client = Client.connect(sock, timeout=60)
            client.call("status")
            return client
        except (DaemonUnavailable, OSError):
            time.sleep(0.05)
    raise RuntimeError("the daemon did not start within 120 s")


def _cpu_s(process: psutil.Process) -> float:
    """User + system seconds; 0 for a plugin child that was restarted meanwhile."""
    try:
        t = process.cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return t.user + t.system


def _rss(process: psutil.Process) -> int:
    try:
        return process.memory_info().rss
    except psutil.NoSuchProcess:
        return 0


def run(bundle: Bundle, progress: bool = True, idle_s: float = IDLE_S) -> dict:
    from tars_edge.client import RemoteError

    with tempfile.TemporaryDirectory(prefix="tars-bench-") as tmp:
        root = Path(tmp)
        sock, config = root / "tars.sock", root / "config.toml"
        config.write_text("[daemon]\nlog_level = 'warning'\n")
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "tars_edge.cli", "serve", "--socket", str(sock),
             "--state-dir", str(root / "state"), "--config", str(config), "--bundle",
             str(bundle.root)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            client = _wait_ready(proc, sock)
            start_s = time.perf_counter() - started
            for text in ("который час", "what time is it", "привет", "how much memory is free"):
                try:
                    client.call("ask", {"text": text})
                except RemoteError:  # e.g. -32010 when a weak reflex passes it to a missing core
                    pass
            try:  # loads the embedder when the bundle has one
                client.call("remember", {"text": "the bench was here"})
                client.call("recall", {"query": "who was here"})
            except RemoteError:
                pass
            try:  # loads the core when the bundle has one
                client.call("ask", {"text": "hello", "tier": "core", "max_tokens": 8})
            except RemoteError:
                pass
            models = client.call("status")["models"]
            client.close()  # an idle daemon has no clients
            time.sleep(SETTLE_S)
            process = psutil.Process(proc.pid)
            family = [process, *process.children(recursive=True)]
            cpu0, wall0 = [_cpu_s(p) for p in family], time.perf_counter()
            for _ in tqdm(range(int(idle_s)), desc="daemon idle", disable=not progress,
                          leave=False):
                time.sleep(1.0)
            time.sleep(max(0.0, idle_s - int(idle_s)))
            cpu1, wall1 = [_cpu_s(p) for p in family], time.perf_counter()
            rss = [_rss(p) for p in family]
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
    busy = [b - a for a, b in zip(cpu0, cpu1)]
    wall = wall1 - wall0
    return {
        "rss_idle_mb": round(rss[0] / 2**20, 1),
        "cpu_idle_pct": round(100.0 * busy[0] / wall, 3),
        "rss_idle_total_mb": round(sum(rss) / 2**20, 1),
        "cpu_idle_total_pct": round(100.0 * sum(busy) / wall, 3),
        "daemon_children": len(family) - 1,
        "daemon_idle_s": round(wall1 - wall0, 1),
        "daemon_start_s": round(start_s, 2),
        "daemon_models_loaded": ",".join(sorted(k for k, v in models.items() if v)),
    }
