"""Probe (kept only in this commit): per-round gate of speculative decoding vs verifying every
round, on the bench's prompts, with the model calls of each decode timed where they happen.

    python bench/speculation_gate_probe.py
"""
import collections
import time

import numpy as np

from tars_edge.benchmarks.core import PROMPTS
from tars_edge.bundle import Bundle
from tars_edge.engine.core import CoreEngine, CoreModel, frame_turn
from tars_edge.engine.generate import Emitter, Sampler, SamplingParams
from tars_edge.engine.speculative import SpecStats, plain_decode, speculative_decode
from tars_edge.persona import DEFAULT_PERSONA

b = Bundle.load(None); m = CoreModel(b, threads=1); eng = CoreEngine(b, {"threads": 1}, DEFAULT_PERSONA, model=m)
T = collections.defaultdict(float); N = collections.Counter()
for name in ("step", "verify", "draft"):
    f = getattr(m, name)
    def w(*a, _f=f, _n=name):
        t = time.perf_counter(); r = _f(*a); T[_n] += time.perf_counter() - t; N[_n] += 1; return r
    setattr(m, name, w)
def run(gate, spec=True):
    T.clear(); N.clear(); tok = 0; wall = 0
    for _ in range(2):
        for lang, text in PROMPTS:
            full = eng.persona_prefix(DEFAULT_PERSONA, lang) + frame_turn(None, text, [], lang)
            lg, h, st = m.prefill(np.frombuffer(full, np.uint8), m.init_states())
            em = Emitter(SamplingParams(max_tokens=96)); t = time.perf_counter()
            if spec: speculative_decode(m, st, lg, h, em, SpecStats(), gate)
            else: plain_decode(m, st, lg, h, em, Sampler(SamplingParams()))
            wall += time.perf_counter() - t; tok += len(em.tokens)
    print(("gate %.2f" % gate) if spec else "plain", "tok/s %.0f" % (tok / wall), {k: (N[k], round(T[k] / N[k] * 1e3, 4)) for k in N})
run(0, False)
for g in (0.0, 2.45, 0.0, 2.45):
    run(g)
run(0, False)
