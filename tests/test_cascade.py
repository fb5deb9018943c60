"""The cascade's routing, with a scripted reflex (so each tier's rule is tested exactly), the
real skills and timer book, a recording memory and a scripted core. The real reflex model and
the real memory package are exercised end to end in test_daemon_e2e.py."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace

import pytest

from tars_edge.cascade import (
    Answer,
    AskParams,
    Cascade,
    CoreAnswer,
    CoreJob,
    MissingCore,
    TierUnavailable,
    is_question,
    open_core,
)
from tars_edge.persona import DEFAULT_PERSONA
from tars_edge.reflex import ReflexDecision
from tars_edge.skills import SkillBook, TimerBook

NOW = datetime(2025, 3, 3, 13, 0).astimezone()
SETTINGS = {"reflex_threshold": None, "memory": True, "memo_threshold": 0.92,
            "fact_threshold": 0.55, "fact_min_shared": 2, "recall_k": 3,
            "log_conversation": True}


class ScriptedReflex:
    """Returns the decision the test scripted for a text; records what it was asked."""

    threshold = 0.85

    def __init__(self, script: dict[str, tuple[str, float]]):
        self.script = script
        self.asked: list[str] = []

    def classify(self, text: str) -> ReflexDecision:
        self.asked.append(text)
        intent, confidence = self.script.get(text, ("complex", 0.1))
        return ReflexDecision(intent, confidence, {intent: 1.0}, 0.01)


class ScriptedCore:
    unavailable_reason = None

    def __init__(self, reply="Photosynthesis turns light into sugar.", cancel_after=None):
        self.reply = reply
        self.cancel_after = cancel_after
        self.prompts = []

    def answer(self, prompt, params, on_token, cancel):
        self.prompts.append(prompt)
        out = []
        for i, word in enumerate(self.reply.split(" ")):
            if cancel.is_set() or (self.cancel_after is not None and i >= self.cancel_after):
                return CoreAnswer(" ".join(out), len(out), {"decode_ms": 1.0}, cancelled=True)
            piece = word if i == 0 else " " + word
            on_token(piece)
            out.append(word)
        return CoreAnswer(self.reply, len(out), {"ttft_ms": 0.5, "decode_ms": 2.0})

    def prewarm(self, persona):
        pass

    def reset_session(self, session):
        return True

    def status(self):
        return {"loaded": True, "prefix_cache": {"hits": 0}}

    def close(self):
        pass


@dataclass
class Found:
    id: int
    text: str
    score: float
    tags: tuple = ()

    def as_dict(self):
        return {"id": self.id, "text": self.text, "tags": list(self.tags), "score": self.score}


@dataclass
class RecordingMemory:
    """MemoryTier's surface, in RAM."""

    facts: list[Found] = field(default_factory=list)
    memo_answers: dict[str, str] = field(default_factory=dict)
    stored: list[tuple] = field(default_factory=list)
    turns: list[tuple] = field(default_factory=list)

    def __post_init__(self):
        self.memo = SimpleNamespace(lookup=self._lookup, put=self._put,
                                    stats=lambda: {"hits": 0, "misses": 0, "size": 0})
        self.conversation = SimpleNamespace(append=self._append, reset=lambda s: 2)

    def _lookup(self, text, embedding=None):
        if text in self.memo_answers:
            return SimpleNamespace(id=1, answer=self.memo_answers[text], similarity=0.97)
        return None

    def _put(self, query, answer, tier="core", intent=None, embedding=None):
        self.stored.append((query, answer, intent))

    def _append(self, session, role, text, tier=None, intent=None):
        self.turns.append((session, role, text, tier))

    def embed(self, text):
        return [0.0]

    def recall(self, query, k=5, tags=None, embedding=None):
        return sorted(self.facts, key=lambda f: -f.score)[:k]

    def remember(self, text, tags=None, source="user"):
        self.facts.append(Found(len(self.facts) + 1, text, 0.0))
        return len(self.facts)

    def status(self):
        return {"memories": len(self.facts)}


def make(tmp_path, script=None, core=None, memory=None, settings=None):
    timers = TimerBook(tmp_path)
    skills = SkillBook(timers=timers, memory=memory, state_dir=tmp_path)
    reflex = ScriptedReflex(script or {})
    cascade = Cascade(reflex, skills, core or MissingCore("the core model is not in this bundle"),
                      {**SETTINGS, **(settings or {})}, DEFAULT_PERSONA, memory=memory,
                      memory_off_reason="" if memory else "no embedder")
    return cascade, reflex


