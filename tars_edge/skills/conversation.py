"""Greeting and farewell: short, aware of the time of day, in the user's language."""

from __future__ import annotations

from tars_edge.skills.base import SkillContext, SkillReply
from tars_edge.skills.phrasing import part_of_day

HOW_ARE_YOU = ("how are you", "how's it going", "how are things", "как дела", "как ты",
               "как поживаешь", "как жизнь")
NIGHT = ("night", "ночи", "спокойной", "сладких снов", "bed", "спать")


def greeting(ctx: SkillContext) -> SkillReply:
    text = ctx.text.lower()
    if any(p in text for p in HOW_ARE_YOU):
        reply = ctx.say("All systems nominal. How can I help?", "Все системы в норме. Чем помочь?")
        return SkillReply(reply, "greeting", ctx.lang)
    part = part_of_day(ctx.now)
    en = {"morning": "Good morning!", "afternoon": "Good afternoon!",
          "evening": "Good evening!", "night": "Hi!"}[part]
    ru = {"morning": "Доброе утро!", "afternoon": "Добрый день!", "evening": "Добрый вечер!",
          "night": "Привет!"}[part]
    return SkillReply(ctx.say(f"{en} How can I help?", f"{ru} Чем помочь?"), "greeting", ctx.lang)


def farewell(ctx: SkillContext) -> SkillReply:
    text = ctx.text.lower()
    if any(w in text for w in NIGHT):
        return SkillReply(ctx.say("Good night!", "Спокойной ночи!"), "farewell", ctx.lang)
    return SkillReply(ctx.say("Goodbye! I'll be here.", "Пока! Я на связи."), "farewell", ctx.lang)
