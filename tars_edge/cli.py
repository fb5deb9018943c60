"""`tars-edge`: the runtime command line (DESIGN §7).

Every failure a user can cause (bad bundle, bad config, empty input, unknown bench group) ends
in one line on stderr that says what to do, and exit code 2; never a traceback. A request the
assistant could not serve (e.g. error -32010: no core model) is one line and exit code 1.

``ask``, ``chat``, ``remember``, ``recall`` and ``forget`` talk to the daemon when one answers
on the socket, and otherwise do the work in this process (on the same state directory).
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


# ---- the assistant: through the daemon, or in this process ------------------------------------
class CommandError(RuntimeError):
    """A request the assistant could not serve; one line, exit code 1."""

    def __init__(self, message: str, error: dict | None = None):
        super().__init__(message)
        self.error = error


def _config(args):
    from tars_edge.config import load_config

    overrides = {("daemon", "socket"): getattr(args, "socket", None),
                 ("daemon", "state_dir"): getattr(args, "state_dir", None),
                 ("daemon", "bundle"): getattr(args, "bundle", None)}
    return load_config(getattr(args, "config", None), overrides=overrides)


class Session:
    """``call(method, params, on_notification)`` against the daemon, or an in-process
    stand-in with the same methods when no daemon answers."""

    def __init__(self, args, need_daemon: bool = False):
        from tars_edge.client import Client, DaemonUnavailable
        from tars_edge.config import SYSTEM_SOCKET

        self.config = _config(args)
        paths = [self.config.socket_path]
        if not getattr(args, "socket", None) and SYSTEM_SOCKET not in paths:
            paths.append(SYSTEM_SOCKET)
        self.paths = paths
        self.client = None
        self.local = None
        try:
            self.client = Client.connect(paths)
        except DaemonUnavailable as exc:
            if need_daemon or getattr(args, "daemon_only", False):
                raise CommandError(f"no tars-edge daemon is running ({exc}); start one with "
                                   "`tars-edge serve`") from None
        self.via = "daemon" if self.client else "local"

    def _assistant(self):
        if self.local is None:
            from tars_edge.daemon import Assistant, StartupError

            try:
                self.local = Assistant(self.config)
            except StartupError as exc:
                raise BundleError(str(exc)) from None
        return self.local

    def call(self, method: str, params: dict, on_notification=None):
        from tars_edge.client import Client, DaemonUnavailable, RemoteError

        if self.client is not None:
            try:
                try:
                    return self.client.call(method, params, on_notification)
                except (DaemonUnavailable, BrokenPipeError, ConnectionResetError):
                    # an idle chat outlived idle_timeout_s, or the daemon restarted: once more
                    self.client.close()
                    self.client = Client.connect(self.paths)
                    return self.client.call(method, params, on_notification)
            except RemoteError as exc:
                raise CommandError(exc.message, exc.as_dict()) from None
            except DaemonUnavailable as exc:
                raise CommandError(f"lost the daemon ({exc})") from None
        return self._local_call(method, params, on_notification)

    def _local_call(self, method: str, params: dict, on_notification):
        from tars_edge.cascade import TierUnavailable
        from tars_edge.server import protocol as rpc
        from tars_edge.server.protocol import RpcError

        a = self._assistant()
        try:
            if method == "ask":
                ask = a.ask_params(params["text"], **{k: v for k, v in params.items()
                                                      if k not in ("text", "stream")})
                on_token = None
                if params.get("stream") and on_notification is not None:
                    def on_token(piece):
                        on_notification("ask.token", {"id": None, "text": piece})
                return a.cascade.answer(ask, on_token).as_result()
            if method == "remember":
                return {"id": a.require_memory().remember(params["text"], params.get("tags"),
                                                          "cli")}
            if method == "recall":
                found = a.require_memory().recall(params["query"], params.get("k", 5),
                                                  params.get("tags"))
                return {"results": [r.as_dict() for r in found]}
            if method == "forget":
                return {"ok": a.require_memory().forget(params["id"])}
            if method == "session.reset":
                return {"ok": True, **a.cascade.reset_session(params["session"])}
            if method == "status":
                return {"via": "local", **a.cascade.status()}
        except TierUnavailable as exc:
            error = {"code": rpc.CORE_UNAVAILABLE, "message": exc.reason,
                     "data": {"tier": exc.tier, **exc.data}}
            raise CommandError(exc.reason, error) from None
        except RpcError as exc:
            raise CommandError(exc.message, exc.as_dict()) from None
        raise CommandError(f"{method} needs the daemon; start it with `tars-edge serve`")

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.local is not None:
            self.local.close()


def _print_error_json(exc: CommandError) -> None:
    print(json.dumps({"error": exc.error or {"message": str(exc)}}, ensure_ascii=False),
          flush=True)


def cmd_serve(args) -> int:
    from tars_edge.config import example_toml
    from tars_edge.daemon import serve

    if args.print_config:
        print(example_toml(), end="")
        return 0
    overrides = {("daemon", "socket"): args.socket, ("daemon", "state_dir"): args.state_dir,
                 ("daemon", "bundle"): args.bundle, ("daemon", "log_level"): args.log_level}
    return serve(args.config, overrides)


def _ask_params(args, text: str, stream: bool) -> dict:
    params = {"text": text, "stream": stream}
    for key in ("session", "tier", "max_tokens", "temperature", "seed"):
        value = getattr(args, key, None)
        if value is not None:
            params[key] = value
    if getattr(args, "no_speculative", False):
        params["speculative"] = False
    return params


def cmd_ask(args) -> int:
    text = " ".join(args.text).strip()
    if text == "-":
        text = sys.stdin.read().strip()
    if not text:
        raise ValueError("empty text: nothing to ask")
    session = Session(args)
    streamed = []

    def on_notification(method, params):
        if method == "ask.token" and not args.json:
            streamed.append(params.get("text", ""))
            print(params.get("text", ""), end="", flush=True)

    try:
        result = session.call("ask", _ask_params(args, text, stream=not args.json),
                              on_notification)
    except CommandError as exc:
        if streamed:
            print(flush=True)
        if args.json:
            _print_error_json(exc)
        raise
    finally:
        session.close()
    if args.json:
        print(json.dumps({**result, "via": session.via}, ensure_ascii=False), flush=True)
    else:
        if not streamed:
            print(result["text"], end="")
        print(flush=True)
        if session.via == "local" and str(result.get("skill", "")).endswith(".set") \
                and result.get("skill", "").split(".")[0] in ("timer", "alarm", "reminder"):
            print("tars-edge: no daemon is running; the timer is saved and fires once "
                  "`tars-edge serve` runs", file=sys.stderr)
    return 0


def cmd_chat(args) -> int:
    session = Session(args)
    chat_id = args.session or "chat"
    interactive = sys.stdin.isatty()
    if interactive:
        print(f"TARS ({session.via}). /reset, /remember TEXT, /status, /quit; Ctrl-D to leave.")
    try:
        while True:
            if interactive:
                print("> ", end="", flush=True)
            line = sys.stdin.readline()
            if not line:
                return 0
            text = line.strip()
            if not text:
                continue
            try:
                if text in ("/quit", "/exit"):
                    return 0
                if text == "/reset":
                    session.call("session.reset", {"session": chat_id})
                    print("(session reset)", flush=True)
                elif text.startswith("/remember"):
                    fact = text[len("/remember"):].strip()
                    if not fact:
                        print("usage: /remember TEXT", flush=True)
                        continue
                    memory_id = session.call("remember", {"text": fact})["id"]
                    print(f"(remembered as #{memory_id})", flush=True)
                elif text == "/status":
                    _print_status(session.call("status", {}))
                else:
                    streamed = []

                    def on_notification(method, params, streamed=streamed):
                        if method == "ask.token":
                            streamed.append(params.get("text", ""))
                            print(params.get("text", ""), end="", flush=True)

                    params = _ask_params(args, text, stream=True)
                    params["session"] = chat_id
                    result = session.call("ask", params, on_notification)
                    if not streamed:
                        print(result["text"], end="")
                    print(f"  [{result['tier']}]" if interactive else "", flush=True)
            except CommandError as exc:
                print(f"tars-edge: {exc}", file=sys.stderr, flush=True)
    finally:
        session.close()


def cmd_remember(args) -> int:
    text = " ".join(args.text).strip()
    if not text:
        raise ValueError("empty text: nothing to remember")
    session = Session(args)
    try:
        params = {"text": text}
        if args.tag:
            params["tags"] = args.tag
        result = session.call("remember", params)
    finally:
        session.close()
    print(json.dumps(result) if args.json else f"remembered as #{result['id']}", flush=True)
    return 0


def cmd_recall(args) -> int:
    query = " ".join(args.query).strip()
    if not query:
        raise ValueError("empty query: nothing to recall")
    session = Session(args)
    try:
        params = {"query": query, "k": args.k}
        if args.tag:
            params["tags"] = args.tag
        result = session.call("recall", params)
    finally:
        session.close()
    if args.json:
        print(json.dumps(result, ensure_ascii=False), flush=True)
    elif not result["results"]:
        print("(nothing remembered matches)")
    else:
        for r in result["results"]:
            tags = f"  [{', '.join(r['tags'])}]" if r["tags"] else ""
            print(f"#{r['id']:<6} {r['score']:.2f}  {r['text']}{tags}")
    return 0


def memory_id(text: str) -> int:
    """A memory id as the database stores it: 1 .. 2**63 - 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a memory id (a whole number)") from None
    if not 1 <= value <= 2**63 - 1:
        raise argparse.ArgumentTypeError(f"{text} is not a memory id (1 .. 2**63-1)")
    return value