def ask(cascade, text, **kw):
    return cascade.answer(AskParams(text=text, **kw), now=NOW)


# ---- T1 ---------------------------------------------------------------------------------------------
def test_confident_intent_is_answered_by_its_skill(tmp_path):
    cascade, _ = make(tmp_path, {"который час": ("time", 0.97)})
    answer = ask(cascade, "который час")
    assert (answer.tier, answer.intent, answer.skill, answer.text) == \
        ("reflex", "time", "time", "Сейчас 13:00.")
    assert set(answer.timings_ms) == {"reflex_ms", "skill_ms", "total_ms"}
    result = answer.as_result()
    assert {"text", "tier", "intent", "confidence", "timings_ms", "lang"} <= set(result)


def test_low_confidence_or_complex_goes_past_the_reflex(tmp_path):
    core = ScriptedCore()
    cascade, _ = make(tmp_path, {"what time": ("time", 0.5), "why": ("complex", 0.99)}, core=core)
    assert ask(cascade, "what time").tier == "core"
    assert ask(cascade, "why").tier == "core"


def test_unparseable_quick_action_falls_through_to_the_core(tmp_path):
    core = ScriptedCore("I can't run a stopwatch yet.")
    cascade, _ = make(tmp_path, {"start the stopwatch": ("quick_action", 0.99)}, core=core)
    answer = ask(cascade, "start the stopwatch")
    assert answer.tier == "core" and answer.intent == "quick_action"
    assert answer.text == "I can't run a stopwatch yet."


def test_threshold_from_bundle_then_config(tmp_path):
    cascade, _ = make(tmp_path, {"hi": ("greeting", 0.8)}, core=ScriptedCore())
    assert cascade.threshold == 0.85 and ask(cascade, "hi").tier == "core"
    cascade.reconfigure({**SETTINGS, "reflex_threshold": 0.75})
    assert ask(cascade, "hi").tier == "reflex"


# ---- T3 and honesty without a core -----------------------------------------------------------------
def test_without_a_core_the_cascade_refuses_and_says_why(tmp_path):
    cascade, _ = make(tmp_path, {"explain tides": ("complex", 0.9)})
    with pytest.raises(TierUnavailable) as info:
        ask(cascade, "explain tides")
    assert info.value.tier == "core"
    assert info.value.reason == "the core model is not in this bundle"
    assert info.value.data["intent"] == "complex"
    assert cascade.stats.unanswered == 1


def test_open_core_on_a_bundle_without_one():
    core = open_core(SimpleNamespace(models={"reflex": {}}), {}, DEFAULT_PERSONA)
    assert isinstance(core, MissingCore)
    assert core.unavailable_reason.startswith("the core model is not in this bundle")
    assert core.status()["loaded"] is False


def test_core_streams_and_gets_persona_notes_and_session(tmp_path):
    core = ScriptedCore("Tides follow the moon.")
    memory = RecordingMemory([Found(1, "The boat is moored at pier 4", 0.5),
                              Found(2, "The cat is called Tom", 0.1)])  # irrelevant: left out
    cascade, _ = make(tmp_path, core=core, memory=memory)
    pieces: list[str] = []
    answer = cascade.answer(AskParams(text="explain tides", session="s1"), pieces.append, now=NOW)
    assert "".join(pieces) == answer.text == "Tides follow the moon."
    assert answer.tokens == 4 and answer.tier == "core"
    prompt = core.prompts[0]
    assert prompt.persona == DEFAULT_PERSONA and prompt.session == "s1" and prompt.lang == "en"
    assert prompt.notes == ["The boat is moored at pier 4"]
    assert {"core_ms", "core_ttft_ms", "core_decode_ms", "embed_ms", "recall_ms"} <= set(answer.timings_ms)
    assert memory.stored == [("explain tides", "Tides follow the moon.", "complex")]
    assert [t[1] for t in memory.turns] == ["user", "assistant"]


def test_cancelled_core_answer_is_not_memoised(tmp_path):
    memory = RecordingMemory()
    cascade, _ = make(tmp_path, core=ScriptedCore(cancel_after=2), memory=memory)
    answer = ask(cascade, "tell me a long story")
    assert answer.cancelled and answer.as_result()["cancelled"] is True
    assert memory.stored == []


