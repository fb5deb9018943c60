"""The reflex intent dataset: enough utterances and phrasings per intent and language, a split
that really holds phrasings out, and augmentation / OOD generators that behave."""

from collections import Counter, defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tars_export import intents
from tars_export.intents import LABELS


@pytest.fixture(scope="module")
def rows():
    return intents.load_rows()


def test_labels_order():
    assert LABELS == ["greeting", "farewell", "status", "time", "quick_action", "complex"]


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_each_intent_has_enough_utterances_and_groups(rows, lang):
    counts = Counter(r.intent for r in rows if r.lang == lang)
    groups = defaultdict(set)
    for r in rows:
        if r.lang == lang:
            groups[r.intent].add(r.group)
    for i, label in enumerate(LABELS):
        assert counts[i] >= 75, (lang, label, counts[i])
        assert len(groups[i]) >= 12, (lang, label, len(groups[i]))


def test_each_intent_has_at_least_150_utterances_over_both_languages(rows):
    counts = Counter(r.intent for r in rows)
    for i, label in enumerate(LABELS):
        assert counts[i] >= 150, (label, counts[i])


def test_rows_are_well_formed(rows):
    for r in rows:
        assert r.text == r.text.strip() and r.text, r
        assert r.group.startswith(LABELS[r.intent] + "/"), r
        assert r.reflexable == (0.0 if LABELS[r.intent] == "complex" else 1.0), r
        assert r.lang in ("en", "ru")


def test_no_duplicate_texts_even_after_normalizing(rows):
    counts = Counter(intents.normalize(r.text) for r in rows)
    assert [t for t, n in counts.items() if n > 1] == []


def test_group_names_are_not_shared_between_languages(rows):
    """The split holds out groups per language; a shared name would blur that."""
    en = {r.group for r in rows if r.lang == "en"}
    ru = {r.group for r in rows if r.lang == "ru"}
    assert en & ru == set()


def test_russian_rows_are_russian(rows):
    for r in rows:
        if r.lang == "ru":
            assert any("а" <= c.lower() <= "я" or c in "ёЁ" for c in r.text), r


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_split_holds_out_whole_groups(rows, seed):
    train, heldout = intents.split_by_phrasing(rows, 0.2, seed)
    train_groups = {(r.lang, r.group) for r in train}
    held_groups = {(r.lang, r.group) for r in heldout}
    assert train_groups & held_groups == set()
    assert len(train) + len(heldout) == len(rows)
    # About a fifth of the groups of every intent and language, and never all of them.
    for lang in ("en", "ru"):
        for i in range(len(LABELS)):
            all_groups = {r.group for r in rows if r.lang == lang and r.intent == i}
            held = {g for (la, g) in held_groups if la == lang and g.startswith(LABELS[i] + "/")}
            assert 1 <= len(held) <= round(0.3 * len(all_groups)), (lang, LABELS[i], len(held))


def test_heldout_texts_never_appear_in_training(rows):
    train, heldout = intents.split_by_phrasing(rows, 0.2, 0)
    seen = {intents.normalize(r.text) for r in train}
    assert not [r.text for r in heldout if intents.normalize(r.text) in seen]


def test_split_is_deterministic(rows):
    a = intents.split_by_phrasing(rows, 0.2, 3)
    b = intents.split_by_phrasing(rows, 0.2, 3)
    assert a == b


@settings(max_examples=200, deadline=None)
@given(text=st.text(min_size=1, max_size=80), seed=st.integers(0, 2**32 - 1))
def test_augment_is_deterministic_and_never_empty(text, seed):
    a = intents.augment(text, np.random.default_rng(seed))
    b = intents.augment(text, np.random.default_rng(seed))
    assert a == b
    assert a != ""


def test_augment_is_mild(rows):
    """Every augmented copy stays within a few typos of the original once case, punctuation,
    spacing and ё are normalized away, so the label still fits."""
    rng = np.random.default_rng(0)
    for r in rows:
        noisy = intents.augment(r.text, rng)
        assert _typo_distance(intents.normalize(r.text), intents.normalize(noisy)) <= 3, noisy


def _typo_distance(a: str, b: str) -> int:
    """Edit distance where swapping two neighbouring characters costs one edit."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(
                d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])
            )
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


def test_augment_varies_russian_and_english():
    rng = np.random.default_rng(0)
    for text in ("поставь таймер на 10 минут", "set a timer for 10 minutes"):
        assert len({intents.augment(text, rng) for _ in range(50)}) > 10


def test_out_of_distribution_examples():
    ood = intents.out_of_distribution(np.random.default_rng(0), 400)
    assert len(ood) == 400
    complex_id = LABELS.index("complex")
    kinds = Counter(e.group for e in ood)
    assert set(kinds) >= {
        "ood/latin",
        "ood/cyrillic",
        "ood/mash",
        "ood/latin1",
        "ood/emoji-cjk",
        "ood/symbols",
        "ood/long",
    }
    for e in ood:
        assert e.intent == complex_id and e.reflexable == 0.0
        assert e.text.strip()
        if e.group == "ood/long":
            assert 200 < len(e.text) <= 600, len(e.text)
    long_texts = [e.text for e in ood if e.group == "ood/long"]
    assert any(any("а" <= c <= "я" for c in t) for t in long_texts)
    assert any(t.isascii() for t in long_texts)


def test_out_of_distribution_is_deterministic():
    a = intents.out_of_distribution(np.random.default_rng(5), 50)
    b = intents.out_of_distribution(np.random.default_rng(5), 50)
    assert a == b


def test_training_set_mixes_originals_copies_and_ood(rows):
    train, _ = intents.split_by_phrasing(rows, 0.2, 0)
    examples = intents.training_set(train, np.random.default_rng(0), augment_copies=3)
    ood = [e for e in examples if e.group.startswith("ood/")]
    assert len(examples) - len(ood) == 4 * len(train)
    assert 0.15 <= len(ood) / len(examples) <= 0.2
    originals = Counter(e.text for e in train)
    assert all(originals[t] <= Counter(e.text for e in examples)[t] for t in originals)
    again = intents.training_set(train, np.random.default_rng(0), augment_copies=3)
    assert [e.text for e in again] == [e.text for e in examples]
