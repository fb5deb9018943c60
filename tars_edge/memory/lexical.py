"""Word-level matching beside the embedder, for the languages MiniLM does not know.

all-MiniLM-L6-v2 was trained on English; Russian reaches it as single letters, so two Russian
sentences about different things still look alike (held-out recall@1 0.60 dense-only, see
docs/memory.md). Recall therefore also asks SQLite's FTS5 index for memories that share word
stems with the query and fuses both rankings. Stems are crude on purpose (a prefix of the
folded word): no dictionary to ship, and good enough for Russian inflection
(гараж/гаража/гаражу -> "гара*").
"""

from __future__ import annotations

import re

WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 16
# Question and function words: they say nothing about which memory is meant, and their
# posting lists are the longest in the index (folded spelling, 3+ letters).
STOPWORDS = frozenset("""
где как какой какая какое какие каком какого какую каких когда кто что чем чему чего сколько
почему зачем куда откуда мне меня мой моя мое мои моего моей моих моим нас наш наша наше
наши нашу нашему нашей нашего ваш ваша ваше это эти этот эта этой там тут есть был была было
были будет для при про над под без или все уже еще тоже очень можно надо тебя себя него нее
них его ему она они оно вот так такой the and for are was were what whats where when which
who whom whose why how does did can could should would will our your you they them this that
these those there here have has had with from into about get got its his her him she not any
all some still
""".split())  # noqa: SIM905


def fold(text: str) -> str:
    """What the FTS index stores and the query is matched against: lower case, ё -> е."""
    return text.lower().replace("ё", "е")


def stem(word: str) -> str:
    """A prefix that survives inflection: words over 4 letters lose their last two (never
    going under 4); numbers and short words stay whole."""
    if word.isdigit() or len(word) <= 4:
        return word
    return word[: max(4, len(word) - 2)]


def match_expression(text: str) -> str | None:
    """An FTS5 MATCH expression ORing the query's stems as prefixes, or None when the query
    has no word of 3+ letters or a number to look for."""
    terms: list[str] = []
    for word in WORD.findall(fold(text)):
        if (len(word) < 3 and not word.isdigit()) or word in STOPWORDS:
            continue
        term = stem(word).replace('"', "")
        if term and term not in terms:
            terms.append(term)
        if len(terms) == MAX_TERMS:
            break
    if not terms:
        return None
    return " OR ".join(f'"{t}"' if t.isdigit() else f'"{t}"*' for t in terms)
