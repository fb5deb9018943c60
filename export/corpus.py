"""The core model's training corpus: Russian and English assistant dialogues written for TARS
Edge (``export/data/corpus/*.txt``), expanded into token streams in the cascade's format.

A dialogue, as bytes of the CP1251 tokenizer (``tars_edge.tokenizer``)::

    PERSONA <persona text> [PERSONA Память: <note> <note> …] USER <text> ASSISTANT <reply> END
                                                              [USER <text> ASSISTANT <reply> END …]

The optional second PERSONA block carries the memories the cascade recalled ("Память:" in
Russian, "Memory:" in English); a grounded answer copies from it ("you told me that …"), and
when it lacks the fact the answer says so.

Split (deterministic, no randomness involved):
  * every 8th written dialogue of each file (and all of its phrasings) is held out;
  * memory slot values marked ``@heldout`` occur only in held-out dialogues, so a held-out
    grounded answer can only be right by copying from the memory block;
  * in training, half of the name-like values (NAME_SLOTS) are made-up names built from
    syllables, for the same reason: a name the model never saw must be copied.
Personas and memory templates are shared by both splits. Held-out dialogues are generated from
the held-out material only; the training stream never contains them (a test checks).

No third-party text is included: the corpus is entirely our own (see docs/core.md).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tars_edge import tokenizer

CORPUS_DIR = Path(__file__).resolve().parent / "data" / "corpus"
HELDOUT_EVERY = 8  # every 8th written dialogue is held out
# Slots holding names: in training, half of their values are made-up names, so the model has
# to copy a name from the memory block instead of recalling one it has seen before.
NAME_SLOTS = {"name", "pet", "sister"}
PSEUDO_NAME_SHARE = 0.5
_SYLLABLES = {
    "ru": "ма ри ло зе ка ти ра ну се во ле да мо ки ша ве ян ор ел фи гу ба тор мир".split(),
    "en": "ma ri lo ze ka ti ra nu se vo le da mo ki sha bel an or el fi gu ba tor mir".split(),
}
MEMORY_LABEL = {"ru": "Память:", "en": "Memory:"}
LANGS = ("ru", "en")


@dataclass
class Written:
    """One written dialogue: a list of (user phrasings, reply phrasings) exchanges."""

    topic: str
    turns: list[tuple[list[str], list[str]]]


@dataclass
class Fact:
    """One memory template (see the header of memory_ru.txt)."""

    name: str
    note: list[str] = field(default_factory=list)
    ask: list[str] = field(default_factory=list)
    answer: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    remember: list[str] = field(default_factory=list)
    ack: list[str] = field(default_factory=list)

    def slot(self) -> str:
        return re.search(r"\{(\w+)\}", self.note[0]).group(1)


@dataclass
class Material:
    personas: dict[str, list[str]]
    written: dict[str, list[Written]]  # lang -> dialogues
    facts: dict[str, list[Fact]]
    values: dict[str, dict[str, list[str]]]  # lang -> slot -> values
    heldout_values: dict[str, dict[str, list[str]]]


def _alternatives(text: str) -> list[str]:
    return [p.strip() for p in text.split(" || ") if p.strip()]


def _lines(path: Path):
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.startswith("#"):
            continue
        yield raw.rstrip()


def parse_dialogues(path: Path) -> list[Written]:
    out: list[Written] = []
    topic, turns, pending = "", [], None

    def flush():
        nonlocal turns, pending
        if pending is not None:
            raise ValueError(f"{path}: a user turn without a reply in topic {topic!r}")
        if turns:
            out.append(Written(topic, turns))
        turns = []

    for line in _lines(path):
        if not line.strip():
            flush()
        elif line.startswith("@topic "):
            flush()
            topic = line.split(None, 1)[1]
        elif line.startswith("U: "):
            pending = _alternatives(line[3:])
        elif line.startswith("A: "):
            if pending is None:
                raise ValueError(f"{path}: a reply without a user turn: {line!r}")
            turns.append((pending, _alternatives(line[3:])))
            pending = None
        else:
            raise ValueError(f"{path}: cannot read line {line!r}")
    flush()
    return out


_FACT_KEYS = {"M": "note", "U": "ask", "A": "answer", "N": "absent", "R": "remember", "K": "ack"}


def parse_memory(path: Path) -> tuple[list[Fact], dict[str, list[str]], dict[str, list[str]]]:
    facts: list[Fact] = []
    values: dict[str, list[str]] = {}
    heldout: dict[str, list[str]] = {}
    for line in _lines(path):
        if not line.strip():
            continue
        if line.startswith(("@values ", "@heldout ")):
            kind, rest = line.split(None, 1)
            slot, vals = rest.split(":", 1)
            target = values if kind == "@values" else heldout
            target[slot.strip()] = [v.strip() for v in vals.split(" | ")]
        elif line.startswith("@fact "):
            facts.append(Fact(line.split(None, 1)[1]))
        elif line[:2] in {k + ":" for k in _FACT_KEYS}:
            setattr(facts[-1], _FACT_KEYS[line[0]], _alternatives(line[3:]))
        else:
            raise ValueError(f"{path}: cannot read line {line!r}")
    for f in facts:
        missing = [k for k in _FACT_KEYS.values() if not getattr(f, k)]
        if missing:
            raise ValueError(f"{path}: fact {f.name!r} lacks {', '.join(missing)}")
        if f.slot() not in values or f.slot() not in heldout:
            raise ValueError(f"{path}: fact {f.name!r} needs @values and @heldout for {f.slot()!r}")
    return facts, values, heldout


def load_material(root: Path = CORPUS_DIR) -> Material:
    personas: dict[str, list[str]] = {lang: [] for lang in LANGS}
    for line in _lines(root / "personas.txt"):
        if line.strip():
            lang, text = line.split(":", 1)
            personas[lang.strip()].append(text.strip())
    written, facts, values, heldout = {}, {}, {}, {}
    for lang in LANGS:
        written[lang] = parse_dialogues(root / f"dialogues_{lang}.txt")
        facts[lang], values[lang], heldout[lang] = parse_memory(root / f"memory_{lang}.txt")
    return Material(personas, written, facts, values, heldout)


def default_persona(lang: str = "ru") -> str:
    """The persona text the runtime should prefill (the first one of that language)."""
    return load_material().personas[lang][0]


# -------------------------------------------------------------------------- assembling dialogues


def frame(persona: str, turns: list[tuple[str, str]], memory: list[str] | None = None,
          lang: str = "ru") -> bytes:
    """Token bytes of one dialogue in the cascade format (module docstring)."""
    out = bytearray([tokenizer.PERSONA]) + tokenizer.encode(persona)
    if memory:
        out += bytes([tokenizer.PERSONA]) + tokenizer.encode(" ".join([MEMORY_LABEL[lang], *memory]))
    for user, reply in turns:
        out += bytes([tokenizer.USER]) + tokenizer.encode(user)
        out += bytes([tokenizer.ASSISTANT]) + tokenizer.encode(reply) + bytes([tokenizer.END])
    return bytes(out)


def prompt(persona: str, user: str, memory: list[str] | None = None, lang: str = "ru") -> bytes:
    """What the runtime feeds before generating a reply: the dialogue up to ASSISTANT."""
    return frame(persona, [(user, "")], memory, lang)[:-1]


class DialogueSampler:
    """Draws dialogues from one split of the material with a seeded RNG."""

    def __init__(self, material: Material, split: str, seed: int):
        assert split in ("train", "heldout"), split
        self.m = material
        self.split = split
        self.rng = random.Random(f"{split}:{seed}")
        self.written = {
            lang: [w for i, w in enumerate(ds) if (i % HELDOUT_EVERY == HELDOUT_EVERY - 1)
                   == (split == "heldout")]
            for lang, ds in material.written.items()
        }
        self.values = material.values if split == "train" else material.heldout_values

    def _fill(self, text: str, slot: str, value: str) -> str:
        return text.replace("{" + slot + "}", value)

    def _plain_turns(self, lang: str, n: int) -> list[tuple[str, str]]:
        turns = []
        for _ in range(n):
            w = self.rng.choice(self.written[lang])
            turns += [(self.rng.choice(u), self.rng.choice(a)) for u, a in w.turns]
        return turns

    def _value(self, lang: str, slot: str) -> str:
        if self.split == "train" and slot in NAME_SLOTS and self.rng.random() < PSEUDO_NAME_SHARE:
            word = "".join(self.rng.choice(_SYLLABLES[lang]) for _ in range(self.rng.randint(2, 3)))
            return word.capitalize()
        return self.rng.choice(self.values[lang][slot])

    def _notes(self, lang: str, facts: list[Fact]) -> tuple[list[str], dict[str, str]]:
        chosen = {}
        notes = []
        for f in facts:
            value = self._value(lang, f.slot())
            chosen[f.name] = value
            notes.append(self._fill(self.rng.choice(f.note), f.slot(), value))
        return notes, chosen

    def sample(self) -> bytes:
        rng = self.rng
        lang = "ru" if rng.random() < 0.55 else "en"
        persona = rng.choice(self.m.personas[lang])
        facts = self.m.facts[lang]
        kind = rng.random()
        if kind < 0.5:  # plain conversation, sometimes after a memory block it does not need
            memory = None
            if rng.random() < 0.15:
                memory, _ = self._notes(lang, rng.sample(facts, rng.randint(1, 2)))
            return frame(persona, self._plain_turns(lang, rng.choice((1, 1, 2))), memory, lang)
        if kind < 0.82:  # grounded answer, the relevant note among 0-2 distractors
            picked = rng.sample(facts, rng.randint(1, 3))
            target = picked[0]
            rng.shuffle(picked)
            notes, values = self._notes(lang, picked)
            answer = self._fill(rng.choice(target.answer), target.slot(), values[target.name])
            turns = [(rng.choice(target.ask), answer)]
            if rng.random() < 0.2:
                turns += self._plain_turns(lang, 1)
            return frame(persona, turns, notes, lang)
        if kind < 0.92:  # the fact is not among the recalled notes
            target = rng.choice(facts)
            others = [f for f in facts if f is not target]
            # held-out: at least one held-out note, so the dialogue never occurs in training
            n_notes = rng.randint(0 if self.split == "train" else 1, 2)
            notes = self._notes(lang, rng.sample(others, n_notes))[0] or None
            return frame(persona, [(rng.choice(target.ask), rng.choice(target.absent))], notes, lang)
        target = rng.choice(facts)  # a request to remember
        value = self._value(lang, target.slot())
        fill = lambda t: self._fill(t, target.slot(), value)
        return frame(persona, [(fill(rng.choice(target.remember)), fill(rng.choice(target.ack)))],
                     None, lang)


def build_split(split: str, n_dialogues: int, seed: int, material: Material | None = None
                ) -> list[bytes]:
    sampler = DialogueSampler(material or load_material(), split, seed)
    return [sampler.sample() for _ in range(n_dialogues)]


def to_stream(dialogues: list[bytes]) -> np.ndarray:
    """Concatenated dialogues as one uint8 token stream, plus nothing else: each dialogue
    starts with PERSONA, which is where a training window may start."""
    return np.frombuffer(b"".join(dialogues), dtype=np.uint8)


def dialogue_starts(dialogues: list[bytes]) -> np.ndarray:
    lengths = np.array([len(d) for d in dialogues], dtype=np.int64)
    return np.concatenate([[0], np.cumsum(lengths)[:-1]])


def corpus_stats(dialogues: list[bytes]) -> dict:
    sizes = [len(d) for d in dialogues]
    return {"dialogues": len(dialogues), "bytes": int(sum(sizes)),
            "mean_bytes": round(float(np.mean(sizes)), 1) if sizes else 0.0}
