"""Export verification: an ONNX graph is written to a bundle only if ONNX Runtime reproduces
the PyTorch forward it came from. Every builder goes through :func:`check_parity`."""

from __future__ import annotations

import numpy as np


class VerificationError(RuntimeError):
    """An export that does not reproduce PyTorch; nothing is written to the bundle."""


def max_abs_diff(reference, candidate) -> float:
    reference = np.asarray(reference, dtype=np.float64)
    candidate = np.asarray(candidate, dtype=np.float64)
    if reference.shape != candidate.shape:
        return float("inf")
    return float(np.max(np.abs(reference - candidate))) if reference.size else 0.0


def check_parity(what: str, reference, candidate, tolerance: float) -> float:
    """Max |Δ| between PyTorch and ONNX Runtime outputs; raises past ``tolerance``."""
    diff = max_abs_diff(reference, candidate)
    if not diff <= tolerance:  # also catches NaN
        raise VerificationError(
            f"{what}: ONNX Runtime differs from PyTorch by {diff:.3g} (allowed {tolerance:g}); "
            "refusing to write the bundle"
        )
    return diff
