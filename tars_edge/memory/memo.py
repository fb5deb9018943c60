"""The memo cache: answers the core already gave, found again by meaning (seed: LRU semantic
cache, 256 entries, hit at cosine >= 0.92).

Rules (docs/memory.md):
- looked up before the core, stored after a core answer;
- least recently used entry evicted when full; entries expire after ``max_age_s``;
- answers that depend on the moment are never stored: the reflex intents ``time``, ``status``
  and ``quick_action`` (timers, reminders, devices), and queries with words like "now",
  "today", "сейчас", "сегодня";
- a ``remember`` invalidates every entry it may contradict (see :meth:`MemoCache.invalidate`).

Entries live in the ``memo`` table (so the cache survives a restart) and, for lookup, as a
float32 matrix in RAM: 256 x 384 x 4 = 393 KB, small enough to keep exact.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tars_edge.memory.embedder import Embedder
from tars_edge.memory.lexical import WORD, fold, stem
from tars_edge.memory.store import MemoryStore

CAPACITY = 256
THRESHOLD = 0.92
MAX_AGE_S = 7 * 24 * 3600.0
MOMENT_INTENTS = frozenset({"time", "status", "quick_action"})
# Word starts (after fold) that tie an answer to the moment it was given.
MOMENT_WORDS = re.compile(
    r"\b(now|today|tonight|tomorrow|yesterday|current|currently|latest|this (morning|evening|"
    r"afternoon|week|weekend)|right now|time|date|weather|news|timer|remind|alarm|battery|"
    r"temperature|cpu|uptime|"
    r"сейчас|сегодня|завтра|вчера|послезавтра|текущ|нынешн|время|времени|который час|"
    r"дата|погод|новост|таймер|напомни|будильник|батаре|заряд|температур|процессор|нагрузк)",
    re.IGNORECASE,
)
# Contradiction rule (measured on export/data/memory_eval.tsv, docs/memory.md): a new fact
# invalidates an entry whose query is close in meaning, or shares enough word stems.
CONTRADICTS_COSINE = 0.5
CONTRADICTS_STEMS = 0.5  # fraction of the entry query's content stems found in the fact


@dataclass(frozen=True)
class MemoHit:
    id: int
    query: str
    answer: str
    tier: str
    similarity: float
    hits: int


def content_stems(text: str) -> set[str]:
    """Stems of the words that carry meaning (4+ letters, or numbers)."""
    return {stem(w) for w in WORD.findall(fold(text)) if len(w) >= 4 or w.isdigit()}


def depends_on_moment(query: str, intent: str | None = None) -> bool:
    return intent in MOMENT_INTENTS or bool(MOMENT_WORDS.search(fold(query)))


class MemoCache:
    """Semantic cache of core answers, persisted in the ``memo`` table."""

    def __init__(self, store: MemoryStore, embedder: Embedder, capacity: int = CAPACITY,
                 threshold: float = THRESHOLD, max_age_s: float = MAX_AGE_S,
                 clock: Callable[[], float] = time.time):
        self.store = store
        self.embedder = embedder
        self.capacity = capacity
        self.threshold = threshold
        self.max_age_s = max_age_s
        self.clock = clock
        self.hits = 0
        self.misses = 0
        self._lock = threading.RLock()
        self._ids: list[int] = []
        self._queries: list[str] = []
        self._last_used: list[float] = []
        self._expires: list[float] = []
        self._matrix = np.zeros((capacity, embedder.dim), dtype=np.float32)
        self._load()

    def _load(self) -> None:
        now = self.clock()
        # Vectors of another embedder cannot be compared with this one's: drop them.
        self.store.execute("DELETE FROM memo WHERE embedder IS NOT ? OR expires <= ?",
                           (self.embedder.id, now))
        rows = self.store.query(
            "SELECT id, query, embedding, last_used, expires FROM memo "
            "ORDER BY last_used DESC")
        keep, drop = rows[: self.capacity], rows[self.capacity:]
        if drop:
            with self.store.transaction() as conn:
                conn.executemany("DELETE FROM memo WHERE id = ?", [(r[0],) for r in drop])
        for mid, query, blob, last_used, expires in reversed(keep):
            self._add(mid, query, np.frombuffer(blob, dtype=np.float32), last_used, expires)

    def _add(self, mid: int, query: str, vector: np.ndarray, last_used: float,
             expires: float) -> None:
        self._matrix[len(self._ids)] = vector
        self._ids.append(mid)
        self._queries.append(query)
        self._last_used.append(last_used)
        self._expires.append(expires)

    def _remove_at(self, index: int) -> int:
        """Drop entry ``index`` from RAM (the last entry moves into its slot)."""
        last = len(self._ids) - 1
        mid = self._ids[index]
        if index != last:
            self._matrix[index] = self._matrix[last]
            for seq in (self._ids, self._queries, self._last_used, self._expires):
                seq[index] = seq[last]
        for seq in (self._ids, self._queries, self._last_used, self._expires):
            seq.pop()
        return mid

    def _delete(self, indexes: list[int]) -> list[int]:
        ids = [self._remove_at(i) for i in sorted(indexes, reverse=True)]
        if ids:
            with self.store.transaction() as conn:
                conn.executemany("DELETE FROM memo WHERE id = ?", [(i,) for i in ids])
        return ids

    def _expire(self, now: float) -> None:
        self._delete([i for i, e in enumerate(self._expires) if e <= now])

    def __len__(self) -> int:
        return len(self._ids)

    def stats(self) -> dict:
        return {"hits": self.hits, "misses": self.misses, "size": len(self),
                "capacity": self.capacity}

    def _embed(self, text: str, embedding: np.ndarray | None) -> np.ndarray:
        if embedding is not None:
            return np.asarray(embedding, dtype=np.float32)
        return self.embedder.embed_one(text)

    def lookup(self, query: str, embedding: np.ndarray | None = None) -> MemoHit | None:
        """The cached answer to a question this close in meaning (cosine >= threshold)."""
        q = self._embed(query, embedding)
        now = self.clock()
        with self._lock:
            self._expire(now)
            n = len(self._ids)
            if n == 0:
                self.misses += 1
                return None
            sims = self._matrix[:n] @ q
            best = int(sims.argmax())
            if sims[best] < self.threshold:
                self.misses += 1
                return None
            self.hits += 1
            self._last_used[best] = now
            mid = self._ids[best]
        self.store.execute("UPDATE memo SET hits = hits + 1, last_used = ? WHERE id = ?",
                           (now, mid))
        row = self.store.query("SELECT query, answer, tier, hits FROM memo WHERE id = ?", (mid,))
        if not row:  # invalidated meanwhile
            return None
        cached_query, answer, tier, hits = row[0]
        return MemoHit(mid, cached_query, answer, tier or "core", float(sims[best]), hits)

    def put(self, query: str, answer: str, tier: str = "core", intent: str | None = None,
            embedding: np.ndarray | None = None) -> int | None:
        """Cache an answer; None (nothing stored) when it depends on the moment. A question
        already cached at the threshold is replaced, not duplicated."""
        if not query.strip() or not answer.strip() or depends_on_moment(query, intent):
            return None
        q = self._embed(query, embedding)
        now = self.clock()
        with self._lock:
            self._expire(now)
            n = len(self._ids)
            drop: list[int] = []
            if n:
                sims = self._matrix[:n] @ q
                drop = [int(i) for i in np.flatnonzero(sims >= self.threshold)]
            if not drop and n >= self.capacity:
                drop = [int(np.argmin(self._last_used))]  # least recently used
            self._delete(drop)
            expires = now + self.max_age_s
            with self.store.transaction() as conn:
                cur = conn.execute(
                    "INSERT INTO memo(query, embedding, answer, tier, intent, hits, created, "
                    "last_used, expires, embedder) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?)",
                    (query, q.astype(np.float32).tobytes(), answer, tier, intent, now, now,
                     expires, self.embedder.id),
                )
                mid = int(cur.lastrowid)
            self._add(mid, query, q, now, expires)
        return mid

    def contradicted_by(self, fact: str, embedding: np.ndarray | None = None) -> list[int]:
        """Ids of the entries a new fact may contradict: the entry's question is close to the
        fact in meaning (cosine >= CONTRADICTS_COSINE), or at least half of the question's
        content stems occur in the fact. Erring towards dropping is cheap: a dropped entry
        costs one core answer, a stale one repeats a wrong answer."""
        f = self._embed(fact, embedding)
        fact_stems = content_stems(fact)
        with self._lock:
            n = len(self._ids)
            if n == 0:
                return []
            sims = self._matrix[:n] @ f
            out = []
            for i in range(n):
                stems = content_stems(self._queries[i])
                shared = len(stems & fact_stems) / len(stems) if stems else 0.0
                if sims[i] >= CONTRADICTS_COSINE or shared >= CONTRADICTS_STEMS:
                    out.append(self._ids[i])
            return out

    def invalidate(self, fact: str, embedding: np.ndarray | None = None) -> list[int]:
        """Drop the entries :meth:`contradicted_by` names; returns their ids."""
        with self._lock:
            doomed = set(self.contradicted_by(fact, embedding))
            return self._delete([i for i, mid in enumerate(self._ids) if mid in doomed])

    def clear(self) -> int:
        with self._lock:
            return len(self._delete(list(range(len(self._ids)))))
