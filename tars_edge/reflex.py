"""Tier 1: the reflex MinGRU decides, in well under a millisecond, whether a text is something
the assistant can answer by itself (greeting, time, status, ...) and which intent it is."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from tars_edge import tokenizer
from tars_edge.bundle import Bundle
from tars_edge.engine.sessions import open_session


@dataclass(frozen=True)
class ReflexDecision:
    intent: str
    confidence: float  # P(the reflex tier can answer this itself), 0..1
    scores: dict[str, float]  # softmax over intents
    latency_ms: float

    @property
    def as_dict(self) -> dict:
        return {
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "scores": {k: round(v, 4) for k, v in self.scores.items()},
            "latency_ms": round(self.latency_ms, 3),
        }


class ReflexClassifier:
    """Runs the bundle's ``reflex`` model (its deployed variant unless ``variant`` says)."""

    def __init__(self, bundle: Bundle, variant: str | None = None, threads: int = 1):
        spec = bundle.model("reflex")
        self.variant = variant or spec["deployed"]
        self.labels: list[str] = list(spec["labels"])
        self.threshold: float = float(spec["thresholds"]["confidence"])
        self.max_tokens: int = int(spec["config"]["max_tokens"])
        self._chunk: int = int(spec["config"].get("chunk", 1))
        # One thread: the graph is tiny and thread hand-offs would cost more than they save.
        self._session = open_session(bundle.file("reflex", self.variant), threads=threads)
        self._outputs = ["intent_logits", "confidence"]

    def classify(self, text: str) -> ReflexDecision:
        """Raises ValueError for a text with nothing in it."""
        if not text.strip():
            raise ValueError("empty text: nothing to classify")
        start = time.perf_counter()
        ids = tokenizer.encode_ids(text)[: self.max_tokens]
        # The graph scans in chunks: zero-pad to a multiple; `length` says where the text ends.
        tokens = np.zeros((1, -(-len(ids) // self._chunk) * self._chunk), dtype=np.int64)
        tokens[0, : len(ids)] = ids
        logits, confidence = self._session.run(
            self._outputs, {"tokens": tokens, "length": np.array([len(ids)], dtype=np.int64)}
        )
        logits = logits[0].astype(np.float64)
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        best = int(probs.argmax())
        latency_ms = (time.perf_counter() - start) * 1e3
        return ReflexDecision(
            intent=self.labels[best],
            confidence=float(confidence.reshape(-1)[0]),
            scores={label: float(p) for label, p in zip(self.labels, probs)},
            latency_ms=latency_ms,
        )

    def is_confident(self, decision: ReflexDecision) -> bool:
        """Whether the reflex tier should answer: confident and not `complex`."""
        return decision.confidence >= self.threshold and decision.intent != "complex"
