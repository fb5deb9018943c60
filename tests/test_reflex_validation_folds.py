"""The reflex validation folds (bench/reflex_validation.py, round 8): every training phrasing
group is validated exactly once, never with the held-out split, and no fold trains on a text
it validates."""

import json

import numpy as np
import pytest

from tars_export import intents

rv = pytest.importorskip("reflex_validation")  # bench/ is on sys.path (conftest)


@pytest.fixture(scope="module")
def split():
    return intents.split_by_phrasing(intents.load_rows(), 0.2, 0)


def test_folds_partition_the_training_groups(split):
    train_rows, heldout = split
    seen: set[tuple[str, str]] = set()
    for fold in range(rv.FOLDS):
        train, val = rv.phrasing_fold(train_rows, fold)
        groups = {(r.lang, r.group) for r in val}
        assert not groups & seen, "a group is validated in two folds"
        assert not groups & {(r.lang, r.group) for r in train}, "a fold trains on a group it validates"
        assert len({(r.intent, r.lang) for r in val}) == len(intents.LABELS) * 2, "a fold misses an intent"
        assert not {intents.normalize(r.text) for r in val} & {intents.normalize(r.text) for r in train}
        seen |= groups
    assert seen == {(r.lang, r.group) for r in train_rows}
    assert not seen & {(r.lang, r.group) for r in heldout}


def test_folds_are_balanced(split):
    sizes = [len(rv.phrasing_fold(split[0], f)[1]) for f in range(rv.FOLDS)]
    assert max(sizes) - min(sizes) <= 0.1 * max(sizes), sizes


def test_cross_validation_pools_folds_and_averages_members(tmp_path, monkeypatch, split):
    """``cv`` scores saved runs: each run pooled over the folds, and an ensemble (members may
    be different variants) as the mean of its members' probabilities within each fold."""
    monkeypatch.setattr(rv, "RESULTS", tmp_path)
    rng = np.random.default_rng(0)
    saved = {"v:0": [], "w:1": []}
    for fold in range(rv.FOLDS):
        val = rv.phrasing_fold(split[0], fold)[1]
        for name, runs in saved.items():
            probs = rng.dirichlet(np.ones(len(intents.LABELS)), size=len(val))
            runs.append(probs)
            (tmp_path / f"res_{name.replace(':', '_')}_fold{fold}.json").write_text(json.dumps({"probs": probs.tolist()}))
    y = np.concatenate([[e.intent for e in rv.phrasing_fold(split[0], f)[1]] for f in range(rv.FOLDS)])
    p0, p1 = np.concatenate(saved["v:0"]), np.concatenate(saved["w:1"])
    out = rv.cross_validation(["v:0", "w:1"])
    assert out["n"] == len(y)
    assert out["single"]["v:0"]["acc"] == round(float((p0.argmax(-1) == y).mean()), 4)
    assert out["ensembles_of_2"]["v:0+w:1"]["acc"] == round(float(((p0 + p1).argmax(-1) == y).mean()), 4)
