"""`python -m tars_edge.memory`: check, back up, restore and recover the memory database.

    check   --state-dir DIR            integrity check, schema version, counts
    export  --state-dir DIR FILE       memories -> JSON lines (no vectors)
    import  --state-dir DIR FILE       JSON lines -> memories (embeds them; needs the bundle)
    recover --state-dir DIR            move a damaged memory.db aside, start a fresh one and
                                       copy in every memory that can still be read

Stop the daemon first for ``import`` and ``recover``. Every failure is one line on stderr and
exit code 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import time
from pathlib import Path

from tars_edge.bundle import Bundle, BundleError
from tars_edge.memory.lexical import fold
from tars_edge.memory.store import DB_NAME, MemoryStore, MemoryStoreError


def default_state_dir() -> Path:
    """``$TARS_EDGE_STATE_DIR``, else ``$XDG_STATE_HOME/tars-edge``, else ~/.local/state."""
    env = os.environ.get("TARS_EDGE_STATE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "tars-edge"


def cmd_check(args) -> int:
    store = MemoryStore.open(args.state_dir)
    try:
        report = {
            "path": str(store.path),
            "integrity_check": store.integrity_check(),
            "schema_version": store.schema_version,
            "memories": store.query("SELECT count(*) FROM memories")[0][0],
            "memo_entries": store.query("SELECT count(*) FROM memo")[0][0],
            "conversation_turns": store.query("SELECT count(*) FROM conversation")[0][0],
        }
    finally:
        store.close()
    print(json.dumps(report, ensure_ascii=False))
    return 0 if report["integrity_check"] == "ok" else 1


def cmd_export(args) -> int:
    from tars_edge.memory.vectors import VectorMemory

    store = MemoryStore.open(args.state_dir)
    try:
        # Export needs no embedder: read the rows without building the index.
        count = VectorMemory.export_rows(store, args.file)
    finally:
        store.close()
    print(f"exported {count} memories to {args.file}", file=sys.stderr)
    return 0


def cmd_import(args) -> int:
    from tars_edge.memory.embedder import Embedder
    from tars_edge.memory.vectors import VectorMemory

    embedder = Embedder.from_bundle(Bundle.load(args.bundle))
    store = MemoryStore.open(args.state_dir)
    try:
        memory = VectorMemory(store, embedder, progress=True)
        result = memory.import_jsonl(args.file, progress=True)
    finally:
        store.close()
    print(f"imported {result['imported']} memories ({result['skipped']} already there)",
          file=sys.stderr)
    return 0


def salvage(broken: Path) -> tuple[list[tuple], str | None]:
    """Rows of ``memories`` that can still be read from a damaged file, and why reading
    stopped (None when every row was read)."""
    rows: list[tuple] = []
    try:
        conn = sqlite3.connect(f"file:{broken}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return rows, str(exc)
    try:
        cur = conn.execute("SELECT text, tags, source, created FROM memories ORDER BY id")
        for row in cur:
            rows.append(row)
    except sqlite3.Error as exc:
        return rows, str(exc)
    finally:
        conn.close()
    return rows, None


def cmd_recover(args) -> int:
    state = Path(args.state_dir)
    path = state / DB_NAME
    if not path.exists():
        raise MemoryStoreError(f"{path}: no memory database here; nothing to recover")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    broken = state / f"{DB_NAME}.broken-{stamp}"
    for suffix in ("", "-wal", "-shm"):
        src = Path(str(path) + suffix)
        if src.exists():
            os.replace(src, Path(str(broken) + suffix))
    rows, stopped = salvage(broken)
    store = MemoryStore.open(state)
    try:
        with store.transaction(durable=True) as conn:
            conn.executemany(
                "INSERT INTO memories(text, search_text, tags, source, created) "
                "VALUES (?, ?, ?, ?, ?)",
                [(t, fold(t), g or "[]", s or "recovered", c or time.time())
                 for t, g, s, c in rows if isinstance(t, str) and t.strip()],
            )
    finally:
        store.close()
    note = f"; reading stopped early: {stopped}" if stopped else ""
    print(f"moved the damaged file to {broken.name}; copied {len(rows)} memories into a fresh "
          f"{DB_NAME} (re-embedded on next start){note}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tars_edge.memory",
                                     description="TARS Edge memory database tools")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func, helptext in (
        ("check", cmd_check, "integrity check and counts"),
        ("export", cmd_export, "write every memory to a JSON-lines file"),
        ("import", cmd_import, "add the memories of a JSON-lines file"),
        ("recover", cmd_recover, "move a damaged memory.db aside and salvage what reads"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--state-dir", type=Path, default=default_state_dir(),
                       help="state directory holding memory.db (default: %(default)s)")
        if name in ("export", "import"):
            p.add_argument("file", type=Path)
        if name == "import":
            p.add_argument("--bundle", metavar="DIR", help="model bundle (default: models/)")
        p.set_defaults(func=func)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (MemoryStoreError, BundleError, ValueError, OSError) as exc:
        print(f"tars-edge memory: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
