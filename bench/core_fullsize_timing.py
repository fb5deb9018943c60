"""Default-size core timings before a trained core is in the bundle (random fp32 weights:
timing only, no quality): ORT step vs verify(5), ORT vs PyTorch eager step (1 thread), cold
prefill of a 1.3 KB persona + turn vs the turn alone (what the prefix-state cache leaves).

    python bench/core_fullsize_timing.py        # needs the export extras (torch, onnx)
"""
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import tars_export.core_build as cb
from tars_edge import tokenizer
from tars_edge.engine.sessions import open_session
from tars_edge.persona import DEFAULT_PERSONA
from tars_export.core import TarsCore
from tars_export.train_core import CoreTrainConfig

torch.manual_seed(0); torch.set_num_threads(1)
cfg = CoreTrainConfig().model
m = TarsCore(cfg).eval()
d = Path(tempfile.mkdtemp())
for g in ("step", "prefill", "verify"):
    cb.export_core_graph(m, g, d / f"{g}.onnx")
names = cb.state_names(cfg)
zeros = [np.zeros(s, np.float32) for _, s in cfg.state_specs(1)]
s = open_session(d / "step.onnx", 1); p = open_session(d / "prefill.onnx", 1)
def t(f, n=100, w=10):
    for _ in range(w): f()
    t0 = time.perf_counter()
    for _ in range(n): f()
    return (time.perf_counter() - t0) / n * 1e3
ort_step = t(lambda: s.run(None, {"token": np.array([65]), **dict(zip(names, zeros))}))
with torch.no_grad():
    _, _, st, _ = m(torch.tensor([[1, 65, 66]]))
    torch_step = t(lambda: m.step(torch.tensor([65]), st))
persona = bytes([1]) + tokenizer.encode("TARS persona file.\n" + DEFAULT_PERSONA)
turn = bytes([2]) + b"explain how photosynthesis works" + bytes([3])
full = np.frombuffer(persona + turn, np.uint8).astype(np.int64)
def prefill(tokens):
    states = zeros
    for i in range(0, len(tokens), 256):
        out = p.run(None, {"tokens": tokens[None, i:i+256], **dict(zip(names, states))}); states = out[2:]
cold = t(lambda: prefill(full), n=5, w=1)
cached = t(lambda: prefill(full[-len(turn):]), n=30, w=3)
print(f"d_model {cfg.d_model}: ORT step {ort_step:.3f} ms, torch eager step {torch_step:.3f} ms, ratio {torch_step/ort_step:.2f}; "
      f"prefill {len(full)} tokens {cold:.1f} ms vs turn only ({len(turn)}) {cached:.2f} ms, ratio {cold/cached:.1f}")
v = open_session(d / "verify.onnx", 1)
verify5 = t(lambda: v.run(None, {"tokens": np.arange(65, 70)[None], **dict(zip(names, zeros))}))
print(f"verify(5 tokens) {verify5:.3f} ms = {verify5/ort_step:.2f} steps")
