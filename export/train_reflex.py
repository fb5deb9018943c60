"""Training and evaluation of the reflex MinGRU: fp32 first, then quantization-aware
fine-tuning (straight-through estimator) for the int8 and ternary variants.

Targets: the intent (cross-entropy over six labels) and, separately, whether the reflex tier
can answer the text itself (binary cross-entropy on ``Example.reflexable``: 1 for real
non-complex utterances, 0 for `complex` and out-of-distribution text). That second head is what
makes "confidence" mean something a cascade can act on.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from tars_export import intent_grammar, intents
from tars_export.intents import Example
from tars_export.mingru import ReflexConfig, ReflexMinGRU, keep_members_apart, merge_members
from tars_export.quant import set_scheme
from tars_export.tokenizer import encode_batch


@dataclass
class ReflexTrainConfig:
    epochs: int = 15
    qat_epochs: int = 3
    batch_size: int = 128
    lr: float = 6e-3
    qat_lr: float = 1e-3
    weight_decay: float = 0.01
    augment_copies: int = 1
    # One entry per member: the template authors (intent_grammar.author_numbers) whose grammar
    # its generated training data is drawn from. The members are trained apart (model seeds
    # seed, seed+1, ...) and merged into one graph that averages their probabilities
    # (mingru.merge_members; round 6). Members on different grammars disagree more and so
    # average better than seeds of one grammar (round 9, docs/reflex.md). Every member also
    # draws the fifth author's label-boundary templates (round 10).
    member_grammars: tuple[intent_grammar.Authors, ...] = ((1, 2, 5), (1, 2, 3, 5), (1, 2, 4, 5))
    grammar_per_intent_lang: int = 1500  # generated utterances (intent_grammar.py) per intent+language
    heldout_frac: float = 0.2
    # Chosen on a validation split carved from the training phrasing groups (docs/reflex.md):
    # 64 -> 128 wide +3.5 points, the max readout +2.5, label smoothing with 15 epochs +1.5.
    d_hidden: int = 128  # MinGRU state width (ReflexConfig.d_hidden)
    label_smoothing: float = 0.1  # on the intent cross-entropy
    max_pool: bool = True  # ReflexConfig.max_pool
    # Fixed, so that float reductions (and so training) are reproducible. One thread: the ops
    # are tiny (B × 64), and a second thread cost 2.5× more wall time than it saved here.
    threads: int = 1

    @property
    def members(self) -> int:
        return len(self.member_grammars)

    @property
    def grammars(self) -> list[tuple[int, ...]]:
        """Each member's authors as numbers (``intent_grammar.author_numbers``)."""
        return [intent_grammar.author_numbers(a) for a in self.member_grammars]

    @classmethod
    def quick(cls) -> ReflexTrainConfig:
        return cls(epochs=2, qat_epochs=1, grammar_per_intent_lang=100)


def _batches(examples: list[Example], batch_size: int, max_tokens: int, rng: np.random.Generator):
    """Length-bucketed batches in random order: the (T × T) scan costs T², so mixing a 10-byte
    greeting with a 128-byte paragraph would waste most of the work."""
    order = sorted(range(len(examples)), key=lambda i: len(examples[i].text))
    chunks = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    for c in rng.permutation(len(chunks)):
        batch = [examples[i] for i in chunks[c]]
        tokens, lengths = encode_batch([e.text for e in batch], max_tokens)
        yield (
            tokens,
            lengths,
            torch.tensor([e.intent for e in batch]),
            torch.tensor([e.reflexable for e in batch], dtype=torch.float32),
        )


def fit(
    model: ReflexMinGRU,
    examples: list[Example],
    epochs: int,
    lr: float,
    cfg: ReflexTrainConfig,
    rng: np.random.Generator,
    desc: str,
) -> list[float]:
    """Trains in place; returns the mean loss per epoch."""
    optim = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = -(-len(examples) // cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        optim, max_lr=lr, total_steps=max(1, epochs * steps_per_epoch), pct_start=0.15
    )
    losses = []
    model.train()
    with tqdm(total=epochs * steps_per_epoch, desc=desc, unit="batch") as bar:
        for _ in range(epochs):
            total = 0.0
            for tokens, lengths, intent, reflexable in _batches(
                examples, cfg.batch_size, model.cfg.max_tokens, rng
            ):
                logits, conf = model(tokens, lengths)
                loss = F.cross_entropy(
                    logits, intent, label_smoothing=cfg.label_smoothing
                ) + F.binary_cross_entropy_with_logits(
                    conf, reflexable
                )
                optim.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optim.step()
                sched.step()
                total += loss.item()
                bar.update()
            losses.append(total / steps_per_epoch)
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
    model.eval()
    return losses


