"""The tiered cascade (DESIGN §3): who answers a text, as cheaply as possible.

    T1 reflex   the reflex MinGRU's intent; confident (>= threshold) and not ``complex``
                -> the intent's skill. A skill that cannot parse the text returns None
                and the text goes on.
    T2 memory   memo cache: the core's earlier answer to a question this close in meaning
                (cosine >= memo_threshold) -> ``memo``; else recall top-k memories, and when
                the text is a question and the best memory answers it (English: cosine >=
                fact_threshold; any language: shared content words, see fact_answers)
                -> ``memory``: the stored fact, said back.
    T3 core     the SSM core with the persona state from the prefix-state cache, the top-k
                memories as notes, the session's state carried between turns -> ``core``.

T3 is an object with a small interface, :class:`CoreTier`, implemented by the runtime engine
(``tars_edge.engine.core.open_core``). A bundle without a core model gets
:class:`MissingCore`, which refuses honestly (:class:`TierUnavailable`, RPC error -32010)
instead of inventing an answer.

The daemon runs :meth:`Cascade.route` (T1 + T2, milliseconds) on a pool of worker threads and
:meth:`Cascade.run_core` (T3, seconds) on a single core thread, so a long generation never
holds up a time question. Every answer carries its tier, intent, confidence and per-stage
timings; a trace of each decision is logged at debug level.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from tars_edge.skills import SkillBook, detect_language

log = logging.getLogger("tars_edge.cascade")
TIERS = ("reflex", "memo", "memory", "core")
NOTE_MIN_COSINE = 0.35  # below this (and no shared word) a memory is not passed to the core


class TierUnavailable(RuntimeError):
    """A tier the request needs is missing; ``reason`` is one line a person can act on."""

    def __init__(self, tier: str, reason: str, data: dict | None = None):
        super().__init__(reason)
        self.tier = tier
        self.reason = reason
        self.data = data or {}


# ---- requests and answers ---------------------------------------------------------------------
@dataclass
class AskParams:
    """One ``ask``: DESIGN §6. Generation defaults come from ``[core]``."""

    text: str
    session: str = "default"
    stream: bool = False
    max_tokens: int = 200
    temperature: float = 0.0
    seed: int | None = None
    speculative: bool = True
    tier: str = "auto"  # "auto" | "core" (skip the reflex and memory answers)


@dataclass
class Answer:
    text: str
    tier: str  # reflex | memo | memory | core
    intent: str
    confidence: float
    lang: str
    timings_ms: dict[str, float]
    skill: str | None = None
    tokens: int | None = None
    cancelled: bool = False
    data: dict = field(default_factory=dict)
    events: list[tuple[str, dict]] = field(default_factory=list)  # to publish on the bus

    def as_result(self) -> dict:
        """The ``ask`` result object."""
        result: dict[str, Any] = {
            "text": self.text, "tier": self.tier, "intent": self.intent,
            "confidence": round(self.confidence, 4), "lang": self.lang,
            "timings_ms": {k: round(v, 3) for k, v in self.timings_ms.items()},
        }
        if self.skill:
            result["skill"] = self.skill
        if self.tokens is not None:
            result["tokens"] = self.tokens
        if self.cancelled:
            result["cancelled"] = True
        if self.data:
            result["data"] = self.data
        return result


# ---- T3: the core model interface ---------------------------------------------------------------
@dataclass
class CorePrompt:
    """What the core reads for one turn, after the persona (whose state is prefix-cached)."""

    persona: str
    notes: list[str]  # recalled memories, best first, to use as context
    text: str  # the user's turn
    session: str  # the engine keeps each session's state between turns
    lang: str  # "ru" | "en": the language to answer in


@dataclass
class CoreAnswer:
    text: str
    tokens: int
    timings_ms: dict[str, float] = field(default_factory=dict)  # e.g. ttft_ms, decode_ms
    cancelled: bool = False
    stats: dict = field(default_factory=dict)  # e.g. prefix_cache hit, draft acceptance


class CoreTier(Protocol):
    """T3. Implemented by the runtime engine (issue 4); thread-compatible: the cascade calls
    ``answer`` from one thread at a time."""

    #: None when the core can answer; else one line saying why not (and what to do)
    unavailable_reason: str | None

    def answer(self, prompt: CorePrompt, params: AskParams, on_token: Callable[[str], None],
               cancel: threading.Event) -> CoreAnswer:
        """Generate the reply. ``on_token`` gets each piece of text as it is decoded (whole
        UTF-8 characters); ``cancel`` set -> stop soon and return what there is with
        ``cancelled=True``. Bad generation parameters raise ValueError (one line)."""
        ...

    def prewarm(self, persona: str) -> None:
        """Prefill the persona into the prefix-state cache (at start, or when the wake word
        fires)."""
        ...

    def reset_session(self, session: str) -> bool:
        """Forget a session's carried state; False when there was none."""
        ...

    def status(self) -> dict:
        """``{"loaded": bool, "prefix_cache": {...}, ...}`` for the ``status`` method."""
        ...

    def close(self) -> None:
        ...


