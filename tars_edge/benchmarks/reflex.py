"""Reflex latency: p50/p99 of one `classify` call over varied RU/EN queries, one thread."""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from tars_edge.bundle import Bundle
from tars_edge.reflex import ReflexClassifier

QUERIES = [
    "привет", "который час", "какое сегодня число", "поставь таймер на 5 минут",
    "сколько свободной памяти", "пока, до завтра", "расскажи, как работает фотосинтез",
    "hello there", "what time is it", "set a timer for ten minutes", "how much battery is left",
    "good night TARS", "why is the sky blue and how does scattering depend on wavelength?",
    "turn off the lights in the kitchen", "запомни, что ключ под ковриком", "asdkjh qwe zzz",
]


def run(bundle: Bundle, progress: bool = True, calls: int = 2000) -> dict:
    reflex = ReflexClassifier(bundle)
    for q in QUERIES:  # warm-up: first calls allocate ORT buffers
        reflex.classify(q)
    latencies = np.empty(calls)
    for i in tqdm(range(calls), desc="reflex", disable=not progress, leave=False):
        latencies[i] = reflex.classify(QUERIES[i % len(QUERIES)]).latency_ms
    return {
        "reflex_p50_ms": round(float(np.percentile(latencies, 50)), 4),
        "reflex_p99_ms": round(float(np.percentile(latencies, 99)), 4),
        "reflex_variant": reflex.variant,
        "reflex_calls": calls,
    }
