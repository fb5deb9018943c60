"""The systemd notify protocol, spoken by the daemon itself (docs/service.md).

Under ``Type=notify`` systemd hands the service ``$NOTIFY_SOCKET`` (a Unix datagram socket; a
leading ``@`` means the abstract namespace) and, with ``WatchdogSec=``, ``$WATCHDOG_USEC`` and
``$WATCHDOG_PID``. Each message is one datagram of ``KEY=VALUE`` lines:

    READY=1       the socket is listening and the models are loaded
    STATUS=...    one line shown by ``systemctl status``
    WATCHDOG=1    "still alive"; sent every WATCHDOG_USEC / 2
    RELOADING=1   a SIGHUP reload has begun (READY=1 ends it)
    STOPPING=1    SIGTERM arrived; shutting down

Why no libsystemd: the protocol is a few lines of stdlib, and a Pi image may not carry the
Python bindings. Why the watchdog runs as a task on the daemon's own event loop, not on a
thread: the loop is what serves every client, so a loop that is stuck (a blocking call, a
livelock) must stop the pings and let systemd restart the daemon. Without ``$NOTIFY_SOCKET``
every method is a no-op, so ``tars-edge serve`` by hand behaves exactly as before.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

log = logging.getLogger("tars_edge.notify")
ENV_KEYS = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")
STATUS_EVERY_S = 10.0  # how often the STATUS line (request counts) is refreshed


def socket_address(value: str) -> str | bytes:
    """``$NOTIFY_SOCKET`` as an address for ``sendto``: ``@name`` is the abstract namespace
    (a leading NUL byte), anything else a path."""
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    return value


def watchdog_interval_s(env: Mapping[str, str], pid: int) -> float | None:
    """Seconds between WATCHDOG=1 pings (half of ``$WATCHDOG_USEC``), or None when the watchdog
    is off or meant for another process (``$WATCHDOG_PID`` set and not ours)."""
    raw = env.get("WATCHDOG_USEC", "")
    owner = env.get("WATCHDOG_PID", "")
    if not raw:
        return None
    if owner and owner.strip() != str(pid):
        return None
    try:
        usec = int(raw)
    except ValueError:
        log.warning("ignoring WATCHDOG_USEC=%r: not a whole number of microseconds", raw)
        return None
    return usec / 2e6 if usec > 0 else None


class SystemdNotifier:
    """Sends notify messages when ``$NOTIFY_SOCKET`` is set; otherwise does nothing."""

    def __init__(self, notify_socket: str | None, watchdog_s: float | None):
        self.address = socket_address(notify_socket) if notify_socket else None
        self.watchdog_s = watchdog_s if self.address else None
        self.sent = 0
        self._sock: socket.socket | None = None
        self._failed = False
        self._last_status = ""

    @classmethod
    def from_environ(cls, env: dict[str, str] | None = None) -> SystemdNotifier:
        """Read the three variables and remove them from ``os.environ`` (when that is the
        source), so that alert commands and device actions the daemon starts do not inherit
        them."""
        source = os.environ if env is None else env
        notifier = cls(source.get("NOTIFY_SOCKET") or None,
                       watchdog_interval_s(source, os.getpid()))
        if env is None:
            for key in ENV_KEYS:
                os.environ.pop(key, None)
        return notifier

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *lines: str) -> bool:
        """One datagram; never raises and never blocks (a full socket drops the message)."""
        if self.address is None:
            return False
        payload = "\n".join(lines).encode("utf-8", "replace")
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._sock.setblocking(False)
            self._sock.sendto(payload, self.address)
        except OSError as exc:
            if not self._failed:  # once: a broken NOTIFY_SOCKET must not flood the log
                log.warning("cannot reach the service manager at NOTIFY_SOCKET: %s", exc)
                self._failed = True
            return False
        self.sent += 1
        return True

    @staticmethod
    def _status_line(text: str) -> str:
        return "STATUS=" + " ".join(text.split())  # one line, always

    def ready(self, status: str) -> None:
        self._last_status = status
        self.send("READY=1", self._status_line(status))

    def status(self, text: str) -> None:
        if text != self._last_status:
            self._last_status = text
            self.send(self._status_line(text))

    def reloading(self) -> None:
        # MONOTONIC_USEC: systemd ≥ 253 matches it against its own reload request
        self.send("RELOADING=1", f"MONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}")

    def stopping(self, status: str = "stopping") -> None:
        self.send("STOPPING=1", self._status_line(status))

    def watchdog(self) -> None:
        self.send("WATCHDOG=1")

    async def keepalive(self, status: Callable[[], str] | None = None,
                        status_every_s: float | None = None) -> None:
        """Run on the daemon's event loop until cancelled: WATCHDOG=1 every ``watchdog_s``,
        and a fresh STATUS line (when it changed) every ``status_every_s`` (default
        :data:`STATUS_EVERY_S`)."""
        if self.address is None:
            return
        status_every_s = status_every_s or STATUS_EVERY_S
        tick = min(self.watchdog_s or status_every_s, status_every_s)
        next_status = time.monotonic() + status_every_s
        while True:
            if self.watchdog_s:
                self.watchdog()
            if status is not None and time.monotonic() >= next_status:
                next_status = time.monotonic() + status_every_s
                try:
                    self.status(status())
                except Exception:  # a status line is never worth the daemon
                    log.debug("status line failed", exc_info=True)
            await asyncio.sleep(tick)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
