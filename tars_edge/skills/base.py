"""What every skill shares: its reply, its settings, and what it may touch."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from tars_edge.skills.actions import ActionBook
from tars_edge.skills.timers import TimerBook
from tars_edge.skills.words import Token


class FactStore(Protocol):
    """The part of vector memory a skill needs ("remember that ...", the shopping list)."""

    def remember(self, text: str, tags: Iterable[str] | None = None, source: str = "user") -> int:
        ...


@dataclass
class SkillReply:
    text: str
    skill: str  # e.g. "time", "status.battery", "timer.set", "action.lights_on"
    lang: str
    data: dict = field(default_factory=dict)
    # (topic, payload) to publish on the daemon's event bus after the reply
    events: list[tuple[str, dict]] = field(default_factory=list)


@dataclass
class SkillSettings:
    """The ``[skills]`` section of the config (docs/config.md)."""

    default_language: str = "en"  # when the text has no letters ("7:30")
    clock: str = "24h"  # "24h" or "12h" (English replies only)
    snooze_minutes: float = 10.0
    max_timer_hours: float = 168.0  # a week; longer is a calendar's job
    ring_s: float = 300.0  # how long a fired alarm counts as ringing for "stop"
    disk_path: str = ""  # the disk that "how much space" reports; "" = the state directory


@dataclass
class SkillContext:
    """One request as the skills see it."""

    text: str
    tokens: list[Token]
    lang: str
    now: datetime  # local, timezone-aware
    settings: SkillSettings
    timers: TimerBook | None
    memory: FactStore | None
    memory_off_reason: str  # why memory is None, said to the user when they ask for it
    actions: ActionBook
    state_dir: Path
    session: str | None = None

    def say(self, en: str, ru: str) -> str:
        return ru if self.lang == "ru" else en
