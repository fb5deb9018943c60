"""Why draft-head speculation does or does not pay for a bundle's core on this CPU.

A speculative round is ONE call of the draft model's verify graph over K+1 tokens (the core's
pending token and K drafts), which also drafts the next round; it replaces up to K+1 plain
steps. It wins when that call costs fewer steps than the tokens a round yields
(``1 + sum(acceptance)``). This script measures every term in one run, on the bundle's own
graphs (1 ONNX Runtime thread), and prints one JSON object:

* ``step_ms``, ``draft_ms`` (the first round's separate draft call), ``verify_ms`` and
  ``verify_steps`` (verify / step);
* ``bound_speedup``: tokens per round / round cost in steps with the draft's measured
  acceptance from the manifest (the best speculation can do before any Python overhead), and
  ``bound_speedup_perfect_draft``: the same with every draft accepted;
* ``profile_step`` / ``profile_verify`` — ORT's per-operator kernel time (µs per call, top 8)
  and node counts after graph optimisation: where a call's time goes.

    python bench/speculation_profile.py [--bundle models] [--reps 300]

Runtime only (numpy + onnxruntime). The machine may be shared: compare keys within one run.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import tempfile
import time

import numpy as np
import onnxruntime as ort
from tqdm import tqdm

from tars_edge.bundle import Bundle
from tars_edge.engine.core import CoreModel


def per_call_ms(fn, reps: int) -> float:
    for _ in range(max(5, reps // 10)):
        fn()
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - start) / reps * 1e3


def op_profile(path, feed: dict, reps: int) -> dict:
    """Per-operator kernel time of one graph, from ONNX Runtime's own profiler."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.enable_profiling = True
    opts.profile_file_prefix = os.path.join(tempfile.gettempdir(), "tars_speculation_profile")
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    for _ in range(reps):
        sess.run(None, feed)
    trace = sess.end_profiling()
    with open(trace) as f:
        events = json.load(f)
    os.unlink(trace)
    time_us, nodes = collections.Counter(), collections.Counter()
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            time_us[e["args"]["op_name"]] += e["dur"] / reps
            nodes[e["args"]["op_name"]] += 1 / reps
    return {"kernel_us": round(sum(time_us.values()), 1), "nodes": round(sum(nodes.values())),
            "top": {op: {"us": round(us, 1), "nodes": round(nodes[op])}
                    for op, us in time_us.most_common(8)}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bundle", default=None, help="bundle directory (default: models/)")
    ap.add_argument("--reps", type=int, default=300)
    args = ap.parse_args(argv)
    bundle = Bundle.load(args.bundle)
    model = CoreModel(bundle, threads=1)
    if not model.has_draft:
        raise SystemExit(f"{bundle.root}: this bundle has no draft head to speculate with")
    acceptance = bundle.model("draft")["metrics"]["acceptance"]
    n_draft = len(acceptance)

    rng = np.random.default_rng(0)
    _, hidden, states = model.prefill(rng.integers(32, 127, 64), model.init_states())
    tokens = rng.integers(32, 127, n_draft + 1)
    jobs = [("step", model.chained_steps(65, states)),
            ("draft", lambda: model.draft(hidden, 65)),
            ("verify", lambda: model.verify(tokens, states))]
    ms = {name: per_call_ms(fn, args.reps) for name, fn in tqdm(jobs, desc="timing", unit="graph")}

    step = ms["step"]
    round_steps = ms["verify"] / step  # the verify graph also drafts the next round
    out: dict = {"bundle": str(bundle.root), "step_ms": round(step, 4),
                 "draft_ms": round(ms["draft"], 4), "verify_ms": round(ms["verify"], 4),
                 "verify_steps": round(round_steps, 2), "n_draft": n_draft,
                 "acceptance": acceptance,
                 "bound_speedup": round((1 + sum(acceptance)) / round_steps, 3),
                 "bound_speedup_perfect_draft": round((n_draft + 1) / round_steps, 3)}

    feed_states = dict(zip(model.state_names, states))
    out["profile_step"] = op_profile(bundle.file("core", bundle.model("core")["graphs"]["step"]),
                                     {"token": np.array([65], np.int64), **feed_states}, 100)
    out["profile_verify"] = op_profile(bundle.file("draft", bundle.model("draft")["graphs"]["verify"]),
                                       {"tokens": tokens[None, :].astype(np.int64),
                                        **feed_states}, 100)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
