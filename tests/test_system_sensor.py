"""The system sensor: the hysteresis of its alarms (properties over any sequence of readings),
the alert logic on readings, real psutil readings, and the plugin in a real daemon."""

from __future__ import annotations

import signal
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_daemon_e2e import Conn, DaemonProcess

from tars_edge.config import ConfigError
from tars_edge_sensors.system import Alarm, Reading, SystemSensor, SystemWatch, read_system

DEFAULTS = {name: key.default for name, key in SystemSensor.CONFIG.items()}

# ---- Alarm: hysteresis properties ----------------------------------------------------------------
steps = st.lists(st.tuples(st.floats(0.0, 20.0), st.floats(-50.0, 150.0)), max_size=80)
holds = st.floats(0.0, 30.0)


def run(alarm: Alarm, seq, start: float = 0.0) -> list[tuple[int, float, str]]:
    """Feed (dt, value) steps from time ``start``; the transitions as (index, time, change)."""
    now, out = start, []
    for i, (dt, value) in enumerate(seq):
        now += dt
        change = alarm.update(value, now)
        if change:
            out.append((i, now, change))
    return out


def times(seq) -> list[float]:
    now, out = 0.0, []
    for dt, _ in seq:
        now += dt
        out.append(now)
    return out


@pytest.mark.parametrize("above", [True, False])
@given(seq=steps, raise_after=holds, clear_after=holds)
@settings(max_examples=300, deadline=None)
def test_transitions_alternate_and_respect_levels_and_hold_times(above, seq, raise_after,
                                                                  clear_after):
    threshold, clear_at = (80.0, 70.0) if above else (20.0, 30.0)
    alarm = Alarm(threshold, clear_at, above, raise_after, clear_after)
    changes = run(alarm, seq)
    assert [c for _, _, c in changes] == ["raised", "cleared"] * (len(changes) // 2) + \
        ["raised"] * (len(changes) % 2)
    assert alarm.raised == (len(changes) % 2 == 1)
    at = times(seq)
    previous = -1
    for i, t, change in changes:
        hold, ok = (raise_after, alarm.past_threshold) if change == "raised" else \
            (clear_after, alarm.back_to_safe)
        # the change comes at the end of an unbroken run of readings pointing its way, that
        # lasted the hold time, and not later than the first reading that completed it
        assert ok(seq[i][1])
        start = i
        while start - 1 > previous and ok(seq[start - 1][1]):
            start -= 1
        assert t - at[start] >= hold
        assert all(at[k] - at[start] < hold for k in range(start, i))
        previous = i


@pytest.mark.parametrize("above", [True, False])
@given(seq=st.lists(st.tuples(st.floats(0.0, 10.0), st.floats(-5.0, 5.0)), max_size=200),
       clear_after=holds)
@settings(max_examples=300, deadline=None)
def test_a_value_hovering_at_the_line_raises_once_and_never_flaps(above, seq, clear_after):
    """Noise of ±5 around the threshold, with the clear level 6 away: one alert at most."""
    threshold = 50.0
    clear_at = threshold - 6 if above else threshold + 6
    alarm = Alarm(threshold, clear_at, above, 0.0, clear_after)
    changes = run(alarm, [(dt, threshold + noise) for dt, noise in seq])
    assert [c for _, _, c in changes] in ([], ["raised"])


@given(seq=steps)
@settings(max_examples=200, deadline=None)
def test_a_sustained_value_always_raises_and_a_safe_one_always_clears(seq):
    alarm = Alarm(80.0, 70.0, True, raise_after_s=5.0, clear_after_s=10.0)
    run(alarm, seq)  # whatever happened before
    now = sum(dt for dt, _ in seq) + 1.0
    run(alarm, [(0.0, 95.0)] + [(1.0, 95.0)] * 6, now)  # 6 s past the line (hold: 5)
    assert alarm.raised
    run(alarm, [(0.0, 10.0)] + [(1.0, 10.0)] * 11, now + 7.0)  # 11 s safe (hold: 10)
    assert not alarm.raised


def test_alarm_examples():
    a = Alarm(90.0, 75.0, True, raise_after_s=30.0, clear_after_s=30.0)
    assert a.update(95, 0) is None and a.update(95, 29.9) is None
    assert a.update(89, 30) is None  # the run broke: starts over
    assert a.update(90, 31) is None and a.update(90, 61) == "raised"  # "at" the line counts
    assert a.update(80, 62) is None and a.update(75, 200) is None  # clear_at itself is not safe
    assert a.update(74.9, 201) is None and a.update(None, 220) is None  # no reading: hold on
    assert a.update(60, 231) == "cleared"
    low = Alarm(15.0, 20.0, above=False)
    assert low.update(15.0, 0) == "raised" and low.update(20.0, 1) is None
    assert low.update(20.1, 2) == "cleared" and low.reset() is None
    assert low.update(3, 3) == "raised" and low.reset() == "cleared" and not low.raised
    with pytest.raises(ValueError, match="clear level 95 must be below the threshold 90"):
        Alarm(90.0, 95.0, True)
    with pytest.raises(ValueError, match="must be above"):
        Alarm(15.0, 15.0, False)


# ---- SystemWatch: readings in, alerts out ----------------------------------------------------------
def reading(**given) -> Reading:
    base = {"cpu_pct": 5.0, "mem_available_pct": 60.0, "temperature_c": None,
            "battery_pct": None, "battery_plugged": None, "disk_free_pct": 50.0}
    return Reading(**{**base, **given})


def test_overload_needs_sustained_load_and_clears_after_the_hold():
    watch = SystemWatch(DEFAULTS)  # 90 % for 30 s raises; below 75 % for 30 s clears
    assert watch.update(reading(cpu_pct=99), 0) == []
    assert watch.update(reading(cpu_pct=99), 20) == []
    [(topic, data)] = watch.update(reading(cpu_pct=97), 30)
    assert topic == "overload" and data == {
        "state": "raised", "value": 97.0, "threshold": 90.0, "clear_at": 75.0, "unit": "%",
        "text": "CPU use is high: 97%."}
    for t in range(35, 300, 5):  # hovering between the lines: no news
        assert watch.update(reading(cpu_pct=80 + t % 15), t) == []
    assert watch.update(reading(cpu_pct=10), 300) == []
    [(topic, data)] = watch.update(reading(cpu_pct=10), 330)
    assert (topic, data["state"], data["text"]) == ("overload", "cleared",
                                                     "CPU use is back to normal: 10%.")
    assert watch.raised == []


def test_low_battery_clears_on_mains_and_missing_sensors_never_alert():
    watch = SystemWatch(DEFAULTS)
    [(topic, data)] = watch.update(reading(battery_pct=12.0, battery_plugged=False), 0)
    assert (topic, data["state"], data["value"]) == ("battery_low", "raised", 12.0)
    assert watch.raised == ["battery_low"]
    [(topic, data)] = watch.update(reading(battery_pct=12.0, battery_plugged=True), 1)
    assert (topic, data["state"], data["plugged"]) == ("battery_low", "cleared", True)
    events = watch.update(reading(temperature_c=None, battery_pct=None, disk_free_pct=None), 2)
    assert events == []
    [(topic, data)] = watch.update(reading(temperature_c=85.0, mem_available_pct=4.0), 3)[:1]
    assert topic == "memory_low" and data["text"] == "Available memory is low: 4%."


def test_a_clear_level_on_the_wrong_side_is_a_config_error():
    with pytest.raises(ConfigError, match="sensors.system: the clear level 95 must be below"):
        SystemWatch({**DEFAULTS, "temperature_high_c": 90.0, "temperature_clear_c": 95.0})


def test_real_readings(tmp_path):
    r = read_system(str(tmp_path / "not" / "there"))  # walks up to an existing directory
    assert 0.0 <= r.cpu_pct <= 100.0 and 0.0 < r.mem_available_pct <= 100.0
    assert r.temperature_c is None or -40.0 < r.temperature_c < 150.0
    assert r.battery_pct is None or 0.0 <= r.battery_pct <= 100.0
    assert r.disk_free_pct is not None and 0.0 <= r.disk_free_pct <= 100.0


# ---- the plugin in a real daemon ------------------------------------------------------------------
def test_system_alerts_reach_a_subscriber(tmp_path):
    """Started by SIGHUP after the subscription, so the one-time alert cannot be missed. The
    memory line sits at 99.9 % available, which every real machine is below."""
    d = DaemonProcess(tmp_path / "sys", "[sensors.system]\nenabled = false\n").start()
    try:
        with Conn(d.socket) as sub, Conn(d.socket) as c:
            sub.result("events.subscribe", {"topics": ["system"]})
            d.config.write_text("[sensors.system]\nenabled = true\ninterval_s = 0.2\n"
                                "sample_every_s = 0.2\nmemory_low_pct = 99.9\n"
                                "memory_clear_pct = 100.0\n")
            d.send_signal(signal.SIGHUP)
            seen: dict[str, dict] = {}
            while not {"system.memory_low", "system.sample"} <= set(seen):
                event = sub.read()["params"]
                seen.setdefault(event["topic"], event["data"])
            alert = seen["system.memory_low"]
            assert alert["state"] == "raised" and alert["threshold"] == 99.9
            assert 0 < alert["value"] <= 99.9 and alert["unit"] == "%"
            sample = seen["system.sample"]
            assert set(sample) == {"cpu_pct", "mem_available_pct", "temperature_c", "battery_pct",
                                   "battery_plugged", "disk_free_pct"}
            deadline = time.monotonic() + 30
            while True:
                system = {s["name"]: s for s in c.result("sensors.list")["sensors"]}["system"]
                if system["health"].get("alerts"):
                    break
                assert time.monotonic() < deadline, system
                time.sleep(0.1)
        assert system["state"] == "running" and system["health"]["alerts"] == ["memory_low"]
        assert system["detail"] == "alerts: memory_low" and system["restarts"] == 0
        assert system["last_event_at"] is not None
    finally:
        assert d.stop() == 0, d.log()
