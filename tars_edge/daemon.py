"""`tars-edge serve`: the assistant as a daemon on a Unix socket (DESIGN §6, docs/api.md).

One asyncio loop owns the socket, the event bus and the timer schedule; the cascade runs on
worker threads (T1 + T2, milliseconds) and one core thread (T3, seconds). Signals:

    SIGTERM / SIGINT  stop accepting, give in-flight requests ``shutdown_grace_s`` to finish,
                      cancel the rest (clients get -32003), checkpoint the databases, exit 0
    SIGHUP            re-read the config; a bad file is logged and the old config kept

:class:`Assistant` is the same assembly without the socket, for the in-process CLI.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import psutil

from tars_edge import __version__
from tars_edge.bundle import Bundle, BundleError
from tars_edge.cascade import (
    Answer,
    AskParams,
    Cascade,
    CoreTier,
    MemoryTier,
    TierUnavailable,
    open_core,
)
from tars_edge.config import Config, ConfigError, load_config
from tars_edge.memory.store import MemoryStoreError
from tars_edge.notify import SystemdNotifier
from tars_edge.persona import PersonaError, load_persona
from tars_edge.plugins.host import PluginCall, SensorHost
from tars_edge.server import protocol as rpc
from tars_edge.server.bus import EventBus
from tars_edge.server.protocol import RpcError, check_unknown, param, tags_param, text_param
from tars_edge.server.server import Call, Limits, RpcServer
from tars_edge.server.unix import SocketBusyError, claim_socket
from tars_edge.skills import ActionBook, SkillBook, TimerBook, TimerStoreError, alert_text

log = logging.getLogger("tars_edge.daemon")
CoreFactory = Callable[[Bundle, dict, str], CoreTier]
TOPIC = re.compile(r"^(?:\*|[a-z0-9_-]+(?:\.[a-z0-9_-]+)*)$")
MAX_SCHEDULE_SLEEP_S = 3600.0  # re-check at least hourly, in case the wall clock jumped


class StartupError(RuntimeError):
    """The daemon cannot start; one line saying what to do."""


# ---- logging ----------------------------------------------------------------------------------
class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": round(record.created, 3), "level": record.levelname.lower(),
                 "logger": record.name, "msg": record.getMessage()}
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str, fmt: str) -> None:
    """Structured lines to stdout; under systemd the journal adds its own timestamps."""
    handler = logging.StreamHandler(sys.stdout)
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    elif os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("tars_edge")
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    root.propagate = False


# ---- the assembly ---------------------------------------------------------------------------------
def core_settings(core: dict, state_dir: Path) -> dict:
    """The ``[core]`` config section as the engine's settings (byte counts, a database path)."""
    settings = dict(core)
    settings["prefix_cache_bytes"] = settings.pop("prefix_cache_mb") << 20
    if settings.pop("prefix_cache_persist"):
        settings["prefix_cache_db"] = str(state_dir / "prefix_cache.sqlite")
    return settings


class Assistant:
    """Bundle, reflex, skills, timers, memory and core, wired into a Cascade."""

    def __init__(self, config: Config, core_factory: CoreFactory | None = None,
                 on_timer_change: Callable[[], None] | None = None, progress: bool = False):
        self.config = config
        try:
            self.bundle = Bundle.load(config.bundle_dir)
            from tars_edge.reflex import ReflexClassifier

            self.reflex = ReflexClassifier(self.bundle, threads=1)
        except BundleError as exc:
            raise StartupError(str(exc)) from None
        try:
            self.persona = load_persona(config["core"]["persona_file"])
        except PersonaError as exc:
            raise StartupError(str(exc)) from None
        state_dir = config.state_dir
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StartupError(f"{state_dir}: cannot create the state directory "
                               f"({exc.strerror}); pass --state-dir DIR") from None
        try:
            self.timers: TimerBook | None = TimerBook(state_dir, on_change=on_timer_change)
        except TimerStoreError as exc:
            log.error("timers disabled: %s", exc)
            self.timers = None
        self.memory: MemoryTier | None = None
        reason = "memory is turned off in the config ([cascade] memory = false)"
        if config["cascade"]["memory"]:
            self.memory, reason = MemoryTier.open(state_dir, self.bundle,
                                                  config["cascade"]["memo_threshold"])
            if self.memory is None:
                log.warning("memory disabled: %s", reason)
        self.memory_off_reason = reason if self.memory is None else ""
        self.skills = SkillBook(
            config.skill_settings(), timers=self.timers, memory=self.memory,
            memory_off_reason=self.memory_off_reason,
            actions=ActionBook.from_config(config.actions), state_dir=state_dir,
        )
        factory = core_factory or open_core
        try:
            self.core = factory(self.bundle, core_settings(config["core"], state_dir),
                                self.persona)
        except BundleError as exc:
            from tars_edge.cascade import MissingCore

            log.error("core disabled: %s", exc)
            self.core = MissingCore(str(exc))
        self.cascade = Cascade(self.reflex, self.skills, self.core, config["cascade"],
                               self.persona, memory=self.memory,
                               memory_off_reason=self.memory_off_reason)

    def ask_params(self, text: str, **given) -> AskParams:
        core = self.config["core"]
        params = AskParams(text=text, max_tokens=core["max_tokens"],
                           temperature=core["temperature"], speculative=core["speculative"])
        for key, value in given.items():
            if value is not None:
                setattr(params, key, value)
        return params

    def require_memory(self) -> MemoryTier:
        if self.memory is None or not self.config["cascade"]["memory"]:
            raise RpcError(rpc.MEMORY_UNAVAILABLE, f"memory is off: {self.memory_off_reason}")
        return self.memory

    def close(self) -> None:
        for closer in (self.core.close,
                       self.memory.close if self.memory else None,
                       self.timers.close if self.timers else None):
            if closer is None:
                continue
            try:
                closer()
            except Exception:
                log.warning("error while closing", exc_info=True)


