"""Timers, alarms and reminders that survive a daemon restart.

They live in their own small SQLite file, ``timers.db`` in the state directory, rather than in
the memory database: the memory store owns its schema and migrations, and a timer must still
fire when memory is disabled (no embedder, damaged memory file). WAL with ``synchronous=FULL``:
a timer the user was told about is on disk before the reply goes out.

States: ``pending`` -> ``fired`` (the event went out; it "rings" for a while, so "stop" can
dismiss it) -> ``dismissed``; or ``pending`` -> ``cancelled``. A timer that came due while the
daemon was down fires at the next start, marked late.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import sqlite_utils

DB_NAME = "timers.db"
KINDS = ("timer", "alarm", "reminder")
SCHEMA_VERSION = 1


class TimerStoreError(RuntimeError):
    """The timer database cannot be used; one line naming the file and what to do."""


@dataclass(frozen=True)
class Timer:
    id: int
    kind: str  # timer | alarm | reminder
    label: str  # what to say: the reminder's message, or "" for a plain timer
    lang: str  # the language the user set it in; the alert is spoken in it
    created: float  # epoch seconds
    due: float  # epoch seconds
    duration_s: float | None  # for "for 5 minutes" timers; None for a time of day
    state: str  # pending | fired | cancelled | dismissed
    fired_at: float | None
    session: str | None

    @property
    def as_dict(self) -> dict:
        return asdict(self)


class TimerBook:
    """The persisted timers. Thread-safe: the cascade adds from a worker thread while the
    daemon's scheduler fires from the event loop. ``on_change`` is called after every change
    that can move the next due time, so the scheduler can re-arm instead of polling."""

    def __init__(self, state_dir: str | Path, on_change: Callable[[], None] | None = None):
        self.path = Path(state_dir) / DB_NAME
        self.on_change = on_change
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=5000")
            self._db = sqlite_utils.Database(conn)
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise TimerStoreError(
                    f"{self.path}: written by a newer tars-edge (schema {version}); upgrade "
                    "tars-edge or move the file away"
                )
            if version < 1:
                self._db["timers"].create(
                    {"id": int, "kind": str, "label": str, "lang": str, "created": float,
                     "due": float, "duration_s": float, "state": str, "fired_at": float,
                     "session": str},
                    pk="id", if_not_exists=True,
                )
                self._db["timers"].create_index(["state", "due"], if_not_exists=True)
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise TimerStoreError(
                f"{self.path}: cannot use the timer database ({exc}); move the file away and "
                "restart (pending timers in it are lost)"
            ) from None
        except OSError as exc:
            raise TimerStoreError(f"{self.path}: {exc.strerror}; check the state directory") from None

    def _rows(self, where: str, params: tuple = (), order: str = "due") -> list[Timer]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT id, kind, label, lang, created, due, duration_s, state, fired_at, session "
                f"FROM timers WHERE {where} ORDER BY {order}", params
            ).fetchall()
        return [Timer(*row) for row in rows]

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def add(self, kind: str, due: float, label: str = "", lang: str = "en",
            duration_s: float | None = None, session: str | None = None,
            now: float | None = None) -> Timer:
        if kind not in KINDS:
            raise ValueError(f"unknown timer kind {kind!r}; one of {', '.join(KINDS)}")
        now = time.time() if now is None else now
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO timers (kind, label, lang, created, due, duration_s, state, session) "
                "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)",
                (kind, label, lang, now, float(due), duration_s, session),
            )
            timer_id = cur.lastrowid
        self._changed()
        return self.get(timer_id)

    def get(self, timer_id: int) -> Timer | None:
        rows = self._rows("id = ?", (int(timer_id),))
        return rows[0] if rows else None

    def pending(self, kind: str | None = None) -> list[Timer]:
        if kind:
            return self._rows("state = 'pending' AND kind = ?", (kind,))
        return self._rows("state = 'pending'")

    def due(self, now: float) -> list[Timer]:
        return self._rows("state = 'pending' AND due <= ?", (now,))

    def next_due(self) -> float | None:
        with self._lock:
            row = self._db.execute("SELECT MIN(due) FROM timers WHERE state = 'pending'").fetchone()
        return row[0]

    def _set_state(self, ids: list[int], state: str, fired_at: float | None = None,
                   only_from: tuple[str, ...] = ("pending",)) -> list[int]:
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        states = ",".join("?" * len(only_from))
        with self._lock:
            cur = self._db.execute(
                f"UPDATE timers SET state = ?, fired_at = COALESCE(?, fired_at) "
                f"WHERE id IN ({marks}) AND state IN ({states})",
                (state, fired_at, *ids, *only_from),
            )
            changed = cur.rowcount
        self._changed()
        return ids if changed else []

    def mark_fired(self, timer_id: int, at: float) -> bool:
        return bool(self._set_state([timer_id], "fired", fired_at=at))

    def cancel(self, timer_id: int) -> bool:
        return bool(self._set_state([int(timer_id)], "cancelled"))

    def cancel_many(self, timers: list[Timer]) -> list[Timer]:
        self._set_state([t.id for t in timers], "cancelled")
        return timers

    def ringing(self, now: float, within_s: float) -> list[Timer]:
        """Fired in the last ``within_s`` seconds and not dismissed: what "stop" silences."""
        return self._rows("state = 'fired' AND fired_at >= ?", (now - within_s,),
                          order="fired_at DESC")

    def dismiss(self, timers: list[Timer]) -> list[Timer]:
        self._set_state([t.id for t in timers], "dismissed", only_from=("fired",))
        return timers

    def close(self) -> None:
        with self._lock:
            self._db.conn.close()
