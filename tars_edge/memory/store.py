"""The memory database: one SQLite file in the state directory (``memory.db``).

Tables: ``memories`` (+ its FTS5 index ``memories_fts``), ``memo`` (the semantic answer cache)
and ``conversation`` (the log of turns). The schema version lives in ``PRAGMA user_version``
and :data:`MIGRATIONS` brings an older file up to date, one transaction per step.

Durability (docs/memory.md): WAL with ``synchronous=NORMAL`` for everything, which survives a
killed process but may lose the last commits on power loss, and ``synchronous=FULL`` for the
transactions that acknowledge something to the user (remember, forget, import), so an
acknowledged memory is on the SD card before the reply goes out.

Every failure is a :class:`MemoryStoreError` with a one-line message that names the file and
says what to do; a damaged file is a :class:`CorruptDatabaseError`.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from tars_edge.memory.lexical import fold

DB_NAME = "memory.db"
RECOVER_HINT = "run `python -m tars_edge.memory recover --state-dir {dir}` (docs/memory.md)"


def one_line(text: object, limit: int = 160) -> str:
    """SQLite's own messages can span lines (quick_check lists every bad page)."""
    lines = str(text).strip().splitlines() or [""]
    more = f" (+{len(lines) - 1} more)" if len(lines) > 1 else ""
    return lines[0][:limit] + more


class MemoryStoreError(RuntimeError):
    """The memory database cannot be used; the message is one line that says what to do."""


class CorruptDatabaseError(MemoryStoreError):
    """The file is not a readable SQLite database, or fails its integrity check."""


class StorageFullError(MemoryStoreError):
    """The file system holding the database is full (SQLITE_FULL, e.g. ENOSPC): the write was
    rolled back, the file is fine, and writes work again once there is space."""


class SchemaTooNewError(MemoryStoreError):
    """The file was written by a newer tars-edge; this one will not touch it."""


def _v1(db: sqlite_utils.Database) -> None:
    """First schema: memories with their int8 vectors, the memo cache, the conversation log."""
    # AUTOINCREMENT: a forgotten id is never handed out again, so an id a client holds
    # can only ever mean one memory.
    db.execute(
        """CREATE TABLE memories (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            text TEXT NOT NULL,
            tags TEXT NOT NULL DEFAULT '[]',
            source TEXT NOT NULL DEFAULT 'user',
            created REAL NOT NULL,
            embedding BLOB,
            scale REAL,
            embedder TEXT
        )"""
    )
    db["memo"].create(
        {"id": int, "query": str, "embedding": bytes, "answer": str, "tier": str,
         "intent": str, "hits": int, "created": float, "last_used": float, "expires": float,
         "embedder": str},
        pk="id",
        not_null={"query", "answer", "created", "last_used"},
        defaults={"hits": 0},
    )
    db["conversation"].create(
        {"id": int, "session": str, "role": str, "text": str, "tier": str, "intent": str,
         "time": float},
        pk="id",
        not_null={"session", "role", "text", "time"},
    )
    db["conversation"].create_index(["session", "id"])


def _v2(db: sqlite_utils.Database) -> None:
    """Lexical recall: a folded copy of each text and an FTS5 index over it, kept in step by
    triggers (MiniLM alone recalls Russian poorly; see lexical.py)."""
    db["memories"].add_column("search_text", str)
    db.register_function(fold, deterministic=True, replace=True)
    db.execute("UPDATE memories SET search_text = fold(text)")
    db["memories"].enable_fts(
        ["search_text"], create_triggers=True, tokenize="unicode61 remove_diacritics 2"
    )


# MIGRATIONS[i] takes a file from user_version i to i + 1.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1, _v2]
SCHEMA_VERSION = len(MIGRATIONS)


