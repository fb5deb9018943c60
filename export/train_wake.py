"""Training of the wake MinGRU: data (``wake_data``), fp32 training, then quantization-aware
fine-tuning (straight-through estimator) for the int8 and ternary variants.

Loss per batch (frames weighted by ``ClipSet.w``; 0 = ignored):

    L = mean BCE over positive frames + mean BCE over negative frames      (class balance)
      + MAX_WEIGHT · mean over negative clips of BCE(max_t logit, 0)       (the loudest false
                                                                            alarm of each clip)

Confusable-phrase clips carry ``HARD_NEGATIVE_WEIGHT`` on their frames. Training is stateful:
each batch slot continues from the state its previous clip left (detached), so the model
learns to work from whatever an hours-long stream leaves in the state, not only from zeros;
the first frames after a wake clip are ignored (its positive window may run on into them).
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tars_export import wake_data
from tars_export.quant import set_scheme
from tars_export.wake import WakeConfig, WakeMinGRU
from tqdm import tqdm

MAX_WEIGHT = 1.0


@dataclass
class WakeTrainConfig:
    wake_utterances: int = 3000
    negative_sentences: int = 2400
    confusable_utterances: int = 1200
    russian_utterances: int = 400
    positive_clips: int = 5000
    negative_clips: int = 9000
    clip_frames: int = 160  # 1.6 s per training clip
    epochs: int = 90
    qat_epochs: int = 4
    batch_size: int = 64
    lr: float = 2e-3
    qat_lr: float = 1e-3
    weight_decay: float = 0.01
    # held-out evaluation
    eval_wake_utterances: int = 500
    eval_negative_sentences: int = 700
    eval_confusable_utterances: int = 250
    eval_russian_utterances: int = 120
    eval_negative_seconds: float = 3600.0  # test stream (≥ 1 hour, DESIGN §8)
    # separate stream the threshold is chosen on: as long as the test stream, since "no false
    # accept in 30 minutes" happened by chance for a threshold that gave 7 per hour on the test
    calib_negative_seconds: float = 3600.0
    # One thread: two threads on a busy 2-core machine were measured 10x slower (spinning
    # OpenMP workers), and one thread is as fast when the cores are free (the ops are small).
    threads: int = 1
    workers: int = 2  # synthesis / clip assembly processes

    @classmethod
    def quick(cls) -> WakeTrainConfig:
        return cls(wake_utterances=80, negative_sentences=60, confusable_utterances=30,
                   russian_utterances=10, positive_clips=96, negative_clips=160, epochs=1,
                   qat_epochs=1, eval_wake_utterances=24, eval_negative_sentences=30,
                   eval_confusable_utterances=10, eval_russian_utterances=4,
                   eval_negative_seconds=60.0, calib_negative_seconds=30.0)


@dataclass
class WakeData:
    train: wake_data.ClipSet
    eval_positives: list  # [wake_data.EvalPositive]
    calib_negative: list  # [np.ndarray] pieces of one continuous stream
    test_negative: list
    confusables: list  # [(pcm, text)] held-out confusable phrases, one utterance each


def cache_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "checkpoints" / "wake"


def training_pools(seed: int, cfg: WakeTrainConfig, cache: Path | None = None) -> dict:
    """The training speech: {"wake": pool, "neg": pool} (synthesised once, then cached)."""
    cache = cache or cache_dir()
    rng = np.random.default_rng([seed, 1])
    return {
        "wake": wake_data.synthesize_pool(
            "train-wake", wake_data.wake_jobs(cfg.wake_utterances, False, rng), cache, cfg.workers),
        "neg": wake_data.synthesize_pool(
            "train-neg", wake_data.negative_jobs(cfg.negative_sentences, cfg.confusable_utterances,
                                                 cfg.russian_utterances, False, rng),
            cache, cfg.workers),
    }


def heldout_pools(seed: int, cfg: WakeTrainConfig, cache: Path | None = None) -> dict:
    """The held-out speech: {"wake": pool, "neg": pool} (held-out voices, texts, confusables)."""
    cache = cache or cache_dir()
    rng_eval = np.random.default_rng([seed, 2])
    wake = wake_data.synthesize_pool(
        "heldout-wake", wake_data.wake_jobs(cfg.eval_wake_utterances, True, rng_eval), cache,
        cfg.workers)
    neg = wake_data.synthesize_pool(
        "heldout-neg", wake_data.negative_jobs(cfg.eval_negative_sentences,
                                               cfg.eval_confusable_utterances,
                                               cfg.eval_russian_utterances, True, rng_eval),
        cache, cfg.workers)
    return {"wake": wake, "neg": neg}


def build_data(seed: int, cfg: WakeTrainConfig, cache: Path | None = None) -> WakeData:
    cache = cache or cache_dir()
    pools = training_pools(seed, cfg, cache)
    heldout = heldout_pools(seed, cfg, cache)
    eval_wake, eval_neg = heldout["wake"], heldout["neg"]
    train = wake_data.make_clips(pools, cfg.positive_clips, cfg.negative_clips, cfg.clip_frames,
                                 seed, cache, "train", cfg.workers)
    return WakeData(
        train=train,
        eval_positives=wake_data.eval_positives(eval_wake, seed),
        calib_negative=wake_data.eval_negative_stream(eval_neg, cfg.calib_negative_seconds, seed + 1),
        test_negative=wake_data.eval_negative_stream(eval_neg, cfg.eval_negative_seconds, seed),
        confusables=wake_data.eval_confusables(eval_neg, seed),
    )


def batch_loss(logits: torch.Tensor, y: torch.Tensor, w: torch.Tensor,
               negative_clip: torch.Tensor) -> torch.Tensor:
    bce = F.binary_cross_entropy_with_logits(logits, y, reduction="none")
    pos, neg = w * y, w * (1 - y)
    loss = (bce * neg).sum() / neg.sum().clamp_min(1e-6)
    if pos.sum() > 0:
        loss = loss + (bce * pos).sum() / pos.sum()
    if negative_clip.any():
        masked = logits.masked_fill(w == 0, -1e4)[negative_clip]
        peak = masked.max(dim=1).values
        loss = loss + MAX_WEIGHT * F.binary_cross_entropy_with_logits(
            peak, torch.zeros_like(peak), weight=w[negative_clip].max(dim=1).values)
    return loss


def fit(model: WakeMinGRU, clips: wake_data.ClipSet, epochs: int, lr: float,
        cfg: WakeTrainConfig, rng: np.random.Generator, desc: str) -> list[float]:
    """Trains in place (stateful batches); returns the mean loss per epoch."""
    bs = cfg.batch_size
    n = len(clips.x) // bs * bs
    steps = n // bs
    optim = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(optim, max_lr=lr, total_steps=max(1, epochs * steps),
                                                pct_start=0.15)
    losses = []
    model.train()
    with tqdm(total=epochs * steps, desc=desc, unit="batch") as bar:
        for _ in range(epochs):
            # slots: clip i of the permutation goes to slot i % bs, so slot s sees clips in a
            # continuous "stream" order
            order = rng.permutation(len(clips.x))[:n].reshape(steps, bs)
            state = model.initial_state(bs)
            prev_wake = torch.zeros(bs, dtype=torch.bool)
            total = 0.0
            for idx in order:
                x = torch.from_numpy(clips.x[idx].astype(np.float32))
                s = model.cfg.stride  # one output per stride, read at its last frame
                y = torch.from_numpy(clips.y[idx][:, s - 1:: s])
                w = torch.from_numpy(clips.w[idx][:, s - 1:: s]).clone()
                w[prev_wake, : wake_data.POSITIVE_FRAMES // s + 1] = 0.0
                kind = torch.from_numpy(clips.kind[idx].astype(np.int64))
                logits, state = model(x, state, chunk=0)
                state = tuple(s.detach() for s in state)
                loss = batch_loss(logits, y, w, kind != 1)
                optim.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optim.step()
                sched.step()
                prev_wake = kind == 1
                total += loss.item()
                bar.update()
            losses.append(total / max(1, steps))
            bar.set_postfix(loss=f"{losses[-1]:.4f}")
    model.eval()
    return losses


@dataclass
class TrainedWake:
    models: dict[str, WakeMinGRU]
    data: WakeData
    losses: dict[str, list[float]]


def train_all(seed: int, cfg: WakeTrainConfig) -> TrainedWake:
    """fp32 from scratch, then int8 and ternary fine-tuned from the fp32 weights."""
    torch.manual_seed(seed)
    torch.set_num_threads(cfg.threads)
    data = build_data(seed, cfg)
    rng = np.random.default_rng([seed, 3])
    trains = {k: v for k, v in asdict(cfg).items()  # evaluation settings do not retrain
              if not k.startswith(("eval_", "calib_")) and k != "workers"}
    key = hashlib.sha256(json.dumps([seed, trains, asdict(WakeConfig()),
                                     data.train.x.shape, float(data.train.y.sum()),
                                     float(data.train.w.sum()), MAX_WEIGHT]).encode())
    ckpt = cache_dir() / f"models-{key.hexdigest()[:16]}.pt"
    if ckpt.exists():  # a build that failed after training resumes here
        saved = torch.load(ckpt)
        models = {}
        for variant, state in saved["models"].items():
            models[variant] = WakeMinGRU(WakeConfig())
            models[variant].load_state_dict(state)
            set_scheme(models[variant], "none" if variant == "fp32" else variant)
            models[variant].eval()
        return TrainedWake(models=models, data=data, losses=saved["losses"])
    fp32 = WakeMinGRU(WakeConfig())
    sample = data.train.x[:: max(1, len(data.train.x) // 2000)].astype(np.float32).reshape(-1, fp32.cfg.n_mels)
    fp32.mel_mean.copy_(torch.from_numpy(sample.mean(0)))
    fp32.mel_std.copy_(torch.from_numpy(sample.std(0) + 1e-3))
    losses = {"fp32": fit(fp32, data.train, cfg.epochs, cfg.lr, cfg, rng, "wake fp32")}
    models = {"fp32": fp32}
    for scheme in ("int8", "ternary"):
        model = copy.deepcopy(fp32)
        set_scheme(model, scheme)
        losses[scheme] = fit(model, data.train, cfg.qat_epochs, cfg.qat_lr, cfg, rng,
                             f"wake {scheme} QAT")
        models[scheme] = model
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"models": {k: m.state_dict() for k, m in models.items()}, "losses": losses}, ckpt)
    return TrainedWake(models=models, data=data, losses=losses)
