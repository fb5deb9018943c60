"""The reflex intent dataset: loading, held-out-by-phrasing split, augmentation, and
out-of-distribution text.

The utterances live in ``data/intents_{en,ru}.tsv`` (``intent<TAB>group<TAB>text``). They were
written for this project by hand. ``group`` names a phrasing pattern: paraphrases of one pattern
share it, and the held-out split keeps whole groups apart, so evaluation measures how the reflex
handles phrasings it has never seen rather than rows it has.

numpy and the standard library only: the runtime side and the tests import this without torch.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

LABELS: list[str] = ["greeting", "farewell", "status", "time", "quick_action", "complex"]
COMPLEX = LABELS.index("complex")
LANGS = ("en", "ru")
DATA_DIR = Path(__file__).parent / "data"

# Share of out-of-distribution examples in the training set: enough that gibberish and long
# paragraphs get low confidence, few enough not to drown the real utterances.
OOD_SHARE = 0.175


@dataclass
class Example:
    text: str
    intent: int  # index into LABELS
    reflexable: float  # 1.0: the reflex tier may answer; 0.0: complex or out-of-distribution
    group: str  # phrasing pattern, e.g. "time/what-time-is-it"; "ood/<kind>" for generated text
    lang: str  # "en", "ru", or "xx" for generated text in no particular language


def normalize(text: str) -> str:
    """Lower case, ё→е, punctuation and symbols dropped, spaces collapsed: two texts that
    normalize alike are the same utterance for the purpose of the held-out split."""
    text = text.lower().replace("ё", "е")
    kept = "".join(" " if unicodedata.category(ch)[0] in "PS" else ch for ch in text)
    return " ".join(kept.split())


# --------------------------------------------------------------------------- loading


def load_rows(data_dir: Path | None = None) -> list[Example]:
    """All rows of both TSV files, English first. A malformed line raises ValueError naming
    the file and line, so a bad edit to the data is caught at once."""
    data_dir = data_dir or DATA_DIR
    rows = []
    for lang in LANGS:
        path = data_dir / f"intents_{lang}.tsv"
        lines = path.read_text(encoding="utf-8").splitlines()
        if not lines or lines[0].split("\t") != ["intent", "group", "text"]:
            raise ValueError(f"{path}:1: expected the header 'intent<TAB>group<TAB>text'")
        for number, line in enumerate(lines[1:], start=2):
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) != 3 or not fields[2].strip():
                raise ValueError(f"{path}:{number}: expected three tab-separated fields")
            intent, group, text = fields
            if intent not in LABELS:
                raise ValueError(f"{path}:{number}: unknown intent {intent!r}")
            if not group.startswith(intent + "/"):
                raise ValueError(f"{path}:{number}: group {group!r} must start with {intent}/")
            rows.append(Example(text, LABELS.index(intent), _reflexable(intent), group, lang))
    return rows


def _reflexable(intent: str) -> float:
    return 0.0 if intent == "complex" else 1.0


# --------------------------------------------------------------------------- split


def split_by_phrasing(
    rows: list[Example], heldout_frac: float = 0.2, seed: int = 0
) -> tuple[list[Example], list[Example]]:
    """(train, heldout): about ``heldout_frac`` of the groups of each intent and language go
    to held-out whole (at least one when the fraction is above zero), so held-out accuracy
    measures unseen phrasings. A held-out row that normalizes to a training text is dropped,
    because it would not be unseen."""
    if not 0.0 <= heldout_frac < 1.0:
        raise ValueError(f"heldout_frac must be in [0, 1), got {heldout_frac}")
    rng = np.random.default_rng(seed)
    groups: dict[tuple[int, str], set[str]] = {}
    for row in rows:
        groups.setdefault((row.intent, row.lang), set()).add(row.group)
    held: set[tuple[str, str]] = set()
    for key in sorted(groups):
        names = sorted(groups[key])
        count = max(1, round(heldout_frac * len(names))) if heldout_frac > 0 else 0
        count = min(count, len(names) - 1)  # keep at least one group of each to train on
        for name in rng.choice(names, size=count, replace=False) if count > 0 else []:
            held.add((key[1], str(name)))
    return split_groups(rows, held)


def split_groups(rows: list[Example], held: set[tuple[str, str]]) -> tuple[list[Example], list[Example]]:
    """(train, heldout) for a chosen set of ``(lang, group)`` phrasing groups. A held-out row
    that normalizes to a training text is dropped, because it would not be unseen."""
    train = [r for r in rows if (r.lang, r.group) not in held]
    seen = {normalize(r.text) for r in train}
    heldout = [r for r in rows if (r.lang, r.group) in held and normalize(r.text) not in seen]
    return train, heldout


# --------------------------------------------------------------------------- augmentation

# Letter rows only: a slip onto the digit row makes a text harder to read than real typos do.
_KEYBOARD_ROWS = {
    "qwerty": ["qwertyuiop", "asdfghjkl", "zxcvbnm"],
    "jcuken": ["йцукенгшщзхъ", "фывапролджэ", "ячсмитьбю"],
}


def _neighbours() -> dict[str, str]:
    """Keys next to each key: same row left/right, and the staggered rows above and below."""
    result: dict[str, str] = {}
    for rows in _KEYBOARD_ROWS.values():
        for r, row in enumerate(rows):
            for i, key in enumerate(row):
                near = [row[j] for j in (i - 1, i + 1) if 0 <= j < len(row)]
                if r > 0:
                    near += [rows[r - 1][j] for j in (i, i + 1) if j < len(rows[r - 1])]
                if r + 1 < len(rows):
                    near += [rows[r + 1][j] for j in (i - 1, i) if 0 <= j < len(rows[r + 1])]
                result[key] = "".join(near)
    result["ё"] = "й"  # ё sits above-left of й on ЙЦУКЕН
    return result


NEIGHBOURS = _neighbours()
_END_PUNCT = ["?", "!", ".", "...", "!!", "?!", " ?"]


def _typo(text: str, rng: np.random.Generator) -> str:
    """One typing slip at a random letter: a neighbouring key, a dropped or doubled letter,
    or two letters swapped. One-letter words ("I", "в") are left alone: dropping one would
    delete a whole word."""
    letters = [
        i
        for i, ch in enumerate(text)
        if ch.isalpha()
        and ((i > 0 and text[i - 1].isalpha()) or (i + 1 < len(text) and text[i + 1].isalpha()))
    ]
    if not letters:
        return text
    i = int(rng.choice(letters))
    ch = text[i]
    kind = rng.integers(4)
    if kind == 0 and ch.lower() in NEIGHBOURS:
        new = str(rng.choice(list(NEIGHBOURS[ch.lower()])))
        return text[:i] + (new.upper() if ch.isupper() else new) + text[i + 1 :]
    if kind == 1:
        return text[:i] + text[i + 1 :]
    if kind == 2:
        return text[:i] + ch + text[i:]
    if i + 1 < len(text) and text[i + 1].isalpha():
        return text[:i] + text[i + 1] + ch + text[i + 2 :]
    return text


def _casing(text: str, rng: np.random.Generator) -> str:
    kind = rng.choice(["keep", "lower", "upper", "title", "random"], p=[0.4, 0.3, 0.1, 0.1, 0.1])
    if kind == "lower":
        return text.lower()
    if kind == "upper":
        return text.upper()
    if kind == "title":
        return text.title()
    if kind == "random":
        flips = rng.random(len(text)) < 0.3
        return "".join(c.swapcase() if f else c for c, f in zip(text, flips))
    return text


def _punctuation(text: str, rng: np.random.Generator) -> str:
    roll = rng.random()
    if roll < 0.3:  # people often type no punctuation at all
        return " ".join("".join(c for c in text if c not in ",.!?;").split()) or text
    if roll < 0.5:
        return text.rstrip(".!?") + str(rng.choice(_END_PUNCT))
    return text


def _spaces(text: str, rng: np.random.Generator) -> str:
    if rng.random() < 0.15 and " " in text:
        spaces = [i for i, c in enumerate(text) if c == " "]
        i = int(rng.choice(spaces))
        text = text[:i] + " " + text[i:]
    if rng.random() < 0.1:
        text = " " * int(rng.integers(1, 3)) + text + " " * int(rng.integers(0, 3))
    return text


def _yo(text: str, rng: np.random.Generator) -> str:
    """ё is often typed as е, and now and then е as ё."""
    if "ё" in text.lower():
        if rng.random() < 0.5:
            return text.replace("ё", "е").replace("Ё", "Е")
    elif rng.random() < 0.1:
        spots = [i for i, c in enumerate(text) if c == "е"]
        if spots:
            i = int(rng.choice(spots))
            return text[:i] + "ё" + text[i + 1 :]
    return text


def augment(text: str, rng: np.random.Generator) -> str:
    """A mildly noisy copy of ``text``, the way people type to an assistant: at most two typos
    (none in very short texts, one in short ones), casing, punctuation, extra spaces and, in
    Russian, е/ё. Deterministic for a given generator state; never empty for non-empty input."""
    if not text:
        return text
    letters = sum(c.isalpha() for c in text)
    max_typos = 0 if letters < 4 else 1 if letters < 12 else 2
    out = text
    for _ in range(int(rng.integers(0, max_typos + 1))):
        out = _typo(out, rng)
    if any("а" <= c.lower() <= "я" or c in "ёЁ" for c in out):
        out = _yo(out, rng)
    out = _casing(out, rng)
    out = _punctuation(out, rng)
    out = _spaces(out, rng)
    return out if out.strip() else text


# --------------------------------------------------------------------------- out of distribution

_LATIN = "abcdefghijklmnopqrstuvwxyz"
_CYRILLIC = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
_SYMBOLS = "0123456789+-*/=%#@$&()[]{}<>.,:;!?_|~^"
_EMOJI = "😀😂🤖🔥👍🙏🎉💡🌧⚡🚀🐱🍕❤✨🤔😴🎵📱💻"

# Sentences that need thought, for the long inputs. Self-written for this project.
_LONG_EN = [
    "I have been trying to understand why my sourdough never rises properly in winter.",
    "Could you compare the main arguments for and against nuclear power in simple terms?",
    "My daughter asked me why the moon changes shape and I could not explain it well.",
    "Yesterday I read an article about how bees decide where to build a new hive.",
    "I am planning a small garden and I am not sure which vegetables grow well together.",
    "Please explain what inflation actually is and why central banks raise interest rates.",
    "We want to drive from Moscow to Saint Petersburg and stop somewhere interesting.",
    "I keep reading that sleep matters for memory, but nobody says how much is enough.",
    "There is a strange noise in my car when I turn left, and it gets worse in the cold.",
    "Write me a short speech for a friend's wedding that is funny but not embarrassing.",
    "I am learning Python and I do not understand the difference between a list and a tuple.",
    "What would happen to the climate if all the ice in Greenland melted in one century?",
    "My team argues about tabs versus spaces and I would like a calm, reasoned answer.",
    "Tell me how the first computers worked before transistors were invented.",
    "I want to start running in the mornings but my knees hurt after two kilometres.",
    "Explain why some programming languages use garbage collection and others do not.",
]
_LONG_RU = [
    "Я давно пытаюсь понять, почему моя закваска зимой почти не поднимается.",
    "Сравни, пожалуйста, доводы за и против атомной энергетики простыми словами.",
    "Дочка спросила, почему луна меняет форму, а я так и не смог толком объяснить.",
    "Вчера читал статью о том, как пчёлы выбирают место для нового улья.",
    "Хочу разбить небольшой огород и не знаю, какие овощи хорошо растут рядом.",
    "Объясни, что такое инфляция и зачем центробанк повышает ключевую ставку.",
    "Мы собираемся ехать на машине из Москвы в Петербург и хотим где-нибудь остановиться.",
    "Все пишут, что сон важен для памяти, но никто не говорит, сколько его нужно.",
    "В машине что-то стучит, когда я поворачиваю налево, и на морозе стук сильнее.",
    "Напиши короткую речь на свадьбу друга, смешную, но чтобы никому не было неловко.",
    "Я учу Python и не понимаю, чем список отличается от кортежа.",
    "Что будет с климатом, если весь лёд Гренландии растает за одно столетие?",
    "В команде спорят про табы и пробелы, хочется спокойного и взвешенного ответа.",
    "Расскажи, как работали первые компьютеры до изобретения транзисторов.",
    "Хочу начать бегать по утрам, но после двух километров болят колени.",
    "Объясни, почему в одних языках программирования есть сборщик мусора, а в других нет.",
]
_OPENERS = {
    "en": ["Hi TARS. ", "Hello! ", "Good morning. ", "TARS, "],
    "ru": ["Привет, ТАРС. ", "Здравствуй! ", "Доброе утро. ", "ТАРС, "],
}


def _words(alphabet: str, rng: np.random.Generator) -> str:
    """Two to six random 'words' of three to nine letters (never a real two-letter greeting)."""
    n = int(rng.integers(2, 7))
    return " ".join(
        "".join(rng.choice(list(alphabet), size=int(rng.integers(3, 10)))) for _ in range(n)
    )


def _mash(rng: np.random.Generator) -> str:
    """Keyboard mashing: a run along one keyboard row, repeated, or one key held down."""
    row = str(rng.choice(_KEYBOARD_ROWS[str(rng.choice(["qwerty", "jcuken"]))]))
    if rng.random() < 0.25:
        return str(rng.choice(list(row))) * int(rng.integers(5, 20))
    start = int(rng.integers(0, len(row) - 3))
    run = row[start : start + int(rng.integers(3, len(row) - start + 1))]
    text = run * int(rng.integers(1, 4))
    return text if len(text) >= 4 else text + run


def _latin1_bytes(rng: np.random.Generator) -> str:
    """Random bytes as latin-1 text, the look of binary data pasted by mistake."""
    printable = [b for b in range(0x20, 0x100) if not 0x7F <= b < 0xA0]
    return bytes(rng.choice(printable, size=int(rng.integers(6, 48))).tolist()).decode("latin-1")


def _emoji_cjk(rng: np.random.Generator) -> str:
    n = int(rng.integers(2, 14))
    if rng.random() < 0.5:
        return "".join(rng.choice(list(_EMOJI), size=n))
    return "".join(chr(int(c)) for c in rng.integers(0x4E00, 0x9FA6, size=n))


def _digits_symbols(rng: np.random.Generator) -> str:
    chars = list(_SYMBOLS + " ")
    return "".join(rng.choice(chars, size=int(rng.integers(4, 32)))).strip() or "#%&"


def _long(rng: np.random.Generator) -> str:
    """Several sentences, 200-600 characters: nothing the reflex tier should answer itself,
    even when it opens with a greeting."""
    roll = rng.random()
    pool = _LONG_EN if roll < 0.4 else _LONG_RU if roll < 0.8 else _LONG_EN + _LONG_RU
    lang = "en" if pool is _LONG_EN else "ru"
    target = int(rng.integers(220, 601))
    text = str(rng.choice(_OPENERS[lang])) if rng.random() < 0.2 else ""
    for i in rng.permutation(len(pool)):
        if len(text) >= target:
            break
        text += pool[i] + " "
    text = text.strip()
    if len(text) > 600:
        text = text[:600].rsplit(" ", 1)[0]
    return text


_OOD_KINDS = {
    "latin": lambda rng: _words(_LATIN, rng),
    "cyrillic": lambda rng: _words(_CYRILLIC, rng),
    "mash": _mash,
    "latin1": _latin1_bytes,
    "emoji-cjk": _emoji_cjk,
    "symbols": _digits_symbols,
    "long": _long,
}
_OOD_WEIGHTS = np.array([0.12, 0.12, 0.12, 0.1, 0.1, 0.1, 0.34])


def out_of_distribution(rng: np.random.Generator, n: int) -> list[Example]:
    """``n`` texts that are not requests at all (gibberish) or far longer than any reflex
    request; all labelled complex with reflexable 0.0, so the confidence head learns to say
    "not mine". ``group`` is ``ood/<kind>``."""
    kinds = list(_OOD_KINDS)
    result = []
    for _ in range(n):
        kind = kinds[int(rng.choice(len(kinds), p=_OOD_WEIGHTS / _OOD_WEIGHTS.sum()))]
        result.append(Example(_OOD_KINDS[kind](rng), COMPLEX, 0.0, f"ood/{kind}", "xx"))
    return result


# --------------------------------------------------------------------------- training set


def training_set(
    train_rows: list[Example],
    rng: np.random.Generator,
    augment_copies: int = 3,
    ood: int | None = None,
) -> list[Example]:
    """The rows, ``augment_copies`` noisy copies of each, and ``ood`` out-of-distribution
    examples (by default OOD_SHARE of the result), shuffled."""
    examples = list(train_rows)
    for row in train_rows:
        for _ in range(augment_copies):
            examples.append(replace(row, text=augment(row.text, rng)))
    if ood is None:
        ood = round(len(examples) * OOD_SHARE / (1.0 - OOD_SHARE))
    examples += out_of_distribution(rng, ood)
    return [examples[i] for i in rng.permutation(len(examples))]
