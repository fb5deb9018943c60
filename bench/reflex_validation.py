"""The reflex's validation protocol (docs/reflex.md, rounds 2-5) as one command: train the
deployed configuration (fp32, 15 epochs) on the training phrasing groups minus 24 validation
groups carved from them (``split_by_phrasing(train_rows, 0.2, seed=101)``; generated texts that
normalise to a validation or held-out text dropped), with the data fixed (seed 0) and the model
seed given, and score the validation groups. The held-out split is never scored here.

    python bench/reflex_validation.py SEED VARIANT      # 4.5 min alone on a core, ~13 with four runs on two
    VARIANT: base | wdrop (round 5: half of the augmented copies of a 4+ word text lose one word)
             | hand (round 6: the hand-written training rows 4 times, so generated text weighs less)
             | data (round 6: the data drawn with the model's seed too -- grammar draw and
                     augmentation -- so that an ensemble's members differ by more than init)
             | reverse (round 6: the model reads every text backwards, last byte first)
             | bidir (round 7: one model, two streams of the deployed size -- one reads forwards,
                      one backwards -- and heads over both streams' readouts, trained together)
             | author2 (round 7: the grammar with a second author's templates added,
                        export/intent_grammar_extra.py, written without seeing the hand-written
                        set; drawn uniformly with the first author's, still 1,500 texts per
                        intent and language). Every other variant uses the first author's only.
             | author3 (round 7: author2 plus a third blind author, export/intent_grammar_third.py)
             | author4 (round 8: author2 plus a fourth blind author, export/intent_grammar_fourth.py:
                        the most ordinary, high-frequency phrasings the others do not write)
             | author5 (round 10: adds a fifth blind author, export/intent_grammar_fifth.py, who
                        wrote label-boundary cases; combine it: author2+author5, author4+author5)

Prints one JSON line (accuracy, EN, RU, the misread texts with their groups, the validation
probabilities) and writes it to /tmp/rx/res_<variant>_<seed>.json. Variants combine with "+"
(``author2+reverse``).

    python bench/reflex_validation.py ensemble VARIANT:SEED VARIANT:SEED ...

scores the mean of those runs' saved probabilities: what ``mingru.merge_members`` would give
(round 6), without training anything.

Round 8 found the 24-group carve too small to tell candidates apart (one group, "time/clock",
held more than a third of the errors), so the training groups are also split into five folds, each
(intent, language)'s groups dealt round-robin after a fixed shuffle: every training group is
validated once, ~1,080 utterances in all.

    python bench/reflex_validation.py SEED VARIANT --fold I     # I = 0..4; res_<variant>_<seed>_fold<I>.json
    python bench/reflex_validation.py cv VARIANT SEED SEED ...  # pooled over the five folds
    python bench/reflex_validation.py cv VARIANT:SEED VARIANT:SEED ...  # members may mix variants

``cv`` prints each run's pooled accuracy and that of every ensemble of two or more of the
runs (members' probabilities averaged within each fold, then pooled). Round 9's rule figure,
one member per grammar: ``cv author2:2 author3:2 author4:2`` (``ensembles_of_3``).
"""
import json
import sys
import time
from dataclasses import replace
from itertools import combinations
from pathlib import Path

import numpy as np
import torch
from torch import nn

from tars_export import intents
from tars_export.mingru import ReflexConfig, ReflexMinGRU
from tars_export.quant import QuantLinear
from tars_export.train_reflex import ReflexTrainConfig, fit, grammar_rows, predict

VARIANTS = ("base", "wdrop", "hand", "data", "reverse", "bidir", "author2", "author3", "author4",
            "author5")
HAND_REPEAT = 4
FOLDS = 5
FOLD_SEED = 202
RESULTS = Path("/tmp/rx")


def drop_a_word(augment):
    """``wdrop``: before the usual noise, half of the copies of a 4+ word text lose one word."""
    def wrapped(text, r):
        words = text.split()
        if len(words) >= 4 and r.random() < 0.5:
            i = int(r.integers(len(words)))
            text = " ".join(words[:i] + words[i + 1:])
        return augment(text, r)
    return wrapped


