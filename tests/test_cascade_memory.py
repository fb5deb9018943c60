"""How often T2 answers a question straight from a stored fact, and how often wrongly, with
the real embedder and memory database on export/data/memory_eval.tsv (RU + EN paraphrased
questions). Run with ``-s`` to see the table that docs/api.md quotes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tars_edge.bundle import Bundle
from tars_edge.cascade import Cascade, MemoryTier, MissingCore, is_question
from tars_edge.config import SCHEMA
from tars_edge.persona import DEFAULT_PERSONA
from tars_edge.skills import SkillBook

REPO = Path(__file__).resolve().parent.parent
BUNDLE = Path(os.environ.get("TARS_EDGE_TEST_BUNDLE", REPO / "models"))
EVAL = REPO / "export" / "data" / "memory_eval.tsv"
MODELS = json.loads((BUNDLE / "manifest.json").read_text())["models"] \
    if (BUNDLE / "manifest.json").exists() else {}

pytestmark = pytest.mark.skipif("embedder" not in MODELS, reason="the bundle has no embedder")


def load_eval():
    facts, questions = {}, []
    for line in EVAL.read_text(encoding="utf-8").splitlines()[1:]:
        if not line.strip() or line.startswith(("#", "split\t")):
            continue
        _split, kind, fact_id, lang, text = line.split("\t")
        if kind == "fact":
            facts[fact_id] = text
        else:
            questions.append((fact_id, lang, text))
    return facts, questions


def test_direct_fact_answers_are_rarely_wrong(tmp_path):
    facts, questions = load_eval()
    memory, reason = MemoryTier.open(tmp_path, Bundle.load(BUNDLE), 0.92)
    assert memory is not None, reason
    settings = {k: spec.default for k, spec in SCHEMA["cascade"].items()}
    reflex = type("Reflex", (), {"threshold": 0.85})()
    cascade = Cascade(reflex, SkillBook(state_dir=tmp_path), MissingCore("-"), settings,
                      DEFAULT_PERSONA, memory=memory)
    ids = {memory.remember(text): fact_id for fact_id, text in facts.items()}
    rows = {"en": [], "ru": []}
    for fact_id, lang, question in questions:
        assert is_question(question), question
        best = memory.recall(question, k=1)[0]
        answers = cascade.fact_answers(question, lang, best)
        right = answers and ids[best.id] == fact_id
        wrong = answers and ids[best.id] != fact_id
        # the same question when its fact was never stored: any direct answer is wrong
        target = next(mid for mid, f in ids.items() if f == fact_id)
        memory.forget(target)
        del ids[target]
        other = memory.recall(question, k=1)[0]
        wrong_absent = cascade.fact_answers(question, lang, other)
        ids[memory.remember(facts[fact_id])] = fact_id
        rows[lang].append((right, wrong, wrong_absent))
    table = {}
    for lang, r in rows.items():
        n = len(r)
        table[lang] = {"questions": n,
                       "answered_right": round(sum(x[0] for x in r) / n, 3),
                       "answered_wrong": round(sum(x[1] for x in r) / n, 3),
                       "answered_wrong_fact_absent": round(sum(x[2] for x in r) / n, 3)}
    print("\nT2 direct answers on memory_eval.tsv:", json.dumps(table, indent=1))
    memory.close()
    for lang in ("en", "ru"):
        assert table[lang]["answered_wrong"] <= 0.05
        assert table[lang]["answered_wrong_fact_absent"] <= 0.05
    assert table["en"]["answered_right"] >= 0.8
    assert table["ru"]["answered_right"] >= 0.45