class MemoryStore:
    """One connection to ``memory.db``, shared by the memory objects of one process.

    The connection is used from several threads (the daemon's workers), so every statement
    runs under one lock; SQLite itself serialises writers across processes (WAL, busy
    timeout 5 s)."""

    def __init__(self, path: Path, conn: sqlite3.Connection):
        self.path = path
        self.conn = conn
        self.db = sqlite_utils.Database(conn)
        self.lock = threading.RLock()

    @classmethod
    def open(cls, state_dir: str | Path, *, check: bool = True,
             migrations: list | None = None) -> MemoryStore:
        """Open (creating if needed) ``state_dir/memory.db`` and migrate it to the current
        schema. ``check`` runs ``PRAGMA quick_check`` first. ``migrations`` is for tests
        that need a file at an older version."""
        state_dir = Path(state_dir)
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MemoryStoreError(
                f"{state_dir}: cannot create the state directory ({exc.strerror}); "
                "pass --state-dir DIR that this user can write"
            ) from None
        path = state_dir / DB_NAME
        hint = RECOVER_HINT.format(dir=state_dir)
        try:
            conn = sqlite3.connect(str(path), timeout=5.0, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.Error as exc:
            raise MemoryStoreError(
                f"{path}: cannot open the memory database ({one_line(exc)})") from None
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise MemoryStoreError(
                    f"{path}: SQLite refused WAL mode (got {mode}); put the state directory "
                    "on a local file system"
                )
            conn.execute("PRAGMA synchronous=NORMAL")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise SchemaTooNewError(
                    f"{path}: schema version {version} is newer than this tars-edge reads "
                    f"({SCHEMA_VERSION}); upgrade tars-edge, or {hint}"
                )
            if check:
                result = conn.execute("PRAGMA quick_check").fetchone()[0]
                if result != "ok":
                    raise CorruptDatabaseError(
                        f"{path}: the memory database is damaged (quick_check: {one_line(result)}); "
                        f"memory is disabled; {hint}"
                    )
            store = cls(path, conn)
            store._migrate(version, MIGRATIONS if migrations is None else migrations)
        except MemoryStoreError:
            conn.close()
            raise
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise CorruptDatabaseError(
                f"{path}: the memory database is damaged ({one_line(exc)}); memory is disabled; "
                f"{hint}"
            ) from None
        return store

    def _migrate(self, version: int, migrations: list) -> None:
        for target, step in enumerate(migrations[version:], start=version + 1):
            with self.transaction(durable=True):
                step(self.db)
                self.conn.execute(f"PRAGMA user_version = {target}")

    @property
    def schema_version(self) -> int:
        with self.lock:
            return self.conn.execute("PRAGMA user_version").fetchone()[0]

    @contextmanager
    def transaction(self, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``: take the write lock up front, so two
        writers never deadlock upgrading a read lock). ``durable`` commits with
        ``synchronous=FULL``: the WAL is fsynced before this returns."""
        with self.lock, self._errors():
            if durable:
                self.conn.execute("PRAGMA synchronous=FULL")
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self.conn
                except BaseException:
                    if self.conn.in_transaction:
                        self.conn.execute("ROLLBACK")
                    raise
                self.conn.execute("COMMIT")
            finally:
                if durable:
                    self.conn.execute("PRAGMA synchronous=NORMAL")

    def query(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        """All rows of one read statement."""
        with self.lock, self._errors():
            return self.conn.execute(sql, params).fetchall()

    def query_within(self, sql: str, params: tuple | list, budget_s: float) -> list[tuple] | None:
        """Like :meth:`query`, but gives up (returns None) after ``budget_s`` seconds, so an
        optional step cannot blow a latency budget."""
        deadline = time.perf_counter() + budget_s

        def over_budget() -> int:
            return 1 if time.perf_counter() > deadline else 0

        with self.lock, self._errors():
            self.conn.set_progress_handler(over_budget, 2000)
            try:
                return self.conn.execute(sql, params).fetchall()
            except sqlite3.OperationalError as exc:
                if "interrupt" in str(exc):
                    return None
                raise
            finally:
                self.conn.set_progress_handler(None, 0)

    def execute(self, sql: str, params: tuple | list = ()) -> sqlite3.Cursor:
        """One write statement in its own (non-durable) transaction."""
        with self.transaction() as conn:
            return conn.execute(sql, params)

    @contextmanager
    def _errors(self):
        """A database that breaks while in use reports like one that was broken at open."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, (sqlite3.IntegrityError, sqlite3.ProgrammingError)):
                raise
            if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL \
                    or "disk is full" in str(exc):
                # not damage: saying "recover" here would send people to move a good file away
                raise StorageFullError(
                    f"{self.path}: the disk is full, nothing was written; free space on the file "
                    f"system holding {self.path.parent} and try again"
                ) from None
            if "locked" in str(exc) or "busy" in str(exc):
                raise MemoryStoreError(
                    f"{self.path}: the memory database stayed locked for 5 s ({one_line(exc)}); "
                    "another process holds it, stop it or retry"
                ) from None
            raise CorruptDatabaseError(
                f"{self.path}: the memory database failed ({one_line(exc)}); "
                + RECOVER_HINT.format(dir=self.path.parent)
            ) from None

    def integrity_check(self) -> str:
        """``"ok"`` or SQLite's first complaint."""
        with self.lock, self._errors():
            return self.conn.execute("PRAGMA integrity_check").fetchone()[0]

    def checkpoint(self) -> None:
        """Fold the WAL into the main file (e.g. before copying the database)."""
        with self.lock, self._errors():
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self.lock:
            self.conn.close()


class ConversationLog:
    """Turns of every session, oldest first; written with ``synchronous=NORMAL`` (losing the
    last second of the log on power loss is acceptable, an fsync per turn on an SD card is
    not)."""

    def __init__(self, store: MemoryStore):
        self.store = store

    def append(self, session: str, role: str, text: str, tier: str | None = None,
               intent: str | None = None, at: float | None = None) -> int:
        cur = self.store.execute(
            "INSERT INTO conversation(session, role, text, tier, intent, time) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (session, role, text, tier, intent, time.time() if at is None else at),
        )
        return int(cur.lastrowid)

    def history(self, session: str, limit: int = 20) -> list[dict]:
        rows = self.store.query(
            "SELECT role, text, tier, intent, time FROM conversation WHERE session = ? "
            "ORDER BY id DESC LIMIT ?",
            (session, limit),
        )
        return [dict(zip(("role", "text", "tier", "intent", "time"), r)) for r in reversed(rows)]

    def reset(self, session: str) -> int:
        return self.store.execute("DELETE FROM conversation WHERE session = ?", (session,)).rowcount