class MissingCore:
    """The stand-in when there is no core to run: every ``answer`` is refused, with why."""

    def __init__(self, reason: str):
        self.unavailable_reason = reason

    def answer(self, prompt, params, on_token, cancel) -> CoreAnswer:
        raise TierUnavailable("core", self.unavailable_reason)

    def prewarm(self, persona: str) -> None:
        return None

    def reset_session(self, session: str) -> bool:
        return False

    def status(self) -> dict:
        return {"loaded": False, "available": False, "reason": self.unavailable_reason}

    def close(self) -> None:
        return None


def open_core(bundle, settings: dict, persona: str) -> CoreTier:
    """The bundle's core model through the runtime engine, or a MissingCore saying why not."""
    if "core" not in bundle.models:
        return MissingCore("the core model is not in this bundle; only the reflex, skills and "
                           "memory can answer (build one with `tars-export build-default`)")
    try:
        from tars_edge.engine.core import open_core as engine_open_core
    except ImportError:
        return MissingCore("the bundle has a core model but this tars-edge has no engine to "
                           "run it yet (tars_edge.engine.core)")
    return engine_open_core(bundle, settings, persona)


# ---- T2: memory ------------------------------------------------------------------------------------
class MemoryTier:
    """The memory package (issue 5) as the cascade and the socket methods use it: vector
    memory, memo cache and conversation log behind :class:`tars_edge.memory.Memory`, with one
    embedding per request shared by the memo lookup and the recall."""

    def __init__(self, memory, embedder):
        self.memory = memory
        self.embedder = embedder
        self.memo = memory.memo
        self.conversation = memory.log

    @classmethod
    def open(cls, state_dir: Path, bundle, memo_threshold: float) -> tuple[MemoryTier | None, str]:
        """(memory, "") or (None, why it is off). Never raises: a damaged database or a
        bundle without an embedder disables memory, the daemon runs on."""
        try:
            from tars_edge.memory import Embedder, Memory
        except ImportError as exc:
            return None, f"the memory package is not installed ({exc.name})"
        if "embedder" not in bundle.models:
            return None, "the embedder model is not in this bundle"
        try:
            embedder = Embedder.from_bundle(bundle, threads=1)
            memory = Memory.open(state_dir, embedder, threshold=memo_threshold)
        except Exception as exc:  # noqa: BLE001 - any bundle/ORT problem: memory off, daemon on
            return None, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if not memory.enabled:
            return None, memory.problem
        return cls(memory, embedder), ""

    def embed(self, text: str) -> np.ndarray:
        return self.embedder.embed_one(text)

    def remember(self, text: str, tags: Iterable[str] | None = None, source: str = "user") -> int:
        """Store a fact (on disk before this returns); memo answers it may contradict go."""
        return self.memory.remember(text, tags, source=source)

    def recall(self, query: str, k: int = 5, tags: Iterable[str] | None = None,
               embedding: np.ndarray | None = None) -> list:
        return self.memory.recall(query, k=k, tags=tags, embedding=embedding)

    def forget(self, memory_id: int) -> bool:
        return self.memory.forget(memory_id)

    def status(self) -> dict:
        status = self.memory.status()
        return {"memories": status.get("memories"), "embedder_loaded": self.embedder.loaded,
                "memo": status.get("memo")}

    def close(self) -> None:
        store = self.memory.store
        try:
            if store is not None:
                store.checkpoint()
        finally:
            self.memory.close()


