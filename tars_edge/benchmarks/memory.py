"""Memory figures: embed latency, recall latency at 1K / 10K / 100K memories, RAM per memory,
memo lookup latency, commit latency.

The large stores are synthetic: texts drawn with Zipf frequencies from a 20K-word vocabulary
in which the words of the queries are common content words (see ``_vocabulary``), and random
unit vectors (the dense search costs the same whatever the values). Queries are real questions with
their real embeddings. Everything runs in a temporary state directory.
"""

from __future__ import annotations

import gc
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
from tqdm import tqdm

from tars_edge.bundle import Bundle
from tars_edge.memory import ConversationLog, Embedder, MemoCache, MemoryStore, VectorMemory
from tars_edge.memory.lexical import fold
from tars_edge.memory.vectors import quantize

QUERIES = [
    "Где ключ от гаража?", "Какой пароль от вайфая?", "Когда у мамы день рождения?",
    "Во сколько электричка на дачу?", "Как зовут соседа снизу?", "Где лежат батарейки?",
    "Сколько раз в день кормить кошку?", "Когда встреча с бухгалтером?",
    "Where is the spare key?", "What's the guest wifi password?", "When is Dad's birthday?",
    "Which ink does the printer take?", "Where is the fuse box?", "When is the dentist?",
    "How does Tom take his coffee?", "When does my flight leave?",
]
WORDS = """
ключ гараж пароль сеть мама папа сестра брат сосед кошка собака врач встреча дача электричка
вокзал паспорт документы папка шкаф ящик балкон кухня ванная полка день неделя месяц утро
вечер лежит стоит живёт работает принимает хранится нужно купить позвонить забрать передать
поливать кормить синий красный верхний нижний новый старый key garage password network
mother father sister brother neighbour cat dog doctor meeting station passport documents
folder cupboard drawer balcony kitchen shelf day week month morning evening lives works
keeps stored needs buy call pick water feed blue red top bottom new old spare guest printer
coffee flight dentist birthday
""".split()  # noqa: SIM905


def _vocabulary(rng: np.random.Generator, size: int = 20_000) -> list[str]:
    """``size`` words in Zipf rank order: made-up Latin and Cyrillic filler, with the real
    words above placed at ranks 20..2000, so a query word sits in a few hundred to a few
    thousand of 100K memories, as a content word does in real text."""
    scripts = (["ka", "lo", "mi", "ter", "sto", "van", "re", "nu"],
               ["ры", "бо", "ла", "ник", "сто", "ве", "ма", "ту"])
    filler = {"".join(rng.choice(scripts[i % 2], size=rng.integers(2, 5)))
              for i in range(size * 2)}
    words = sorted(filler - set(WORDS))[: size - len(WORDS)]
    words = [words[i] for i in rng.permutation(len(words))]
    for word, rank in zip(WORDS, rng.choice(np.arange(20, 2000), size=len(WORDS), replace=False)):
        words.insert(int(rank), word)
    return words


def _synthetic_texts(rng: np.random.Generator, vocabulary: list[str], n: int) -> list[str]:
    weights = 1.0 / np.arange(1, len(vocabulary) + 1)
    weights /= weights.sum()
    lengths = rng.integers(5, 13, size=n)
    picks = rng.choice(len(vocabulary), size=(n, 12), p=weights)
    return [" ".join(vocabulary[j] for j in picks[i, :lengths[i]]) for i in range(n)]


