"""The system sensor: CPU, memory, temperature, battery and disk through psutil, and alerts when
one of them crosses its line (docs/sensors.md).

Every ``interval_s`` (5 s) it reads the machine once — a handful of ``/proc`` and ``/sys``
reads, no sampling sleeps — and feeds each value to an :class:`Alarm`. An alarm is raised when
the value reaches its threshold (for CPU: stays there ``cpu_sustain_s``), and cleared only once
the value has been back past a separate clear level for ``clear_after_s``. That gap in value and
in time is the hysteresis: a value hovering at the line raises one alert, not one per poll.

Events (topics as subscribers see them), each ``{"state": "raised"|"cleared", "value",
"threshold", "clear_at", "unit", "text"}``:

    system.overload           CPU use of the whole machine, %           above the line
    system.memory_low         memory available, % of total              below the line
    system.temperature_high   hottest CPU-ish temperature sensor, °C    above the line
    system.battery_low        battery charge, % (only while on battery) below the line
    system.disk_low           free space where the state dir lives, %   below the line
    system.sample             every reading, when ``sample_every_s`` > 0

Readings the machine does not have (no temperature sensor, no battery) are reported as null
in ``sensors.list`` health and never alert.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from time import monotonic
from typing import ClassVar

import psutil

from tars_edge.config import ConfigError, Key
from tars_edge.plugins.api import Sensor, SensorContext

# psutil names of the sensors that measure the CPU/SoC, preferred over any other reading
CPU_THERMAL = ("cpu_thermal", "coretemp", "k10temp", "soc_thermal", "cpu-thermal", "zenpower")


@dataclass
class Alarm:
    """A threshold with hysteresis. ``above``: the alarm is about high values (CPU, heat);
    otherwise about low ones (free memory, battery, disk).

    raised when the value is past ``threshold`` (``>=`` above, ``<=`` below) continuously for
    ``raise_after_s``; cleared when it is strictly on the safe side of ``clear_at`` continuously
    for ``clear_after_s``. ``clear_at`` must lie strictly on the safe side of ``threshold``, so
    no single value can both raise and clear. Times are seconds on any monotonic clock.
    """

    threshold: float
    clear_at: float
    above: bool = True
    raise_after_s: float = 0.0
    clear_after_s: float = 0.0
    raised: bool = False
    _since: float | None = None  # when the value started to point at the other state

    def __post_init__(self) -> None:
        safe = self.clear_at < self.threshold if self.above else self.clear_at > self.threshold
        if not safe:
            side = "below" if self.above else "above"
            raise ValueError(f"the clear level {self.clear_at:g} must be {side} the threshold "
                             f"{self.threshold:g}")
        if self.raise_after_s < 0 or self.clear_after_s < 0:
            raise ValueError("hold times must not be negative")

    def past_threshold(self, value: float) -> bool:
        return value >= self.threshold if self.above else value <= self.threshold

    def back_to_safe(self, value: float) -> bool:
        return value < self.clear_at if self.above else value > self.clear_at

    def update(self, value: float | None, now: float) -> str | None:
        """Feed one reading; "raised" or "cleared" when the state changes. None = no reading
        (the state and any running hold are kept)."""
        if value is None:
            return None
        pointing = self.back_to_safe(value) if self.raised else self.past_threshold(value)
        if not pointing:
            self._since = None
            return None
        if self._since is None:
            self._since = now
        if now - self._since < (self.clear_after_s if self.raised else self.raise_after_s):
            return None
        self.raised = not self.raised
        self._since = None
        return "raised" if self.raised else "cleared"

    def reset(self) -> str | None:
        """The condition no longer applies (a battery went on mains): clear at once."""
        self._since = None
        if self.raised:
            self.raised = False
            return "cleared"
        return None


@dataclass
class Reading:
    """One look at the machine; None where it has no such sensor."""

    cpu_pct: float
    mem_available_pct: float
    temperature_c: float | None
    battery_pct: float | None
    battery_plugged: bool | None
    disk_free_pct: float | None


def temperature_c() -> float | None:
    """The hottest current reading of the CPU sensors (of any sensor when none is known)."""
    reader = getattr(psutil, "sensors_temperatures", None)
    try:
        groups = reader() if reader else {}
    except (OSError, RuntimeError):
        return None
    chosen = [groups[k] for k in CPU_THERMAL if k in groups] or list(groups.values())
    values = [t.current for group in chosen for t in group if t.current is not None]
    return max(values) if values else None


def existing_dir(path: str) -> str:
    while path and not os.path.isdir(path):
        parent = os.path.dirname(path)
        path = "" if parent == path else parent
    return path or "/"


def read_system(disk_path: str) -> Reading:
    """Non-blocking: CPU % is measured since the previous call (prime it once at start)."""
    vm = psutil.virtual_memory()
    reader = getattr(psutil, "sensors_battery", None)
    try:
        battery = reader() if reader else None
    except (OSError, RuntimeError):
        battery = None
    try:
        disk_free = 100.0 - psutil.disk_usage(existing_dir(disk_path)).percent
    except OSError:
        disk_free = None
    return Reading(
        cpu_pct=psutil.cpu_percent(None),
        mem_available_pct=100.0 * vm.available / vm.total if vm.total else 100.0,
        temperature_c=temperature_c(),
        battery_pct=float(battery.percent) if battery is not None else None,
        battery_plugged=bool(battery.power_plugged) if battery is not None and
        battery.power_plugged is not None else None,
        disk_free_pct=disk_free,
    )


@dataclass(frozen=True)
class Watched:
    topic: str
    field: str  # Reading attribute
    unit: str
    what: str  # for the event's text


WATCHED = (
    Watched("overload", "cpu_pct", "%", "CPU use"),
    Watched("memory_low", "mem_available_pct", "%", "available memory"),
    Watched("temperature_high", "temperature_c", "°C", "CPU temperature"),
    Watched("battery_low", "battery_pct", "%", "battery charge"),
    Watched("disk_low", "disk_free_pct", "%", "free disk space"),
)


class SystemWatch:
    """Readings in, alert events out; no I/O (the sensor's logic, testable on its own)."""

    def __init__(self, config: dict):
        c = config
        clear = c["clear_after_s"]
        try:
            self.alarms = {
                "overload": Alarm(c["cpu_overload_pct"], c["cpu_clear_pct"], True,
                                  c["cpu_sustain_s"], clear),
                "memory_low": Alarm(c["memory_low_pct"], c["memory_clear_pct"], False, 0, clear),
                "temperature_high": Alarm(c["temperature_high_c"], c["temperature_clear_c"],
                                          True, 0, clear),
                "battery_low": Alarm(c["battery_low_pct"], c["battery_clear_pct"], False, 0,
                                     clear),
                "disk_low": Alarm(c["disk_low_pct"], c["disk_clear_pct"], False, 0, clear),
            }
        except ValueError as exc:
            raise ConfigError(f"sensors.system: {exc}") from None

    def update(self, reading: Reading, now: float) -> list[tuple[str, dict]]:
        events = []
        for watched in WATCHED:
            alarm = self.alarms[watched.topic]
            value = getattr(reading, watched.field)
            if watched.topic == "battery_low" and reading.battery_plugged:
                change = alarm.reset()  # charging: running out is no longer the risk
            else:
                change = alarm.update(value, now)
            if change is None:
                continue
            shown = None if value is None else round(value, 1)
            verb = "is low" if not alarm.above else "is high"
            what = watched.what[0].upper() + watched.what[1:]
            text = (f"{what} {verb}: {shown:g}{watched.unit}." if change == "raised" else
                    f"{what} is back to normal"
                    + (f": {shown:g}{watched.unit}." if shown is not None else "."))
            events.append((watched.topic, {
                "state": change, "value": shown, "threshold": alarm.threshold,
                "clear_at": alarm.clear_at, "unit": watched.unit, "text": text,
                **({"plugged": True} if watched.topic == "battery_low"
                   and reading.battery_plugged else {}),
            }))
        return events

    @property
    def raised(self) -> list[str]:
        return [name for name, alarm in self.alarms.items() if alarm.raised]


class SystemSensor(Sensor):
    """psutil readings every ``interval_s``; alerts with hysteresis (module docstring)."""

    CONFIG: ClassVar[dict[str, Key]] = {
        "interval_s": Key(float, 5.0, "seconds between readings", min=0.1, max=3600),
        "sample_every_s": Key(float, 0.0, "publish every reading as system.sample this often; "
                              "0 = never", min=0),
        "clear_after_s": Key(float, 30.0, "an alert clears after its value stayed past the "
                             "clear level this long", min=0),
        "cpu_overload_pct": Key(float, 90.0, "system.overload above this CPU use", min=0,
                                max=100),
        "cpu_clear_pct": Key(float, 75.0, "... cleared below this", min=0, max=100),
        "cpu_sustain_s": Key(float, 30.0, "... only when the CPU stayed that busy this long",
                             min=0),
        "memory_low_pct": Key(float, 10.0, "system.memory_low at or below this % available",
                              min=0, max=100),
        "memory_clear_pct": Key(float, 15.0, "... cleared above this", min=0, max=100),
        "temperature_high_c": Key(float, 80.0, "system.temperature_high at or above this °C"),
        "temperature_clear_c": Key(float, 72.0, "... cleared below this"),
        "battery_low_pct": Key(float, 15.0, "system.battery_low at or below this % on battery",
                               min=0, max=100),
        "battery_clear_pct": Key(float, 20.0, "... cleared above this (or on mains)", min=0,
                                 max=100),
        "disk_low_pct": Key(float, 5.0, "system.disk_low at or below this % free", min=0,
                            max=100),
        "disk_clear_pct": Key(float, 7.0, "... cleared above this", min=0, max=100),
        "disk_path": Key(str, "", "the disk to watch; \"\" = the state directory's", path=True),
    }

    def __init__(self, ctx: SensorContext, config: dict) -> None:
        super().__init__(ctx, config)
        self.watch = SystemWatch(config)  # ConfigError: a clear level on the wrong side
        self.disk_path = config["disk_path"] or str(ctx.state_dir)

    def run(self) -> None:
        ctx, interval = self.ctx, self.config["interval_s"]
        sample_every = self.config["sample_every_s"]
        psutil.cpu_percent(None)  # prime: the first real reading covers one interval
        next_sample = 0.0
        while not ctx.sleep(interval):
            reading = read_system(self.disk_path)
            now = monotonic()
            for topic, data in self.watch.update(reading, now):
                ctx.log.log(30 if data["state"] == "raised" else 20, "%s %s: %s",
                            topic, data["state"], data["text"])
                ctx.publish(topic, data)
            health = {k: (round(v, 1) if isinstance(v, float) else v)
                      for k, v in asdict(reading).items()}
            raised = self.watch.raised
            ctx.set_state("running", f"alerts: {', '.join(raised)}" if raised else "",
                          **health, alerts=raised)
            if sample_every and now >= next_sample:
                ctx.publish("sample", health)
                next_sample = now + sample_every