def test_tier_core_skips_reflex_and_memory_answers(tmp_path):
    memory = RecordingMemory([Found(1, "the spare key is under the mat", 0.95)],
                             {"который час": "cached"})
    core = ScriptedCore("core says hi")
    cascade, reflex = make(tmp_path, {"который час": ("time", 0.99)}, core=core, memory=memory)
    answer = ask(cascade, "который час", tier="core")
    assert answer.tier == "core" and reflex.asked == []
    assert core.prompts[0].notes == ["the spare key is under the mat"]


# ---- T2 ------------------------------------------------------------------------------------------------
def test_memo_hit(tmp_path):
    memory = RecordingMemory(memo_answers={"why is the sky blue": "Rayleigh scattering."})
    cascade, _ = make(tmp_path, core=ScriptedCore(), memory=memory)
    answer = ask(cascade, "why is the sky blue")
    assert (answer.tier, answer.text) == ("memo", "Rayleigh scattering.")
    assert answer.data["similarity"] == 0.97


@pytest.mark.parametrize("text, fact, score, tier", [
    ("where is the spare key?", "The spare key is under the mat.", 0.8, "memory"),
    ("где ключ от гаража?", "Ключ от гаража лежит под ковриком.", 0.3, "memory"),  # 2 words
    ("где запасной ключ?", "Ключ от гаража лежит под ковриком.", 0.9, "core"),  # RU cosine
    ("where is the spare key?", "The spare key is under the mat.", 0.3, "core"),
    ("the spare key is lost", "The spare key is under the mat.", 0.8, "core"),  # no question
])
def test_direct_answer_from_a_stored_fact(tmp_path, text, fact, score, tier):
    memory = RecordingMemory([Found(7, fact, score)])
    core = ScriptedCore("ok")
    cascade, _ = make(tmp_path, core=core, memory=memory)
    answer = ask(cascade, text)
    assert answer.tier == tier
    if tier == "memory":
        said = "Вы говорили" if text.startswith("где") else "You told me"
        assert answer.text == f"{said}: {fact}" and answer.data["memory"]["id"] == 7
    else:
        assert core.prompts[0].notes == [fact]


def test_remember_skill_goes_through_memory(tmp_path):
    memory = RecordingMemory()
    cascade, _ = make(tmp_path, {"remember that the key is under the mat": ("quick_action", 0.95)},
                      memory=memory)
    answer = ask(cascade, "remember that the key is under the mat")
    assert answer.tier == "reflex" and answer.data["stored"] is True
    assert memory.facts[0].text == "the key is under the mat"


def test_memory_switched_off_in_config(tmp_path):
    memory = RecordingMemory([Found(7, "The spare key is under the mat.", 0.9)])
    cascade, _ = make(tmp_path, core=ScriptedCore("core"), memory=memory,
                      settings={"memory": False})
    assert ask(cascade, "where is the spare key?").tier == "core"


# ---- bookkeeping ------------------------------------------------------------------------------------------
def test_stats_and_status(tmp_path):
    cascade, _ = make(tmp_path, {"привет": ("greeting", 0.99)}, core=ScriptedCore())
    for _ in range(3):
        ask(cascade, "привет")
    ask(cascade, "explain")
    status = cascade.status()
    assert status["tiers"]["reflex"]["count"] == 3 and status["tiers"]["core"]["count"] == 1
    assert status["tiers"]["memo"] == {"count": 0, "p50_ms": None, "p95_ms": None}
    assert status["memory"] == {"available": False, "reason": "no embedder"}
    assert status["core"]["loaded"] is True
    assert cascade.reset_session("s") == {"core_state": True, "log_entries": 0}


def test_route_then_run_core_is_what_the_daemon_does(tmp_path):
    cascade, _ = make(tmp_path, {"привет": ("greeting", 0.99)}, core=ScriptedCore("x y"))
    assert isinstance(cascade.route(AskParams(text="привет"), now=NOW), Answer)
    job = cascade.route(AskParams(text="explain"), now=NOW)
    assert isinstance(job, CoreJob)
    cancel = threading.Event()
    cancel.set()
    assert cascade.run_core(job, None, cancel).cancelled


@pytest.mark.parametrize("text, question", [
    ("where is the spare key?", True), ("Где ключ от гаража", True),
    ("when is mom's birthday", True), ("во сколько встреча", True),
    ("the key is under the mat", False), ("ключ под ковриком", False),
    ("TARS, what's my wifi password", True),
])
def test_is_question(text, question):
    assert is_question(text) is question
