"""Device actions (lights, volume, music, mute): recognised from the text, carried out only as
the user's config says.

The text selects an action *name* by its phrases; what runs is the ``command`` or ``event``
written for that name in ``config.toml`` (docs/skills.md). Nothing from the user's words ever
reaches a command line: the only value passed on is a parsed integer percentage (0..100) for
actions that take one, as ``{percent}`` or ``$TARS_PERCENT``. An action with neither a command
nor an event says how to set it up instead of pretending to have done it.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field

from tars_edge.skills.words import Token, parse_number

# name -> (phrases in English and Russian, takes a percentage, reply en, reply ru)
BUILTIN: dict[str, tuple[tuple[str, ...], bool, str, str]] = {
    "lights_on": (("turn on light", "lights on", "light on", "switch on light", "включи свет",
                   "зажги свет", "вруби свет", "свет включи"), False, "Lights on.", "Включаю свет."),
    "lights_off": (("turn off light", "lights off", "light off", "switch off light",
                    "kill light", "выключи свет", "погаси свет", "выруби свет", "вырубай свет"),
                   False, "Lights off.", "Выключаю свет."),
    "lights_dim": (("dim light", "light down", "turn light down", "приглуши свет", "убавь свет"),
                   False, "Dimming the lights.", "Приглушаю свет."),
    "lights_brighter": (("brighter", "brighten", "ярче", "поярче"), False,
                        "Making it brighter.", "Делаю ярче."),
    "lights_set": (("light to", "light percent", "brightness", "яркость", "свет на"), True,
                   "Lights to {percent}%.", "Свет на {percent}%."),
    "volume_up": (("volume up", "louder", "turn it up", "turn up volume", "crank it up",
                   "громче", "погромче", "прибавь громкость", "прибавь звук"), False,
                  "Volume up.", "Делаю громче."),
    "volume_down": (("volume down", "quieter", "turn it down", "turn down volume", "тише",
                     "потише", "убавь звук", "убавь громкость"), False,
                    "Volume down.", "Делаю тише."),
    "volume_set": (("volume to", "set volume", "громкость на"), True,
                   "Volume {percent}%.", "Громкость {percent}%."),
    "mute": (("mute", "silence", "be quiet", "shh", "выключи звук", "без звука", "замолчи", "помолчи"),
             False, "Muted.", "Звук выключен."),
    "unmute": (("unmute", "включи звук", "верни звук"), False, "Sound on.", "Звук включён."),
    "music_play": (("play music", "play", "put on music", "включи музыку", "поставь музыку",
                    "врубай музыку", "включи плейлист"), False, "Playing music.", "Включаю музыку."),
    "music_pause": (("pause", "stop music", "music off", "пауза", "на паузу", "останови музыку",
                     "выключи музыку"), False,
                    "Paused.", "Пауза."),
    "music_resume": (("resume", "keep playing", "продолжи", "сними с паузы", "играй дальше"),
                     False, "Resuming.", "Продолжаю."),
    "music_next": (("next track", "next song", "skip song", "skip track", "следующий трек",
                    "следующая песня", "переключи песню", "дальше"), False,
                   "Next track.", "Следующий трек."),
    "music_previous": (("previous track", "previous song", "предыдущий трек",
                        "предыдущая песня"), False, "Previous track.", "Предыдущий трек."),
}
PERCENT_WORDS = {"%", "percent", "per", "процентов", "процента", "процент"}


class ActionConfigError(ValueError):
    """An ``[actions.NAME]`` table that cannot work; the message names the key."""


@dataclass(frozen=True)
class DeviceAction:
    name: str
    phrases: tuple[str, ...]
    takes_percent: bool = False
    command: tuple[str, ...] | str | None = None  # argv list, or a shell line from the config
    event: str | None = None  # published on the bus under topic "action"
    reply_en: str = "Done."
    reply_ru: str = "Готово."
    timeout_s: float = 10.0

    @property
    def configured(self) -> bool:
        return self.command is not None or self.event is not None

    def reply(self, lang: str, percent: int | None) -> str:
        text = self.reply_ru if lang == "ru" else self.reply_en
        return text.replace("{percent}", "" if percent is None else str(percent))


@dataclass
class ActionOutcome:
    ok: bool
    detail: str = ""  # why it failed, one line
    event: dict | None = None


def _word_matches(word: str, token: str) -> bool:
    """A phrase word matches a text word exactly, or as a stem for longer words, so that
    Russian endings pass ("свет" ~ "света", "пауза" ~ "паузы", "light" ~ "lights")."""
    if token == word:
        return True
    if len(word) >= 4 and token.startswith(word):
        return True
    return len(word) >= 5 and token.startswith(word[:-1]) and len(token) <= len(word) + 2


@dataclass
class ActionBook:
    """The actions the user can trigger: built-in names with their phrases, plus whatever the
    config adds or overrides."""

    actions: dict[str, DeviceAction] = field(default_factory=dict)

    @classmethod
    def from_config(cls, table: dict | None) -> ActionBook:
        """``table`` is the config's ``[actions]`` section: ``{name: {phrases, command, event,
        reply, reply_ru, timeout_s, percent}}``. Raises ActionConfigError naming the key."""
        actions = {
            name: DeviceAction(name, phrases, takes, reply_en=en, reply_ru=ru)
            for name, (phrases, takes, en, ru) in BUILTIN.items()
        }
        for name, spec in (table or {}).items():
            key = f"actions.{name}"
            if not isinstance(spec, dict):
                raise ActionConfigError(f"{key}: must be a table with a command or an event")
            base = actions.get(name)
            phrases = spec.get("phrases", base.phrases if base else None)
            if not phrases or not isinstance(phrases, list | tuple) or not all(
                isinstance(p, str) and p.strip() for p in phrases
            ):
                raise ActionConfigError(
                    f"{key}.phrases: a list of phrases is needed for a new action "
                    "(e.g. phrases = [\"open the garage\", \"открой гараж\"])"
                )
            command = spec.get("command")
            if command is not None:
                if isinstance(command, list):
                    if not command or not all(isinstance(a, str) for a in command):
                        raise ActionConfigError(f"{key}.command: a list of strings (argv)")
                    command = tuple(command)
                elif not isinstance(command, str) or not command.strip():
                    raise ActionConfigError(f"{key}.command: a string or a list of strings")
            event = spec.get("event")
            if event is not None and (not isinstance(event, str) or not event.strip()):
                raise ActionConfigError(f"{key}.event: a non-empty string")
            timeout = spec.get("timeout_s", 10.0)
            if not isinstance(timeout, int | float) or timeout <= 0:
                raise ActionConfigError(f"{key}.timeout_s: a positive number of seconds")
            takes = spec.get("percent", base.takes_percent if base else False)
            if not isinstance(takes, bool):
                raise ActionConfigError(f"{key}.percent: true or false")
            actions[name] = DeviceAction(
                name=name,
                phrases=tuple(p.strip() for p in phrases),
                takes_percent=takes,
                command=command,
                event=event,
                reply_en=str(spec.get("reply", base.reply_en if base else "Done.")),
                reply_ru=str(spec.get("reply_ru", base.reply_ru if base else "Готово.")),
                timeout_s=float(timeout),
            )
        return cls(actions)

    def match(self, tokens: list[Token]) -> tuple[DeviceAction, int | None] | None:
        """The action whose phrase matches the most words of the text (all of the phrase's
        words must be there, in any order), and the percentage when it takes one."""
        words = [t.norm for t in tokens if t.is_word]
        percent = find_percent(tokens)
        best: tuple[int, int, DeviceAction] | None = None
        for action in self.actions.values():
            if action.takes_percent and percent is None:
                continue
            for phrase in action.phrases:
                parts = phrase.lower().replace("ё", "е").split()
                if all(any(_word_matches(p, w) for w in words) for p in parts):
                    score = (len(parts), len(phrase))
                    if best is None or score > best[:2]:
                        best = (*score, action)
        if best is None:
            return None
        action = best[2]
        return action, (percent if action.takes_percent else None)

    def run(self, action: DeviceAction, percent: int | None) -> ActionOutcome:
        """Carry the action out as configured. A command runs without a shell when it is a
        list; a string is the user's own shell line. Output is discarded; a failure comes back
        as one line."""
        event = None
        if action.event:
            event = {"action": action.name, "event": action.event, "percent": percent}
        if action.command is None:
            return ActionOutcome(ok=True, event=event)
        value = "" if percent is None else str(int(percent))
        if isinstance(action.command, str):
            argv = ["/bin/sh", "-c", action.command.replace("{percent}", value)]
        else:
            argv = [a.replace("{percent}", value) for a in action.command]
        env = {**os.environ, "TARS_ACTION": action.name, "TARS_PERCENT": value}
        try:
            done = subprocess.run(argv, check=False, env=env, capture_output=True, text=True,
                                  timeout=action.timeout_s, stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            return ActionOutcome(False, f"command not found: {argv[0]}", event)
        except subprocess.TimeoutExpired:
            return ActionOutcome(False, f"command took longer than {action.timeout_s:g} s", event)
        except OSError as exc:
            return ActionOutcome(False, f"cannot run {argv[0]}: {exc.strerror}", event)
        if done.returncode != 0:
            lines = (done.stderr or "").strip().splitlines()
            why = lines[-1][:200] if lines else "no error output"
            return ActionOutcome(False, f"exit status {done.returncode}: {why}", event)
        return ActionOutcome(True, event=event)


def find_percent(tokens: list[Token]) -> int | None:
    """An integer 0..100 in the text: "50 percent", "20%", "на 30", "тридцать процентов"."""
    for i, tok in enumerate(tokens):
        number = parse_number(tokens, i)
        if number is None:
            continue
        value, j = number
        if value != int(value) or not 0 <= value <= 100:
            continue
        if j < len(tokens) and tokens[j].norm in PERCENT_WORDS:
            return int(value)
        if tok.norm[:1].isdigit() or i > 0 and tokens[i - 1].norm in ("to", "на", "at"):
            return int(value)
    return None
