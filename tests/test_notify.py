"""The systemd notify protocol: the real daemon, a fake NOTIFY_SOCKET this test binds.

systemd is not needed: the service manager's side of the protocol is a Unix datagram socket
that receives ``KEY=VALUE`` lines, which is exactly what the collector below is.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import socket
import threading
import time
import uuid

from test_daemon_e2e import BUNDLE, Conn, DaemonProcess

from tars_edge.notify import SystemdNotifier, socket_address, watchdog_interval_s

WATCHDOG_USEC = 300_000  # pings every 0.15 s

# The real daemon plus one test-only method that blocks its event loop: the fault a stuck
# loop would be. It exists only in this launcher, never in the product.
BLOCKING_LAUNCHER = r'''
import sys, time
import tars_edge.notify
from tars_edge import daemon

tars_edge.notify.STATUS_EVERY_S = 0.3
original = daemon.Daemon._handlers


def handlers(self):
    async def block_loop(params, call):
        time.sleep(params["s"])  # on the loop thread, on purpose
        return "unblocked"
    return {**original(self), "test.block_loop": block_loop}


daemon.Daemon._handlers = handlers
config, sock, state, bundle = sys.argv[1:5]
sys.exit(daemon.serve(config, {("daemon", "socket"): sock, ("daemon", "state_dir"): state,
                               ("daemon", "bundle"): bundle}))
'''


class NotifyCollector:
    """A bound datagram socket (the service manager's end) and every message it got, with
    the monotonic time it arrived."""

    def __init__(self, address: str):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(socket_address(address))
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, str]] = []
        self._run = True
        self.thread = threading.Thread(target=self._collect, daemon=True)
        self.thread.start()

    def _collect(self) -> None:
        while self._run:
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            self.messages.append((time.monotonic(), data.decode()))

    def wait_for(self, prefix: str, timeout: float = 60.0, after: int = 0) -> int:
        """Index of the first message from ``after`` on that starts with ``prefix``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i, (_, text) in enumerate(self.messages[after:], start=after):
                if text.startswith(prefix):
                    return i
            time.sleep(0.02)
        raise AssertionError(f"no {prefix!r} in {[m for _, m in self.messages][-10:]}")

    def pings(self, after: int = 0) -> list[float]:
        return [t for t, text in self.messages[after:] if text == "WATCHDOG=1"]

    def wait_pings(self, count: int, after: int = 0, since: float = 0.0,
                   timeout: float = 30.0) -> None:
        """Until ``count`` pings (from message ``after`` on, arriving after ``since``) came."""
        deadline = time.monotonic() + timeout
        while len([t for t in self.pings(after) if t > since]) < count:
            assert time.monotonic() < deadline, f"only {self.pings(after)} pings"
            time.sleep(0.02)

    def close(self) -> None:
        self._run = False
        self.thread.join(2)
        self.sock.close()




def notified(d: DaemonProcess, address: str) -> NotifyCollector:
    collector = NotifyCollector(address)
    d.env.update(NOTIFY_SOCKET=address, WATCHDOG_USEC=str(WATCHDOG_USEC))
    d.env.pop("WATCHDOG_PID", None)
    return collector


# ---- the protocol pieces -----------------------------------------------------------------------------
def test_addresses_and_watchdog_interval():
    assert socket_address("/run/systemd/notify") == "/run/systemd/notify"
    assert socket_address("@tars/notify") == b"\0tars/notify"
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000"}, 42) == 15.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "42"}, 42) == 15.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "7"}, 42) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "soon"}, 42) is None
    assert watchdog_interval_s({}, 42) is None


def test_without_notify_socket_everything_is_a_no_op():
    notifier = SystemdNotifier.from_environ({"WATCHDOG_USEC": "1000000"})
    assert not notifier.enabled and notifier.watchdog_s is None
    notifier.ready("x")
    notifier.watchdog()
    assert notifier.sent == 0
    asyncio.run(asyncio.wait_for(notifier.keepalive(lambda: "x"), 1.0))  # returns at once


def test_abstract_namespace_and_environment_is_not_inherited(monkeypatch):
    name = f"@tars-edge-test-{uuid.uuid4().hex}"
    collector = NotifyCollector(name)
    monkeypatch.setenv("NOTIFY_SOCKET", name)
    monkeypatch.setenv("WATCHDOG_USEC", "2000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    try:
        notifier = SystemdNotifier.from_environ()
        assert notifier.watchdog_s == 1.0
        # children of the daemon (alert commands, device actions) must not ping for it
        assert not {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"} & set(os.environ)
        notifier.ready("listening on\n/tmp/x")
        notifier.watchdog()
        collector.wait_for("WATCHDOG=1")
        assert collector.messages[0][1] == "READY=1\nSTATUS=listening on /tmp/x"
        notifier.close()
    finally:
        collector.close()


def test_unreachable_notify_socket_never_raises(tmp_path):
    notifier = SystemdNotifier(str(tmp_path / "nobody"), 1.0)
    assert notifier.send("READY=1") is False
    assert notifier.send("WATCHDOG=1") is False


# ---- the real daemon -----------------------------------------------------------------------------------
def test_daemon_ready_status_watchdog_reload_stopping(tmp_path):
    d = DaemonProcess(tmp_path / "d")
    collector = notified(d, str(tmp_path / "notify.sock"))
    try:
        d.start()
        ready = collector.wait_for("READY=1")
        text = collector.messages[ready][1]
        assert f"listening on {d.socket}" in text and f"bundle {BUNDLE}" in text
        assert "tiers reflex" in text and text.count("\n") == 1
        # WATCHDOG=1 keeps coming while the daemon serves
        with Conn(d.socket) as c:
            assert "result" in c.call("status")
        collector.wait_pings(4, after=ready)
        d.send_signal(signal.SIGHUP)
        reloading = collector.wait_for("RELOADING=1", after=ready + 1)
        assert "MONOTONIC_USEC=" in collector.messages[reloading][1]
        collector.wait_for("READY=1", after=reloading)
        d.send_signal(signal.SIGTERM)
        stopping = collector.wait_for("STOPPING=1", after=reloading)
        assert d.proc.wait(30) == 0, d.log()
        assert "STATUS=stopping" in collector.messages[stopping][1]
    finally:
        d.stop()
        collector.close()


def test_watchdog_for_another_pid_is_not_pinged_but_ready_still_comes(tmp_path):
    d = DaemonProcess(tmp_path / "d")
    collector = notified(d, str(tmp_path / "notify.sock"))
    d.env["WATCHDOG_PID"] = "1"  # meant for some other process
    try:
        d.start()
        ready = collector.wait_for("READY=1")
        time.sleep(4 * WATCHDOG_USEC / 1e6)
        assert collector.pings() == []
        assert d.stop() == 0
        collector.wait_for("STOPPING=1", after=ready)
    finally:
        d.stop()
        collector.close()


def test_a_blocked_event_loop_stops_the_pings(tmp_path):
    d = DaemonProcess(tmp_path / "blocked", launcher=BLOCKING_LAUNCHER)
    collector = notified(d, str(tmp_path / "notify.sock"))
    block_s = 2.0
    try:
        d.start()
        ready = collector.wait_for("READY=1")
        collector.wait_pings(3, after=ready)
        with Conn(d.socket) as c:
            sent = time.monotonic()
            reply = c.call("test.block_loop", {"s": block_s})
            answered = time.monotonic()
            assert reply["result"] == "unblocked"
            collector.wait_pings(2, since=answered)  # the loop is free again: pings resume
            # and the STATUS line, refreshed every 0.3 s here, counts the requests
            status = collector.messages[collector.wait_for("STATUS=", after=ready + 1)][1]
            assert "requests" in status and "errors" in status
        pings = collector.pings(ready)
        gaps = [b - a for a, b in itertools.pairwise(pings) if b > sent]
        # while the loop slept, not one ping: the longest gap covers the block
        assert max(gaps) >= block_s * 0.9, gaps
        assert d.stop() == 0
    finally:
        d.stop()
        collector.close()