def cmd_forget(args) -> int:
    session = Session(args)
    try:
        result = session.call("forget", {"id": args.id})
    finally:
        session.close()
    if args.json:
        print(json.dumps(result), flush=True)
    elif not result["ok"]:
        raise CommandError(f"no memory with id {args.id}")
    else:
        print(f"forgot #{args.id}")
    return 0


def _print_status(status: dict) -> None:
    if status.get("via") == "local":
        print(json.dumps(status, ensure_ascii=False, indent=2))
        return
    models = ", ".join(f"{k} {'loaded' if v else 'not loaded'}" for k, v in status["models"].items())
    print(f"up {status['uptime_s']:.0f} s   pid {status['pid']}   RSS {status['rss_mb']} MB   "
          f"CPU {status['cpu_pct']} %")
    print(f"models: {models}")
    for tier, stats in status["tiers"].items():
        p50 = "-" if stats["p50_ms"] is None else f"{stats['p50_ms']:.1f} ms"
        print(f"  {tier:<7} {stats['count']:>6} answers   p50 {p50}")
    memo = status["caches"].get("memo")
    if memo:
        print(f"memo cache: {memo['hits']} hits, {memo['misses']} misses, {memo['size']} entries")
    memory = status["memory"]
    print(f"memory: {memory['memories']} memories" if "memories" in memory
          else f"memory: off ({memory.get('reason')})")
    if status["core"].get("reason"):
        print(f"core: unavailable ({status['core']['reason']})")
    print(f"timers pending: {status['timers']['pending']}   "
          f"connections: {status['server']['connections']}   socket: {status['socket']}")