# ---- statistics ---------------------------------------------------------------------------------
class TierStats:
    """Per-tier answer counts and latency percentiles over the last 1000 answers of each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(TIERS, 0)
        self._latency = {t: deque(maxlen=1000) for t in TIERS}
        self.unanswered = 0  # refused: core unavailable, cancelled before any text, errors

    def record(self, tier: str, ms: float) -> None:
        with self._lock:
            self._counts[tier] += 1
            self._latency[tier].append(ms)

    def snapshot(self) -> dict:
        with self._lock:
            out = {}
            for tier in TIERS:
                values = list(self._latency[tier])
                out[tier] = {
                    "count": self._counts[tier],
                    "p50_ms": round(float(np.percentile(values, 50)), 3) if values else None,
                    "p95_ms": round(float(np.percentile(values, 95)), 3) if values else None,
                }
            return out


# ---- the cascade ----------------------------------------------------------------------------------
QUESTION_START = re.compile(
    r"^(?:(?:hey\s+)?tars\s*,?\s*)?(?:where|what|when|who|whom|whose|which|how|is|are|was|were|do|"
    r"does|did|can|could|have|has|tell me|remind me|do you (?:know|remember)|"
    r"где|что|когда|кто|кого|кому|какой|какая|какое|какие|каким|как|сколько|куда|откуда|чей|чья|"
    r"чьё|чье|напомни|подскажи|скажи|ты помнишь|помнишь|не помнишь|в какие|в каком|во сколько)\b",
    re.IGNORECASE,
)


def is_question(text: str) -> bool:
    """Whether a text asks for something (so a stored fact can answer it), rather than telling."""
    stripped = text.strip()
    return stripped.endswith("?") or bool(QUESTION_START.match(stripped))


def say_fact(fact: str, lang: str) -> str:
    fact = fact.strip().rstrip(".!")
    return f"Вы говорили: {fact}." if lang == "ru" else f"You told me: {fact}."


@dataclass
class CoreJob:
    """A request that T1 and T2 passed on: everything T3 needs, and the timings so far."""

    params: AskParams
    intent: str
    confidence: float
    lang: str
    prompt: CorePrompt
    timings_ms: dict[str, float]
    started: float  # perf_counter at the start of the request
    embedding: np.ndarray | None = None


class Cascade:
    def __init__(self, reflex, skills: SkillBook, core: CoreTier, settings: dict,
                 persona: str, memory: MemoryTier | None = None, memory_off_reason: str = ""):
        self.reflex = reflex
        self.skills = skills
        self.core = core
        self.memory = memory
        self.memory_off_reason = memory_off_reason
        self.persona = persona
        self.stats = TierStats()
        self._core_lock = threading.Lock()  # one generation at a time on a small CPU
        self.reconfigure(settings)

    def reconfigure(self, settings: dict) -> None:
        """Apply a (re)loaded ``[cascade]`` section."""
        self.settings = dict(settings)
        configured = settings.get("reflex_threshold")
        self.threshold = float(configured) if configured is not None else self.reflex.threshold

    def _memory_on(self) -> bool:
        return self.memory is not None and self.settings.get("memory", True)

    def _log_turn(self, session: str, text: str, answer: Answer) -> None:
        if not (self._memory_on() and self.settings.get("log_conversation", True)):
            return
        try:
            self.memory.conversation.append(session, "user", text, intent=answer.intent)
            self.memory.conversation.append(session, "assistant", answer.text, tier=answer.tier,
                                            intent=answer.intent)
        except Exception:  # the log is a convenience; an answer must not fail for it
            log.warning("conversation log write failed", exc_info=True)

    def _finish(self, answer: Answer, started: float, params: AskParams) -> Answer:
        answer.timings_ms["total_ms"] = (time.perf_counter() - started) * 1e3
        self.stats.record(answer.tier, answer.timings_ms["total_ms"])
        self._log_turn(params.session, params.text, answer)
        log.debug("cascade tier=%s intent=%s confidence=%.3f skill=%s timings=%s text=%r",
                  answer.tier, answer.intent, answer.confidence, answer.skill,
                  {k: round(v, 2) for k, v in answer.timings_ms.items()}, params.text[:80])
        return answer

    def route(self, params: AskParams, now=None) -> Answer | CoreJob:
        """T1 and T2. An Answer, or the CoreJob to hand to :meth:`run_core`."""
        started = time.perf_counter()
        text = params.text
        timings: dict[str, float] = {}
        lang = detect_language(text, self.skills.settings.default_language)
        intent, confidence = "complex", 0.0
        if params.tier == "auto":
            t = time.perf_counter()
            decision = self.reflex.classify(text)
            timings["reflex_ms"] = (time.perf_counter() - t) * 1e3
            intent, confidence = decision.intent, decision.confidence
            if confidence >= self.threshold and intent != "complex":
                t = time.perf_counter()
                reply = self.skills.answer(intent, text, now=now, session=params.session)
                timings["skill_ms"] = (time.perf_counter() - t) * 1e3
                if reply is not None:
                    answer = Answer(reply.text, "reflex", intent, confidence, reply.lang, timings,
                                    skill=reply.skill, data=reply.data, events=reply.events)
                    return self._finish(answer, started, params)
                log.debug("skill passed on intent=%s text=%r", intent, text[:80])
        notes: list[str] = []
        embedding = None
        if self._memory_on():
            t = time.perf_counter()
            embedding = self.memory.embed(text)
            timings["embed_ms"] = (time.perf_counter() - t) * 1e3
            if params.tier == "auto":
                t = time.perf_counter()
                hit = self.memory.memo.lookup(text, embedding=embedding)
                timings["memo_ms"] = (time.perf_counter() - t) * 1e3
                if hit is not None:
                    answer = Answer(hit.answer, "memo", intent, confidence, lang, timings,
                                    data={"memo_id": hit.id, "similarity": round(hit.similarity, 4)})
                    return self._finish(answer, started, params)
            k = int(self.settings.get("recall_k", 3))
            if k or params.tier == "auto":
                t = time.perf_counter()
                found = self.memory.recall(text, k=max(k, 1), embedding=embedding)
                timings["recall_ms"] = (time.perf_counter() - t) * 1e3
                if (params.tier == "auto" and found and is_question(text)
                        and self.fact_answers(text, lang, found[0])):
                    best = found[0]
                    answer = Answer(say_fact(best.text, lang), "memory", intent, confidence, lang,
                                    timings, data={"memory": best.as_dict()})
                    return self._finish(answer, started, params)
                notes = [r.text for r in found[:k] if self._relevant(text, r)]
        prompt = CorePrompt(self.persona, notes, text, params.session, lang)
        return CoreJob(params, intent, confidence, lang, prompt, timings, started, embedding)

    @staticmethod
    def _relevant(text: str, memory) -> bool:
        """Whether a recalled memory is worth the core's attention as a note: some closeness
        in meaning, or a shared content word (an unrelated note only distracts a small model)."""
        from tars_edge.memory.memo import content_stems

        return memory.score >= NOTE_MIN_COSINE or bool(content_stems(text) & content_stems(memory.text))

    def fact_answers(self, question: str, lang: str, best) -> bool:
        """Whether the best recalled memory answers the question by itself.

        The embedder (all-MiniLM-L6-v2) was trained on English: for English questions its
        cosine separates the right fact from the nearest wrong one, but Russian sentences all
        look alike to it (a Russian question scores >= 0.6 against an unrelated Russian fact
        95 % of the time). So: English needs cosine >= ``fact_threshold``; any language may
        instead share >= ``fact_min_shared`` content-word stems with the fact. Measured on
        export/data/memory_eval.tsv (docs/api.md, tests/test_cascade_memory.py)."""
        from tars_edge.memory.memo import content_stems

        shared = len(content_stems(question) & content_stems(best.text))
        if shared >= self.settings.get("fact_min_shared", 2):
            return True
        return lang == "en" and best.score >= self.settings.get("fact_threshold", 0.55)

    def run_core(self, job: CoreJob, on_token: Callable[[str], None] | None = None,
                 cancel: threading.Event | None = None) -> Answer:
        """T3. Raises TierUnavailable when there is no core (nothing is made up instead)."""
        reason = self.core.unavailable_reason
        if reason:
            self.stats.unanswered += 1
            raise TierUnavailable("core", reason, {"intent": job.intent,
                                                   "confidence": round(job.confidence, 4),
                                                   "notes": job.prompt.notes})
        cancel = cancel or threading.Event()
        t = time.perf_counter()
        with self._core_lock:
            timings = dict(job.timings_ms)
            timings["core_wait_ms"] = (time.perf_counter() - t) * 1e3
            t = time.perf_counter()
            result = self.core.answer(job.prompt, job.params, on_token or (lambda _t: None), cancel)
        timings["core_ms"] = (time.perf_counter() - t) * 1e3
        for key, value in result.timings_ms.items():
            timings[f"core_{key}" if not key.startswith("core_") else key] = value
        answer = Answer(result.text, "core", job.intent, job.confidence, job.lang, timings,
                        tokens=result.tokens, cancelled=result.cancelled,
                        data={"notes": len(job.prompt.notes), **result.stats})
        if (self._memory_on() and not result.cancelled and job.params.tier == "auto"
                and result.text.strip()):
            try:
                self.memory.memo.put(job.params.text, result.text, tier="core",
                                     intent=job.intent, embedding=job.embedding)
            except Exception:
                log.warning("memo store failed", exc_info=True)
        return self._finish(answer, job.started, job.params)

    def answer(self, params: AskParams, on_token: Callable[[str], None] | None = None,
               cancel: threading.Event | None = None, now=None) -> Answer:
        """All tiers in this thread (the in-process CLI)."""
        routed = self.route(params, now=now)
        if isinstance(routed, Answer):
            if on_token is not None:
                on_token(routed.text)
            return routed
        return self.run_core(routed, on_token, cancel)

    def reset_session(self, session: str) -> dict:
        core = self.core.reset_session(session)
        logged = 0
        if self._memory_on():
            logged = self.memory.conversation.reset(session)
        return {"core_state": core, "log_entries": logged}

    def status(self) -> dict:
        memory = self.memory.status() if self.memory is not None else None
        return {
            "tiers": self.stats.snapshot(),
            "unanswered": self.stats.unanswered,
            "reflex_threshold": self.threshold,
            "memory": memory if memory is not None else {"available": False,
                                                         "reason": self.memory_off_reason},
            "core": self.core.status(),
        }
