"""The status skill: the device's own state through psutil — CPU load, memory, temperature,
battery, uptime, disk, processes — or a one-sentence summary of all of them.

Nothing here blocks: CPU load is the 1-minute load average per core (a sampling
``cpu_percent`` would stall the reply), and sensors the OS does not expose are said to be
missing rather than guessed.
"""

from __future__ import annotations

import os
import time

import psutil

from tars_edge.skills.base import SkillContext, SkillReply
from tars_edge.skills.phrasing import say_uptime

TOPICS = {
    "battery": ("battery", "charg", "power", "plugged", "батаре", "заряд", "заряжа", "питани",
                "розетк"),
    "temperature": ("temperature", "temp", "hot", "overheat", "thermal", "throttl", "температур",
                    "горяч", "греешь", "греется", "перегре", "тротл", "градус"),
    "cpu": ("cpu", "load", "processor", "busy", "процессор", "загрузк", "загружен", "нагрузк",
            "нагружен", "цп"),
    "memory": ("memory", "ram", "mem ", "памят", "озу", "оперативк", "подкачк"),
    "disk": ("disk", "storage", "space", "sd card", "диск", "мест", "накопител", "флешк"),
    "uptime": ("uptime", "been up", "been running", "since", "аптайм", "работаешь", "включен",
               "без перезагруз"),
    "processes": ("processes", "процессов", "процессы"),
}


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f}"


def cpu(ctx: SkillContext) -> tuple[str, dict]:
    cores = psutil.cpu_count() or 1
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    pct = min(100.0, 100.0 * load1 / cores)
    data = {"cpu_load_pct": round(pct, 1), "load1": round(load1, 2), "cores": cores}
    return ctx.say(f"CPU load is {pct:.0f}% (load average {load1:.2f} on {cores} cores).",
                   f"Загрузка процессора {pct:.0f}% (средняя нагрузка {load1:.2f}, ядер: {cores})."
                   ), data


def memory(ctx: SkillContext) -> tuple[str, dict]:
    vm = psutil.virtual_memory()
    used = vm.total - vm.available
    data = {"mem_used_bytes": used, "mem_total_bytes": vm.total, "mem_pct": vm.percent}
    return ctx.say(f"Memory: {_gb(used)} of {_gb(vm.total)} GB in use ({vm.percent:.0f}%).",
                   f"Память: занято {_gb(used)} из {_gb(vm.total)} ГБ ({vm.percent:.0f}%)."), data


def temperature_c() -> float | None:
    """The hottest current reading of the CPU-ish sensors, or None where the OS has none."""
    reader = getattr(psutil, "sensors_temperatures", None)
    if reader is None:
        return None
    try:
        sensors = reader()
    except (OSError, RuntimeError):
        return None
    preferred = [sensors[k] for k in ("cpu_thermal", "coretemp", "k10temp", "soc_thermal",
                                      "cpu-thermal") if k in sensors]
    readings = [r.current for group in (preferred or list(sensors.values())) for r in group
                if r.current is not None]
    return max(readings) if readings else None


def temperature(ctx: SkillContext) -> tuple[str, dict]:
    temp = temperature_c()
    if temp is None:
        return ctx.say("This system doesn't expose a temperature sensor.",
                       "Система не даёт доступа к датчику температуры."), {"temperature_c": None}
    return ctx.say(f"CPU temperature is {temp:.0f} °C.", f"Температура процессора {temp:.0f} °C."), \
        {"temperature_c": round(temp, 1)}


