"""Core runtime: decode speed plain vs speculative, draft acceptance, time to first token with
and without the prefix-state cache, Python overhead, and (when the export side is installed)
PyTorch eager decode of the same weights.

All numbers come from one run on the same prompts; the speculative and plain runs decode the
same tokens (greedy speculative == greedy), so their ratio compares equal work.
"""

from __future__ import annotations

import statistics
import threading
import time

import numpy as np
from tqdm import tqdm

from tars_edge.bundle import Bundle
from tars_edge.cascade import AskParams, CorePrompt
from tars_edge.engine.core import CoreEngine, CoreModel, frame_turn
from tars_edge.engine.generate import Emitter, Sampler, SamplingParams
from tars_edge.engine.prefix_cache import PrefixStateCache
from tars_edge.engine.speculative import SpecStats, plain_decode, speculative_decode
from tars_edge.persona import DEFAULT_PERSONA

PROMPTS = [
    ("en", "hello"), ("ru", "привет"), ("en", "how are you?"), ("ru", "как дела?"),
    ("en", "what can you do?"), ("ru", "что ты умеешь?"), ("en", "who are you?"),
    ("ru", "кто ты?"), ("en", "explain how photosynthesis works"), ("ru", "спасибо"),
    ("en", "what is my name?"), ("ru", "расскажи, как работает фотосинтез"),
]
THREADS = 1  # the graphs are small; measured faster than 2 threads on the shared 2-core box


def _decode_run(model: CoreModel, engine: CoreEngine, spec: bool, max_new: int, reps: int):
    tokens, outputs = 0, []
    wall = ort = 0.0
    stats = SpecStats()
    for _ in range(reps):
        for lang, text in PROMPTS:
            full = engine.persona_prefix(DEFAULT_PERSONA, lang) + frame_turn(None, text, [], lang)
            logits, hidden, states = model.prefill(np.frombuffer(full, np.uint8), model.init_states())
            emitter = Emitter(SamplingParams(max_tokens=max_new))
            ort0 = model.ort_s
            t = time.perf_counter()
            if spec:
                speculative_decode(model, states, logits, hidden, emitter, stats)
            else:
                plain_decode(model, states, logits, hidden, emitter, Sampler(SamplingParams()))
            wall += time.perf_counter() - t
            ort += model.ort_s - ort0
            tokens += len(emitter.tokens)
            outputs.append(list(emitter.tokens))
    return tokens / wall, ort / wall, stats, outputs


def _torch_tok_s(bundle: Bundle, engine: CoreEngine, max_new: int) -> float | None:
    """PyTorch eager on the same weights and thread count, when the export side is installed
    (it owns every torch import; the runtime has none)."""
    try:
        from tars_export.core_build import eager_decode_tok_s
    except ImportError:
        return None
    prompts = [engine.persona_prefix(DEFAULT_PERSONA, lang) + frame_turn(None, text, [], lang)
               for lang, text in PROMPTS]
    weights = bundle.file("core", bundle.model("core")["weights"])
    return eager_decode_tok_s(weights, prompts, max_new, THREADS)


def _ttft(engine: CoreEngine, cold: bool, reps: int, persona: str = DEFAULT_PERSONA) -> float:
    times = []
    for i in range(reps):
        if cold:
            engine.cache = PrefixStateCache(engine.bundle.id)
        lang, text = PROMPTS[i % len(PROMPTS)]
        r = engine.answer(CorePrompt(persona, [], text, f"ttft{i}", lang),
                          AskParams(text, max_tokens=1, speculative=False), lambda _t: None,
                          threading.Event())
        engine.reset_session(f"ttft{i}")
        times.append(r.timings_ms["ttft_ms"])
    return statistics.median(times)


def run(bundle: Bundle, progress: bool = True, max_new: int = 96, reps: int = 2) -> dict:
    model = CoreModel(bundle, threads=THREADS)
    engine = CoreEngine(bundle, {"threads": THREADS}, DEFAULT_PERSONA, model=model)
    bar = tqdm(total=6, desc="core", disable=not progress, leave=False)
    _decode_run(model, engine, False, 16, 1)  # warm-up: ORT allocates buffers on first runs
    _decode_run(model, engine, True, 16, 1)
    bar.update()
    plain_tok_s, ort_frac, _, plain_out = _decode_run(model, engine, False, max_new, reps)
    bar.update()
    spec_tok_s = acceptance = spec_out = None
    if model.has_draft:
        spec_tok_s, _, stats, spec_out = _decode_run(model, engine, True, max_new, reps)
        acceptance = stats.acceptance
    bar.update()
    cold = _ttft(engine, True, 24)
    bar.update()
    engine.cache = PrefixStateCache(bundle.id)
    engine.prewarm(DEFAULT_PERSONA)
    cached = _ttft(engine, False, 24)
    bar.update()
    # a user's own ~1.3 KB persona file (the built-in persona text used verbatim)
    long_persona = "TARS persona file.\n" + DEFAULT_PERSONA
    cold_long = _ttft(engine, True, 12, long_persona)
    engine.cache = PrefixStateCache(bundle.id)
    engine.prewarm(long_persona)
    cached_long = _ttft(engine, False, 12, long_persona)
    calibration = engine.calibrate()
    torch_tok_s = _torch_tok_s(bundle, engine, max_new)
    bar.update()
    bar.close()
    out = {
        "decode_tok_s": round(plain_tok_s, 1),
        "decode_tok_s_spec": round(spec_tok_s, 1) if spec_tok_s else None,
        "spec_speedup": round(spec_tok_s / plain_tok_s, 3) if spec_tok_s else None,
        "draft_acceptance": round(acceptance, 4) if acceptance is not None else None,
        "ttft_cold_ms": round(cold, 3),
        "ttft_cached_ms": round(cached, 3),
        "prefix_cache_speedup": round(cold / cached, 2) if cached > 0 else None,
        "ttft_cold_ms_long_persona": round(cold_long, 3),
        "ttft_cached_ms_long_persona": round(cached_long, 3),
        "prefix_cache_speedup_long_persona": round(cold_long / cached_long, 2) if cached_long > 0 else None,
        "python_overhead_frac": round(1.0 - ort_frac, 4),
        "spec_auto_enabled": calibration["worthwhile"],
        "spec_round_ms": calibration["round_ms"],
        "step_ms": calibration["step_ms"],
        "core_variant": bundle.model("core").get("deployed"),
        "core_threads": THREADS,
        "core_decode_tokens": sum(map(len, plain_out)),
        "core_spec_tokens_identical": spec_out == plain_out if spec_tok_s else None,
    }
    if torch_tok_s is not None:
        out["torch_eager_tok_s"] = round(torch_tok_s, 1)
        out["runtime_vs_torch"] = round(plain_tok_s / torch_tok_s, 2)
    return out