@torch.no_grad()
def predict(model: ReflexMinGRU, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(intent probabilities (N, n_intents), confidence (N,)) in PyTorch."""
    model.eval()
    probs, confs = [], []
    for i in range(0, len(texts), 256):
        tokens, lengths = encode_batch(texts[i : i + 256], model.cfg.max_tokens)
        logits, conf = model(tokens, lengths)
        probs.append(torch.softmax(logits, -1).numpy())
        confs.append(torch.sigmoid(conf).numpy())
    return np.concatenate(probs), np.concatenate(confs)


def metrics(
    heldout: list[Example],
    ood: list[Example],
    probs: np.ndarray,
    conf: np.ndarray,
    ood_conf: np.ndarray,
    threshold: float,
) -> dict:
    """Held-out intent accuracy, confusion matrix (rows: true, columns: predicted), and how
    the confidence gate behaves at ``threshold``."""
    labels = np.array([e.intent for e in heldout])
    pred = probs.argmax(-1)
    n = len(intents.LABELS)
    confusion = np.zeros((n, n), dtype=int)
    np.add.at(confusion, (labels, pred), 1)
    complex_id = intents.LABELS.index("complex")
    answers = (conf >= threshold) & (pred != complex_id)
    simple = labels != complex_id
    by_lang = {
        lang: round(float((pred[m] == labels[m]).mean()), 4)
        for lang in ("en", "ru")
        if (m := np.array([e.lang == lang for e in heldout])).any()
    }
    return {
        "accuracy": round(float((pred == labels).mean()), 4),
        "accuracy_by_lang": by_lang,
        "confusion": confusion.tolist(),
        # Of the texts the reflex would answer itself, how many got the right intent.
        "reflex_precision": round(float((pred[answers] == labels[answers]).mean()), 4)
        if answers.any() else None,
        # Share of simple (non-complex) held-out texts the reflex answers itself.
        "reflex_coverage": round(float(answers[simple].mean()), 4),
        "complex_false_accept": round(float(answers[~simple].mean()), 4),
        "ood_false_accept": round(float((ood_conf >= threshold).mean()), 4),
    }


@dataclass
class TrainedReflex:
    models: dict[str, ReflexMinGRU]  # variant -> model with its quantization scheme set
    heldout: list[Example]
    ood_heldout: list[Example]
    losses: dict[str, list[float]]


def grammar_rows(n_per_intent_lang: int, seed: int, heldout: list[Example],
                 authors: intent_grammar.Authors = intent_grammar.DEFAULT_AUTHORS) -> list[Example]:
    """Generated utterances for training only. The grammar was written without looking at the
    hand-written set; any generated text that normalizes to a held-out text is still dropped,
    so evaluation stays on phrasings the model has not seen."""
    unseen = {intents.normalize(e.text) for e in heldout}
    return [
        Example(text, intents.LABELS.index(intent), 0.0 if intent == "complex" else 1.0, group, lang)
        for intent, group, lang, text in intent_grammar.generate(n_per_intent_lang, seed, authors)
        if intents.normalize(text) not in unseen
    ]


def training_sets(grammars: list[tuple[int, ...]], train_rows: list[Example], heldout: list[Example],
                  seed: int, cfg: ReflexTrainConfig, rng: np.random.Generator
                  ) -> dict[tuple[int, ...], list[Example]]:
    """The augmented training set of each distinct grammar (author numbers), in order of first
    appearance: members that share a grammar share one set, drawn once."""
    sets: dict[tuple[int, ...], list[Example]] = {}
    for authors in grammars:
        if authors not in sets:
            sets[authors] = intents.training_set(
                train_rows + grammar_rows(cfg.grammar_per_intent_lang, seed, heldout, authors), rng,
                augment_copies=cfg.augment_copies,
            )
    return sets


def train_all(seed: int, cfg: ReflexTrainConfig) -> TrainedReflex:
    """Per member: fp32 from scratch, then int8 fine-tuned from its fp32 weights; the members
    of each variant are merged into one model, and ternary is fine-tuned from the merged fp32."""
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(seed)
    train_rows, heldout = intents.split_by_phrasing(intents.load_rows(), cfg.heldout_frac, seed)
    grammars = cfg.grammars
    # Ternary is fine-tuned once, after merging, on the members' authors together.
    everyone = tuple(sorted({a for g in grammars for a in g}))
    examples = training_sets([*grammars, everyone], train_rows, heldout, seed, cfg, rng)
    ood_heldout = intents.out_of_distribution(np.random.default_rng(seed + 1_000_003), 200)
    members = [train_member(examples[g], cfg, seed + k, f" {k + 1}/{cfg.members}" if cfg.members > 1 else "")
               for k, g in enumerate(grammars)]
    models = {v: members[0][0][v] if cfg.members == 1 else merge_members([m[v] for m, _ in members])
              for v in members[0][0]}
    losses = {v: np.mean([l[v] for _, l in members], axis=0).tolist() for v in models}
    # A ternary tensor has one absmean scale, which in a merged model the members share, so
    # ternary is fine-tuned after merging, under that scale.
    ternary = copy.deepcopy(models["fp32"])
    # Embedding rows stay int8: a 64-wide ternary byte embedding loses too much, and int8
    # already makes the table 4x smaller.
    set_scheme(ternary, "ternary", embeddings="int8")
    hooks = keep_members_apart(ternary)
    losses["ternary"] = fit(ternary, examples[everyone], cfg.qat_epochs, cfg.qat_lr, cfg, rng, "reflex ternary QAT")
    for hook in hooks:
        hook.remove()
    models["ternary"] = ternary
    return TrainedReflex(models=models, heldout=heldout, ood_heldout=ood_heldout, losses=losses)


def train_member(examples: list[Example], cfg: ReflexTrainConfig, seed: int, tag: str = ""
                 ) -> tuple[dict[str, ReflexMinGRU], dict[str, list[float]]]:
    """One model in fp32 and int8, and each one's loss per epoch. An int8 linear layer has one
    scale per output channel, which merging leaves as it is, so int8 is fine-tuned per member."""
    torch.manual_seed(seed)
    rng = np.random.default_rng([seed, 5])
    fp32 = ReflexMinGRU(ReflexConfig(d_hidden=cfg.d_hidden, max_pool=cfg.max_pool))
    losses = {"fp32": fit(fp32, examples, cfg.epochs, cfg.lr, cfg, rng, f"reflex fp32{tag}")}
    int8 = copy.deepcopy(fp32)
    set_scheme(int8, "int8", embeddings="int8")
    losses["int8"] = fit(int8, examples, cfg.qat_epochs, cfg.qat_lr, cfg, rng, f"reflex int8 QAT{tag}")
    return {"fp32": fp32, "int8": int8}, losses