# ---- the daemon -----------------------------------------------------------------------------------
class Daemon:
    def __init__(self, config: Config, config_path: str | None = None,
                 overrides: dict | None = None, core_factory: CoreFactory | None = None):
        self.config = config
        self.config_path = config_path
        self.overrides = overrides or {}
        self.core_factory = core_factory
        self.bus = EventBus()
        self.started = time.time()
        self.process = psutil.Process()
        self.process.cpu_percent(None)  # prime: the next call measures from here
        self.workers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="tars-route")
        self.core_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tars-core")
        self.assistant: Assistant | None = None
        self.server: RpcServer | None = None
        self.sensors: SensorHost | None = None
        self._stop: asyncio.Event | None = None
        self._timers_changed: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._background: set[asyncio.Task] = set()
        self.notifier = SystemdNotifier(None, None)  # replaced in main() under systemd

    # ---- lifecycle ----------------------------------------------------------------------------
    def run(self) -> int:
        return asyncio.run(self.main())

    async def main(self) -> int:
        daemon_cfg = self.config["daemon"]
        setup_logging(daemon_cfg["log_level"], daemon_cfg["log_format"])
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._timers_changed = asyncio.Event()
        # watchdog pings run on this loop from the start: model loading happens on a worker
        # thread, so a stuck loop (not a slow load) is what stops them
        self.notifier = SystemdNotifier.from_environ()
        self._spawn(self.notifier.keepalive(self._service_status))
        try:
            claim = claim_socket(self.config.socket_path, int(daemon_cfg["socket_mode"], 8),
                                 daemon_cfg["socket_group"])
        except SocketBusyError as exc:
            raise StartupError(str(exc)) from None
        try:
            # handlers first: a SIGTERM or SIGHUP while the models load must not kill us
            for sig, handler in ((signal.SIGTERM, self._stop.set), (signal.SIGINT, self._stop.set),
                                 (signal.SIGHUP, self._reload)):
                self._loop.add_signal_handler(sig, handler)
            self.assistant = await self._loop.run_in_executor(self.workers, self._open_assistant)
            self.server = RpcServer(self._handlers(), Limits.from_config(daemon_cfg), self.bus)
            await self.server.start(claim.sock)
            self._spawn(self._timer_loop())
            self._spawn(self._prewarm())
            self.sensors = SensorHost(self.config, self.bus, self._sensor_ask,
                                      daemon_cfg["log_level"])
            self.sensors.start()
            a = self.assistant
            log.info("listening socket=%s state_dir=%s bundle=%s pid=%d memory=%s core=%s",
                     claim.path, self.config.state_dir, a.bundle.root, os.getpid(),
                     "on" if a.memory else "off",
                     "on" if not a.core.unavailable_reason else "off")
            if a.core.unavailable_reason:
                log.info("core unavailable: %s", a.core.unavailable_reason)
            self.notifier.ready(self._service_status())
            await self._stop.wait()
            self.notifier.stopping("stopping: finishing in-flight requests")
            log.info("stopping: finishing in-flight requests (up to %.1fs)",
                     daemon_cfg["shutdown_grace_s"])
            self.bus.publish("daemon", {"type": "daemon.stopping"})
            await asyncio.gather(self.server.shutdown(self.config["daemon"]["shutdown_grace_s"]),
                                 self.sensors.stop())
        finally:
            if self.sensors is not None:
                await self.sensors.stop()  # a no-op after a normal stop
            for task in self._background:
                task.cancel()
            self.workers.shutdown(wait=False, cancel_futures=True)
            self.core_thread.shutdown(wait=False, cancel_futures=True)
            await self._loop.run_in_executor(None, self._close_assistant)
            claim.release()
        log.info("stopped")
        return 0

    def _service_status(self) -> str:
        """The one line `systemctl status` shows (STATUS=)."""
        a, server = self.assistant, self.server
        if a is None or server is None:
            return "loading models"
        tiers = ["reflex"] + (["memory"] if a.memory else []) + \
            ([] if a.core.unavailable_reason else ["core"])
        return (f"listening on {self.config.socket_path}; bundle {a.bundle.root}; "
                f"tiers {'+'.join(tiers)}; {len(server.connections)} connections, "
                f"{server.requests} requests, {server.errors} errors")

    def _open_assistant(self) -> Assistant:
        loop = self._loop
        return Assistant(self.config, self.core_factory,
                         on_timer_change=lambda: loop.call_soon_threadsafe(self._timers_changed.set))

    def _close_assistant(self) -> None:
        if self.assistant is not None:
            self.assistant.close()

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _prewarm(self) -> None:
        core = self.assistant.core
        if core.unavailable_reason:
            return
        try:
            await self._loop.run_in_executor(self.core_thread, core.prewarm,
                                             self.assistant.persona)
            log.info("persona prefilled into the prefix-state cache")
        except Exception:
            log.warning("persona prewarm failed", exc_info=True)

    def _reload(self) -> None:
        """SIGHUP: re-read the config; keep the old one if the new one is bad."""
        if self.assistant is None or self.server is None:
            log.warning("SIGHUP while starting: ignored; send it again once the daemon listens")
            return
        self.notifier.reloading()
        try:
            self._apply_reload()
        finally:
            self.notifier.ready(self._service_status())

    def _apply_reload(self) -> None:
        try:
            new = load_config(self.config_path, overrides=self.overrides)
            actions = ActionBook.from_config(new.actions)
            persona = load_persona(new["core"]["persona_file"])
        except (ConfigError, PersonaError, ValueError) as exc:
            log.error("reload failed, keeping the running config: %s", exc)
            return
        old = self.config
        for key in ("socket", "state_dir", "bundle", "max_line_bytes"):
            if new["daemon"][key] != old["daemon"][key]:
                log.warning("daemon.%s changed; it takes effect after a restart", key)
                new["daemon"][key] = old["daemon"][key]
        self.config = new
        a = self.assistant
        a.config = new
        setup_logging(new["daemon"]["log_level"], new["daemon"]["log_format"])
        a.cascade.reconfigure(new["cascade"])
        a.skills.settings = new.skill_settings()
        a.skills.actions = actions
        if persona != a.persona:
            log.warning("core.persona_file changed; it takes effect after a restart")
        self.server.limits = Limits.from_config(new["daemon"])
        if self.sensors is not None:  # plugins whose [sensors.NAME] changed are restarted
            self.sensors.log_level = new["daemon"]["log_level"]
            self._spawn(self.sensors.reconfigure(new))
        self.bus.publish("daemon", {"type": "daemon.reloaded", "sources": new.sources})
        log.info("config reloaded sources=%s", ",".join(new.sources) or "defaults")

    # ---- timers ----------------------------------------------------------------------------------
    async def _timer_loop(self) -> None:
        timers = self.assistant.timers
        if timers is None:
            return
        while True:
            self._timers_changed.clear()
            self._fire_due(timers)
            next_due = timers.next_due()
            sleep = MAX_SCHEDULE_SLEEP_S if next_due is None else \
                min(MAX_SCHEDULE_SLEEP_S, max(0.0, next_due - time.time()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._timers_changed.wait(), sleep)

    def _fire_due(self, timers: TimerBook) -> None:
        now = time.time()
        for timer in timers.due(now):
            if not timers.mark_fired(timer.id, now):
                continue
            fired = timers.get(timer.id)
            text = alert_text(fired, datetime.now().astimezone())
            late = max(0.0, now - timer.due)
            self.bus.publish("timer", {"type": "timer.fired", "timer": fired.as_dict,
                                       "text": text, "lang": fired.lang,
                                       "late_s": round(late, 1)})
            log.info("timer fired id=%d kind=%s late_s=%.1f", timer.id, timer.kind, late)
            self._spawn(self._speak(text, fired.lang))

    async def _speak(self, text: str, lang: str) -> None:
        """The configured alert command, with the text on stdin (never on its command line)."""
        argv = self.config["skills"].get("alert_command") or []
        if not argv:
            return
        argv = [a.replace("{lang}", lang) for a in argv]
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL)
            await asyncio.wait_for(proc.communicate(text.encode("utf-8")), 60)
        except (OSError, TimeoutError) as exc:
            log.warning("alert command failed: %s: %s", argv[0], exc)

    # ---- methods ---------------------------------------------------------------------------------
    def _handlers(self) -> dict:
        return {
            "ask": self.m_ask, "remember": self.m_remember, "recall": self.m_recall,
            "forget": self.m_forget, "status": self.m_status, "sensors.list": self.m_sensors,
            "events.subscribe": self.m_subscribe, "events.unsubscribe": self.m_unsubscribe,
            "session.reset": self.m_session_reset, "timers.list": self.m_timers_list,
            "timers.cancel": self.m_timers_cancel,
        }

    async def _work(self, fn, *args):
        return await self._loop.run_in_executor(self.workers, fn, *args)

    async def _memory_work(self, fn, *args):
        """Like _work; memory rejects bad input (an over-long text, a bad tag) with
        ValueError, which is the client's to fix: -32602. A database that fails while
        running (a full disk, damage) is -32011 with its one line, not an internal error."""
        try:
            return await self._loop.run_in_executor(self.workers, fn, *args)
        except ValueError as exc:
            raise RpcError(rpc.INVALID_PARAMS, str(exc).splitlines()[0]) from None
        except MemoryStoreError as exc:
            log.warning("memory request failed: %s", exc)
            raise RpcError(rpc.MEMORY_UNAVAILABLE, str(exc).splitlines()[0]) from None

    def _publish(self, events: list[tuple[str, dict]]) -> None:
        for topic, data in events:
            self.bus.publish(topic, data)

    async def m_ask(self, params: dict, call: Call) -> dict:
        check_unknown(params, ("text", "session", "stream", "max_tokens", "temperature", "seed",
                               "speculative", "tier"))
        a = self.assistant
        ask = a.ask_params(
            text_param(params, "text"),
            session=param(params, "session", str, max_len=128),
            stream=param(params, "stream", bool),
            max_tokens=param(params, "max_tokens", int, min=1, max=8192),
            temperature=param(params, "temperature", float, min=0, max=5),
            seed=param(params, "seed", int, min=0, max=2**63 - 1),
            speculative=param(params, "speculative", bool),
            tier=param(params, "tier", str, choices=("auto", "core")),
        )
        routed = await self._work(a.cascade.route, ask)
        if isinstance(routed, Answer):
            if ask.stream:
                call.notify("ask.token", {"id": call.id, "text": routed.text})
            self._publish(routed.events)
            return routed.as_result()
        loop = self._loop
        on_token = None
        if ask.stream:
            def on_token(piece: str) -> None:
                loop.call_soon_threadsafe(call.notify, "ask.token", {"id": call.id, "text": piece})
        cancel = threading.Event()
        future = loop.run_in_executor(self.core_thread, a.cascade.run_core, routed, on_token,
                                      cancel)
        try:
            answer = await asyncio.shield(future)
        except asyncio.CancelledError:
            cancel.set()  # stop the generation; give the core thread a moment to let go
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.shield(future), 2.0)
            raise
        except TierUnavailable as exc:
            raise RpcError(rpc.CORE_UNAVAILABLE, exc.reason, {"tier": exc.tier, **exc.data}) \
                from None
        except ValueError as exc:
            raise RpcError(rpc.INVALID_PARAMS, str(exc).splitlines()[0]) from None
        return answer.as_result()

    async def m_remember(self, params: dict, call: Call) -> dict:
        check_unknown(params, ("text", "tags"))
        text = text_param(params, "text", max_len=4000)
        tags = tags_param(params)
        memory = self.assistant.require_memory()
        return {"id": await self._memory_work(memory.remember, text, tags, "api")}

    async def m_recall(self, params: dict, call: Call) -> dict:
        check_unknown(params, ("query", "k", "tags"))
        query = text_param(params, "query", max_len=4000)
        k = param(params, "k", int, default=5, min=1, max=100)
        tags = tags_param(params)
        memory = self.assistant.require_memory()
        found = await self._memory_work(memory.recall, query, k, tags)
        return {"results": [r.as_dict() for r in found]}

    async def m_forget(self, params: dict, call: Call) -> dict:
        check_unknown(params, ("id",))
        memory_id = param(params, "id", int, required=True, min=1, max=2**63 - 1)
        memory = self.assistant.require_memory()
        return {"ok": bool(await self._memory_work(memory.forget, memory_id))}

    async def m_status(self, params: dict, call: Call) -> dict:
        check_unknown(params, ())
        a = self.assistant
        cascade = await self._work(a.cascade.status)
        rss = self.process.memory_info().rss
        core = cascade["core"]
        memory = cascade["memory"]
        pending = len(a.timers.pending()) if a.timers else None
        return {
            "version": __version__,
            "uptime_s": round(time.time() - self.started, 1),
            "pid": os.getpid(),
            "rss_mb": round(rss / 2**20, 1),
            "cpu_pct": round(self.process.cpu_percent(None), 1),  # since the previous status
            "models": {"reflex": True,
                       "embedder": bool(a.memory and a.memory.embedder.loaded),
                       "core": bool(core.get("loaded"))},
            "bundle": {"path": str(a.bundle.root), "id": a.bundle.id},
            "tiers": cascade["tiers"],
            "unanswered": cascade["unanswered"],
            "reflex_threshold": cascade["reflex_threshold"],
            "caches": {"prefix": core.get("prefix_cache"),
                       "memo": memory.get("memo") if memory.get("available", True) else None},
            "memory": memory,
            "core": core,
            "timers": {"pending": pending, "available": a.timers is not None},
            "sensors": self.sensors.list() if self.sensors else [],
            "server": {"connections": len(self.server.connections),
                       "requests": self.server.requests, "errors": self.server.errors,
                       "subscribers": self.bus.subscribers, "events": self.bus.published},
            "socket": str(self.config.socket_path),
            "state_dir": str(self.config.state_dir),
        }

    async def m_sensors(self, params: dict, call: Call) -> dict:
        check_unknown(params, ())
        return {"sensors": self.sensors.list() if self.sensors else []}

    async def _sensor_ask(self, params: dict) -> dict:
        """A sensor plugin's ``ctx.ask``: the ``ask`` method's path and result, no streaming."""
        limit = self.config["daemon"]["request_timeout_s"]
        try:
            return await asyncio.wait_for(self.m_ask(params, PluginCall()), limit)
        except TimeoutError:
            raise RpcError(rpc.TIMEOUT, f"the request took longer than {limit:g} s") from None

    async def m_subscribe(self, params: dict, call: Call) -> dict:
        check_unknown(params, ("topics",))
        topics = param(params, "topics", list, required=True)
        if not topics or len(topics) > 32 or not all(
            isinstance(t, str) and TOPIC.match(t) for t in topics
        ):
            raise RpcError(rpc.INVALID_PARAMS, 'params.topics must be a list of topic names '
                                               'like "timer", "system.overload" or "*"')
        return {"topics": call.subscribe(self.bus, topics)}

    async def m_unsubscribe(self, params: dict, call: Call) -> dict:
        check_unknown(params, ("topics",))
        topics = param(params, "topics", list)
        return {"topics": call.unsubscribe(topics)}

    async def m_session_reset(self, params: dict, call: Call) -> dict:
        check_unknown(params, ("session",))
        session = param(params, "session", str, required=True, max_len=128)
        done = await self._work(self.assistant.cascade.reset_session, session)
        return {"ok": True, **done}

    async def m_timers_list(self, params: dict, call: Call) -> dict:
        check_unknown(params, ())
        timers = self._timers()
        return {"timers": [t.as_dict for t in await self._work(timers.pending)]}

    async def m_timers_cancel(self, params: dict, call: Call) -> dict:
        check_unknown(params, ("id",))
        timers = self._timers()
        timer_id = param(params, "id", int, required=True, min=1, max=2**63 - 1)
        if not await self._work(timers.cancel, timer_id):
            raise RpcError(rpc.NOT_FOUND, f"no pending timer with id {timer_id}")
        self.bus.publish("timer", {"type": "timer.cancelled", "timer": timers.get(timer_id).as_dict})
        return {"ok": True}

    def _timers(self) -> TimerBook:
        if self.assistant.timers is None:
            raise RpcError(rpc.NOT_FOUND, "timers are not available (see the daemon log)")
        return self.assistant.timers


def serve(config_path: str | None = None, overrides: dict | None = None,
          core_factory: CoreFactory | None = None) -> int:
    """Load the config and run the daemon until SIGTERM. Startup problems raise
    ConfigError/StartupError with a one-line message."""
    config = load_config(config_path, overrides=overrides)
    return Daemon(config, config_path, overrides, core_factory).run()


def main(argv: list[str] | None = None) -> int:
    from tars_edge.cli import main as cli_main

    return cli_main(["serve", *(argv if argv is not None else sys.argv[1:])])


if __name__ == "__main__":
    sys.exit(main())

