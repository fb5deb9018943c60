"""The skill book: one answer per reflex intent, or None to let the cascade go on."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from tars_edge.skills import clock, conversation, system
from tars_edge.skills.actions import ActionBook
from tars_edge.skills.base import FactStore, SkillContext, SkillReply, SkillSettings
from tars_edge.skills.language import detect_language
from tars_edge.skills.quick import QuickActions
from tars_edge.skills.timers import TimerBook
from tars_edge.skills.words import tokenize

INTENTS = ("greeting", "farewell", "status", "time", "quick_action")


class SkillBook:
    """Answers the reflex intents. ``timers`` and ``memory`` may be None (no state directory,
    memory disabled): the skills that need them then say so instead of pretending."""

    def __init__(
        self,
        settings: SkillSettings | None = None,
        *,
        timers: TimerBook | None = None,
        memory: FactStore | None = None,
        memory_off_reason: str = "",
        actions: ActionBook | None = None,
        state_dir: str | Path = ".",
    ):
        self.settings = settings or SkillSettings()
        self.timers = timers
        self.memory = memory
        self.memory_off_reason = memory_off_reason
        self.actions = actions or ActionBook.from_config(None)
        self.state_dir = Path(state_dir)
        self._quick = QuickActions()

    def context(self, text: str, now: datetime | None = None, session: str | None = None,
                lang: str | None = None) -> SkillContext:
        now = now or datetime.now().astimezone()
        return SkillContext(
            text=text,
            tokens=tokenize(text),
            lang=lang or detect_language(text, self.settings.default_language),
            now=now,
            settings=self.settings,
            timers=self.timers,
            memory=self.memory,
            memory_off_reason=self.memory_off_reason,
            actions=self.actions,
            state_dir=self.state_dir,
            session=session,
        )

    def answer(self, intent: str, text: str, now: datetime | None = None,
               session: str | None = None) -> SkillReply | None:
        """The skill's reply for ``intent``, or None when no skill can answer this text
        (``complex``, an unknown intent, or a quick action the parser does not understand)."""
        if intent not in INTENTS:
            return None
        ctx = self.context(text, now, session)
        if intent == "greeting":
            return conversation.greeting(ctx)
        if intent == "farewell":
            return conversation.farewell(ctx)
        if intent == "time":
            return clock.answer(ctx)
        if intent == "status":
            return system.answer(ctx)
        return self._quick.answer(ctx)
