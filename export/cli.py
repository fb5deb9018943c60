"""`tars-export`: the PyTorch side's command line (DESIGN §7).

``build-default`` regenerates the bundle in ``models/`` from source with fixed seeds. Each model
has a builder ``build(bundle_dir, seed, quick) -> manifest entry`` that trains, exports, verifies
against PyTorch and only then writes into the bundle (so a failed verification writes nothing).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from tars_edge.bundle import Bundle, BundleError, default_bundle_dir
from tars_export.verify import VerificationError

# model name -> "module:function"; build-default runs them in this order.
BUILDERS = {
    "reflex": "tars_export.reflex_build:build",
    "embedder": "tars_export.embedder:build",
    "core": "tars_export.core_build:build",  # and the draft model for the new core
    "draft": "tars_export.draft_build:build",  # a new draft for the bundle's current core
    "wake": "tars_export.wake_build:build",
    "wake_verifier": "tars_export.wake_verifier:build",  # needs the voice extra; after "wake"
}


def _builder(name: str):
    module, func = BUILDERS[name].split(":")
    return getattr(importlib.import_module(module), func)


def cmd_build_default(args) -> int:
    names = [n.strip() for n in args.only.split(",")] if args.only else list(BUILDERS)
    unknown = [n for n in names if n not in BUILDERS]
    if unknown:
        raise ValueError(f"unknown model(s): {', '.join(unknown)}; known: {', '.join(BUILDERS)}")
    if "core" in names and "draft" in names:
        names.remove("draft")  # the core builder trains its own draft model
    out = Path(args.out) if args.out else default_bundle_dir()
    for name in names:
        entry = _builder(name)(out, seed=args.seed, quick=args.quick)
        print(f"{name}: deployed {entry['deployed']} -> {out}", file=sys.stderr)
    return 0


def cmd_train_core(args) -> int:
    from tars_export.train_core import main as train_core_main

    return train_core_main(["--seed", str(args.seed), *(["--quick"] if args.quick else []),
                            *(["--checkpoints", args.checkpoints] if args.checkpoints else [])])


def report(bundle: Bundle) -> dict:
    """The build-time metrics of every model, flattened to ``model.metric`` keys."""
    out: dict = {"bundle_id": bundle.id}
    for name, spec in sorted(bundle.models.items()):
        out[f"{name}.deployed"] = spec.get("deployed")
        for key, value in sorted(spec.get("metrics", {}).items()):
            out[f"{name}.{key}"] = value
    return out


def cmd_report(args) -> int:
    data = report(Bundle.load(args.bundle))
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        for key, value in data.items():
            print(f"{key:<32} {json.dumps(value, ensure_ascii=False)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tars-export", description="TARS Edge export pipeline")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build-default", help="train, quantize, export and verify the default bundle")
    p.add_argument("--out", metavar="DIR", help="bundle directory (default: the checkout's models/)")
    p.add_argument("--only", metavar="MODEL,...", help=f"rebuild only these ({', '.join(BUILDERS)})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="tiny training run, to exercise the code")
    p.set_defaults(func=cmd_build_default)

    p = sub.add_parser("train-core", help="train the core LM + draft head (resumable checkpoints)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="tiny model, a few steps")
    p.add_argument("--checkpoints", metavar="DIR", help="default: the checkout's checkpoints/core")
    p.set_defaults(func=cmd_train_core)

    p = sub.add_parser("report", help="metrics recorded in a bundle's manifest")
    p.add_argument("bundle", nargs="?", help="bundle directory (default: models/)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (BundleError, VerificationError, ValueError) as exc:
        print(f"tars-export: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
