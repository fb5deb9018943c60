"""Sensor plugin host: real `tars-edge serve` daemons running real plugin child processes.

The plugins under test are registered as real entry points: a temporary ``*.dist-info`` with an
``entry_points.txt`` next to a module of test plugins, on the daemon's PYTHONPATH (which its
children inherit), so ``importlib.metadata`` finds them exactly as it finds installed ones.
Each misbehaves in its own way — raises at start, raises later, hangs without heartbeats and
ignores SIGTERM, exits, segfaults, fails to import, is not installed, has a bad config — and
the daemon must keep answering while the host restarts them with backoff.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path

import psutil
import pytest
from test_daemon_e2e import Conn, DaemonProcess

from tars_edge.config import SENSOR_KEYS, ConfigError, load_config

DOCS = Path(__file__).resolve().parent.parent / "docs"

PLUGINS = '''
"""Test plugins: each one fails (or works) in one way."""
import os
import signal
import time

from tars_edge.config import Key
from tars_edge.plugins import AskError, Sensor


class RaisesAtStart(Sensor):
    def __init__(self, ctx, config):
        raise RuntimeError("no such device: /dev/test0")


class RaisesLater(Sensor):
    def run(self):
        self.ctx.set_state("running", "counting", count=1)
        self.ctx.sleep(0.3)
        raise ValueError("lost the device after a while")


class Hangs(Sensor):
    def run(self):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # only SIGKILL gets rid of it
        self.ctx.set_state("running", "about to hang")
        self.ctx.sleep(0.2)
        while True:
            time.sleep(3600)  # no heartbeats


class ExitsHard(Sensor):
    CONFIG = {"how": Key(str, "exit", "how to die", choices=("exit", "segv"))}

    def run(self):
        self.ctx.sleep(0.2)
        if self.config["how"] == "segv":
            os.kill(os.getpid(), signal.SIGSEGV)
        os._exit(7)


class Publisher(Sensor):
    CONFIG = {"every_s": Key(float, 0.1, "seconds between ticks", min=0.01)}

    def run(self):
        n = 0
        print("a stray print must not break the pipe")
        while not self.ctx.sleep(self.config["every_s"]):
            n += 1
            self.ctx.publish("tick", {"n": n})
            self.ctx.publish("publisher.hello", {"pid": os.getpid(),  # already prefixed
                                                 "bundle": str(self.ctx.bundle_dir),
                                                 "state_dir": str(self.ctx.state_dir)})
            self.ctx.publish("wake", {"score": 1.0})  # a shared topic: published as it is


class Flooder(Sensor):
    """One second of events and log lines as fast as it can, then one more line."""

    def run(self):
        end = time.monotonic() + 1.0
        n = 0
        while time.monotonic() < end:
            n += 1
            self.ctx.publish("flood", {"n": n})
            self.ctx.log.info("flood line %d", n)
        self.ctx.set_state("running", f"flooded {n}")
        self.ctx.sleep(1.5)
        self.ctx.log.warning("flood over")
        while not self.ctx.sleep(1.0):
            pass


class Asker(Sensor):
    def run(self):
        while not self.ctx.sleep(0.3):
            self.ctx.publish("answer", self.ctx.ask("what time is it", session="sensor"))
            try:
                self.ctx.ask("what time is it", tier="sideways")
            except AskError as exc:
                self.ctx.publish("refused", {"code": exc.code, "message": exc.message})
'''

BROKEN = 'raise RuntimeError("this plugin is broken at import")\n'

ENTRY_POINTS = """
[tars_edge.sensors]
raises_at_start = tars_test_plugins:RaisesAtStart
raises_later = tars_test_plugins:RaisesLater
hangs = tars_test_plugins:Hangs
exits = tars_test_plugins:ExitsHard
segfaults = tars_test_plugins:ExitsHard
publisher = tars_test_plugins:Publisher
asker = tars_test_plugins:Asker
flooder = tars_test_plugins:Flooder
badconfig = tars_test_plugins:Publisher
typo = tars_test_plugins:Publisher
broken_import = tars_test_broken:Anything
missing_module = tars_no_such_module:Nope
"""

# generous heartbeat timeout (a loaded test machine must not make a healthy plugin look hung);
# the one that hangs on purpose gets 1 s
FAST = """hang_timeout_s = 10.0
start_timeout_s = 20.0
restart_backoff_s = 0.2
max_backoff_s = 1.6
stop_timeout_s = 0.5
"""


def plugin_dir(root: Path) -> Path:
    """A directory that holds the test plugins as an 'installed' distribution."""
    site = root / "site"
    info = site / "tars_test_plugins-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tars-test-plugins\n"
                                   "Version: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    (site / "tars_test_plugins.py").write_text(PLUGINS)
    (site / "tars_test_broken.py").write_text(BROKEN)
    return site


def sensor_daemon(root: Path, config: str) -> DaemonProcess:
    d = DaemonProcess(root, config)
    site = plugin_dir(root)
    d.env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), d.env.get("PYTHONPATH")]))
    return d.start()


def sensors_of(c: Conn) -> dict[str, dict]:
    """Through `status`: proves the daemon answers while plugins fail around it."""
    return {s["name"]: s for s in c.result("status")["sensors"]}


def wait_for(c: Conn, predicate, what: str, timeout: float = 60.0) -> dict[str, dict]:
    deadline = time.monotonic() + timeout
    while True:
        sensors = sensors_of(c)
        if predicate(sensors):
            return sensors
        assert time.monotonic() < deadline, f"{what}: {json.dumps(sensors, indent=1)}"
        time.sleep(0.1)


ALL = "\n".join(
    f"[sensors.{name}]\nenabled = true\n" + (FAST.replace("hang_timeout_s = 10.0",
                                                          "hang_timeout_s = 1.0")
                                             if name == "hangs" else FAST) + extra
    for name, extra in [
        ("raises_at_start", ""), ("raises_later", ""), ("hangs", ""), ("exits", ""),
        ("segfaults", 'how = "segv"\n'), ("publisher", ""), ("asker", ""), ("flooder", ""),
        ("badconfig", 'every_s = "fast"\n'), ("typo", "evry_s = 1.0\n"),
        ("broken_import", ""), ("missing_module", ""),
    ]) + "\n[sensors.system]\nenabled = false\n"


@pytest.fixture(scope="module")
def plugins(tmp_path_factory):
    d = sensor_daemon(tmp_path_factory.mktemp("plugins"), ALL)
    yield d
    assert d.stop() == 0, d.log()


@pytest.mark.parametrize("name, state, error", [
    ("raises_at_start", "restarting", "RuntimeError: no such device: /dev/test0"),
    ("raises_later", "restarting", "ValueError: lost the device after a while"),
    ("exits", "restarting", "exited with status 7"),
    ("segfaults", "restarting", "killed by signal SIGSEGV"),
    ("broken_import", "error", ("cannot load tars_test_broken:Anything: RuntimeError: this "
                               "plugin is broken at import")),
    ("missing_module", "error", ("cannot load tars_no_such_module:Nope: ModuleNotFoundError: "
                                "No module named 'tars_no_such_module'")),
    ("badconfig", "error", "sensors.badconfig.every_s: must be a number, not 'fast'"),
    ("typo", "error", "sensors.typo.evry_s: unknown key (did you mean 'every_s'?)"),
])
def test_a_failing_plugin_is_restarted_and_shown(plugins, name, state, error):
    seen = set()

    def restarted(sensors):
        seen.add(sensors[name]["state"])
        return sensors[name]["restarts"] >= 2 and sensors[name]["state"] == state

    with Conn(plugins.socket) as c:
        entry = wait_for(c, restarted, f"{name} restarted twice")[name]
        listed = {s["name"]: s for s in c.result("sensors.list")["sensors"]}[name]
    assert entry["enabled"] is True and entry["last_error"] == error
    assert entry["detail"] == error and entry["pid"] is None and entry["backoff_s"] > 0
    assert seen <= {state, "starting", "running"}, seen
    assert listed["last_error"] == error and listed["restarts"] >= 2
    log = plugins.log()
    assert f"sensor {name} failed" in log and error in log


def test_backoff_doubles_up_to_its_cap(plugins):
    with Conn(plugins.socket) as c:
        wait_for(c, lambda s: s["raises_at_start"]["restarts"] >= 5, "five restarts")
    waits = [float(w) for w in re.findall(r"sensor raises_at_start failed \(start\): .*; "
                                          r"restarting in ([0-9.]+)s", plugins.log())]
    assert waits[:6] == [0.2, 0.4, 0.8, 1.6, 1.6, 1.6][:len(waits[:6])] and len(waits) >= 5


def test_the_plugins_traceback_reaches_the_daemon_log_once(plugins):
    with Conn(plugins.socket) as c:
        wait_for(c, lambda s: s["raises_later"]["restarts"] >= 2, "raises_later restarted")
    log = plugins.log()
    assert "tars_edge.sensors.raises_later: run() failed" in log
    assert 'raise ValueError("lost the device after a while")' in log  # the traceback
    assert "run() failed again: ValueError: lost the device after a while" in log
    assert log.count('raise ValueError("lost the device after a while")') == 1
    assert "a stray print must not break the pipe" in log  # stdout of a plugin is a log line


def test_a_segfault_is_logged_with_the_faulthandler_dump(plugins):
    with Conn(plugins.socket) as c:
        wait_for(c, lambda s: s["segfaults"]["restarts"] >= 1, "segfaults restarted")
    assert "Fatal Python error: Segmentation fault" in plugins.log()


def test_a_hung_plugin_is_killed_even_when_it_ignores_sigterm(plugins):
    with Conn(plugins.socket) as c:
        first = wait_for(c, lambda s: s["hangs"]["pid"] and s["hangs"]["state"] == "running",
                         "hangs running")["hangs"]["pid"]
        sensors = wait_for(c, lambda s: s["hangs"]["pid"] != first and s["hangs"]["last_error"],
                           "hangs replaced")
    assert sensors["hangs"]["last_error"].startswith("hung: no heartbeat for ")
    gone(first)
    log = plugins.log()
    assert "sensor hangs hung: no heartbeat" in log and "ignored SIGTERM" in log


def test_plugin_events_reach_subscribers(plugins):
    with Conn(plugins.socket) as sub:
        assert sub.result("events.subscribe", {"topics": ["publisher", "wake"]}) == \
            {"topics": ["publisher", "wake"]}
        topics = set()
        while len(topics) < 3:
            event = sub.read()["params"]
            topics.add(event["topic"])
            if event["topic"] == "publisher.tick":
                assert event["data"]["n"] >= 1
            elif event["topic"] == "wake":
                assert event["data"] == {"score": 1.0}
            else:  # not "publisher.publisher.hello"
                assert event["topic"] == "publisher.hello", event
                # the plugin runs on the daemon's own bundle and state dir (serve --bundle ...)
                assert event["data"]["bundle"] == str(plugins.bundle)
                assert event["data"]["state_dir"] == str(plugins.state)
        with Conn(plugins.socket) as c:
            entry = sensors_of(c)["publisher"]
    assert entry["state"] == "running" and entry["restarts"] == 0 and entry["last_error"] is None
    assert entry["events"] >= 3 and entry["last_event_at"] <= time.time()


def test_a_plugins_ask_gets_the_daemons_answer(plugins):
    with Conn(plugins.socket) as sub:
        sub.result("events.subscribe", {"topics": ["asker"]})
        got = {}
        while len(got) < 2:
            event = sub.read()["params"]
            got[event["topic"]] = event["data"]
    answer = got["asker.answer"]
    assert (answer["tier"], answer["intent"]) == ("reflex", "time"), answer
    assert re.search(r"\d{1,2}:\d\d", answer["text"]) and answer["timings_ms"]["total_ms"] > 0
    refused = got["asker.refused"]
    assert refused["code"] == -32602 and "tier" in refused["message"]


def test_a_flooding_plugin_is_rate_limited_and_the_daemon_keeps_answering(plugins):
    with Conn(plugins.socket) as c:
        sensors = wait_for(c, lambda s: s["flooder"]["detail"].startswith("flooded"),
                           "flood done")
    flooder = sensors["flooder"]
    sent = int(flooder["detail"].split()[1])
    assert flooder["events"] + flooder["dropped_events"] == sent and flooder["dropped_events"] > 0
    assert flooder["restarts"] == 0
    deadline = time.monotonic() + 60
    while "flood over" not in plugins.log():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert re.search(r"tars_edge.sensors.flooder: \d+ log lines dropped \(over 100 a second\)",
                     plugins.log())


def test_set_state_and_health_are_shown(plugins):
    with Conn(plugins.socket) as c:
        sensors = wait_for(c, lambda s: s["raises_later"]["detail"] == "counting",
                           "raises_later running")
    assert sensors["raises_later"]["health"] == {"count": 1}


def test_stop_reload_and_a_killed_daemon_leave_no_plugin_behind(tmp_path):
    config = (f"[sensors.system]\nenabled = false\n[sensors.publisher]\nenabled = true\n{FAST}"
              "[sensors.hangs]\nenabled = true\n" + FAST.replace("hang_timeout_s = 10.0",
                                                              "hang_timeout_s = 600"))
    d = sensor_daemon(tmp_path / "d", config)
    with Conn(d.socket) as c:
        sensors = wait_for(c, lambda s: s["publisher"]["state"] == "running"
                           and s["hangs"]["state"] == "running", "both running")
    pids = [sensors["publisher"]["pid"], sensors["hangs"]["pid"]]
    # SIGHUP with publisher switched off: it stops, the unchanged one keeps its process
    d.config.write_text(config.replace("[sensors.publisher]\nenabled = true",
                                       "[sensors.publisher]\nenabled = false"))
    d.send_signal(signal.SIGHUP)
    with Conn(d.socket) as c:
        sensors = wait_for(c, lambda s: s["publisher"]["state"] == "disabled", "publisher off")
    assert sensors["hangs"]["pid"] == pids[1] and sensors["publisher"]["pid"] is None
    gone(pids[0])
    # SIGTERM: the daemon exits 0 and takes the plugin that ignores SIGTERM with it
    assert d.stop() == 0, d.log()
    gone(pids[1])
    # SIGKILL of the daemon: the orphaned plugin notices its closed pipe and exits by itself
    d.config.write_text(config)
    d.start()
    with Conn(d.socket) as c:
        pid = wait_for(c, lambda s: s["publisher"]["state"] == "running",
                       "publisher running")["publisher"]["pid"]
    d.stop(signal.SIGKILL)
    gone(pid)


def gone(pid: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie":
        assert time.monotonic() < deadline, f"plugin process {pid} still running"
        time.sleep(0.05)


# ---- config ----------------------------------------------------------------------------------
def clean_env(tmp_path, **extra):
    return {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
            "XDG_STATE_HOME": str(tmp_path / "state"), **extra}


def test_sensor_sections_are_checked(tmp_path):
    file = tmp_path / "c.toml"
    file.write_text("[sensors.system]\nenabled = 'yes'\n")
    with pytest.raises(ConfigError, match=r"c.toml: sensors.system.enabled: must be true or false"):
        load_config(file, env=clean_env(tmp_path))
    file.write_text("[sensors.voice]\nhang_timeout_s = 0\n")
    with pytest.raises(ConfigError, match=r"sensors.voice.hang_timeout_s: 0.0 is below the minimum 0.2"):
        load_config(file, env=clean_env(tmp_path))
    file.write_text("[sensors]\nvoice = 1\n")
    with pytest.raises(ConfigError, match=r"sensors.voice: must be a table \[sensors.voice\]"):
        load_config(file, env=clean_env(tmp_path))
    file.write_text("[sensors.voice]\nenabled = true\nmodel = 'stt/tiny'\n")
    config = load_config(file, env=clean_env(tmp_path, TARS_EDGE__SENSORS__SYSTEM__ENABLED="false"))
    assert config.sensors == {"voice": {"enabled": True, "model": "stt/tiny"},
                              "system": {"enabled": False}}
    assert config.sensor_dirs["voice"] == str(tmp_path)  # the plugin resolves its paths here


def test_sensor_keys_are_documented():
    config_doc = (DOCS / "config.md").read_text(encoding="utf-8")
    sensors_doc = (DOCS / "sensors.md").read_text(encoding="utf-8")
    for name in SENSOR_KEYS:
        assert f"`{name}`" in config_doc and f"`{name}`" in sensors_doc, name
    from tars_edge_sensors.system import SystemSensor

    system_doc = config_doc.split("#### [sensors.system]")[1].split("####")[0]
    for name in SystemSensor.CONFIG:
        assert f"`{name}`" in sensors_doc, f"docs/sensors.md misses sensors.system.{name}"
        assert f"`{name}`" in system_doc, f"docs/config.md misses sensors.system.{name}"
