"""What a sensor plugin sees: subclass :class:`Sensor`, talk to the daemon through
:class:`SensorContext` (docs/sensors.md).

A plugin runs in its own child process (``python -m tars_edge.plugins.runner NAME``), so
everything here is plain blocking Python: ``run()`` loops until ``ctx.stopping`` is set, and
``ctx.publish`` / ``ctx.ask`` / ``ctx.set_state`` are messages to the daemon's sensor host. The
host treats a plugin that has not called ``ctx.beat()`` (or ``ctx.sleep()``) for
``hang_timeout_s`` as hung, kills it and starts it again.

The context does not know how its messages travel: the runner gives it a ``send`` function
(JSON lines to the host) and an ``asker`` (a request/reply over the same pipe); an in-process
user such as ``tars-edge listen`` may give its own.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from tars_edge.config import Key

__all__ = ["TOPIC", "AskError", "Key", "Sensor", "SensorContext"]

# A topic is a dotted lowercase name; the host prefixes the plugin's name when it is missing.
TOPIC = re.compile(r"^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$")
STATE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class AskError(RuntimeError):
    """The daemon could not answer (the ``ask`` RPC's error: ``code``, one-line ``message``)."""

    def __init__(self, code: int, message: str, data: Any = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


class SensorContext:
    """The plugin's handle on the daemon. Thread-safe: a plugin may publish from any thread.

    ``name``: the plugin's name (its entry point); ``log``: a logger whose records reach the
    daemon's log tagged with the name; ``stopping``: set when the plugin must return from
    ``run()``; ``state_dir``: the daemon's state directory (for a plugin's own files);
    ``bundle_dir``: the model bundle the daemon runs (None: the default bundle).
    """

    def __init__(self, name: str, send: Callable[[dict], None],
                 asker: Callable[[str, dict], dict] | None = None, *,
                 state_dir: str | Path = ".", bundle_dir: str | Path | None = None,
                 beat_every_s: float = 1.0,
                 stopping: threading.Event | None = None, log: logging.Logger | None = None):
        self.name = name
        self.log = log or logging.getLogger(f"tars_edge.sensors.{name}")
        self.stopping = stopping or threading.Event()
        self.state_dir = Path(state_dir)
        self.bundle_dir = Path(bundle_dir) if bundle_dir else None
        self.beat_every_s = beat_every_s  # heartbeats closer than this are not sent again
        self._send = send
        self._asker = asker
        self._last_beat = float("-inf")
        self._beat_lock = threading.Lock()

    def publish(self, topic: str, data: dict) -> None:
        """An event on the daemon's bus; ``"overload"`` from plugin ``system`` is delivered as
        ``system.overload`` to ``events.subscribe`` clients. ``data`` must be JSON."""
        if not isinstance(topic, str) or not TOPIC.match(topic):
            raise ValueError(f"topic {topic!r} is not a dotted lowercase name like 'overload'")
        if not isinstance(data, dict):
            raise TypeError(f"event data must be a dict, not {type(data).__name__}")
        json.dumps(data, allow_nan=False)  # fail here, in the plugin, not in the daemon
        self._send({"type": "publish", "topic": topic, "data": data})

    def ask(self, text: str, **params) -> dict:
        """The daemon's ``ask`` result for ``text`` (``text, tier, intent, confidence, ...``);
        ``params`` are the ``ask`` RPC's (session, max_tokens, tier, ...). Blocks until the
        answer comes; raises :class:`AskError` when the daemon answers with an error."""
        if self._asker is None:
            raise AskError(-32601, "this context has no daemon to ask")
        return self._asker(text, params)

    def set_state(self, state: str, detail: str = "", **health) -> None:
        """What ``sensors.list`` shows: ``state`` ("starting", "running", "no_device",
        "degraded", ...), a one-line ``detail`` and any JSON ``health`` numbers."""
        if not isinstance(state, str) or not STATE.match(state):
            raise ValueError(f"state {state!r} must be a short lowercase word like 'running'")
        json.dumps(health, allow_nan=False)
        self._send({"type": "state", "state": state, "detail": str(detail).splitlines()[0]
                    if detail else "", "health": health})
        self.beat()

    def beat(self) -> None:
        """I am alive. Cheap to call often: at most one heartbeat per ``beat_every_s`` is sent."""
        now = time.monotonic()
        with self._beat_lock:
            if now - self._last_beat < self.beat_every_s:
                return
            self._last_beat = now
        self._send({"type": "beat"})

    def sleep(self, seconds: float) -> bool:
        """Wait ``seconds``, beating meanwhile; True as soon as the plugin must stop."""
        deadline = time.monotonic() + max(0.0, seconds)
        while True:
            self.beat()
            left = deadline - time.monotonic()
            if left <= 0 or self.stopping.wait(min(left, self.beat_every_s)):
                return self.stopping.is_set()


class Sensor:
    """Base class of a sensor plugin. Subclass it, describe the keys of your ``[sensors.NAME]``
    config section in ``CONFIG`` and implement :meth:`run`; register the class as an entry point
    in the group ``tars_edge.sensors``.

    The host adds ``enabled`` and its own restart keys to every section and checks the rest
    against ``CONFIG`` before the plugin starts: ``config`` holds every ``CONFIG`` key (defaults
    filled in). ``__init__`` should be quick; slow setup belongs at the start of ``run()``
    (after ``ctx.set_state("starting")``), where it can beat.
    """

    CONFIG: ClassVar[dict[str, Key]] = {}

    def __init__(self, ctx: SensorContext, config: dict) -> None:
        self.ctx = ctx
        self.config = config

    def run(self) -> None:
        """Blocking loop until ``ctx.stopping`` is set. Call ``ctx.beat()`` (or
        ``ctx.sleep()``) at least every ``hang_timeout_s / 2`` seconds."""
        raise NotImplementedError(f"{type(self).__name__} must implement run()")
