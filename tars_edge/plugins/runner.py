"""``python -m tars_edge.plugins.runner NAME``: one sensor plugin in its own process.

The daemon's sensor host starts this; it loads the entry point NAME of the group
``tars_edge.sensors``, checks the plugin's config section against the plugin's ``CONFIG``, and
runs it. A plugin that raises, hangs or crashes takes only this process down.

The pipe protocol, one JSON object per line (UTF-8):

    host -> runner (stdin)   {"type": "init", "config": {...}, "base": DIR|null,
                              "state_dir": DIR, "bundle_dir": DIR, "hang_timeout_s": S, "host_keys": [...],
                              "log_level": "info", "last_error": "..."|null}
                             {"type": "reply", "id": N, "result": {...}}
                             {"type": "reply", "id": N, "error": {"code", "message"}}
                             {"type": "stop"}                 (EOF on stdin means the same)
    runner -> host (stdout)  {"type": "ready", "pid": PID}   the plugin is constructed
                             {"type": "beat"}
                             {"type": "state", "state", "detail", "health": {...}}
                             {"type": "publish", "topic", "data": {...}}
                             {"type": "ask", "id": N, "text", "params": {...}}
                             {"type": "fatal", "stage": "load"|"config"|"start"|"run", "error"}

Logs go to stderr as JSON lines ``{"level", "logger", "msg", "exc"?}``; the host re-logs them
under ``tars_edge.sensors.NAME``. Anything else on stderr (a C library, a faulthandler dump)
is re-logged as a warning, and a stray ``print`` is moved to stderr so it cannot break the pipe.
"""

from __future__ import annotations

import faulthandler
import itertools
import json
import logging
import os
import signal
import sys
import threading
import traceback
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, TextIO

from tars_edge.config import ConfigError, check_section
from tars_edge.plugins.api import AskError, Sensor, SensorContext

GROUP = "tars_edge.sensors"
EXIT_LOAD, EXIT_CONFIG, EXIT_FAILED = 3, 4, 1
ORPHAN_GRACE_S = 5.0  # after the host goes away, run() gets this long to return
ASK_TIMEOUT_S = 600.0


class LoadError(RuntimeError):
    """The entry point cannot be found or imported; one line."""


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def load_plugin(name: str) -> type[Sensor]:
    """The Sensor subclass registered as entry point ``name`` in group tars_edge.sensors."""
    found = list(entry_points(group=GROUP, name=name))
    if not found:
        raise LoadError(f"no sensor plugin named {name!r} is installed (entry-point group "
                        f"{GROUP})")
    point = found[0]
    try:
        cls = point.load()
    except Exception as exc:
        raise LoadError(f"cannot load {point.value}: {one_line(exc)}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Sensor)):
        raise LoadError(f"{point.value} is not a tars_edge.plugins.Sensor subclass")
    return cls


class _JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"level": record.levelname.lower(), "logger": record.name,
                 "msg": record.getMessage()}
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class HostChannel:
    """The runner's end of the pipe: writes are serialised; ``ask`` waits for its reply."""

    def __init__(self, out: TextIO, stopping: threading.Event):
        self.out = out
        self.stopping = stopping
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._waiting: dict[int, tuple[threading.Event, list]] = {}
        self.closed = False

    def send(self, message: dict) -> None:
        line = json.dumps(message, ensure_ascii=False, allow_nan=False) + "\n"
        with self._lock:
            if self.closed:
                return
            try:
                self.out.write(line)
                self.out.flush()
            except (BrokenPipeError, ValueError, OSError):
                self.closed = True  # the host is gone; stdin EOF will stop us
                self.stopping.set()

    def ask(self, text: str, params: dict) -> dict:
        rid = next(self._ids)
        done, box = threading.Event(), []
        self._waiting[rid] = (done, box)
        try:
            self.send({"type": "ask", "id": rid, "text": text, "params": params})
            waited = 0.0
            while not done.wait(0.5):
                waited += 0.5
                if self.stopping.is_set() or waited >= ASK_TIMEOUT_S:
                    raise AskError(-32003, "the plugin is stopping" if self.stopping.is_set()
                                   else f"no answer from the daemon in {ASK_TIMEOUT_S:.0f} s")
        finally:
            self._waiting.pop(rid, None)
        reply = box[0]
        if "error" in reply:
            error = reply["error"] or {}
            raise AskError(int(error.get("code", -32603)), str(error.get("message", "error")),
                           error.get("data"))
        return reply.get("result") or {}

    def deliver(self, message: dict) -> None:
        waiting = self._waiting.get(message.get("id"))
        if waiting is not None:
            waiting[1].append(message)
            waiting[0].set()


