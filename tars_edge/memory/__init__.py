"""Tier 2 (DESIGN §3): the memo cache and vector memory over one SQLite file.

For the cascade/daemon the entry point is :meth:`Memory.open`: it never raises for a bad
database. A damaged or too-new ``memory.db`` yields a :class:`Memory` with ``enabled`` False and
``problem`` set to the one line to log; every call then raises :class:`MemoryDisabledError`
with that line, and the other tiers go on working. Lower-level pieces (:class:`MemoryStore`,
:class:`VectorMemory`, :class:`MemoCache`) raise :class:`MemoryStoreError` subclasses instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tars_edge.memory.embedder import Embedder
from tars_edge.memory.memo import MemoCache, MemoHit, depends_on_moment
from tars_edge.memory.store import (
    DB_NAME,
    SCHEMA_VERSION,
    ConversationLog,
    CorruptDatabaseError,
    MemoryStore,
    MemoryStoreError,
    SchemaTooNewError,
)
from tars_edge.memory.vectors import Recollection, VectorMemory

__all__ = [
    "DB_NAME", "SCHEMA_VERSION", "ConversationLog", "CorruptDatabaseError", "Embedder",
    "MemoCache", "MemoHit", "Memory", "MemoryDisabledError", "MemoryStore",
    "MemoryStoreError", "Recollection", "SchemaTooNewError", "VectorMemory",
    "depends_on_moment",
]


class MemoryDisabledError(MemoryStoreError):
    """Memory is off for this run; the message says why and how to recover."""


@dataclass
class Memory:
    """Everything tier 2 needs, opened together. ``remember`` also invalidates memo entries
    the new fact may contradict."""

    store: MemoryStore | None = None
    vectors: VectorMemory | None = None
    memo: MemoCache | None = None
    log: ConversationLog | None = None
    problem: str | None = None
    _embedder: Embedder | None = field(default=None, repr=False)

    @classmethod
    def open(cls, state_dir: str | Path, embedder: Embedder, progress: bool = False,
             **memo_options) -> Memory:
        try:
            store = MemoryStore.open(state_dir)
        except MemoryStoreError as exc:
            return cls(problem=str(exc), _embedder=embedder)
        try:
            vectors = VectorMemory(store, embedder, progress=progress)
            memo = MemoCache(store, embedder, **memo_options)
        except MemoryStoreError as exc:
            store.close()
            return cls(problem=str(exc), _embedder=embedder)
        return cls(store, vectors, memo, ConversationLog(store), None, embedder)

    @property
    def enabled(self) -> bool:
        return self.problem is None

    def _require(self) -> None:
        if self.problem is not None:
            raise MemoryDisabledError(self.problem)

    def remember(self, text: str, tags=None, source: str = "user") -> int:
        self._require()
        vec = self._embedder.embed_one(text.strip()) if text and text.strip() else None
        memory_id = self.vectors.remember(text, tags, source=source, embedding=vec)
        self.memo.invalidate(text, embedding=vec)
        return memory_id

    def recall(self, query: str, k: int = 5, tags=None,
               embedding: np.ndarray | None = None) -> list[Recollection]:
        self._require()
        return self.vectors.recall(query, k=k, tags=tags, embedding=embedding)

    def forget(self, memory_id: int) -> bool:
        self._require()
        return self.vectors.forget(memory_id)

    def status(self) -> dict:
        """For the daemon's ``status``: memo hit/miss/size, memory count, or the problem."""
        if not self.enabled:
            return {"enabled": False, "problem": self.problem}
        return {"enabled": True, "memories": len(self.vectors), "memo": self.memo.stats()}

    def close(self) -> None:
        if self.vectors is not None:
            self.vectors.close()
        if self.store is not None:
            self.store.close()
