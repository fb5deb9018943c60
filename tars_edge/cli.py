"""`tars-edge`: the runtime command line (DESIGN §7).

Every failure a user can cause (bad bundle, empty input, unknown bench group) ends in one line
on stderr that says what to do, and exit code 2; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys

from tars_edge.bundle import Bundle, BundleError


def _add_bundle_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bundle",
        metavar="DIR",
        help="model bundle directory (default: $TARS_EDGE_BUNDLE, else the checkout's models/)",
    )


def _print_decision(reflex, decision, as_json: bool) -> None:
    if as_json:
        print(json.dumps(decision.as_dict, ensure_ascii=False), flush=True)
        return
    verdict = "reflex answers" if reflex.is_confident(decision) else "passes on to memory/core"
    print(f"{decision.intent:<13} confidence {decision.confidence:.2f}  "
          f"({verdict}; {decision.latency_ms:.2f} ms)", flush=True)


def cmd_classify(args) -> int:
    from tars_edge.reflex import ReflexClassifier

    reflex = ReflexClassifier(Bundle.load(args.bundle), variant=args.variant)
    if args.text and args.text != ["-"]:
        _print_decision(reflex, reflex.classify(" ".join(args.text)), args.json)
        return 0
    interactive = not args.text and sys.stdin.isatty()
    if interactive:
        print("Type a message (Ctrl-D to quit); TARS shows what its reflex tier decides.")
    while True:
        if interactive:
            print("> ", end="", flush=True)
        line = sys.stdin.readline()
        if not line:
            return 0
        text = line.rstrip("\n")
        if not text.strip():
            if args.json and not interactive:
                print(json.dumps({"error": "empty text: nothing to classify"}), flush=True)
            continue
        _print_decision(reflex, reflex.classify(text), args.json)


def cmd_bench(args) -> int:
    from tars_edge import benchmarks

    only = [g.strip() for g in args.only.split(",") if g.strip()] if args.only else None
    results = benchmarks.run(Bundle.load(args.bundle), only=only, progress=not args.json)
    if args.json:
        print(json.dumps(results, ensure_ascii=False))
    else:
        for key, value in results.items():
            print(f"{key:<28} {value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tars-edge", description="TARS Edge offline assistant")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("classify", help="reflex tier only: intent + confidence for a text")
    p.add_argument("text", nargs="*", help="the text; '-' or nothing reads one text per line from stdin")
    p.add_argument("--json", action="store_true", help="one JSON object per text")
    p.add_argument("--variant", help="model variant to run (fp32, int8, ternary; default: deployed)")
    _add_bundle_arg(p)
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser("bench", help="measure latency/throughput on the bundled models")
    p.add_argument("--json", action="store_true", help="print one flat JSON object")
    p.add_argument("--only", metavar="GROUP,...", help="run only these groups")
    _add_bundle_arg(p)
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (BundleError, ValueError) as exc:
        print(f"tars-edge: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