def _fill(store: MemoryStore, embedder_id: str, n: int, dim: int, seed: int,
          progress: bool) -> None:
    rng = np.random.default_rng(seed)
    vocabulary = _vocabulary(rng)
    now = time.time()
    chunk = 10_000
    for start in tqdm(range(0, n, chunk), desc=f"memory: filling {n // 1000}K", unit="10K",
                      disable=not progress, leave=False):
        m = min(chunk, n - start)
        vectors = rng.standard_normal((m, dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        q8, scales = quantize(vectors)
        texts = _synthetic_texts(rng, vocabulary, m)
        with store.transaction() as conn:
            conn.executemany(
                "INSERT INTO memories(text, search_text, tags, source, created, embedding, "
                "scale, embedder) VALUES (?, ?, '[]', 'bench', ?, ?, ?, ?)",
                [(t, fold(t), now, q8[i].tobytes(), float(scales[i]), embedder_id)
                 for i, t in enumerate(texts)],
            )


def _percentiles(samples: list[float]) -> tuple[float, float]:
    return (round(float(np.percentile(samples, 50)), 3),
            round(float(np.percentile(samples, 95)), 3))


def _time_embed(embedder: Embedder, calls: int, progress: bool, label: str) -> list[float]:
    embedder.embed_one(QUERIES[0])
    out = []
    for i in tqdm(range(calls), desc=f"memory: embed {label}", disable=not progress, leave=False):
        start = time.perf_counter()
        embedder.embed_one(QUERIES[i % len(QUERIES)])
        out.append((time.perf_counter() - start) * 1e3)
    return out


def run(bundle: Bundle, progress: bool = True, sizes: tuple[int, ...] = (1_000, 10_000, 100_000),
        queries: int = 300, embed_calls: int = 200) -> dict:
    results: dict = {}
    embedder = Embedder.from_bundle(bundle)
    spec = bundle.model("embedder")
    deployed = spec["deployed"]
    results["embed_variant"] = deployed
    p50, p95 = _percentiles(_time_embed(embedder, embed_calls, progress, deployed))
    results["embed_ms"], results["embed_p95_ms"] = p50, p95
    results[f"embed_ms_{deployed}"] = p50
    for variant in sorted(set(spec["files"]) - {deployed, "tokenizer"}):
        other = Embedder.from_bundle(bundle, variant=variant)
        results[f"embed_ms_{variant}"] = _percentiles(
            _time_embed(other, embed_calls, progress, variant))[0]
        del other
    query_vectors = embedder.embed(QUERIES)
    process = psutil.Process()

    with tempfile.TemporaryDirectory(prefix="tars-bench-memory-") as tmp:
        for size in sorted(sizes, reverse=True):  # the big one first: cleanest RSS reading
            label = f"{size // 1000}k" if size >= 1000 else str(size)
            store = MemoryStore.open(Path(tmp) / label)
            _fill(store, embedder.id, size, embedder.dim, seed=size, progress=progress)
            store.close()
            gc.collect()
            rss_before = process.memory_info().rss
            start = time.perf_counter()
            store = MemoryStore.open(Path(tmp) / label)
            memory = VectorMemory(store, embedder)
            results[f"open_ms_{label}"] = round((time.perf_counter() - start) * 1e3, 1)
            if size == max(sizes):
                results["bytes_per_memory"] = round(
                    (process.memory_info().rss - rss_before) / size, 1)
                results["index_bytes_per_memory"] = round(memory.nbytes / size, 1)
                results["memories_for_bytes"] = size
            for mode, lexical in (("", True), ("dense_", False)):
                times = []
                for i in tqdm(range(queries), desc=f"memory: recall {mode}{label}",
                              disable=not progress, leave=False):
                    j = i % len(QUERIES)
                    begin = time.perf_counter()
                    memory.recall(QUERIES[j], k=5, embedding=query_vectors[j], lexical=lexical)
                    times.append((time.perf_counter() - begin) * 1e3)
                p50, p95 = _percentiles(times)
                results[f"recall_{mode}p50_ms_{label}"] = p50
                results[f"recall_{mode}p95_ms_{label}"] = p95
            results[f"recall_lexical_timeouts_{label}"] = memory.lexical_timeouts
            del memory
            store.close()
            gc.collect()

        store = MemoryStore.open(Path(tmp) / "memo")
        memo = MemoCache(store, embedder)
        rng = np.random.default_rng(0)
        for i in range(memo.capacity):
            v = rng.standard_normal(embedder.dim).astype(np.float32)
            memo.put(f"question {i}", f"answer {i}", embedding=v / np.linalg.norm(v))
        times = []
        for i in tqdm(range(queries), desc="memory: memo lookup", disable=not progress, leave=False):
            begin = time.perf_counter()
            memo.lookup(QUERIES[i % len(QUERIES)], embedding=query_vectors[i % len(QUERIES)])
            times.append((time.perf_counter() - begin) * 1e3)
        results["memo_lookup_ms"], results["memo_lookup_p95_ms"] = _percentiles(times)
        results["memo_entries"] = len(memo)

        memory = VectorMemory(store, embedder)
        log = ConversationLog(store)
        durable, relaxed = [], []
        for i in range(50):
            begin = time.perf_counter()
            memory.remember(f"bench fact {i}", embedding=query_vectors[i % len(QUERIES)])
            durable.append((time.perf_counter() - begin) * 1e3)
            begin = time.perf_counter()
            log.append("bench", "user", f"turn {i}")
            relaxed.append((time.perf_counter() - begin) * 1e3)
        results["remember_commit_ms"] = _percentiles(durable)[0]
        results["log_commit_ms"] = _percentiles(relaxed)[0]
        store.close()
    json.dumps(results)  # every value must serialise
    return results
