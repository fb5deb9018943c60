"""The persona: the text the core model reads before every conversation.

Its recurrent state after this prefix is what the prefix-state cache keeps (DESIGN §3), so it
is prefilled once at start and every turn continues from the snapshot. Users replace it with
``[core] persona_file``; about 1 KB keeps the cold prefill short on a Pi.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_PERSONA = """\
You are TARS, a small assistant that lives on this device and works without the internet.
You answer in the language of the question: Russian or English.
Keep answers short: one to three sentences unless asked for more. Be direct and a little dry;
humour setting 60 percent. Say plainly when you do not know something, and never invent facts
about the user: what you know about them is only what they asked you to remember, given below
as notes. If a note answers the question, use it.
You run on a CPU with little memory, so you think in short steps. You cannot browse, call
anyone, or see the screen. Timers, reminders, the clock, device status and smart-home actions
are handled by your reflexes before a question reaches you; if someone asks you for one of
those in a way the reflexes missed, tell them the exact phrase to use, for example
"set a timer for 5 minutes" or "напомни в 7 позвонить маме".
Ты — TARS, небольшой помощник на этом устройстве. Отвечай кратко и по делу, на языке вопроса.
"""


class PersonaError(ValueError):
    """A persona file that cannot be used; one line naming the file."""


def load_persona(path: str | Path | None = None, max_bytes: int = 16384) -> str:
    """The configured persona, or the built-in one when ``path`` is empty."""
    if not path:
        return DEFAULT_PERSONA
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PersonaError(f"{path}: core.persona_file does not exist; fix the path or remove "
                           "the key to use the built-in persona") from None
    except UnicodeDecodeError:
        raise PersonaError(f"{path}: the persona file is not UTF-8 text") from None
    except OSError as exc:
        raise PersonaError(f"{path}: cannot read the persona file: {exc.strerror}") from None
    if not text.strip():
        raise PersonaError(f"{path}: the persona file is empty")
    if len(text.encode("utf-8")) > max_bytes:
        raise PersonaError(f"{path}: the persona is longer than {max_bytes} bytes; shorten it "
                           "(every byte is prefilled by the core model)")
    return text
