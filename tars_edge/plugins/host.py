"""The daemon's sensor host: finds the installed sensor plugins, runs each enabled one in its
own child process (:mod:`tars_edge.plugins.runner`), and supervises it (docs/sensors.md).

Everything here runs on the daemon's event loop and never blocks it: the children are asyncio
subprocesses, their pipes are read by tasks, and a plugin's ``ask`` goes through the daemon's
own ``ask`` path (worker threads). A plugin that fails — an exception, a non-zero exit, a
signal, no heartbeat for ``hang_timeout_s`` — is killed (its whole process group: SIGTERM, then
SIGKILL after ``stop_timeout_s``) and started again after a backoff that doubles from
``restart_backoff_s`` up to ``max_backoff_s`` and starts over once a run lasted
``stable_after_s``. A plugin that cannot even load (not installed, an import error, a bad
config section) is shown with state ``error`` and the one-line reason, and retried the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from tars_edge.config import SENSOR_KEYS, SENSORS_ENABLED_BY_DEFAULT, Config, check_key
from tars_edge.plugins.api import TOPIC
from tars_edge.plugins.runner import GROUP
from tars_edge.server import protocol as rpc
from tars_edge.server.bus import EventBus

log = logging.getLogger("tars_edge.sensors")
AskFn = Callable[[dict], Awaitable[dict]]  # the daemon's ask: RPC params -> the ask result
MAX_LINE = 1 << 20  # longest message a plugin may send (bytes)
MAX_ASKS = 4  # asks one plugin may have waiting at once
EVENT_RATE = 50.0  # events/s a plugin may publish on average ...
EVENT_BURST = 200.0  # ... and at once; more are dropped (and counted)
# topics any plugin publishes as they are (docs/api.md); all others get the plugin's name in front
SHARED_TOPICS = ("wake",)
DRAIN_S = 1.0
LOG_RATE, LOG_BURST = 100, 1000.0  # log lines a second a plugin may write, on average / at once  # after a plugin exits: time to read what it wrote last
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR, "critical": logging.CRITICAL}


def installed_plugins() -> dict[str, str]:
    """name -> "module:Class" of every entry point in the tars_edge.sensors group."""
    found: dict[str, str] = {}
    for point in entry_points(group=GROUP):
        found.setdefault(point.name, point.value)
    return found


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with status {returncode}"


@dataclass
class SensorSettings:
    """One [sensors.NAME] section split into the host's keys and the plugin's own."""

    enabled: bool
    host: dict[str, Any]  # SENSOR_KEYS, checked, defaults filled in
    options: dict[str, Any]  # the plugin's keys, checked by the plugin's CONFIG in its process
    base: str | None  # directory the section's relative paths are relative to

    @classmethod
    def from_config(cls, config: Config, name: str) -> SensorSettings:
        section = dict(config.sensors.get(name, {}))
        host = {key: spec.default for key, spec in SENSOR_KEYS.items()}
        for key in SENSOR_KEYS:
            if key in section:
                host[key] = check_key(f"sensors.{name}.{key}", SENSOR_KEYS[key], section.pop(key),
                                      None)
        enabled = bool(config.sensors.get(name, {}).get("enabled",
                                                        name in SENSORS_ENABLED_BY_DEFAULT))
        host["enabled"] = enabled
        return cls(enabled, host, section, config.sensor_dirs.get(name))


@dataclass
class SensorRecord:
    """What ``sensors.list`` shows about one plugin."""

    name: str
    enabled: bool
    state: str = "disabled"
    detail: str = ""
    pid: int | None = None
    restarts: int = 0
    last_error: str | None = None
    last_event_at: float | None = None
    health: dict = field(default_factory=dict)
    backoff_s: float | None = None  # the wait before the next start, while waiting
    events: int = 0
    dropped_events: int = 0

    def as_dict(self) -> dict:
        return {"name": self.name, "enabled": self.enabled, "state": self.state,
                "detail": self.detail, "pid": self.pid, "restarts": self.restarts,
                "last_error": self.last_error, "last_event_at": self.last_event_at,
                "health": self.health, "backoff_s": self.backoff_s, "events": self.events,
                "dropped_events": self.dropped_events}


@dataclass
class Failure:
    stage: str  # load | config | start | run | hang | exit | protocol
    error: str


class SupervisedPlugin:
    """One plugin: its child process, restarted with backoff until :meth:`stop`."""

    def __init__(self, name: str, settings: SensorSettings, host: SensorHost):
        self.name = name
        self.settings = settings
        self.host = host
        self.record = SensorRecord(name, settings.enabled)
        self.plugin_log = logging.getLogger(f"tars_edge.sensors.{name}")
        self.proc: asyncio.subprocess.Process | None = None
        self.task: asyncio.Task | None = None
        self.stopping = asyncio.Event()
        self._asks: set[asyncio.Task] = set()
        self._tokens = EVENT_BURST
        self._tokens_at = time.monotonic()

    # ---- the supervision loop ---------------------------------------------------------------
    def start(self) -> None:
        if self.settings.enabled and not self.host.stopping:
            self.record.state = "starting"
            self.task = asyncio.create_task(self._supervise(), name=f"sensor-{self.name}")

    async def _supervise(self) -> None:
        loop = asyncio.get_running_loop()
        s = self.settings.host
        backoff = s["restart_backoff_s"]
        while not self.stopping.is_set():
            began = loop.time()
            try:
                failure = await self._run_once()
            except OSError as exc:  # could not even start the interpreter
                failure = Failure("start", f"cannot start the plugin process: {exc}")
            if self.stopping.is_set():
                break
            if failure is None:
                failure = Failure("exit", "exited")
            if loop.time() - began >= s["stable_after_s"]:
                backoff = s["restart_backoff_s"]
            r = self.record
            r.pid = None
            r.last_error = failure.error
            r.state = "error" if failure.stage in ("load", "config") else "restarting"
            r.detail = failure.error
            r.backoff_s = round(backoff, 3)
            log.warning("sensor %s failed (%s): %s; restarting in %.1fs",
                        self.name, failure.stage, failure.error, backoff)
            self.host.bus.publish("sensor", {"type": "sensor.failed", "name": self.name,
                                             "stage": failure.stage, "error": failure.error,
                                             "restart_in_s": r.backoff_s})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), backoff)
            backoff = min(backoff * 2, s["max_backoff_s"])
            if not self.stopping.is_set():
                r.restarts += 1
        self.record.pid = None
        self.record.backoff_s = None
        self.record.state = "stopped"

    async def _run_once(self) -> Failure | None:
        """Start the child, serve its messages, return why it ended (None: we stopped it)."""
        loop = asyncio.get_running_loop()
        s = self.settings.host
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tars_edge.plugins.runner", self.name,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, limit=MAX_LINE, start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.proc = proc
        r = self.record
        r.pid, r.state, r.detail, r.health, r.backoff_s = proc.pid, "starting", "", {}, None
        self.ready = False
        self.state_set = False
        self.fatal: Failure | None = None
        self.killed_for: Failure | None = None
        self.last_beat = loop.time()
        init = {"type": "init", "config": self.settings.options, "base": self.settings.base,
                "state_dir": str(self.host.config.state_dir),
                "bundle_dir": str(self.host.config.bundle_dir or ""),
                "hang_timeout_s": s["hang_timeout_s"],
                "host_keys": list(SENSOR_KEYS), "log_level": self.host.log_level,
                "last_error": r.last_error}
        self._write(init)
        readers = [asyncio.create_task(self._read_messages(proc)),
                   asyncio.create_task(self._read_logs(proc))]
        waiter = self.waiter = asyncio.create_task(proc.wait())
        tick = min(1.0, s["hang_timeout_s"] / 4)
        exited_at = None
        try:
            while not waiter.done():
                await asyncio.wait({waiter}, timeout=tick)
                if waiter.done():
                    break
                now = loop.time()
                if proc.returncode is not None:  # exited; something it started holds the pipes
                    exited_at = exited_at or now
                    if now - exited_at > DRAIN_S:
                        self._signal_group(proc, signal.SIGKILL)
                    continue
                if self.killed_for is None and not self.stopping.is_set():
                    limit = s["hang_timeout_s"] if self.ready else s["start_timeout_s"]
                    if now - self.last_beat > limit:
                        what = "no heartbeat" if self.ready else "not started"
                        self._kill(proc, waiter, Failure("hang", f"hung: {what} for "
                                                                 f"{now - self.last_beat:.1f}s"))
        finally:
            if not waiter.done():  # cancelled (daemon stopping): leave nothing behind
                self._signal_group(proc, signal.SIGKILL)
            await asyncio.wait(readers, timeout=DRAIN_S)
            for task in (*readers, *self._asks):
                task.cancel()
            self._signal_group(proc, signal.SIGKILL)  # stragglers of its process group
            self.proc = None
        if self.stopping.is_set():
            return None
        if self.killed_for is not None:
            return self.killed_for
        if self.fatal is not None:
            return self.fatal
        if proc.returncode == 0:
            return Failure("exit", "exited (status 0) without being asked to stop")
        return Failure("exit", describe_exit(proc.returncode))

    # ---- killing -------------------------------------------------------------------------------
    def _signal_group(self, proc: asyncio.subprocess.Process, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)

    def _kill(self, proc, waiter: asyncio.Task, why: Failure) -> None:
        self.killed_for = why
        log.warning("sensor %s %s; killing pid %d", self.name, why.error, proc.pid)
        self._terminate(proc, waiter)

    def _terminate(self, proc, waiter: asyncio.Task) -> None:
        """SIGTERM now, SIGKILL after stop_timeout_s if it is still there."""
        self._signal_group(proc, signal.SIGTERM)
        grace = self.settings.host["stop_timeout_s"]

        async def escalate() -> None:
            done, _ = await asyncio.wait({waiter}, timeout=grace)
            if not done:
                log.warning("sensor %s ignored SIGTERM for %.1fs; SIGKILL", self.name, grace)
                self._signal_group(proc, signal.SIGKILL)

        self.host.spawn(escalate())

    async def stop(self) -> None:
        """Ask the plugin to stop (stop message + SIGTERM), SIGKILL after stop_timeout_s."""
        self.stopping.set()
        proc = self.proc
        if proc is not None and proc.returncode is None:
            self._write({"type": "stop"})
            self._signal_group(proc, signal.SIGTERM)
        if self.task is not None:
            grace = self.settings.host["stop_timeout_s"]
            done, _ = await asyncio.wait({self.task}, timeout=grace)
            if not done:
                if self.proc is not None:
                    log.warning("sensor %s did not stop in %.1fs; SIGKILL", self.name, grace)
                    self._signal_group(self.proc, signal.SIGKILL)
                done, _ = await asyncio.wait({self.task}, timeout=DRAIN_S + 1)
                if not done:
                    self.task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await self.task
        self.record.state = "stopped" if self.settings.enabled else "disabled"
        self.record.pid = None

    # ---- the pipe -------------------------------------------------------------------------------
    def _write(self, message: dict) -> None:
        proc = self.proc
        if proc is None or proc.stdin is None or proc.stdin.is_closing():
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            proc.stdin.write((json.dumps(message, ensure_ascii=False) + "\n").encode())

    async def _read_messages(self, proc) -> None:
        lines = 0
        while True:
            try:
                line = await proc.stdout.readline()
            except (ValueError, asyncio.LimitOverrunError):
                self._kill(proc, self.waiter,
                           Failure("protocol", f"sent a message over {MAX_LINE} bytes"))
                return
            if not line:
                return
            lines += 1
            if lines % 64 == 0:  # a flood of buffered lines must not hold the loop
                await asyncio.sleep(0)
            try:
                message = json.loads(line)
            except ValueError:
                self.plugin_log.warning("stray output: %s", line[:200].decode(errors="replace"))
                continue
            if isinstance(message, dict):
                self._handle(message)

    def _handle(self, message: dict) -> None:
        loop = asyncio.get_running_loop()
        kind = message.get("type")
        r = self.record
        if kind == "beat":
            self.last_beat = loop.time()
        elif kind == "ready":
            self.ready = True
            self.last_beat = loop.time()
            if not self.state_set:
                r.state = "running"
            log.info("sensor %s running pid=%s", self.name, message.get("pid"))
        elif kind == "state":
            self.state_set = True
            self.last_beat = loop.time()
            r.state = str(message.get("state") or "running")[:32]
            r.detail = str(message.get("detail") or "")[:500]
            health = message.get("health")
            r.health = health if isinstance(health, dict) else {}
        elif kind == "publish":
            self._publish(message.get("topic"), message.get("data"))
        elif kind == "ask":
            task = asyncio.create_task(self._answer(message))
            self._asks.add(task)
            task.add_done_callback(self._asks.discard)
        elif kind == "fatal":
            self.fatal = Failure(str(message.get("stage") or "run"),
                                 str(message.get("error") or "failed").splitlines()[0][:500])

    def _publish(self, topic: Any, data: Any) -> None:
        r = self.record
        if not isinstance(topic, str) or not TOPIC.match(topic) or not isinstance(data, dict):
            self.plugin_log.warning("dropped an event with a bad topic or data: %r", topic)
            return
        now = time.monotonic()
        self._tokens = min(EVENT_BURST, self._tokens + (now - self._tokens_at) * EVENT_RATE)
        self._tokens_at = now
        if self._tokens < 1:
            r.dropped_events += 1
            return
        self._tokens -= 1
        if topic != self.name and not topic.startswith(self.name + ".") and \
                topic not in SHARED_TOPICS:
            topic = f"{self.name}.{topic}"
        r.events += 1
        r.last_event_at = round(time.time(), 3)
        self.host.bus.publish(topic, data)

    async def _answer(self, message: dict) -> None:
        rid = message.get("id")
        params = message.get("params")
        params = dict(params) if isinstance(params, dict) else {}
        params.pop("stream", None)  # a plugin gets the whole answer, not tokens
        params["text"] = message.get("text")
        reply: dict[str, Any] = {"type": "reply", "id": rid}
        if len(self._asks) > MAX_ASKS:
            reply["error"] = {"code": rpc.BUSY, "message": f"more than {MAX_ASKS} asks waiting"}
        else:
            try:
                reply["result"] = await self.host.ask(params)
            except rpc.RpcError as exc:
                reply["error"] = exc.as_dict()
            except Exception:
                log.exception("sensor %s: ask failed", self.name)
                reply["error"] = {"code": rpc.INTERNAL_ERROR, "message": "internal error"}
        self._write(reply)

    async def _read_logs(self, proc) -> None:
        lines = 0
        dropped = 0
        budget, budget_at = LOG_BURST, time.monotonic()
        while True:
            try:
                line = await proc.stderr.readline()
            except (ValueError, asyncio.LimitOverrunError):
                continue
            if not line:
                if dropped:
                    self.plugin_log.warning("%d log lines dropped (over %d a second)", dropped,
                                            LOG_RATE)
                return
            lines += 1
            if lines % 64 == 0:
                await asyncio.sleep(0)
            now = time.monotonic()
            budget = min(LOG_BURST, budget + (now - budget_at) * LOG_RATE)
            budget_at = now
            if budget < 1:  # a plugin logging in a tight loop must not flood the daemon's log
                dropped += 1
                continue
            budget -= 1
            if dropped:
                self.plugin_log.warning("%d log lines dropped (over %d a second)", dropped,
                                        LOG_RATE)
                dropped = 0
            text = line.decode("utf-8", errors="replace").rstrip()
            if not text:
                continue
            try:
                entry = json.loads(text)
                if not isinstance(entry, dict) or "msg" not in entry:
                    raise ValueError
            except ValueError:
                self.plugin_log.warning("%s", text[:4000])
                continue
            level = LEVELS.get(str(entry.get("level")), logging.INFO)
            msg = str(entry["msg"])
            if entry.get("exc"):
                msg = f"{msg}\n{entry['exc']}"
            self.plugin_log.log(level, "%s", msg[:20000])


class PluginCall:
    """What the daemon's ``ask`` method sees of a plugin's ask: no connection to stream to."""

    id = None

    def notify(self, method: str, params: dict) -> None:
        pass


class SensorHost:
    """All sensor plugins of one daemon. ``ask`` is the daemon's ask path (a coroutine taking the
    ``ask`` RPC's params and returning its result, raising RpcError)."""

    def __init__(self, config: Config, bus: EventBus, ask: AskFn, log_level: str = "info"):
        self.config = config
        self.bus = bus
        self.ask = ask
        self.log_level = log_level
        self.plugins: dict[str, SupervisedPlugin] = {}
        self.stopping = False
        self._tasks: set[asyncio.Task] = set()
        self._reconfiguring = asyncio.Lock()

    def spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _names(self, config: Config) -> list[str]:
        """Installed plugins, and configured ones that are not installed (shown as errors)."""
        return sorted({*installed_plugins(), *config.sensors})

    def start(self) -> None:
        installed = installed_plugins()
        for name in self._names(self.config):
            settings = SensorSettings.from_config(self.config, name)
            plugin = SupervisedPlugin(name, settings, self)
            self.plugins[name] = plugin
            plugin.start()
            if settings.enabled:
                log.info("sensor %s: starting %s", name, installed.get(name, "(not installed)"))

    def list(self) -> list[dict]:
        return [p.record.as_dict() for p in self.plugins.values()]

    async def reconfigure(self, config: Config) -> None:
        """SIGHUP: restart the plugins whose section changed, start/stop the (de)activated."""
        async with self._reconfiguring:  # two quick SIGHUPs apply one after the other
            if not self.stopping:
                await self._reconfigure(config)

    async def _reconfigure(self, config: Config) -> None:
        self.config = config
        names = self._names(config)
        for name in [n for n in self.plugins if n not in names]:  # its section was removed
            await self.plugins.pop(name).stop()
        for name in names:
            if self.stopping:
                return
            settings = SensorSettings.from_config(config, name)
            old = self.plugins.get(name)
            if old is not None and old.settings == settings:
                continue
            if old is not None:
                await old.stop()
            plugin = SupervisedPlugin(name, settings, self)
            if old is not None:
                plugin.record.restarts = old.record.restarts
            self.plugins[name] = plugin
            plugin.start()
            log.info("sensor %s: config changed; %s", name,
                     "restarted" if settings.enabled else "disabled")

    async def stop(self) -> None:
        """Stop every plugin at once; each gets its stop_timeout_s before SIGKILL."""
        self.stopping = True
        await asyncio.gather(*(p.stop() for p in self.plugins.values()), return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