def cmd_status(args) -> int:
    session = Session(args, need_daemon=True)
    try:
        status = session.call("status", {})
    finally:
        session.close()
    if args.json:
        print(json.dumps(status, ensure_ascii=False), flush=True)
    else:
        _print_status(status)
    return 0


def cmd_install_service(args) -> int:
    from tars_edge.service import install

    return install(user=args.user, dry_run=args.dry_run, bundle=args.bundle)


def cmd_listen(args) -> int:
    """The voice pipeline (sensors/voice, docs/voice.md) on the microphone or a recording."""
    try:
        from tars_edge_sensors.voice.listen import NoMicrophone, run_listen
    except ImportError as exc:
        raise CommandError(f"the voice pipeline is not installed ({exc}); "
                           "pip install 'tars-edge[voice]'") from None
    session = Session(args)

    def ask(text: str, voice_session: str) -> dict:
        result = session.call("ask", {"text": text, "session": voice_session})
        return {**result, "via": session.via}

    def ready() -> None:
        if session.via == "local":
            session._assistant()  # load now, not after the first question

    try:
        return run_listen(session.config, Bundle.load(session.config.bundle_dir), ask,
                          wav=args.wav, as_json=args.json, speak=args.speak,
                          device=args.device, realtime=args.realtime, on_ready=ready)
    except NoMicrophone as exc:
        raise CommandError(str(exc)) from None
    finally:
        session.close()


