"""Vector memory: remember / recall / forget facts, searched by meaning and by words.

Layout (docs/memory.md has the measurements): every memory's unit vector is kept in RAM as
int8 with one float32 scale per row (384 + 4 bytes), rows in id order. A query is scored
against blocks of 1024 rows converted to float32 and multiplied with BLAS; that is exact
cosine top-k over the int8 vectors, in ~10 ms for 100K memories on two shared cores, where
numpy float16 arithmetic would take ~120 ms. SQLite stays the source of truth: the matrix is
rebuilt from it at start and updated after each committed change.

Ranking fuses two candidate lists with reciprocal-rank fusion: the dense top-50 and the
FTS5 top-50 for the query's word stems (lexical.py explains why MiniLM needs the second).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from tars_edge.memory.embedder import Embedder
from tars_edge.memory.lexical import fold, match_expression
from tars_edge.memory.store import MemoryStore

BLOCK = 1024  # rows converted to float32 at a time: 1.5 MB, stays in L2
CANDIDATES = 50  # per ranking, before fusion
RRF_K = 60  # reciprocal-rank fusion constant (the usual value; not tuned on our set)
MAX_K = 100
# The lexical step runs in a second thread while numpy scores the vectors (SQLite and BLAS
# both release the GIL), and is given this long; past it, recall ranks by cosine alone
# (counted in ``lexical_timeouts``), so a query of common words cannot break the 20 ms target.
LEXICAL_BUDGET_S = 0.012
MAX_TEXT = 4000  # characters; a memory is a fact, not a document


def quantize(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows -> (int8 rows, float32 scales) with ``row ~= scale * int8_row``."""
    vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    scales = np.abs(vectors).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    q = np.clip(np.rint(vectors / scales[:, None]), -127, 127).astype(np.int8)
    return q, scales.astype(np.float32)


@dataclass(frozen=True)
class Recollection:
    id: int
    text: str
    tags: tuple[str, ...]
    score: float  # cosine between the query and the memory, -1..1

    def as_dict(self) -> dict:
        return {"id": self.id, "text": self.text, "tags": list(self.tags),
                "score": round(self.score, 4)}


def _clean_tags(tags: Iterable[str] | None) -> tuple[str, ...]:
    if tags is None:
        return ()
    if isinstance(tags, str):
        tags = [tags]
    out: list[str] = []
    for tag in tags:
        if not isinstance(tag, str):
            raise ValueError(f"tag {tag!r} is not a string; tags are a list of words")
        tag = tag.strip()
        if tag and tag not in out:
            out.append(tag)
    return tuple(out)


def _clean_text(text: str, what: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"empty text: nothing to {what}")
    text = text.strip()
    if len(text) > MAX_TEXT:
        raise ValueError(f"text of {len(text)} characters; a memory holds at most {MAX_TEXT}")
    return text


