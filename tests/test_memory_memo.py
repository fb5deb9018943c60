"""Memo cache: threshold, moment-bound answers, LRU, expiry, contradiction invalidation and
persistence, with the bundle's real embedder and a real SQLite file (only the clock is ours)."""

import pytest
from conftest import MODELS

from tars_edge.bundle import Bundle
from tars_edge.memory import Embedder, MemoCache, Memory, MemoryStore


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture(scope="module")
def embedder():
    return Embedder.from_bundle(Bundle.load(MODELS))


@pytest.fixture
def store(tmp_path):
    s = MemoryStore.open(tmp_path)
    yield s
    s.close()


def test_hit_at_threshold_miss_below(store, embedder):
    memo = MemoCache(store, embedder, clock=Clock())
    memo.put("What's the guest wifi password?", "bluefox77")
    hit = memo.lookup("what is the guest wifi password")
    assert hit is not None and hit.answer == "bluefox77" and hit.similarity >= 0.92
    assert memo.lookup("Which ink does the printer take?") is None
    # A paraphrase that shares little wording stays under 0.92: the memo answers repeats,
    # vector memory answers paraphrases.
    assert memo.lookup("How do visitors log into the wireless network?") is None
    assert memo.stats() == {"hits": 1, "misses": 2, "size": 1, "capacity": 256}
    assert store.query("SELECT hits FROM memo")[0][0] == 1


@pytest.mark.parametrize("query,intent", [
    ("который час", "time"),
    ("how much battery is left", "status"),
    ("set a timer for ten minutes", "quick_action"),
    ("what's the weather like today?", "complex"),
    ("что сейчас происходит в мире", "complex"),
])
def test_moment_answers_are_never_memoised(store, embedder, query, intent):
    memo = MemoCache(store, embedder, clock=Clock())
    assert memo.put(query, "some answer", intent=intent) is None
    assert len(memo) == 0 and store.query("SELECT count(*) FROM memo")[0][0] == 0


def test_lru_eviction(store, embedder):
    clock = Clock()
    memo = MemoCache(store, embedder, capacity=3, clock=clock)
    questions = ["Why is the sky blue?", "How do vaccines work?", "What is a black hole?"]
    for q in questions:
        clock.now += 1
        memo.put(q, f"answer to {q}")
    clock.now += 1
    assert memo.lookup(questions[0]) is not None  # now the most recently used
    clock.now += 1
    memo.put("Explain photosynthesis", "plants make sugar from light")
    assert memo.lookup(questions[1]) is None  # the least recently used went
    assert memo.lookup(questions[0]) is not None and memo.lookup(questions[2]) is not None
    assert store.query("SELECT count(*) FROM memo")[0][0] == 3


def test_same_question_replaces_instead_of_duplicating(store, embedder):
    memo = MemoCache(store, embedder, clock=Clock())
    memo.put("Why is the sky blue?", "old answer")
    memo.put("why is the sky blue", "new answer")
    assert len(memo) == 1 and memo.lookup("Why is the sky blue?").answer == "new answer"


def test_entries_expire(store, embedder):
    clock = Clock()
    memo = MemoCache(store, embedder, max_age_s=3600, clock=clock)
    memo.put("How do vaccines work?", "they train the immune system")
    clock.now += 3599
    assert memo.lookup("How do vaccines work?") is not None
    clock.now += 2
    assert memo.lookup("How do vaccines work?") is None
    assert store.query("SELECT count(*) FROM memo")[0][0] == 0


@pytest.mark.parametrize("question,fact,unrelated", [
    ("Where does my sister Anna live?", "My sister Anna moved to Glasgow last month.",
     "Which ink does the printer take?"),
    ("Где живёт сестра Оля?", "Сестра Оля переехала в Москву.",
     "Как работает фотосинтез?"),
])
def test_remember_invalidates_contradicted_answers(tmp_path, embedder, question, fact, unrelated):
    memory = Memory.open(tmp_path, embedder)
    memory.memo.put(question, "the old answer")
    memory.memo.put(unrelated, "an answer that stays true")
    memory.remember(fact)
    assert memory.memo.lookup(question) is None
    assert memory.memo.lookup(unrelated) is not None
    memory.close()


def test_memo_survives_restart_but_not_a_new_embedder(tmp_path, embedder):
    clock = Clock()
    store = MemoryStore.open(tmp_path)
    MemoCache(store, embedder, clock=clock).put("How do vaccines work?", "training")
    store.close()
    store = MemoryStore.open(tmp_path)
    assert MemoCache(store, embedder, clock=clock).lookup("How do vaccines work?").answer == "training"
    other = Embedder(embedder.model_path, embedder.tokenizer_path, embedder_id="other")
    assert len(MemoCache(store, other, clock=clock)) == 0
    store.close()