def _add_daemon_args(parser: argparse.ArgumentParser, local: bool = True) -> None:
    parser.add_argument("--socket", metavar="PATH", help="the daemon's socket (default: config)")
    parser.add_argument("--config", metavar="FILE", help="config file (default: XDG/etc search)")
    if local:
        parser.add_argument("--state-dir", metavar="DIR",
                            help="state directory when no daemon runs (default: config)")
        _add_bundle_arg(parser)


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

    p = sub.add_parser("serve", help="run the assistant daemon on a Unix socket")
    p.add_argument("--socket", metavar="PATH", help="socket path (default: config, then "
                   "$XDG_RUNTIME_DIR/tars-edge/tars.sock)")
    p.add_argument("--state-dir", metavar="DIR", help="databases and state (default: config)")
    p.add_argument("--config", metavar="FILE", help="config file (default: /etc and XDG search)")
    p.add_argument("--log-level", choices=("debug", "info", "warning", "error"))
    p.add_argument("--print-config", action="store_true",
                   help="print every config key with its default and exit")
    _add_bundle_arg(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("ask", help="ask TARS (through the daemon when it runs)")
    p.add_argument("text", nargs="+", help="the question; '-' reads it from stdin")
    p.add_argument("--json", action="store_true", help="print the whole ask result object")
    p.add_argument("--session", help="conversation session (default: 'default')")
    p.add_argument("--tier", choices=("auto", "core"), help="'core' skips reflex and memory")
    p.add_argument("--max-tokens", type=int)
    p.add_argument("--temperature", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--no-speculative", action="store_true")
    _add_daemon_args(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", help="interactive conversation, streaming")
    p.add_argument("--session", help="session name (default: 'chat')")
    p.add_argument("--tier", choices=("auto", "core"))
    _add_daemon_args(p)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("remember", help="store a fact in memory")
    p.add_argument("text", nargs="+")
    p.add_argument("--tag", action="append", help="a tag (namespace); repeatable")
    p.add_argument("--json", action="store_true")
    _add_daemon_args(p)
    p.set_defaults(func=cmd_remember)

    p = sub.add_parser("recall", help="search memory")
    p.add_argument("query", nargs="+")
    p.add_argument("-k", type=int, default=5, help="how many (default 5)")
    p.add_argument("--tag", action="append", help="only memories with this tag; repeatable")
    p.add_argument("--json", action="store_true")
    _add_daemon_args(p)
    p.set_defaults(func=cmd_recall)

    p = sub.add_parser("forget", help="delete a memory by id")
    p.add_argument("id", type=memory_id)
    p.add_argument("--json", action="store_true")
    _add_daemon_args(p)
    p.set_defaults(func=cmd_forget)

    p = sub.add_parser("install-service", help="write the systemd unit for this venv "
                       "(docs/service.md)")
    p.add_argument("--user", action="store_true",
                   help="a user service in ~/.config/systemd/user (a laptop) instead of a "
                        "system service in /etc/systemd/system")
    p.add_argument("--dry-run", action="store_true", help="print the unit, write nothing")
    _add_bundle_arg(p)
    p.set_defaults(func=cmd_install_service)

    p = sub.add_parser("listen", help="voice: wake word, speech to text, answer "
                       "(microphone, or --wav FILE)")
    p.add_argument("--wav", metavar="FILE", help="run on a recording instead of the microphone")
    p.add_argument("--json", action="store_true", help="one JSON object per event")
    p.add_argument("--speak", action="store_true", default=None,
                   help="speak the replies (default: on for the microphone, off for --wav)")
    p.add_argument("--no-speak", dest="speak", action="store_false", help="do not speak")
    p.add_argument("--device", help="microphone: index or part of its name (default: config)")
    p.add_argument("--realtime", action="store_true",
                   help="with --wav: play the file at 1x speed, as a microphone would")
    _add_daemon_args(p)
    p.set_defaults(func=cmd_listen)

    p = sub.add_parser("status", help="the daemon's state: uptime, models, tiers, caches")
    p.add_argument("--json", action="store_true")
    _add_daemon_args(p, local=False)
    p.set_defaults(func=cmd_status)
    return parser


def main(argv: list[str] | None = None) -> int:
    from tars_edge.config import ConfigError
    from tars_edge.daemon import StartupError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CommandError as exc:
        print(f"tars-edge: {exc}", file=sys.stderr)
        return 1
    except (BundleError, ConfigError, StartupError, ValueError) as exc:
        print(f"tars-edge: {exc}", file=sys.stderr)
        return 2
    except (BrokenPipeError, ConnectionError) as exc:
        print(f"tars-edge: lost the connection to the daemon ({exc})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