def battery(ctx: SkillContext) -> tuple[str, dict]:
    reader = getattr(psutil, "sensors_battery", None)
    bat = reader() if reader else None
    if bat is None:
        return ctx.say("There is no battery: I'm running on mains power.",
                       "Батареи нет: работаю от сети."), {"battery_pct": None}
    data = {"battery_pct": round(bat.percent, 1), "plugged": bat.power_plugged}
    state_en = "charging" if bat.power_plugged else "on battery"
    state_ru = "заряжается" if bat.power_plugged else "работаю от батареи"
    left = ""
    if not bat.power_plugged and isinstance(bat.secsleft, int) and bat.secsleft > 0:
        left = ctx.say(f", about {say_uptime(bat.secsleft, 'en')} left",
                       f", осталось примерно {say_uptime(bat.secsleft, 'ru')}")
    return ctx.say(f"Battery at {bat.percent:.0f}%, {state_en}{left}.",
                   f"Заряд батареи {bat.percent:.0f}%, {state_ru}{left}."), data


def uptime(ctx: SkillContext) -> tuple[str, dict]:
    seconds = time.time() - psutil.boot_time()
    return ctx.say(f"The system has been up for {say_uptime(seconds, 'en')}.",
                   f"Система работает {say_uptime(seconds, 'ru')}."), {"uptime_s": int(seconds)}


def disk(ctx: SkillContext) -> tuple[str, dict]:
    path = ctx.settings.disk_path or str(ctx.state_dir)
    while path and not os.path.exists(path):
        path = os.path.dirname(path)
    usage = psutil.disk_usage(path or "/")
    data = {"disk_free_bytes": usage.free, "disk_total_bytes": usage.total, "disk_pct": usage.percent}
    return ctx.say(f"Disk: {_gb(usage.free)} GB free of {_gb(usage.total)} GB ({usage.percent:.0f}% used).",
                   f"Диск: свободно {_gb(usage.free)} из {_gb(usage.total)} ГБ "
                   f"(занято {usage.percent:.0f}%)."), data


def processes(ctx: SkillContext) -> tuple[str, dict]:
    count = len(psutil.pids())
    return ctx.say(f"{count} processes are running.", f"Запущено процессов: {count}."), \
        {"processes": count}


# Words that make a text a question about the device at all. The reflex may be confidently
# wrong ("where is the spare key?" -> status); then the skill passes the text on instead of
# reciting a status report nobody asked for.
GENERAL = ("status", "system", "diagnos", "self check", "self-check", "self test", "health",
           "vitals", "hardware", "stats", "overview", "report", "holding up", "overload",
           "reboot", "restart", "swap", "running", "been up", "been on", "eating", "statu",
           "check", "статус", "систем", "состояни", "диагност", "самотест", "проверк",
           "ресурс", "показател", "сводк", "отчёт", "отчет", "обстановк", "желез",
           "самочувств", "тормозишь", "частоты", "жрёшь", "жрешь", "проц", "оперативы",
           "перезагру")
PROBES = {"battery": battery, "temperature": temperature, "cpu": cpu, "memory": memory,
          "disk": disk, "uptime": uptime, "processes": processes}


def about_the_device(text: str) -> bool:
    return any(w in text for words in TOPICS.values() for w in words) or \
        any(w in text for w in GENERAL)


def answer(ctx: SkillContext) -> SkillReply | None:
    text = " ".join(t.norm for t in ctx.tokens)
    if not about_the_device(text):
        return None
    topics = [name for name, words in TOPICS.items() if any(w in text for w in words)]
    if "temperature" in topics and "cpu" in topics:
        topics.remove("cpu")  # "температура процессора": the processor is only the subject
    if len(topics) == 1 or (topics and len(topics) <= 2):
        parts, data = [], {}
        for name in topics:
            sentence, values = PROBES[name](ctx)
            parts.append(sentence)
            data.update(values)
        return SkillReply(" ".join(parts), "status." + "+".join(topics), ctx.lang, data)
    # a general "how are you doing / system status": everything worth a sentence
    parts, data = [], {}
    for name in ("cpu", "memory", "temperature", "battery", "disk", "uptime"):
        sentence, values = PROBES[name](ctx)
        data.update(values)
        if name == "temperature" and values.get("temperature_c") is None:
            continue
        if name == "battery" and values.get("battery_pct") is None:
            continue
        parts.append(sentence)
    return SkillReply(" ".join(parts), "status", ctx.lang, data)
