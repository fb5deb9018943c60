"""`tars-edge bench`: one flat JSON object of measurements, taken in one run.

Each group is a module here with ``run(bundle, progress) -> dict`` returning flat keys
(``reflex_p50_ms``, ...). The machine running it may be shared and noisy, so groups report
ratios taken in the same run where a comparison matters, never bare thresholds.
"""

from __future__ import annotations

import importlib

from tars_edge.bundle import Bundle

# name -> module under tars_edge.benchmarks; imported only when the group runs.
GROUPS = {
    "reflex": "reflex",
    "daemon": "daemon",
    "memory": "memory",
    "core": "core",
    "voice": "voice",
}


def run(bundle: Bundle, only: list[str] | None = None, progress: bool = True) -> dict:
    names = only or list(GROUPS)
    unknown = [n for n in names if n not in GROUPS]
    if unknown:
        raise ValueError(f"unknown bench group(s): {', '.join(unknown)}; known: {', '.join(GROUPS)}")
    results: dict = {}
    for name in names:
        module = importlib.import_module(f"tars_edge.benchmarks.{GROUPS[name]}")
        results.update(module.run(bundle, progress=progress))
    return results
