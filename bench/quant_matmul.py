"""How should a quantized weight execute in ONNX Runtime? Measures one linear layer
``y = x @ Wᵀ`` per candidate execution written by ``tars_export.quant.quantize_onnx_weights``.

    python bench/quant_matmul.py [--json] [--shapes 64x64,512x512,1024x1024,2048x512,8*1024x1024]
                                 [--rows 1,64] [--threads 1] [--budget 0.3] [--only NAME,...]

Shapes are ``out×in`` (a PyTorch ``Linear(in, out)`` weight); ``8*1024x1024`` is a chain of 8
such layers (8.4 M weights, the size of a small core LM) for whole-model load time, memory and
file size. Per shape and candidate:

* file size of the single-layer model and bits per weight of the whole file;
* session load time (median of 3 loads) and resident memory added by the first load, both in a
  fresh subprocess that imports only numpy + onnxruntime ("trim MB": the same after
  ``malloc_trim(0)``, i.e. without freed heap that glibc keeps);
* the operators left after ORT's graph optimisation (did the unpack subgraph fold away? did
  ORT fuse DequantizeLinear→MatMul into something else?);
* per-call latency (median, p90) for ``rows`` input rows, all candidates of a shape timed
  round-robin in one process so that machine noise hits them alike; ``fp32 again`` is a second
  identical fp32 session, so its ratio to ``fp32`` shows how noisy the run was;
* max |Δ| against the PyTorch forward it should reproduce ("Δ own": ``QuantLinear`` with that
  scheme, and for accuracy_level=4 candidates with ``act_block=64``, the emulation of
  MatMulNBits' int8 activations; ✗ marks > 1e-4), and against weight-only fake quantization
  ("Δ w-only", what QAT without activation quantization trains for). Inputs are N(0, 1), weights
  nn.Linear's default init, so outputs are O(1) (|y| ≲ 3).

Sessions use ORT_ENABLE_ALL and ``--threads`` intra-op threads (default 1), as the runtime does.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CANDIDATES = [
    # name, scheme, execution, accuracy_level, act_block of the matching PyTorch forward
    ("fp32", "none", None, 0, 0),
    ("fp32 again", "none", None, 0, 0),
    ("ternary fold", "ternary", "fold", 0, 0),
    ("ternary nbits2 acc0", "ternary", "nbits2", 0, 0),
    ("ternary nbits2 acc4", "ternary", "nbits2", 4, 64),
    ("ternary nbits4 acc0", "ternary", "nbits4", 0, 0),
    ("ternary nbits4 acc4", "ternary", "nbits4", 4, 64),
    ("int8 fold", "int8", "fold", 0, 0),
    ("int8 qdq", "int8", "qdq", 0, 0),
    ("int8 nbits8 acc0", "int8", "nbits8", 0, 0),
    ("int8 nbits8 acc4", "int8", "nbits8", 4, 64),
    ("int8 dynamic", "int8", "dynamic", 0, 0),
]
NBITS_BLOCK = 64  # MatMulNBits block along K (= act_block of the acc4 PyTorch forward)
DEFAULT_SHAPES = "64x64,512x512,1024x1024,2048x512,8*1024x1024"
PARITY = 1e-4


def _session(path, threads: int, optimized: str | None = None):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    if optimized:
        opts.optimized_model_filepath = optimized
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def probe(path: str, threads: int) -> dict:
    """Runs in a fresh subprocess: load time, RSS added by the load, ops after optimisation."""
    import gc

    import onnx

    warm = Path(path).with_suffix(".warm.onnx")
    g = onnx.helper.make_graph(
        [onnx.helper.make_node("Identity", ["x"], ["y"])], "warm",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])])
    onnx.save(onnx.helper.make_model(g), str(warm))
    _session(warm, threads)  # ORT's process-wide environment is created here, not below
    gc.collect()
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    keep = _session(path, threads)
    loads = [time.perf_counter() - t0]
    rss1 = _rss_mb()
    trimmed = rss1
    try:  # how much of it is freed heap that glibc kept (constant-folding intermediates)?
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
        trimmed = _rss_mb()
    except (OSError, AttributeError):
        pass
    for _ in range(2):
        t0 = time.perf_counter()
        _session(path, threads)
        loads.append(time.perf_counter() - t0)
    optimized = str(Path(path).with_suffix(".opt.onnx"))
    _session(path, threads, optimized)
    ops = [n.op_type for n in onnx.load(optimized, load_external_data=False).graph.node]
    del keep
    return {"load_ms": statistics.median(loads) * 1e3, "rss_added_mb": rss1 - rss0,
            "rss_added_after_malloc_trim_mb": trimmed - rss0,
            "rss_after_load_mb": rss1, "ops_after_optimisation": ops}


def parse_shape(spec: str) -> tuple[int, int, int]:
    """"OUTxIN" or "L*NxN" (a chain of L square layers, for whole-model load time and RSS)."""
    layers, _, dims = spec.lower().rpartition("*")
    out_dim, in_dim = (int(v) for v in dims.split("x"))
    layers = int(layers or 1)
    if layers > 1 and out_dim != in_dim:
        raise ValueError(f"{spec}: a chain of layers needs square matrices")
    return layers, out_dim, in_dim


def shape_label(layers: int, out_dim: int, in_dim: int) -> str:
    return f"{layers}*{out_dim}x{in_dim}" if layers > 1 else f"{out_dim}x{in_dim}"


def build_models(out_dim: int, in_dim: int, names: list[str], folder: Path, seed: int = 0,
                 layers: int = 1):
    """fp32 model (MatMul with the transposed weight, as torch.onnx exports a Linear on 3-D
    input; ``layers`` of them chained) + one rewritten model per candidate; returns
    ({name: (path, reference output)}, input rows)."""
    import onnx
    import torch
    from onnx import TensorProto, helper, numpy_helper

    from tars_export.quant import QuantLinear, quantize_onnx_weights

    torch.manual_seed(seed)
    stack = torch.nn.Sequential(*(QuantLinear(in_dim, out_dim, bias=False)
                                  for _ in range(layers))).eval()
    nodes, inits = [], []
    for i, layer in enumerate(stack):
        w = layer.weight.detach().numpy()
        nodes.append(helper.make_node("MatMul", ["x" if i == 0 else f"h{i}", f"weight_t{i}"],
                                      ["y" if i == layers - 1 else f"h{i + 1}"]))
        inits.append(numpy_helper.from_array(np.ascontiguousarray(w.T), f"weight_t{i}"))
    g = helper.make_graph(
        nodes, "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["rows", in_dim])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["rows", out_dim])], inits)
    fp32 = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    fp32.ir_version = 9
    x = torch.from_numpy(np.random.default_rng(seed).standard_normal((64, in_dim), np.float32))
    out = {}
    for name, scheme, execution, acc, act_block in CANDIDATES:
        if name not in names:
            continue
        model = fp32 if scheme == "none" else quantize_onnx_weights(
            fp32, None, scheme, execution=execution, accuracy_level=acc, block_size=NBITS_BLOCK)
        path = folder / f"{layers}_{out_dim}x{in_dim}.{name.replace(' ', '_')}.onnx"
        onnx.save(model, str(path))
        refs = []
        for block in (act_block, 0):  # its own PyTorch forward, then weight-only fake quant
            for layer in stack:
                layer.scheme, layer.act_block = scheme, block
            with torch.no_grad():
                refs.append(stack(x).numpy().astype(np.float64))
        out[name] = (path, refs[0], refs[1])
    return out, x.numpy()


def time_round_robin(sessions: dict, x: np.ndarray, budget_s: float, rounds: int = 10) -> dict:
    """Per-call latencies (s) per candidate, interleaved in ``rounds`` rounds."""
    feeds = {"x": x}
    per_call = {}
    for name, s in sessions.items():  # warm up + calibrate
        for _ in range(3):
            s.run(None, feeds)
        t0 = time.perf_counter()
        s.run(None, feeds)
        per_call[name] = max(time.perf_counter() - t0, 1e-6)
    samples = {name: [] for name in sessions}
    slot = budget_s / rounds
    for _ in range(rounds):
        for name, s in sessions.items():
            for _ in range(max(2, int(slot / per_call[name]))):
                t0 = time.perf_counter()
                s.run(None, feeds)
                samples[name].append(time.perf_counter() - t0)
    return samples


def run(shapes, rows_list, threads, budget, names, progress=True) -> list[dict]:
    from tqdm import tqdm

    results = []
    bar = tqdm(total=len(shapes) * (len(names) + len(rows_list)), desc="quant matmul bench",
               unit="step", disable=not progress, file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        for layers, out_dim, in_dim in shapes:
            label = shape_label(layers, out_dim, in_dim)
            models, x64 = build_models(out_dim, in_dim, names, Path(tmp), layers=layers)
            rows = {}
            for name, (path, _, _) in models.items():
                bar.set_postfix_str(f"{label} {name} (load/RSS)")
                proc = subprocess.run(
                    [sys.executable, __file__, "--probe", str(path), "--threads", str(threads)],
                    capture_output=True, text=True, check=True)
                info = json.loads(proc.stdout.strip().splitlines()[-1])
                size = path.stat().st_size
                rows[name] = {"shape": label, "candidate": name, "file_bytes": size,
                              "file_bits_per_weight": 8 * size / (layers * out_dim * in_dim),
                              **info}
                bar.update()
            sessions = {name: _session(path, threads) for name, (path, _, _) in models.items()}
            for name, s in sessions.items():
                y = s.run(None, {"x": x64})[0].astype(np.float64)
                _, own, weight_only = models[name]
                err = float(np.max(np.abs(y - own)))
                rows[name]["max_abs_vs_pytorch"] = err
                rows[name]["max_abs_vs_weight_only_fake_quant"] = float(
                    np.max(np.abs(y - weight_only)))
                rows[name]["max_abs_output"] = float(np.max(np.abs(weight_only)))
                rows[name]["parity_ok"] = bool(err <= PARITY)
            for r in rows_list:
                bar.set_postfix_str(f"{label} rows={r} (latency)")
                x = np.ascontiguousarray(np.resize(x64, (r, in_dim)))
                samples = time_round_robin(sessions, x, budget)
                base = statistics.median(samples["fp32"]) if "fp32" in samples else None
                for name, ts in samples.items():
                    p50 = statistics.median(ts)
                    rows[name][f"rows{r}_p50_us"] = p50 * 1e6
                    rows[name][f"rows{r}_p90_us"] = float(np.percentile(ts, 90)) * 1e6
                    rows[name][f"rows{r}_calls"] = len(ts)
                    if base:
                        rows[name][f"rows{r}_vs_fp32"] = p50 / base
                bar.update()
            del sessions
            results += rows.values()
    bar.close()
    return results


def _ops_summary(ops: list[str]) -> str:
    seen: dict[str, int] = {}
    for op in ops:
        seen[op] = seen.get(op, 0) + 1
    return "+".join(op if n == 1 else f"{n}×{op}" for op, n in seen.items())


def format_table(results: list[dict], rows_list) -> str:
    head = ["shape", "candidate", "file KB", "bits/w", "load ms", "RSS+ MB", "trim MB"]
    for r in rows_list:
        head += [f"b{r} p50 µs", f"b{r} p90 µs", f"b{r} ×fp32"]
    head += ["Δ own", "Δ w-only", "ORT graph after load"]
    lines = [head]
    for row in results:
        line = [row["shape"], row["candidate"], f"{row['file_bytes'] / 1024:.1f}",
                f"{row['file_bits_per_weight']:.2f}", f"{row['load_ms']:.1f}",
                f"{row['rss_added_mb']:.1f}", f"{row['rss_added_after_malloc_trim_mb']:.1f}"]
        for r in rows_list:
            line += [f"{row[f'rows{r}_p50_us']:.1f}", f"{row[f'rows{r}_p90_us']:.1f}",
                     f"{row.get(f'rows{r}_vs_fp32', float('nan')):.2f}"]
        line += [f"{row['max_abs_vs_pytorch']:.1e}" + ("" if row["parity_ok"] else " ✗"),
                 f"{row['max_abs_vs_weight_only_fake_quant']:.1e}",
                 _ops_summary(row["ops_after_optimisation"])]
        lines.append(line)
    widths = [max(len(str(c)) for c in col) for col in zip(*lines)]
    out = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(line, widths)) + " |"
           for line in lines]
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def machine() -> dict:
    import onnxruntime as ort

    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "logical_cpus": os.cpu_count(), "python": platform.python_version(),
            "onnxruntime": ort.__version__, "numpy": np.__version__}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    ap.add_argument("--shapes", default=DEFAULT_SHAPES,
                    help="out×in, comma separated; L*NxN is a chain of L layers")
    ap.add_argument("--rows", default="1,64", help="input rows per call, comma separated")
    ap.add_argument("--threads", type=int, default=1, help="ORT intra-op threads (≤ 2 here)")
    ap.add_argument("--budget", type=float, default=0.3,
                    help="seconds of calls per candidate, shape and row count")
    ap.add_argument("--only", default="", help="candidates to run (comma separated; fp32 is "
                    "always included as the reference)")
    ap.add_argument("--probe", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.probe:
        print(json.dumps(probe(args.probe, args.threads)))
        return 0
    try:
        shapes = [parse_shape(s) for s in args.shapes.split(",") if s]
    except ValueError as exc:
        ap.error(f"--shapes: {exc}")
    rows_list = [int(r) for r in args.rows.split(",") if r]
    names = [c[0] for c in CANDIDATES]
    if args.only:
        wanted = {n.strip() for n in args.only.split(",")} | {"fp32"}
        unknown = wanted - set(names)
        if unknown:
            ap.error(f"unknown candidate(s) {', '.join(sorted(unknown))}; "
                     f"known: {', '.join(names)}")
        names = [n for n in names if n in wanted]
    t0 = time.perf_counter()
    results = run(shapes, rows_list, args.threads, args.budget, names)
    info = {"machine": machine(), "threads": args.threads, "budget_s": args.budget,
            "command": "python bench/quant_matmul.py " + " ".join(argv if argv is not None
                                                                  else sys.argv[1:]),
            "seconds": round(time.perf_counter() - t0, 1), "results": results}
    if args.json:
        print(json.dumps(info, indent=1))
    else:
        m = info["machine"]
        print(f"{m['cpu']}, {m['logical_cpus']} logical CPUs, onnxruntime {m['onnxruntime']}, "
              f"{args.threads} intra-op thread(s), {info['seconds']} s")
        print(format_table(results, rows_list))
    return 0


if __name__ == "__main__":
    sys.exit(main())
