"""PrefixStateCache: recurrent states of the core after an exact token prefix (DESIGN §3).

A recurrent model's whole memory of a prefix is a fixed-size set of state tensors, so the
state after ``PERSONA persona`` (or after a session's last turn) can be stored and any prompt
that starts with those exact tokens continues from it instead of prefilling again.

* key: (bundle id, exact token bytes); lookup returns the entry with the **longest** key that
  is a prefix of the asked tokens.
* value: the state tensors plus the logits and hidden vector of the last prefix position (so a
  prompt equal to a cached prefix needs no model call at all).
* bounded by bytes, least recently used evicted first; counters: hits, misses, evictions,
  bytes, entries.
* optional SQLite persistence (``path``): entries put with ``persist=True`` are written
  through and loaded at open; rows of another bundle id are deleted at open (a new bundle
  invalidates every stored state). The database only saves time: when it cannot be opened
  or written (corrupt file, full disk, read-only directory) the cache logs one line, keeps
  working in memory and reports ``persist_error`` in :meth:`stats`.
"""

from __future__ import annotations

import io
import logging
import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger("tars_edge.prefix_cache")


@dataclass
class PrefixEntry:
    tokens: bytes
    states: list[np.ndarray]
    logits: np.ndarray  # (V,) logits after the last prefix token
    hidden: np.ndarray  # (D,) hidden vector at the last prefix token

    @property
    def nbytes(self) -> int:
        return (sum(s.nbytes for s in self.states) + self.logits.nbytes + self.hidden.nbytes
                + len(self.tokens))


def _pack(entry: PrefixEntry) -> bytes:
    buf = io.BytesIO()
    arrays = {f"s{i}": s for i, s in enumerate(entry.states)}
    np.savez(buf, logits=entry.logits, hidden=entry.hidden, **arrays)
    return buf.getvalue()


def _unpack(tokens: bytes, blob: bytes) -> PrefixEntry:
    with np.load(io.BytesIO(blob)) as data:
        n = sum(1 for k in data.files if k.startswith("s"))
        states = [data[f"s{i}"] for i in range(n)]
        return PrefixEntry(tokens, states, data["logits"], data["hidden"])


class PrefixStateCache:
    def __init__(self, bundle_id: str, max_bytes: int = 64 << 20, path: str | Path | None = None):
        self.bundle_id = bundle_id
        self.max_bytes = int(max_bytes)
        self._entries: OrderedDict[bytes, PrefixEntry] = OrderedDict()
        self._persist: set[bytes] = set()
        self._lock = threading.Lock()
        self.hits = self.misses = self.evictions = 0
        self.bytes = 0
        self._db: sqlite3.Connection | None = None
        self.path = Path(path) if path is not None else None
        self.persist_error: str | None = None
        if self.path is not None:
            try:
                self._open_db(self.path)
            except sqlite3.Error as exc:
                self._drop_db(exc)

    # ---- persistence ----------------------------------------------------------------------
    def _open_db(self, path: Path) -> None:
        db = sqlite3.connect(str(path), check_same_thread=False)
        try:
            db.execute("CREATE TABLE IF NOT EXISTS prefix_state (bundle_id TEXT NOT NULL, "
                       "tokens BLOB NOT NULL, value BLOB NOT NULL, "
                       "PRIMARY KEY (bundle_id, tokens))")
            db.execute("DELETE FROM prefix_state WHERE bundle_id != ?", (self.bundle_id,))
            db.commit()
            rows = db.execute("SELECT tokens, value FROM prefix_state WHERE bundle_id = ?",
                              (self.bundle_id,)).fetchall()
        except sqlite3.Error:
            db.close()
            raise
        self._db = db
        for tokens, value in rows:
            try:
                entry = _unpack(bytes(tokens), bytes(value))
            except (OSError, ValueError, KeyError, EOFError):  # a damaged row: a lost speed-up
                continue
            self._insert(entry, persist=False)
            self._persist.add(entry.tokens)

    # ---- core operations ------------------------------------------------------------------
    def lookup(self, tokens: bytes) -> PrefixEntry | None:
        """The entry with the longest key that is a prefix of ``tokens`` (counts a hit or a
        miss)."""
        tokens = bytes(tokens)
        with self._lock:
            best = None
            for key in self._entries:
                if len(key) <= len(tokens) and (best is None or len(key) > len(best)) \
                        and tokens.startswith(key):
                    best = key
            if best is None:
                self.misses += 1
                return None
            self.hits += 1
            self._entries.move_to_end(best)
            return self._entries[best]

    def get(self, tokens: bytes) -> PrefixEntry | None:
        """Exact-key lookup without touching the counters."""
        with self._lock:
            return self._entries.get(bytes(tokens))

    def put(self, entry: PrefixEntry, persist: bool = False) -> None:
        with self._lock:
            self._insert(entry, persist)

    def _insert(self, entry: PrefixEntry, persist: bool) -> None:
        size = entry.nbytes
        if size > self.max_bytes:
            return
        old = self._entries.pop(entry.tokens, None)
        if old is not None:
            self.bytes -= old.nbytes
        self._entries[entry.tokens] = entry
        self.bytes += size
        if persist and self._db is not None:
            self._write("INSERT OR REPLACE INTO prefix_state VALUES (?, ?, ?)",
                        (self.bundle_id, entry.tokens, _pack(entry)))
            if self._db is not None:
                self._persist.add(entry.tokens)
        while self.bytes > self.max_bytes:
            key, victim = self._entries.popitem(last=False)
            self.bytes -= victim.nbytes
            self.evictions += 1
            if key in self._persist and self._db is not None:
                self._write("DELETE FROM prefix_state WHERE bundle_id = ? AND tokens = ?",
                            (self.bundle_id, key))
                self._persist.discard(key)

    def _write(self, sql: str, args: tuple) -> None:
        try:
            self._db.execute(sql, args)
            self._db.commit()
        except sqlite3.Error as exc:
            self._drop_db(exc)

    def _drop_db(self, exc: sqlite3.Error) -> None:
        """Stop persisting (the in-memory cache goes on): a lost speed-up, never a failed
        answer."""
        self.persist_error = f"{self.path}: {exc}"
        log.warning("prefix-state cache is memory-only from now on: %s (delete the file to "
                    "start it afresh)", self.persist_error)
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
        self._db = None
        self._persist.clear()

    def discard(self, tokens: bytes) -> bool:
        with self._lock:
            entry = self._entries.pop(bytes(tokens), None)
            if entry is None:
                return False
            self.bytes -= entry.nbytes
            return True

    def stats(self) -> dict:
        with self._lock:
            total = self.hits + self.misses
            return {"entries": len(self._entries), "bytes": self.bytes, "max_bytes": self.max_bytes,
                    "hits": self.hits, "misses": self.misses, "evictions": self.evictions,
                    "hit_rate": round(self.hits / total, 4) if total else None,
                    "persistent": self._db is not None, "persist_error": self.persist_error}

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