class VectorMemory:
    """Memories of one store, searchable through one embedder.

    Opening re-embeds (with a progress bar) every memory whose vector was made by another
    embedder than ``embedder.id``, e.g. after the bundle's embedder changed."""

    def __init__(self, store: MemoryStore, embedder: Embedder, progress: bool = False):
        self.store = store
        self.embedder = embedder
        self.dim = embedder.dim
        self._lock = threading.RLock()
        self._vectors = np.zeros((0, self.dim), dtype=np.int8)
        self._scales = np.zeros(0, dtype=np.float32)
        self._ids = np.zeros(0, dtype=np.int64)
        self._alive = np.zeros(0, dtype=bool)
        self._count = 0  # rows in use (alive or tombstoned)
        self._dead = 0
        self._tags: dict[str, set[int]] = {}
        self._buf = np.empty((BLOCK, self.dim), dtype=np.float32)
        self.lexical_timeouts = 0
        self._pool: ThreadPoolExecutor | None = None
        self._load(progress)

    # ---- the in-RAM index -------------------------------------------------------------
    def _reserve(self, extra: int) -> None:
        need = self._count + extra
        if need <= len(self._ids):
            return
        cap = max(need, 1024, int(len(self._ids) * 1.25)) if len(self._ids) else need
        for name in ("_vectors", "_scales", "_ids", "_alive"):
            old = getattr(self, name)
            new = np.zeros((cap,) + old.shape[1:], dtype=old.dtype)
            new[: self._count] = old[: self._count]
            setattr(self, name, new)

    def _append(self, ids: Sequence[int], q8: np.ndarray, scales: np.ndarray,
                tags: Sequence[tuple[str, ...]]) -> None:
        n = len(ids)
        if n == 0:
            return
        if self._count and min(ids) <= self._ids[self._count - 1]:
            raise RuntimeError("memory ids must grow; the store handed out an old id")
        self._reserve(n)
        s = slice(self._count, self._count + n)
        self._vectors[s] = q8
        self._scales[s] = scales
        self._ids[s] = ids
        self._alive[s] = True
        self._count += n
        for mid, mtags in zip(ids, tags):
            for tag in mtags:
                self._tags.setdefault(tag, set()).add(int(mid))

    def _row(self, memory_id: int) -> int | None:
        row = int(np.searchsorted(self._ids[: self._count], memory_id))
        if row < self._count and self._ids[row] == memory_id and self._alive[row]:
            return row
        return None

    def _compact(self) -> None:
        keep = np.flatnonzero(self._alive[: self._count])
        n = len(keep)
        self._vectors[:n] = self._vectors[keep]
        self._scales[:n] = self._scales[keep]
        self._ids[:n] = self._ids[keep]
        self._alive[:n] = True
        self._alive[n:] = False
        self._count, self._dead = n, 0

    def _load(self, progress: bool) -> None:
        stale: list[int] = []
        with self.store.lock:
            total = self.store.conn.execute("SELECT count(*) FROM memories").fetchone()[0]
            self._reserve(total)  # exact size: no growth slack after a start
            cur = self.store.conn.execute(
                "SELECT id, embedding, scale, embedder, tags FROM memories ORDER BY id")
            while True:
                chunk = cur.fetchmany(4096)
                if not chunk:
                    break
                ids, q8, scales, tags = [], [], [], []
                for mid, blob, scale, embedder_id, tag_json in chunk:
                    ok = (embedder_id == self.embedder.id and blob is not None
                          and len(blob) == self.dim)
                    if not ok:
                        stale.append(mid)
                    ids.append(mid)
                    q8.append(np.frombuffer(blob, dtype=np.int8) if ok
                              else np.zeros(self.dim, dtype=np.int8))
                    scales.append(scale if ok else 0.0)
                    tags.append(tuple(json.loads(tag_json)) if tag_json != "[]" else ())
                self._append(ids, np.stack(q8), np.asarray(scales, dtype=np.float32), tags)
        if stale:
            self._reembed(stale, progress)

    def _reembed(self, ids: list[int], progress: bool, batch: int = 64) -> None:
        bar = tqdm(total=len(ids), desc="re-embedding memories", unit="memory",
                   disable=not progress, leave=False)
        for start in range(0, len(ids), batch):
            chunk = ids[start:start + batch]
            marks = ",".join("?" * len(chunk))
            rows = self.store.query(f"SELECT id, text FROM memories WHERE id IN ({marks})", chunk)
            if rows:
                q8, scales = quantize(self.embedder.embed([text for _, text in rows]))
                with self.store.transaction() as conn:
                    conn.executemany(
                        "UPDATE memories SET embedding = ?, scale = ?, embedder = ? WHERE id = ?",
                        [(q8[i].tobytes(), float(scales[i]), self.embedder.id, mid)
                         for i, (mid, _) in enumerate(rows)],
                    )
                with self._lock:
                    for i, (mid, _) in enumerate(rows):
                        row = self._row(mid)
                        if row is not None:
                            self._vectors[row] = q8[i]
                            self._scales[row] = scales[i]
            bar.update(len(chunk))
        bar.close()

    # ---- the API ----------------------------------------------------------------------
    def __len__(self) -> int:
        return self._count - self._dead

    @property
    def nbytes(self) -> int:
        """RAM held by the index arrays (capacity included)."""
        return int(self._vectors.nbytes + self._scales.nbytes + self._ids.nbytes
                   + self._alive.nbytes + self._buf.nbytes)

    def remember(self, text: str, tags: Iterable[str] | None = None, source: str = "user",
                 embedding: np.ndarray | None = None) -> int:
        """Store a fact and return its id once the commit is on disk (synchronous=FULL)."""
        text = _clean_text(text, "remember")
        tags = _clean_tags(tags)
        vec = self.embedder.embed_one(text) if embedding is None else embedding
        q8, scales = quantize(vec)
        with self._lock:  # id order in the matrix must be commit order
            with self.store.transaction(durable=True) as conn:
                cur = conn.execute(
                    "INSERT INTO memories(text, search_text, tags, source, created, embedding, "
                    "scale, embedder) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (text, fold(text), json.dumps(list(tags), ensure_ascii=False), source,
                     time.time(), q8[0].tobytes(), float(scales[0]), self.embedder.id),
                )
                memory_id = int(cur.lastrowid)
            self._append([memory_id], q8, scales, [tags])
        return memory_id

    def forget(self, memory_id: int) -> bool:
        """Delete a memory; False when there is none with this id."""
        with self._lock:
            with self.store.transaction(durable=True) as conn:
                deleted = conn.execute("DELETE FROM memories WHERE id = ?",
                                       (int(memory_id),)).rowcount
            row = self._row(int(memory_id))
            if row is not None:
                self._alive[row] = False
                self._scales[row] = 0.0
                self._dead += 1
                for ids in self._tags.values():
                    ids.discard(int(memory_id))
                if self._dead > 1024 and self._dead * 4 > self._count:
                    self._compact()
        return bool(deleted)

    def get(self, memory_id: int) -> Recollection | None:
        rows = self.store.query("SELECT id, text, tags FROM memories WHERE id = ?",
                                (int(memory_id),))
        if not rows:
            return None
        mid, text, tags = rows[0]
        return Recollection(mid, text, tuple(json.loads(tags)), 1.0)

    def _dense(self, q: np.ndarray, n: int, rows: np.ndarray | None):
        """(rows, cosines) of the ``n`` best rows, best first; ``rows`` limits the search."""
        if rows is not None:
            scores = (self._vectors[rows].astype(np.float32) @ q) * self._scales[rows]
        else:
            count = self._count
            scores = np.empty(count, dtype=np.float32)
            for start in range(0, count, BLOCK):
                block = self._vectors[start:min(start + BLOCK, count)]
                buf = self._buf[: len(block)]
                np.copyto(buf, block, casting="unsafe")
                np.dot(buf, q, out=scores[start:start + len(block)])
            scores *= self._scales[:count]
            if self._dead:
                scores[~self._alive[:count]] = -np.inf
        if len(scores) > n:
            best = np.argpartition(scores, len(scores) - n)[len(scores) - n:]
        else:
            best = np.arange(len(scores))
        best = best[np.argsort(-scores[best], kind="stable")]
        best = best[np.isfinite(scores[best])]
        return (best if rows is None else rows[best]), scores[best]

    def _lexical(self, query: str, n: int, allowed: set[int] | None) -> list[int]:
        expression = match_expression(query)
        if expression is None:
            return []
        limit = n if allowed is None else n * 4
        rows = self.store.query_within(
            "SELECT rowid FROM memories_fts WHERE memories_fts MATCH ? ORDER BY rank LIMIT ?",
            (expression, limit), LEXICAL_BUDGET_S)
        if rows is None:
            self.lexical_timeouts += 1
            return []
        ids = [r[0] for r in rows]
        if allowed is not None:
            ids = [i for i in ids if i in allowed]
        return ids[:n]

    def recall(self, query: str, k: int = 5, tags: Iterable[str] | None = None,
               embedding: np.ndarray | None = None, lexical: bool = True) -> list[Recollection]:
        """The ``k`` memories that best answer ``query``; with ``tags``, only memories that
        carry one of them. ``embedding`` reuses a vector the caller already has (the memo
        lookup embeds the same text); ``lexical=False`` ranks by cosine alone."""
        query = _clean_text(query, "recall")
        k = max(1, min(int(k), MAX_K))
        tags = _clean_tags(tags)
        q = (self.embedder.embed_one(query) if embedding is None
             else np.asarray(embedding, dtype=np.float32))
        allowed = None
        if tags:
            with self._lock:
                allowed = set().union(*(self._tags.get(t, set()) for t in tags))
            if not allowed:
                return []
        words = None
        if lexical:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="tars-recall-fts")
            words = self._pool.submit(self._lexical, query, CANDIDATES, allowed)
        with self._lock:
            rows = None
            if allowed is not None:
                rows = np.array(sorted(r for r in map(self._row, allowed) if r is not None),
                                dtype=np.int64)
            dense_rows, dense_scores = self._dense(q, max(k, CANDIDATES), rows)
            dense_ids = self._ids[dense_rows].tolist()
            cosine = dict(zip(dense_ids, dense_scores.tolist()))
        fused: dict[int, float] = {}
        for rank, mid in enumerate(dense_ids):
            fused[mid] = 1.0 / (RRF_K + rank + 1)
        if words is not None:
            for rank, mid in enumerate(words.result()):
                fused[mid] = fused.get(mid, 0.0) + 1.0 / (RRF_K + rank + 1)
        best = sorted(fused, key=lambda m: (-fused[m], -cosine.get(m, -1.0)))[:k]
        if not best:
            return []
        with self._lock:
            for mid in best:
                if mid not in cosine:
                    row = self._row(mid)
                    cosine[mid] = (float(self._vectors[row].astype(np.float32) @ q
                                         * self._scales[row]) if row is not None else -1.0)
        marks = ",".join("?" * len(best))
        found = {r[0]: r for r in self.store.query(
            f"SELECT id, text, tags FROM memories WHERE id IN ({marks})", best)}
        return [Recollection(mid, found[mid][1], tuple(json.loads(found[mid][2])), cosine[mid])
                for mid in best if mid in found]

    def close(self) -> None:
        """Stop the recall helper thread (the store is closed by its owner)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    # ---- backup -----------------------------------------------------------------------
    def export_jsonl(self, path: str | os.PathLike) -> int:
        """Every memory as one JSON object per line (see :meth:`export_rows`)."""
        return self.export_rows(self.store, path)

    @staticmethod
    def export_rows(store: MemoryStore, path: str | os.PathLike) -> int:
        """Text, tags, source and created of every memory, one JSON object per line; no
        vectors, so a backup outlives the embedder and needs none to be written. Written to a
        temporary file, fsynced, then renamed over ``path``."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        rows = store.query("SELECT id, text, tags, source, created FROM memories ORDER BY id")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps({"id": mid, "text": text, "tags": json.loads(tags),
                                     "source": source, "created": created},
                                    ensure_ascii=False) + "\n" for mid, text, tags, source, created in rows)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return len(rows)

    def import_jsonl(self, path: str | os.PathLike, progress: bool = False) -> dict:
        """Add the memories of a JSON-lines backup (new ids; a text already stored with the
        same tags is skipped). The whole file is checked before anything is written."""
        path = Path(path)
        items: list[tuple[str, tuple[str, ...], str, float]] = []
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: cannot read the backup ({exc})") from None
        for lineno, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                if not isinstance(obj, dict):
                    raise ValueError("not a JSON object")
                text = _clean_text(obj.get("text"), "import")
                tags = _clean_tags(obj.get("tags"))
                source = str(obj.get("source") or "import")
                created = float(obj.get("created") or time.time())
            except ValueError as exc:
                raise ValueError(
                    f'{path}:{lineno}: not a memory ({exc}); each line must be '
                    '{"text": "...", "tags": [...]}'
                ) from None
            items.append((text, tags, source, created))
        existing = {(t, tuple(json.loads(g))) for t, g in
                    self.store.query("SELECT text, tags FROM memories")}
        fresh, seen = [], set()
        for item in items:
            key = (item[0], item[1])
            if key not in existing and key not in seen:
                seen.add(key)
                fresh.append(item)
        vectors = np.zeros((len(fresh), self.dim), dtype=np.float32)
        for start in tqdm(range(0, len(fresh), 64), desc="embedding backup", unit="batch",
                          disable=not progress, leave=False):
            vectors[start:start + 64] = self.embedder.embed([t for t, *_ in fresh[start:start + 64]])
        q8, scales = quantize(vectors) if fresh else (np.zeros((0, self.dim), np.int8),
                                                     np.zeros(0, np.float32))
        ids: list[int] = []
        with self._lock:
            with self.store.transaction(durable=True) as conn:
                for i, (text, tags, source, created) in enumerate(fresh):
                    cur = conn.execute(
                        "INSERT INTO memories(text, search_text, tags, source, created, "
                        "embedding, scale, embedder) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (text, fold(text), json.dumps(list(tags), ensure_ascii=False), source,
                         created, q8[i].tobytes(), float(scales[i]), self.embedder.id),
                    )
                    ids.append(int(cur.lastrowid))
            self._append(ids, q8, scales, [item[1] for item in fresh])
        return {"imported": len(ids), "skipped": len(items) - len(ids), "ids": ids}
