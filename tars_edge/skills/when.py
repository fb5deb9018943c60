"""Durations and clock times in Russian and English, for timers, alarms and reminders.

    durations  "5 minutes", "for ten minutes", "на пять минут", "an hour and a half",
               "полтора часа", "через полчаса", "1 hour 15 minutes", "90s", "3-minute"
    clock      "at 7:30", "7 pm", "в 7 утра", "at seven thirty", "half past six",
               "quarter to eight", "без пятнадцати шесть", "полвосьмого", "noon", "18:00"
    days       today / tomorrow / the day after tomorrow, "tonight", "вечером", "утром"

Both finders return which token indices they consumed, so the caller can cut them out of the
text (what is left of "remind me at 7 to call mom" is the message).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tars_edge.skills.words import SMALL, TENS, Token, parse_number, tokenize

SECOND, MINUTE, HOUR = 1.0, 60.0, 3600.0
UNITS = {
    **dict.fromkeys(("sec", "secs", "second", "seconds", "секунда", "секунду", "секунды",
                     "секунд", "сек", "секундочку", "секундочки"), SECOND),
    **dict.fromkeys(("min", "mins", "minute", "minutes", "минута", "минуту", "минуты", "минут",
                     "мин", "минутку", "минутки", "минуток"), MINUTE),
    **dict.fromkeys(("hr", "hrs", "hour", "hours", "час", "часа", "часов", "часик", "часика"),
                    HOUR),
}
# One-letter units only count right after digits ("90s", "5 m", "2h").
SHORT_UNITS = {"s": SECOND, "m": MINUTE, "h": HOUR, "ч": HOUR, "м": MINUTE, "с": SECOND}
# Unit words that mean "one" on their own: "через час", "на минутку", "подожди секунду".
BARE_ONE = {"час", "часик", "минуту", "минутку", "минута", "секунду", "секундочку", "hour",
            "minute", "second"}
HALF_WORDS = {"полчаса": 0.5 * HOUR, "получаса": 0.5 * HOUR, "полминуты": 30.0,
              "полминутки": 30.0, "пол-часа": 0.5 * HOUR}
CLOCK_PREPS = {"at", "в", "во", "к"}  # a number after these is a time of day, not an amount
RELATIVE_PREPS = {"in", "через", "after", "within", "спустя"}

DAY_WORDS = {"today": 0, "сегодня": 0, "tomorrow": 1, "завтра": 1, "послезавтра": 2}
AM = {"am", "a.m", "утра", "ночи"}
PM = {"pm", "p.m", "вечера", "дня"}
# A part of the day named without a time: "remind me tonight" -> 20:00.
DAYPARTS = {
    "morning": ("am", 8), "утром": ("am", 8), "afternoon": ("pm", 14), "днем": ("pm", 14),
    "evening": ("pm", 19), "tonight": ("pm", 20), "вечером": ("pm", 19), "ночью": ("pm", 23),
    "lunchtime": ("pm", 13), "обед": ("pm", 13),
}
NOON = {"noon": 12, "midday": 12, "полдень": 12, "midnight": 0, "полночь": 0}
RU_ORDINAL_GEN = {
    "первого": 1, "второго": 2, "третьего": 3, "четвертого": 4, "пятого": 5, "шестого": 6,
    "седьмого": 7, "восьмого": 8, "девятого": 9, "десятого": 10, "одиннадцатого": 11,
    "двенадцатого": 12,
}
OCLOCK = {"o'clock", "oclock", "час", "часа", "часов"}
# Words that introduce a time and belong to it when cut out of a reminder's message.
BEFORE_TIME = {"at", "в", "во", "к", "на", "for", "to", "until", "till", "до", "by"}
SMALL_NUMBER_WORDS = set(SMALL) | set(TENS)


@dataclass
class Found:
    consumed: set[int] = field(default_factory=set)


@dataclass
class Duration(Found):
    seconds: float = 0.0
    relative: bool = False  # introduced by "in"/"через": a moment from now, not an amount


@dataclass
class ClockTime(Found):
    hour: int | None = None  # 0..23 as far as known; None: only a day or a part of the day
    minute: int = 0
    day_offset: int | None = None  # 0 today, 1 tomorrow, ...
    half: str | None = None  # "am" / "pm" when the user said which half of the day
    default_hour: int | None = None  # from "tonight"/"утром" when no hour was given

    def resolve(self, now: datetime, prefer_as_said: bool = False) -> datetime:
        """The next moment after ``now`` that matches. A bare hour ("at 7") is the sooner of
        7:00 and 19:00 unless ``prefer_as_said`` (alarms: "wake me at 7" means the morning)."""
        hour = self.hour if self.hour is not None else self.default_hour
        if hour is None:
            hour = now.hour
        minute = self.minute
        candidates_hours = [hour]
        if self.half == "pm" and hour < 12:
            candidates_hours = [hour + 12]
        elif self.half == "am" and hour == 12:
            candidates_hours = [0]
        elif self.half is None and 1 <= hour <= 11 and not prefer_as_said and self.day_offset is None:
            candidates_hours = [hour, hour + 12]
        # wall-clock arithmetic on the naive local time, then the offset of *that* day, so
        # "tomorrow at 7" is 7:00 even across a daylight-saving change
        aware = now.tzinfo is not None
        base = now.replace(second=0, microsecond=0, tzinfo=None)

        def local(moment: datetime) -> datetime:
            return moment.astimezone() if aware else moment

        if self.day_offset is not None:
            day = base + timedelta(days=self.day_offset)
            return local(day.replace(hour=candidates_hours[0], minute=minute))
        options = []
        for h in candidates_hours:
            moment = base.replace(hour=h, minute=minute)
            if local(moment) <= now:
                moment += timedelta(days=1)
            options.append(local(moment))
        return min(options)


def _unit_at(tokens: list[Token], j: int, after_digits: bool) -> float | None:
    if j >= len(tokens):
        return None
    word = tokens[j].norm
    if word in UNITS:
        return UNITS[word]
    if after_digits and word in SHORT_UNITS:
        return SHORT_UNITS[word]
    return None


def _amount_unit(tokens: list[Token], i: int) -> tuple[float, int] | None:
    """One "amount unit" group at ``i``: seconds and the index after it."""
    word = tokens[i].norm
    if word in HALF_WORDS:
        return HALF_WORDS[word], i + 1
    # "half an hour", "half a minute"
    if word == "half" and i + 2 < len(tokens) and tokens[i + 1].norm in ("an", "a"):
        unit = _unit_at(tokens, i + 2, False)
        if unit:
            return 0.5 * unit, i + 3
    # "quarter of an hour", "a quarter hour", "четверть часа"
    if word in ("quarter", "четверть"):
        j = i + 1
        while j < len(tokens) and tokens[j].norm in ("of", "an", "a"):
            j += 1
        if _unit_at(tokens, j, False) == HOUR:
            return 0.25 * HOUR, j + 1
        return None
    if word in ("полтора", "полторы"):
        unit = _unit_at(tokens, i + 1, False)
        return (1.5 * unit, i + 2) if unit else None
    if word in BARE_ONE and (i == 0 or tokens[i - 1].norm not in CLOCK_PREPS):
        amount, j = 1.0, i
    elif word in ("a", "an"):
        amount, j = 1.0, i + 1
    else:
        number = parse_number(tokens, i)
        if number is None:
            return None
        amount, j = number
    after_digits = tokens[j - 1].norm[:1].isdigit() if j > i else False
    # "one and a half hours", "два с половиной часа"
    if j + 2 < len(tokens) and [t.norm for t in tokens[j:j + 3]] == ["and", "a", "half"]:
        amount, j = amount + 0.5, j + 3
    elif j + 1 < len(tokens) and [t.norm for t in tokens[j:j + 2]] == ["с", "половиной"]:
        amount, j = amount + 0.5, j + 2
    if j < len(tokens) and tokens[j].norm == "-":  # "3-minute timer"
        j += 1
    unit = _unit_at(tokens, j, after_digits)
    if unit is None:
        return None
    j += 1
    # "an hour and a half", "час с половиной"
    if j + 2 < len(tokens) and [t.norm for t in tokens[j:j + 3]] == ["and", "a", "half"]:
        amount, j = amount + 0.5, j + 3
    elif j + 1 < len(tokens) and [t.norm for t in tokens[j:j + 2]] == ["с", "половиной"]:
        amount, j = amount + 0.5, j + 2
    return amount * unit, j


def find_duration(tokens: list[Token]) -> Duration | None:
    """The first duration in the text: one or more "amount unit" groups ("1 hour 15 minutes",
    "час и десять минут"). A number right after "at"/"в" is a time of day and is skipped."""
    for i in range(len(tokens)):
        if i > 0 and tokens[i - 1].norm in CLOCK_PREPS:
            continue
        first = _amount_unit(tokens, i)
        if first is None:
            continue
        seconds, j = first
        while j < len(tokens):
            k = j + 1 if tokens[j].norm in ("and", "и", ",") else j
            if k >= len(tokens):
                break
            more = _amount_unit(tokens, k)
            if more is None:
                break
            seconds, j = seconds + more[0], more[1]
        start = i
        relative = False
        if i > 0 and tokens[i - 1].norm in RELATIVE_PREPS:
            start, relative = i - 1, True
        elif i > 0 and tokens[i - 1].norm in ("for", "на"):
            start = i - 1
        return Duration(consumed=set(range(start, j)), seconds=seconds, relative=relative)
    return None


def _hour_minute_words(tokens: list[Token], i: int) -> tuple[int, int, int] | None:
    """A time of day spelled as words or digits at ``i``: (hour, minute, next index).
    "7", "7:30", "seven thirty", "в 7 30", "7 o'clock", "в семь часов"."""
    tok = tokens[i].norm
    if ":" in tok:
        hh, mm = tok.split(":")
        return int(hh), int(mm), i + 1
    number = parse_number(tokens, i)
    if number is None or number[0] != int(number[0]):
        return None
    hour, j = int(number[0]), number[1]
    if j < len(tokens) and tokens[j].norm in OCLOCK:
        return hour, 0, j + 1
    minute = 0
    if j < len(tokens):
        nxt = parse_number(tokens, j)
        if nxt and nxt[0] == int(nxt[0]) and 0 <= nxt[0] <= 59:
            after = tokens[nxt[1]].norm if nxt[1] < len(tokens) else ""
            if after in ("минут", "минуты", "минуту"):
                minute, j = int(nxt[0]), nxt[1] + 1
            elif after not in UNITS and after not in SHORT_UNITS:
                minute, j = int(nxt[0]), nxt[1]
    return hour, minute, j


def _half(tokens: list[Token], j: int, hour: int) -> tuple[str | None, int]:
    """am/pm after a time: "pm", "утра", "вечера", "ночи", "in the morning", "tonight"."""
    if j < len(tokens):
        word = tokens[j].norm
        if word == "ночи":  # "11 ночи" is 23:00, "2 ночи" is 2:00
            return ("pm" if 6 <= hour < 12 else "am"), j + 1
        if word in AM:
            return "am", j + 1
        if word in PM:
            return "pm", j + 1
        if word == "tonight":
            return "pm", j + 1
        if word in ("in", "this") and j + 1 < len(tokens):
            k = j + 2 if tokens[j + 1].norm == "the" else j + 1
            if k < len(tokens) and tokens[k].norm in DAYPARTS:
                return DAYPARTS[tokens[k].norm][0], k + 1
    return None, j


def _is_amount(tokens: list[Token], j: int) -> bool:
    """Whether ``tokens[j]`` is a unit that makes the number before it an amount of time."""
    return j < len(tokens) and tokens[j].norm not in OCLOCK and (
        tokens[j].norm in UNITS or tokens[j].norm in SHORT_UNITS
    )


def _time_at(tokens: list[Token], i: int, preps: set[str]) -> tuple[int, int, int, int] | None:
    """A time of day starting at ``i``: (hour, minute, first consumed index, next index)."""
    word = tokens[i].norm
    if word in NOON:
        return NOON[word], 0, i, i + 1
    if word in ("half", "quarter") and i + 2 < len(tokens) and tokens[i + 1].norm in ("past", "to"):
        hm = _hour_minute_words(tokens, i + 2)
        if not hm or not 0 < hm[0] <= 12:
            return None
        past = tokens[i + 1].norm == "past"
        if word == "half":
            return (hm[0], 30, i, hm[2]) if past else None
        return (hm[0], 15, i, hm[2]) if past else ((hm[0] - 1) or 12, 45, i, hm[2])
    if word == "без" and i + 2 < len(tokens):  # "без пятнадцати шесть" = 5:45
        if tokens[i + 1].norm in ("четверти", "четверть"):
            minus, j = 15, i + 2
        else:
            number = parse_number(tokens, i + 1)
            if number is None:
                return None
            minus, j = int(number[0]), number[1]
            if j < len(tokens) and tokens[j].norm in ("минут", "минуты"):
                j += 1
        hm = _hour_minute_words(tokens, j) if j < len(tokens) else None
        if hm and 0 < minus < 60 and 0 < hm[0] <= 24:
            return (hm[0] - 1) % 24, 60 - minus, i, hm[2]
        return None
    if word.startswith("пол") and word[3:] in RU_ORDINAL_GEN:  # "полвосьмого" = 7:30
        return RU_ORDINAL_GEN[word[3:]] - 1, 30, i, i + 1
    if word in ("пол", "половина", "половину") and i + 1 < len(tokens) and \
            tokens[i + 1].norm in RU_ORDINAL_GEN:
        return RU_ORDINAL_GEN[tokens[i + 1].norm] - 1, 30, i, i + 2
    if word in preps and i + 1 < len(tokens):
        hm = _hour_minute_words(tokens, i + 1)
        if hm and not _is_amount(tokens, hm[2]):
            return hm[0], hm[1], i, hm[2]
        return None
    if ":" in word:
        hm = _hour_minute_words(tokens, i)
        first = i - 1 if i > 0 and tokens[i - 1].norm in BEFORE_TIME else i
        return hm[0], hm[1], first, hm[2]
    if word[:1].isdigit() or word in SMALL_NUMBER_WORDS:
        # "9 pm", "7 утра" without a preposition: only with the half of the day said
        hm = _hour_minute_words(tokens, i)
        if hm and _half(tokens, hm[2], hm[0])[0] is not None:
            first = i - 1 if i > 0 and tokens[i - 1].norm in BEFORE_TIME else i
            return hm[0], hm[1], first, hm[2]
    return None


def find_clock(tokens: list[Token], allow_bare_prep: frozenset[str] = frozenset()) -> ClockTime | None:
    """The time of day and/or day in the text, or None. ``allow_bare_prep`` adds prepositions
    that may introduce a time ("на", "for" for alarms: "будильник на 7", "alarm for 9")."""
    clock = ClockTime()
    preps = CLOCK_PREPS | set(allow_bare_prep)
    found_time = False
    i = 0
    while i < len(tokens):
        word = tokens[i].norm
        if word in DAY_WORDS and clock.day_offset is None:
            clock.day_offset = DAY_WORDS[word]
            clock.consumed.add(i)
        elif word == "day" and [t.norm for t in tokens[i + 1:i + 3]] == ["after", "tomorrow"]:
            clock.day_offset = 2
            clock.consumed.update({i, i + 1, i + 2})
            if i > 0 and tokens[i - 1].norm == "the":
                clock.consumed.add(i - 1)
            i += 3
            continue
        elif word in DAYPARTS:
            half, default = DAYPARTS[word]
            clock.half = clock.half or half
            clock.default_hour = default
            clock.consumed.add(i)
            back = i - 1
            while back >= 0 and tokens[back].norm in ("in", "the", "this") and i - back <= 2:
                clock.consumed.add(back)
                back -= 1
        elif not found_time:
            hit = _time_at(tokens, i, preps)
            if hit and 0 <= hit[0] <= 24 and 0 <= hit[1] <= 59:
                hour, minute, first, j = hit
                if first > 0 and first == i and tokens[first - 1].norm in BEFORE_TIME:
                    first -= 1  # "at half past six", "на без пятнадцати шесть"
                clock.hour, clock.minute = hour % 24, minute
                clock.consumed.update(range(first, j))
                half, j2 = _half(tokens, j, hour)
                if half:
                    clock.half = half
                    clock.consumed.update(range(j, j2))
                    j = j2
                found_time = True
                i = j
                continue
        i += 1
    if not found_time and clock.day_offset is None and clock.default_hour is None:
        return None
    if clock.hour is not None and (clock.hour >= 13 or clock.hour == 0):
        clock.half = None  # a 24-hour time is exact
    return clock


def parse_duration(text: str) -> float | None:
    """Seconds in the first duration of ``text``, or None (a convenience for tests and the CLI)."""
    found = find_duration(tokenize(text))
    return found.seconds if found else None