def _read_host(stdin: TextIO, channel: HostChannel, stopping: threading.Event) -> None:
    """stdin after init: replies and stop. EOF = the host is gone: stop, and make sure."""
    for line in stdin:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "reply":
            channel.deliver(message)
        elif kind == "stop":
            stopping.set()
    stopping.set()
    timer = threading.Timer(ORPHAN_GRACE_S, os._exit, args=(0,))
    timer.daemon = True
    timer.start()


def run(name: str, stdin: TextIO, proto: TextIO) -> int:
    """Load, check, construct and run plugin ``name``; the exit status for the host."""
    log = logging.getLogger(f"tars_edge.sensors.{name}")
    stopping = threading.Event()
    channel = HostChannel(proto, stopping)

    def fatal(stage: str, error: str, status: int) -> int:
        channel.send({"type": "fatal", "stage": stage, "error": error})
        return status

    try:
        init: dict[str, Any] = json.loads(stdin.readline() or "{}")
    except ValueError:
        init = {}
    if init.get("type") != "init":
        return fatal("load", "the runner did not get its init message from the host", EXIT_LOAD)
    logging.getLogger().setLevel(str(init.get("log_level") or "info").upper())
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    threading.Thread(target=_read_host, args=(stdin, channel, stopping), daemon=True,
                     name="host-reader").start()
    # the same failure again after a restart: one line, not the same traceback every time
    last_error = init.get("last_error")
    try:
        cls = load_plugin(name)
    except LoadError as exc:
        if exc.__cause__ is not None and not isinstance(exc.__cause__, ModuleNotFoundError) \
                and str(exc) != last_error:
            log.error("%s", exc, exc_info=exc.__cause__)  # the traceback shows where it broke
        return fatal("load", str(exc), EXIT_LOAD)
    base = Path(init["base"]) if init.get("base") else None
    try:
        config = check_section(f"sensors.{name}", cls.CONFIG, init.get("config") or {}, base,
                               also_known=tuple(init.get("host_keys") or ()))
    except ConfigError as exc:
        return fatal("config", str(exc), EXIT_CONFIG)
    hang = float(init.get("hang_timeout_s") or 30.0)
    ctx = SensorContext(name, channel.send, channel.ask, state_dir=init.get("state_dir") or ".",
                        bundle_dir=init.get("bundle_dir") or None,
                        beat_every_s=min(1.0, hang / 4), stopping=stopping, log=log)
    def failed(what: str, exc: Exception) -> None:
        if one_line(exc) == last_error:
            log.error("%s again: %s", what, one_line(exc))
        else:
            log.exception(what)

    try:
        plugin = cls(ctx, config)
    except ConfigError as exc:  # a plugin's own cross-key check (e.g. clear level vs threshold)
        return fatal("config", str(exc), EXIT_CONFIG)
    except Exception as exc:  # noqa: BLE001 - the plugin's failure, reported to the host
        failed("failed to start", exc)
        return fatal("start", one_line(exc), EXIT_FAILED)
    channel.send({"type": "ready", "pid": os.getpid()})
    ctx.beat()
    try:
        plugin.run()
    except Exception as exc:  # noqa: BLE001 - the plugin's failure, reported to the host
        failed("run() failed", exc)
        return fatal("run", one_line(exc), EXIT_FAILED)
    if not stopping.is_set():
        return fatal("run", "run() returned before the plugin was asked to stop", EXIT_FAILED)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m tars_edge.plugins.runner NAME  (started by the daemon)",
              file=sys.stderr)
        return 2
    # The protocol gets a private copy of stdout; fd 1 becomes stderr so prints are only logs.
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonLines())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    faulthandler.enable(sys.stderr)
    try:
        status = run(args[0], sys.stdin, proto)
    except BaseException:  # noqa: BLE001 - last resort: say it, then go
        traceback.print_exc()
        status = EXIT_FAILED
    # os._exit: a plugin's leftover non-daemon thread must not keep a dead plugin alive
    for stream in (proto, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)


if __name__ == "__main__":
    main()