def reversed_bytes(tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Each row's first ``length`` tokens in reverse order; the padding stays where it is."""
    t = torch.arange(tokens.shape[1])[None, :]
    return tokens.gather(1, torch.where(t < lengths[:, None], lengths[:, None] - 1 - t, t))


class Bidirectional(nn.Module):
    """``bidir``: a forward and a backward ReflexMinGRU stream (their own heads unused) and
    heads over both readouts."""

    def __init__(self, cfg: ReflexConfig):
        super().__init__()
        self.cfg = cfg
        self.streams = nn.ModuleList([ReflexMinGRU(cfg), ReflexMinGRU(cfg)])
        for s in self.streams:
            del s.intent_head, s.confidence_head
        readout = 2 * (3 if cfg.max_pool else 2) * cfg.d_hidden
        self.intent_head = QuantLinear(readout, cfg.n_intents)
        self.confidence_head = QuantLinear(readout, 1)

    def forward(self, tokens, lengths=None):
        if lengths is None:
            lengths = torch.full((tokens.shape[0],), tokens.shape[1])
        fwd, bwd = self.streams
        r = torch.cat(fwd.readout(tokens, lengths) + bwd.readout(reversed_bytes(tokens, lengths), lengths), -1)
        return self.intent_head(r), self.confidence_head(r).squeeze(-1)


def phrasing_fold(rows: list, fold: int) -> tuple[list, list]:
    """(train, validation) for one of ``FOLDS`` folds: each (intent, language)'s phrasing
    groups are shuffled once and dealt round-robin, each starting one fold further so that the
    remainders spread; every group is validated in exactly one fold. A validation row that
    normalises to a training text is dropped (``intents.split_groups``)."""
    rng = np.random.default_rng(FOLD_SEED)
    groups: dict[tuple[int, str], set[str]] = {}
    for r in rows:
        groups.setdefault((r.intent, r.lang), set()).add(r.group)
    held = {(key[1], name) for b, (key, names) in enumerate(sorted(groups.items()))
            for j, name in enumerate(rng.permutation(sorted(names))) if (b + j) % FOLDS == fold}
    return intents.split_groups(rows, held)


def _training_split():
    """(training rows, held-out rows) as the build splits them (seed 0)."""
    return intents.split_by_phrasing(intents.load_rows(), ReflexTrainConfig().heldout_frac, 0)


def _validation(fold: int | None = None):
    """(held-out rows, (training rows, validation rows)): the validation groups are carved
    from the training groups (the round 2-7 carve, or one of the folds); the held-out split
    is never scored here."""
    train_rows, heldout = _training_split()
    if fold is None:
        return heldout, intents.split_by_phrasing(train_rows, 0.2, seed=101)
    return heldout, phrasing_fold(train_rows, fold)


def _name(variant: str, seed: int, fold: int | None) -> str:
    return f"{variant}_{seed}" + ("" if fold is None else f"_fold{fold}")


def _saved_probs(run: str, fold: int | None = None) -> np.ndarray:
    """The validation probabilities a saved run ("variant:seed") wrote."""
    variant, seed = run.split(":")
    return np.array(json.loads((RESULTS / f"res_{_name(variant, int(seed), fold)}.json").read_text())["probs"])


def run(seed: int, variant: str, fold: int | None = None) -> dict:
    flags = set(variant.split("+"))
    cfg = ReflexTrainConfig()
    torch.set_num_threads(1)
    heldout, (tr, val) = _validation(fold)
    data_seed = seed if "data" in flags else 0
    rng = np.random.default_rng(data_seed)
    hand = tr * (HAND_REPEAT if "hand" in flags else 1)
    # Rounds 2-6 ran on the first author's grammar; author2 adds the second, author3 the second
    # and third, author4 the second and fourth (author3+author4: all four); author5 adds the
    # fifth to whichever of those it is combined with.
    authors = (1, 2) if flags & {"author2", "author3", "author4"} else (1,)
    authors += tuple(a for a, flag in ((3, "author3"), (4, "author4"), (5, "author5")) if flag in flags)
    rows = hand + grammar_rows(cfg.grammar_per_intent_lang, data_seed, heldout + val, authors)
    if "wdrop" in flags:
        intents.augment = drop_a_word(intents.augment)  # training_set looks it up per call
    examples = intents.training_set(rows, rng, augment_copies=cfg.augment_copies)
    if "reverse" in flags:
        examples = [replace(e, text=e.text[::-1]) for e in examples]
    torch.manual_seed(seed)
    model_cfg = ReflexConfig(d_hidden=cfg.d_hidden, max_pool=cfg.max_pool)
    model = Bidirectional(model_cfg) if "bidir" in flags else ReflexMinGRU(model_cfg)
    t0 = time.time()
    fit(model, examples, cfg.epochs, cfg.lr, cfg, np.random.default_rng(1000 + seed),
        f"{variant} s{seed}")
    probs, _conf = predict(model, [e.text[::-1] if "reverse" in flags else e.text for e in val])
    y, pred = np.array([e.intent for e in val]), probs.argmax(-1)
    lang = np.array([e.lang for e in val])
    right = pred == y
    return {"variant": variant, "seed": seed, "fold": fold, "val": round(float(right.mean()), 4),
            "en": round(float(right[lang == "en"].mean()), 4),
            "ru": round(float(right[lang == "ru"].mean()), 4),
            "n": len(val), "minutes": round((time.time() - t0) / 60, 1),
            "probs": np.round(probs, 4).tolist(),  # for ensembles of runs, scored offline
            "wrong": [(e.group, e.text, intents.LABELS[p])
                      for e, p, ok in zip(val, pred, right) if not ok]}


def ensemble(runs: list[str]) -> dict:
    """``runs``: "variant:seed" names of saved runs; members may mix variants."""
    _, (_, val) = _validation()
    saved = [_saved_probs(r) for r in runs]
    y = np.array([e.intent for e in val])
    members = [float((p.argmax(-1) == y).mean()) for p in saved]
    mean = np.mean(saved, axis=0)
    return {"runs": runs, "members": [round(m, 4) for m in members],
            "members_mean": round(float(np.mean(members)), 4),
            "ensemble": round(float((mean.argmax(-1) == y).mean()), 4)}


def cross_validation(runs: list[str]) -> dict:
    """Pooled accuracy over the five folds of each run ("variant:seed") and of each ensemble
    of the runs."""
    train_rows, _ = _training_split()
    folds = [phrasing_fold(train_rows, f)[1] for f in range(FOLDS)]
    y = np.concatenate([[e.intent for e in val] for val in folds])
    lang = np.concatenate([[e.lang for e in val] for val in folds])
    probs = {r: np.concatenate([_saved_probs(r, f) for f in range(FOLDS)]) for r in runs}

    def score(members: tuple[str, ...]) -> dict:
        right = np.mean([probs[r] for r in members], axis=0).argmax(-1) == y
        return {"acc": round(float(right.mean()), 4), "en": round(float(right[lang == "en"].mean()), 4),
                "ru": round(float(right[lang == "ru"].mean()), 4)}

    out = {"runs": runs, "n": len(y), "single": {r: score((r,)) for r in runs}}
    for k in range(2, len(runs) + 1):
        ens = {"+".join(m): score(m) for m in combinations(runs, k)}
        out[f"ensembles_of_{k}"] = {"mean": round(float(np.mean([e["acc"] for e in ens.values()])), 4), **ens}
    out["single_mean"] = round(float(np.mean([v["acc"] for v in out["single"].values()])), 4)
    return out


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "ensemble":
        print(json.dumps(ensemble(argv[1:])))
        return 0
    if len(argv) >= 2 and argv[0] == "cv":
        runs = argv[1:] if ":" in argv[1] else [f"{argv[1]}:{s}" for s in argv[2:]]
        print(json.dumps(cross_validation(runs)))
        return 0
    fold = None
    if len(argv) == 4 and argv[2] == "--fold" and argv[3].isdigit() and int(argv[3]) < FOLDS:
        fold, argv = int(argv[3]), argv[:2]
    if len(argv) != 2 or not set(argv[1].split("+")) <= set(VARIANTS):
        raise SystemExit(f"usage: python bench/reflex_validation.py SEED {'|'.join(VARIANTS)} [--fold 0..{FOLDS - 1}]")
    seed, variant = int(argv[0]), argv[1]
    res = json.dumps(run(seed, variant, fold), ensure_ascii=False)
    print(res)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"res_{_name(variant, seed, fold)}.json").write_text(res)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
