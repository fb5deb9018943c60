"""Which language to answer in: Russian or English, from the letters of the user's own text.

Counting Cyrillic against Latin letters is enough for two languages with disjoint alphabets and
costs microseconds; the assistant's name is left out so that "TARS, который час" is Russian.
"""

from __future__ import annotations

import re

LANGS = ("en", "ru")
_NAME = re.compile(r"\b(?:tars|тарс)\b", re.IGNORECASE)


def detect_language(text: str, default: str = "en") -> str:
    """``"ru"`` or ``"en"``; ``default`` when the text has no letters of either (``"7:30"``)."""
    text = _NAME.sub(" ", text)
    cyrillic = latin = 0
    for ch in text:
        if "а" <= ch.lower() <= "я" or ch in "ёЁ":
            cyrillic += 1
        elif "a" <= ch.lower() <= "z":
            latin += 1
    if cyrillic > latin:
        return "ru"
    if latin > cyrillic:
        return "en"
    return default if default in LANGS else "en"
