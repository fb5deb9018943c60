"""Saying numbers, durations, dates and clock times in Russian or English."""

from __future__ import annotations

from datetime import datetime, timedelta

WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "ru": ("понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье"),
}
MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    # genitive: "3 марта"
    "ru": ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
           "сентября", "октября", "ноября", "декабря"),
}
MONTHS_RU_NOMINATIVE = ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август",
                        "сентябрь", "октябрь", "ноябрь", "декабрь")
# accusative forms after "на": 1 минуту, 2 минуты, 5 минут
RU_UNITS = {
    "hour": ("час", "часа", "часов"),
    "minute": ("минуту", "минуты", "минут"),
    "second": ("секунду", "секунды", "секунд"),
}


def plural_ru(n: int, forms: tuple[str, str, str]) -> str:
    """The Russian form for ``n``: (1 минуту, 2 минуты, 5 минут)."""
    n = abs(n)
    if n % 10 == 1 and n % 100 != 11:
        return forms[0]
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return forms[1]
    return forms[2]


def plural_en(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


def say_duration(seconds: float, lang: str) -> str:
    """"1 hour 15 minutes" / "1 час 15 минут"; whole seconds, zero parts left out."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    for value, unit in ((hours, "hour"), (minutes, "minute"), (secs, "second")):
        if value:
            word = plural_ru(value, RU_UNITS[unit]) if lang == "ru" else plural_en(value, unit)
            parts.append(f"{value} {word}")
    if not parts:
        return "0 секунд" if lang == "ru" else "0 seconds"
    return " ".join(parts)


def say_clock(moment: datetime, lang: str, clock12: bool = False) -> str:
    if lang == "en" and clock12:
        hour = moment.hour % 12 or 12
        return f"{hour}:{moment.minute:02d} {'am' if moment.hour < 12 else 'pm'}"
    return f"{moment.hour:02d}:{moment.minute:02d}"


def say_date(moment: datetime, lang: str, weekday: bool = True) -> str:
    """"Monday, 3 March 2025" / "понедельник, 3 марта 2025 года"."""
    day = f"{moment.day} {MONTHS[lang][moment.month - 1]} {moment.year}"
    if lang == "ru":
        day += " года"
    return f"{WEEKDAYS[lang][moment.weekday()]}, {day}" if weekday else day


def say_when(moment: datetime, now: datetime, lang: str, clock12: bool = False) -> str:
    """"at 07:30", "tomorrow at 07:30", "on Friday at 07:30" relative to ``now``."""
    clock = say_clock(moment, lang, clock12)
    days = (moment.date() - now.date()).days
    if lang == "ru":
        if days == 0:
            return f"в {clock}"
        if days == 1:
            return f"завтра в {clock}"
        if days == 2:
            return f"послезавтра в {clock}"
        return f"{moment.day} {MONTHS['ru'][moment.month - 1]} в {clock}"
    if days == 0:
        return f"at {clock}"
    if days == 1:
        return f"tomorrow at {clock}"
    if days < 7:
        return f"on {WEEKDAYS['en'][moment.weekday()]} at {clock}"
    return f"on {moment.day} {MONTHS['en'][moment.month - 1]} at {clock}"


def part_of_day(moment: datetime) -> str:
    """morning 5-12, afternoon 12-17, evening 17-23, night otherwise."""
    h = moment.hour
    if 5 <= h < 12:
        return "morning"
    if 12 <= h < 17:
        return "afternoon"
    if 17 <= h < 23:
        return "evening"
    return "night"


def say_uptime(seconds: float, lang: str) -> str:
    """Days and hours, or hours and minutes, or minutes: what a person wants to hear."""
    delta = timedelta(seconds=int(seconds))
    days, hours, minutes = delta.days, delta.seconds // 3600, delta.seconds % 3600 // 60
    if lang == "ru":
        d = f"{days} {plural_ru(days, ('день', 'дня', 'дней'))}"
        h = f"{hours} {plural_ru(hours, ('час', 'часа', 'часов'))}"
        m = f"{minutes} {plural_ru(minutes, ('минуту', 'минуты', 'минут'))}"
    else:
        d = f"{days} {plural_en(days, 'day')}"
        h = f"{hours} {plural_en(hours, 'hour')}"
        m = f"{minutes} {plural_en(minutes, 'minute')}"
    if days:
        return f"{d} {h}"
    if hours:
        return f"{h} {m}"
    return m
