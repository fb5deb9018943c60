"""Skills: what the assistant does by itself for the reflex intents (DESIGN §3, T1).

Each skill answers in the user's language (Russian or English, from the text) and never
guesses: a request it cannot parse returns None and goes on to memory and the core model.
"""

from tars_edge.skills.actions import ActionBook, ActionConfigError, DeviceAction
from tars_edge.skills.base import FactStore, SkillReply, SkillSettings
from tars_edge.skills.book import INTENTS, SkillBook
from tars_edge.skills.language import detect_language
from tars_edge.skills.quick import alert_text
from tars_edge.skills.timers import Timer, TimerBook, TimerStoreError

__all__ = [
    "INTENTS", "ActionBook", "ActionConfigError", "DeviceAction", "FactStore", "SkillBook",
    "SkillReply", "SkillSettings", "Timer", "TimerBook", "TimerStoreError", "alert_text",
    "detect_language",
]
