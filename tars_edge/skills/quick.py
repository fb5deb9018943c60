"""The quick_action skill: do something now.

In the order tried (the first that understands the text answers):

1. "remember that ..." / "запомни, что ..."   -> a memory (when memory is available)
2. "add milk to the shopping list"             -> a memory tagged ``shopping``
3. snooze                                       -> the ringing alarm again in N minutes
4. cancel/stop + timer/alarm/reminder           -> dismiss the ringing one, or cancel
5. device actions from the config               -> command or event (actions.py)
6. a bare "stop" / "cancel that" / "отмена"     -> dismiss or cancel the latest
7. timers, alarms, reminders with a duration or a time of day

Anything else returns None and the cascade passes the text on (memory, then the core), so a
request the skills cannot parse is never answered with a guess.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from tars_edge.memory.store import MemoryStoreError, StorageFullError
from tars_edge.skills.base import SkillContext, SkillReply
from tars_edge.skills.phrasing import say_clock, say_duration, say_when
from tars_edge.skills.timers import Timer
from tars_edge.skills.when import find_clock, find_duration

log = logging.getLogger("tars_edge.skills")
NAME = re.compile(r"^\s*(?:hey\s+)?(?:tars|тарс)\s*[,!:]?\s*", re.IGNORECASE)
# "can you ...", "не мог бы ты ...": politeness in front of the request itself
POLITE = re.compile(r"^(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?|please\s+|"
                    r"(?:не\s+)?(?:можешь|можете|могла?\s+бы\s+ты|мог\s+бы\s+ты)\s+|"
                    r"пожалуйста,?\s+)+", re.IGNORECASE)
REMEMBER = [
    re.compile(r"^(?:please\s+)?(?:remember|note|keep in mind|don'?t forget|do not forget|"
               r"save this|make a note|write down)(?:\s+that)?\s*[:,-]?\s*(?P<fact>.+)$",
               re.IGNORECASE | re.DOTALL),
    re.compile(r"^(?:пожалуйста,?\s+)?(?:запомни|запиши|имей в виду|не забудь|сохрани)"
               r"(?:\s*,?\s*что)?\s*[:,-]?\s*(?P<fact>.+)$", re.IGNORECASE | re.DOTALL),
    # the fact first: "I parked on level 2, remember that", "паспорт кладу в комод, запомни"
    re.compile(r"^(?P<fact>.+?)\s*[,;:.!-]?\s+(?:remember (?:that|this|it)|(?:запомни|запиши)"
               r"(?: это)?)\W*$", re.IGNORECASE | re.DOTALL),
]
SHOPPING = [
    re.compile(r"^(?:please\s+)?(?:add|put)\s+(?P<item>.+?)\s+(?:to|on|onto)\s+(?:the\s+|my\s+)?"
               r"(?:shopping\s+|grocery\s+)?list\W*$", re.IGNORECASE),
    re.compile(r"^(?:добавь|запиши|внеси)\s+(?P<item>.+?)\s+в\s+(?:список\s+покупок|покупки|"
               r"список)\W*$", re.IGNORECASE),
    re.compile(r"^(?:добавь|запиши|внеси)\s+в\s+(?:список\s+покупок|покупки|список)\s*:?\s*"
               r"(?P<item>.+?)\W*$", re.IGNORECASE),
]
TIMER_WORDS = ("timer", "таймер", "засеки", "засечь", "countdown")
ALARM_WORDS = ("alarm", "будильник", "wake", "разбуди", "разбудить")
REMIND_WORDS = ("remind", "reminder", "напомни", "напомнить", "напоминани")
SNOOZE_WORDS = ("snooze", "отложи", "дай поспать", "перенеси будильник")
CANCEL_WORDS = {"cancel", "stop", "dismiss", "delete", "remove", "clear", "turn", "switch",
                "off", "отмени", "отменить", "отмена", "стоп", "останови", "выключи", "удали",
                "сбрось", "хватит", "enough", "halt"}
FILLER = {"that", "it", "this", "please", "the", "my", "all", "every", "now", "tars", "это",
          "пожалуйста", "тарс", "все", "всё", "мой", "мои", "сейчас", "уже"}
ALL_WORDS = {"all", "every", "все", "всё"}
UNSUPPORTED = ("stopwatch", "секундомер")  # no stopwatch skill yet: let the core say so
# Trigger words cut out of a reminder's text, and filler stripped from its edges.
TRIGGERS = {"remind", "reminder", "set", "a", "an", "напомни", "напомнить", "напоминание",
            "поставь", "заведи", "создай", "please", "пожалуйста", "tars", "тарс"}
EDGE_FILLER = {"me", "to", "that", "about", "of", "for", "please", "мне", "что", "чтобы", "о",
               "об", "про", "пожалуйста", "и", "and", "на", "в", "can", "could", "would", "you",
               "можешь", "можете", "не", "мог", "могла", "бы", "ты"}
# A bare "cancel that" cancels the newest timer only if it was set this recently (seconds);
# a bare "stop" never cancels anything that is not ringing.
CANCEL_RECENT_S = 120.0
CANCEL_VERBS = {"cancel", "отмени", "отменить", "отмена", "delete", "удали"}


def _kind_words(text: str, words: tuple[str, ...]) -> bool:
    return any(w in text for w in words)


def _timer_kind(norm: str) -> str | None:
    if _kind_words(norm, REMIND_WORDS):
        return "reminder"
    if _kind_words(norm, ALARM_WORDS):
        return "alarm"
    if _kind_words(norm, TIMER_WORDS):
        return "timer"
    return None


def alert_text(timer: Timer, now: datetime) -> str:
    """What to say (and send as the event's text) when a timer fires."""
    ru = timer.lang == "ru"
    if timer.kind == "timer":
        if timer.duration_s:
            d = say_duration(timer.duration_s, timer.lang)
            return f"Время вышло! Таймер на {d} закончился." if ru else \
                f"Time's up! Your timer for {d} is done."
        return "Время вышло!" if ru else "Time's up!"
    if timer.kind == "alarm":
        clock = say_clock(now, timer.lang)
        head = (f"Подъём! Сейчас {clock}." if ru else f"Wake up! It's {clock}.")
        return f"{head} {timer.label}" if timer.label else head
    if timer.label:
        return f"Напоминаю: {timer.label}." if ru else f"Reminder: {timer.label}."
    return "Напоминание!" if ru else "Reminder!"


class QuickActions:
    """Stateless; everything lives in the context (timers, memory, actions)."""

    def answer(self, ctx: SkillContext) -> SkillReply | None:
        text = POLITE.sub("", NAME.sub("", ctx.text).strip())
        norm = " ".join(t.norm for t in ctx.tokens)
        if any(w in norm for w in UNSUPPORTED):
            return None
        for step in (self._shopping, self._remember, self._snooze, self._cancel_named,
                     self._device, self._cancel_bare, self._set_timer):
            reply = step(ctx, text, norm)
            if reply is not None:
                return reply
        return None

    # ---- memory -----------------------------------------------------------------------
    def _store(self, ctx: SkillContext, fact: str, tags: list[str], skill: str,
               ok_en: str, ok_ru: str) -> SkillReply:
        if ctx.memory is None:
            why = ctx.memory_off_reason or "memory is not available"
            return SkillReply(ctx.say(f"I can't remember things right now: {why}.",
                                      f"Сейчас я не могу запоминать: {why}."),
                              skill, ctx.lang, {"stored": False})
        try:
            memory_id = ctx.memory.remember(fact, tags=tags, source="skill")
        except MemoryStoreError as exc:  # a full disk, a database that broke while running
            log.warning("remember failed: %s", exc)
            full = isinstance(exc, StorageFullError)
            return SkillReply(ctx.say("I couldn't store that: " + (
                                          "the disk is full." if full else
                                          "the memory database failed; see the log."),
                                      "Не получилось запомнить: " + (
                                          "диск заполнен." if full else
                                          "ошибка базы памяти, подробности в журнале.")),
                              skill, ctx.lang, {"stored": False, "error": str(exc)})
        return SkillReply(ctx.say(ok_en, ok_ru), skill, ctx.lang,
                          {"stored": True, "id": memory_id, "text": fact, "tags": tags})

    def _remember(self, ctx: SkillContext, text: str, norm: str) -> SkillReply | None:
        for pattern in REMEMBER:
            match = pattern.match(text)
            if match:
                fact = match.group("fact").strip().rstrip(".!").strip()
                if len(fact) < 2:
                    return None
                return self._store(ctx, fact, [], "remember", "OK, I'll remember that.",
                                   "Хорошо, запомнил.")
        return None

    def _shopping(self, ctx: SkillContext, text: str, norm: str) -> SkillReply | None:
        for pattern in SHOPPING:
            match = pattern.match(text)
            if match:
                item = match.group("item").strip()
                return self._store(ctx, item, ["shopping"], "shopping.add",
                                   f"Added {item} to the shopping list.",
                                   f"Добавил в список покупок: {item}.")
        return None

    # ---- timers -----------------------------------------------------------------------
    def _no_timers(self, ctx: SkillContext) -> SkillReply | None:
        if ctx.timers is None:
            return SkillReply(ctx.say("Timers are not available right now.",
                                      "Таймеры сейчас недоступны."), "timer.unavailable", ctx.lang)
        return None

    def _snooze(self, ctx: SkillContext, text: str, norm: str) -> SkillReply | None:
        if not _kind_words(norm, SNOOZE_WORDS):
            return None
        if (unavailable := self._no_timers(ctx)) is not None:
            return unavailable
        duration = find_duration(ctx.tokens)
        seconds = duration.seconds if duration else ctx.settings.snooze_minutes * 60
        now = ctx.now.timestamp()
        ringing = ctx.timers.ringing(now, ctx.settings.ring_s)
        ctx.timers.dismiss(ringing)
        last = ringing[0] if ringing else None
        timer = ctx.timers.add(last.kind if last and last.kind != "timer" else "alarm",
                               now + seconds, label=last.label if last else "", lang=ctx.lang,
                               session=ctx.session, now=now)
        d = say_duration(seconds, ctx.lang)
        return SkillReply(ctx.say(f"Snoozed for {d}.", f"Отложил на {d}."), "timer.snooze",
                          ctx.lang, {"timer": timer.as_dict},
                          [("timer", {"type": "timer.set", "timer": timer.as_dict})])

    def _cancel_named(self, ctx: SkillContext, text: str, norm: str) -> SkillReply | None:
        words = [t.norm for t in ctx.tokens if t.is_word]
        if not any(w in CANCEL_WORDS for w in words):
            return None
        kind = _timer_kind(norm)
        if kind is None:
            return None
        if kind == "alarm" and "wake" in norm and not any(
            w in words for w in ("cancel", "stop", "dismiss", "delete", "remove", "off")
        ):
            return None
        return self._cancel(ctx, kind, any(w in ALL_WORDS for w in words))

    def _cancel_bare(self, ctx: SkillContext, text: str, norm: str) -> SkillReply | None:
        words = [t.norm for t in ctx.tokens if t.is_word]
        if not words or not any(w in CANCEL_WORDS for w in words):
            return None
        if not all(w in CANCEL_WORDS or w in FILLER for w in words):
            return None
        return self._cancel(ctx, None, any(w in ALL_WORDS for w in words),
                            bare_cancel=any(w in CANCEL_VERBS for w in words), bare=True)

    def _cancel(self, ctx: SkillContext, kind: str | None, everything: bool,
                bare_cancel: bool = False, bare: bool = False) -> SkillReply:
        if (unavailable := self._no_timers(ctx)) is not None:
            return unavailable
        now = ctx.now.timestamp()
        ringing = [t for t in ctx.timers.ringing(now, ctx.settings.ring_s)
                   if kind is None or t.kind == kind]
        if ringing:
            ctx.timers.dismiss(ringing)
            return SkillReply(ctx.say("Stopped.", "Выключил."), "timer.dismiss", ctx.lang,
                              {"timers": [t.as_dict for t in ringing]},
                              [("timer", {"type": "timer.dismissed", "timer": t.as_dict})
                               for t in ringing])
        pending = ctx.timers.pending(kind)
        if bare and not everything:
            recent = [t for t in pending if now - t.created <= CANCEL_RECENT_S]
            if not bare_cancel or not recent:
                return SkillReply(ctx.say("Nothing is ringing.", "Ничего не звонит."),
                                  "timer.dismiss", ctx.lang, {"timers": []})
            pending = recent
        if not pending:
            noun_en = {"timer": "timers", "alarm": "alarms", "reminder": "reminders"}.get(
                kind, "timers, alarms or reminders")
            noun_ru = {"timer": "таймеров", "alarm": "будильников", "reminder": "напоминаний"}.get(
                kind, "таймеров, будильников и напоминаний")
            return SkillReply(ctx.say(f"There are no {noun_en} to cancel.",
                                      f"Отменять нечего: {noun_ru} нет."),
                              "timer.cancel", ctx.lang, {"timers": []})
        chosen = pending if everything else [max(pending, key=lambda t: t.created)]
        ctx.timers.cancel_many(chosen)
        if len(chosen) == 1:
            what_en = {"timer": "Timer", "alarm": "Alarm", "reminder": "Reminder"}[chosen[0].kind]
            what_ru = {"timer": "Таймер отменён.", "alarm": "Будильник отменён.",
                       "reminder": "Напоминание отменено."}[chosen[0].kind]
            reply = ctx.say(f"{what_en} cancelled.", what_ru)
        else:
            reply = ctx.say(f"Cancelled {len(chosen)}.", f"Отменено: {len(chosen)}.")
        return SkillReply(reply, "timer.cancel", ctx.lang, {"timers": [t.as_dict for t in chosen]},
                          [("timer", {"type": "timer.cancelled", "timer": t.as_dict})
                           for t in chosen])

    def _set_timer(self, ctx: SkillContext, text: str, norm: str) -> SkillReply | None:
        kind = _timer_kind(norm)
        if kind is None:
            return None
        tokens = ctx.tokens
        duration = find_duration(tokens)
        clock = None
        if kind == "timer":
            if duration is None:
                return None
        elif duration is None or not duration.relative:
            clock = find_clock(tokens, frozenset({"на", "for"}) if kind == "alarm" else frozenset())
            if clock is None and duration is None:
                return None
            if clock is not None:
                duration = None
        if (unavailable := self._no_timers(ctx)) is not None:
            return unavailable
        now = ctx.now
        if duration is not None:
            seconds = duration.seconds
            if seconds <= 0:
                return None
            due = now + timedelta(seconds=seconds)
            consumed = duration.consumed
        else:
            due = clock.resolve(now, prefer_as_said=kind == "alarm")
            seconds = (due - now).total_seconds()
            consumed = clock.consumed
        limit_h = ctx.settings.max_timer_hours
        if seconds > limit_h * 3600:
            return SkillReply(ctx.say(f"That's too far ahead: I keep timers for up to {limit_h:g} hours.",
                                      f"Слишком долго: таймеры держу не дольше {limit_h:g} ч."),
                              "timer.too_long", ctx.lang, {"seconds": seconds})
        label = _message(ctx, consumed) if kind != "timer" else ""
        timer = ctx.timers.add(kind, due.timestamp(), label=label, lang=ctx.lang,
                               duration_s=seconds if duration is not None else None,
                               session=ctx.session, now=now.timestamp())
        lang = ctx.lang
        if duration is not None:
            d = say_duration(seconds, lang)
            when = f"через {d}" if lang == "ru" else f"in {d}"
        else:
            when = say_when(due, now, lang, ctx.settings.clock == "12h")
        if kind == "timer":
            reply = ctx.say(f"Timer set for {say_duration(seconds, 'en')}.",
                            f"Таймер на {say_duration(seconds, 'ru')} запущен.")
        elif kind == "alarm":
            reply = ctx.say(f"OK, I'll wake you {when}.", f"Хорошо, разбужу {when}.")
        elif label:
            reply = ctx.say(f"OK, I'll remind you {when}: {label}.",
                            f"Хорошо, напомню {when}: {label}.")
        else:
            reply = ctx.say(f"OK, I'll remind you {when}.", f"Хорошо, напомню {when}.")
        return SkillReply(reply, f"{kind}.set", lang,
                          {"timer": timer.as_dict, "due_iso": due.isoformat(timespec="seconds")},
                          [("timer", {"type": "timer.set", "timer": timer.as_dict})])

    # ---- devices ----------------------------------------------------------------------
    def _device(self, ctx: SkillContext, text: str, norm: str) -> SkillReply | None:
        found = ctx.actions.match(ctx.tokens)
        if found is None:
            return None
        action, percent = found
        skill = f"action.{action.name}"
        if not action.configured:
            return SkillReply(ctx.say(
                f'"{action.name}" is not set up: add a command or an event under '
                f"[actions.{action.name}] in config.toml.",
                f"Действие {action.name} не настроено: добавьте command или event в "
                f"[actions.{action.name}] файла config.toml."),
                skill, ctx.lang, {"configured": False, "percent": percent})
        outcome = ctx.actions.run(action, percent)
        events = [("action", outcome.event)] if outcome.event else []
        data = {"configured": True, "ok": outcome.ok, "percent": percent}
        if not outcome.ok:
            data["error"] = outcome.detail
            return SkillReply(ctx.say(f"I couldn't do that: {action.name} failed ({outcome.detail}).",
                                      f"Не получилось: {action.name} — ошибка ({outcome.detail})."),
                              skill, ctx.lang, data, events)
        return SkillReply(action.reply(ctx.lang, percent), skill, ctx.lang, data, events)


def _message(ctx: SkillContext, consumed: set[int]) -> str:
    """The reminder's own words: the text minus the time, the trigger words and the filler at
    its edges, with the user's spelling kept ("remind me at 7 to call Mom" -> "call Mom")."""
    tokens = ctx.tokens
    keep = [i for i, t in enumerate(tokens)
            if i not in consumed and t.norm[:1].isalnum() and t.norm not in TRIGGERS
            and not any(t.norm.startswith(w) for w in REMIND_WORDS + ALARM_WORDS)]
    while keep and tokens[keep[0]].norm in EDGE_FILLER:
        keep.pop(0)
    while keep and tokens[keep[-1]].norm in EDGE_FILLER:
        keep.pop()
    if not keep:
        return ""
    runs: list[list[int]] = [[keep[0]]]
    for i in keep[1:]:
        # words next to each other (only spaces/'/- between) stay one run
        if i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    pieces = [ctx.text[tokens[r[0]].start:tokens[r[-1]].end] for r in runs]
    return " ".join(pieces).strip()

