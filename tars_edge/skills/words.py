"""Words of a user's request: tokens that remember where they came from, and numbers written
as digits or spelled out in Russian or English ("twenty-five", "двадцать пять", "пятнадцати").

Tokens keep their character offsets so that a skill can cut the parts it understood (a time,
a trigger word) out of the original text and keep the rest verbatim, with its capitals, e.g.
the message of a reminder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A clock time, a number (1.5 / 1,5), a word (with inner ' or -), or one punctuation mark.
_TOKEN = re.compile(r"\d{1,2}:\d{2}|\d+(?:[.,]\d+)?|[^\W\d_]+(?:['’-][^\W\d_]+)*|[^\w\s]")


@dataclass(frozen=True)
class Token:
    text: str  # as the user wrote it
    norm: str  # lower case, ё -> е, typographic apostrophe -> '
    start: int  # character offsets into the original text
    end: int

    @property
    def is_word(self) -> bool:
        return self.norm[:1].isalpha()


def normalize(text: str) -> str:
    return text.lower().replace("ё", "е").replace("’", "'")


def tokenize(text: str) -> list[Token]:
    return [Token(m.group(), normalize(m.group()), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def _forms(table: dict[int, tuple[str, ...]]) -> dict[str, int]:
    return {form: value for value, forms in table.items() for form in forms}


EN_SMALL = _forms({
    0: ("zero",), 1: ("one",), 2: ("two",), 3: ("three",), 4: ("four",), 5: ("five",),
    6: ("six",), 7: ("seven",), 8: ("eight",), 9: ("nine",), 10: ("ten",), 11: ("eleven",),
    12: ("twelve",), 13: ("thirteen",), 14: ("fourteen",), 15: ("fifteen",), 16: ("sixteen",),
    17: ("seventeen",), 18: ("eighteen",), 19: ("nineteen",),
})
EN_TENS = _forms({
    20: ("twenty",), 30: ("thirty",), 40: ("forty", "fourty"), 50: ("fifty",), 60: ("sixty",),
    70: ("seventy",), 80: ("eighty",), 90: ("ninety",),
})
# Nominative, accusative and genitive forms: "на пять минут", "без пятнадцати шесть".
RU_SMALL = _forms({
    0: ("ноль", "нуль", "нуля"),
    1: ("один", "одна", "одну", "одно", "одного", "одной", "одним"),
    2: ("два", "две", "двух"), 3: ("три", "трех"), 4: ("четыре", "четырех"),
    5: ("пять", "пяти"), 6: ("шесть", "шести"), 7: ("семь", "семи"),
    8: ("восемь", "восьми"), 9: ("девять", "девяти"), 10: ("десять", "десяти"),
    11: ("одиннадцать", "одиннадцати"), 12: ("двенадцать", "двенадцати"),
    13: ("тринадцать", "тринадцати"), 14: ("четырнадцать", "четырнадцати"),
    15: ("пятнадцать", "пятнадцати"), 16: ("шестнадцать", "шестнадцати"),
    17: ("семнадцать", "семнадцати"), 18: ("восемнадцать", "восемнадцати"),
    19: ("девятнадцать", "девятнадцати"),
})
RU_TENS = _forms({
    20: ("двадцать", "двадцати"), 30: ("тридцать", "тридцати"), 40: ("сорок", "сорока"),
    50: ("пятьдесят", "пятидесяти"), 60: ("шестьдесят", "шестидесяти"),
    70: ("семьдесят", "семидесяти"), 80: ("восемьдесят", "восьмидесяти"),
    90: ("девяносто", "девяноста"),
})
HUNDREDS = {"hundred": 100, "сто": 100, "ста": 100, "двести": 200, "триста": 300}
SMALL = {**EN_SMALL, **RU_SMALL}
TENS = {**EN_TENS, **RU_TENS}


def _word_value(word: str) -> tuple[int, str] | None:
    """(value, kind) of one number word; a hyphenated "twenty-five" is a whole number."""
    if "-" in word:
        head, _, tail = word.partition("-")
        if head in TENS and tail in SMALL and 0 < SMALL[tail] < 10:
            return TENS[head] + SMALL[tail], "whole"
        return None
    if word in SMALL:
        return SMALL[word], "small"
    if word in TENS:
        return TENS[word], "tens"
    if word in HUNDREDS:
        return HUNDREDS[word], "hundred"
    return None


def parse_number(tokens: list[Token], i: int) -> tuple[float, int] | None:
    """The number starting at ``tokens[i]`` and the index after it, or None.

    Digits ("5", "1.5", "1,5") or words: "twenty five", "twenty-five", "двадцать пять",
    "one hundred and twenty", "сто двадцать".
    """
    if i >= len(tokens):
        return None
    tok = tokens[i].norm
    if tok[:1].isdigit() and ":" not in tok:
        return float(tok.replace(",", ".")), i + 1
    first = _word_value(tok)
    if first is None:
        return None
    value, kind = first
    j = i + 1
    if kind == "hundred" and value == 100 and tok == "hundred":
        pass  # "hundred" alone is 100
    elif kind == "small" and j < len(tokens) and tokens[j].norm == "hundred":
        value, kind, j = value * 100, "hundred", j + 1
    if kind == "hundred":
        if j + 1 < len(tokens) and tokens[j].norm == "and" and _word_value(tokens[j + 1].norm):
            j += 1
        nxt = _word_value(tokens[j].norm) if j < len(tokens) else None
        if nxt and nxt[1] in ("tens", "small", "whole"):
            value += nxt[0]
            kind, j = nxt[1], j + 1
    if kind == "tens" and j < len(tokens):
        nxt = _word_value(tokens[j].norm)
        if nxt and nxt[1] == "small" and 0 < nxt[0] < 10:
            value += nxt[0]
            j += 1
    return float(value), j
