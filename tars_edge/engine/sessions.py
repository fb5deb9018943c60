"""The one place that opens ONNX Runtime sessions for bundle models.

Why one place: thread counts, graph optimisation and the error a user sees for a broken
model file must be the same for every model.
"""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort
import psutil

from tars_edge.bundle import BundleError


def physical_cores() -> int:
    return psutil.cpu_count(logical=False) or 1


def open_session(path: Path, threads: int | None = None) -> ort.InferenceSession:
    """An ORT CPU session with full graph optimisation (constant folding unpacks quantized
    weights once at load) and ``threads`` intra-op threads (default: physical cores)."""
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = threads or physical_cores()
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own Fail/InvalidGraph/... types
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BundleError(f"{path}: ONNX Runtime cannot load this model ({reason[:200]})") from None
