"""The time skill: local time, date, weekday, month and year, week number, part of the day.

Which of these the user wants is read from a few keywords; plain "what time is it" / "который
час" gets the time. Answers depend on the moment, so they are never cached.
"""

from __future__ import annotations

import re

from tars_edge.skills.base import SkillContext, SkillReply
from tars_edge.skills.phrasing import MONTHS, MONTHS_RU_NOMINATIVE, part_of_day, say_clock, say_date

DATE = ("date", "число", "числа", "дата", "дату", "day of the month", "какое сегодня")
WEEKDAY = ("what day", "which day", "day of the week", "weekday", "день недели", "какой сегодня день",
           "какой день", "what's today")
MONTH_YEAR = ("month", "year", "месяц", "год")
WEEK = ("week", "недел")
DAY_OR_NIGHT = ("late", "early", "day or night", "night or day", "dark", "поздно", "рано",
                "день или ночь", "ночь или день", "ночь сейчас", "утро")
TIME = {"time", "clock", "hour", "час", "часа", "времени", "время", "o'clock"}  # whole words

PARTS = {"en": {"morning": "morning", "afternoon": "afternoon", "evening": "evening",
                "night": "night"},
         "ru": {"morning": "утро", "afternoon": "день", "evening": "вечер", "night": "ночь"}}


def _has(text: str, words: tuple[str, ...]) -> bool:
    return any(w in text for w in words)


# Words that make a text a question about the time or the date at all; see about_time.
ABOUT_TIME = re.compile(
    r"time|clock|hour|date|\bday|today|month|year|week|late|early|morning|evening|night|"
    r"noon|midnight|monday|tuesday|wednesday|thursday|friday|saturday|sunday|\d+ ?(?:st|nd|rd|th)\b|"
    r"час|врем|дат|числ|\bден|\bдн|сегодня|месяц|\bгод|недел|поздно|рано|утро|вечер|ночь|полноч|"
    r"полдень|понедельник|вторник|среда|четверг|пятниц|суббот|воскресень|выходн|натикал|\bщас\b|"
    r"\bскока\b")


def about_time(text: str) -> bool:
    """Whether the text asks about time at all: the reflex may be confidently wrong, and then
    the skill passes the text on rather than telling the time to a different question."""
    return bool(ABOUT_TIME.search(text))


def answer(ctx: SkillContext) -> SkillReply | None:
    text = " ".join(t.norm for t in ctx.tokens)
    if not about_time(text):
        return None
    now, lang = ctx.now, ctx.lang
    clock = say_clock(now, lang, ctx.settings.clock == "12h")
    data = {"iso": now.isoformat(timespec="seconds")}
    wants_time = any(t.norm in TIME for t in ctx.tokens)
    if _has(text, WEEKDAY) and not wants_time:
        reply = ctx.say(f"Today is {say_date(now, 'en')}.", f"Сегодня {say_date(now, 'ru')}.")
        return SkillReply(reply, "time.weekday", lang, data)
    if _has(text, DATE) and not _has(text, WEEK):
        if wants_time:
            reply = ctx.say(f"It's {clock} on {say_date(now, 'en')}.",
                            f"Сейчас {clock}, {say_date(now, 'ru')}.")
            return SkillReply(reply, "time.datetime", lang, data)
        reply = ctx.say(f"Today is {say_date(now, 'en')}.", f"Сегодня {say_date(now, 'ru')}.")
        return SkillReply(reply, "time.date", lang, data)
    if _has(text, WEEK) and not _has(text, ("day of the week", "день недели")):
        week = now.isocalendar().week
        reply = ctx.say(f"It's week {week} of {now.year}.", f"Сейчас {week}-я неделя {now.year} года.")
        return SkillReply(reply, "time.week", lang, {**data, "week": week})
    if _has(text, MONTH_YEAR) and not wants_time:
        reply = ctx.say(f"It's {MONTHS['en'][now.month - 1]} {now.year}.",
                        f"Сейчас {MONTHS_RU_NOMINATIVE[now.month - 1]} {now.year} года.")
        return SkillReply(reply, "time.month", lang, data)
    if _has(text, DAY_OR_NIGHT):
        part = PARTS[lang][part_of_day(now)]
        reply = ctx.say(f"It's {clock}, {part}.", f"Сейчас {clock}, {part}.")
        return SkillReply(reply, "time.part_of_day", lang, {**data, "part": part_of_day(now)})
    return SkillReply(ctx.say(f"It's {clock}.", f"Сейчас {clock}."), "time", lang, data)
