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
  invalidates every stored state).
"""

from __future__ import annotations

import io
import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np


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
        if path is not None:
            self._open_db(Path(path))

    # ---- persistence ----------------------------------------------------------------------
    def _open_db(self, path: Path) -> None:
        db = sqlite3.connect(str(path), check_same_thread=False)
        db.execute("CREATE TABLE IF NOT EXISTS prefix_state (bundle_id TEXT NOT NULL, "
                   "tokens BLOB NOT NULL, value BLOB NOT NULL, PRIMARY KEY (bundle_id, tokens))")
        db.execute("DELETE FROM prefix_state WHERE bundle_id != ?", (self.bundle_id,))
        db.commit()
        self._db = db
        rows = db.execute("SELECT tokens, value FROM prefix_state WHERE bundle_id = ?",
                          (self.bundle_id,)).fetchall()
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
            self._db.execute("INSERT OR REPLACE INTO prefix_state VALUES (?, ?, ?)",
                             (self.bundle_id, entry.tokens, _pack(entry)))
            self._db.commit()
            self._persist.add(entry.tokens)
        while self.bytes > self.max_bytes:
            key, victim = self._entries.popitem(last=False)
            self.bytes -= victim.nbytes
            self.evictions += 1
            if key in self._persist and self._db is not None:
                self._db.execute("DELETE FROM prefix_state WHERE bundle_id = ? AND tokens = ?",
                                 (self.bundle_id, key))
                self._db.commit()
                self._persist.discard(key)

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
                    "persistent": self._db is not None}

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
