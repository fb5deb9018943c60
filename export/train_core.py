"""Training of the core LM and its draft head, in resumable phases:

1. ``fp32``     next-byte prediction on the training stream (``tars_export.corpus``);
2. ``int8``     quantization-aware fine-tuning from fp32 (INT8 per-channel weights, INT8 table);
3. ``ternary``  quantization-aware fine-tuning from fp32 (BitNet b1.58 weights, INT8 table);
4. ``draft``    the draft head against the frozen deployed core (``tars_export.train_draft``,
                run by the builder after these three).

Each phase writes ``<checkpoint dir>/<phase>.pt`` every ``ckpt_every`` steps and at its end
(model, optimizer, step, losses); a rerun resumes where it stopped and skips finished phases.
Batches depend only on (seed, phase, step), so a resumed run sees the batches an uninterrupted
one would have. Bits per byte are measured on the held-out dialogues, each from the zero state.

    tars-export train-core [--quick] [--seed 0] [--checkpoints DIR]
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from tars_export import corpus
from tars_export.core import CoreConfig, TarsCore
from tars_export.quant import set_scheme

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CHECKPOINTS = REPO / "checkpoints" / "core"
VARIANTS = ("fp32", "int8", "ternary")
SCHEMES = {"fp32": ("none", "none"), "int8": ("int8", "int8"), "ternary": ("ternary", "int8")}
TERNARY_BPB_BUDGET = 1.15  # deploy ternary when its bpb is within 15 % of fp32 (issue #3)
PHASE_IDS = {"fp32": 1, "int8": 2, "ternary": 3, "draft": 4}


@dataclass
class CoreTrainConfig:
    model: CoreConfig = field(default_factory=lambda: CoreConfig(d_model=192, n_waves=2))
    seq_len: int = 256
    batch_size: int = 12
    chunk: int = 32
    steps: int = 800
    lr: float = 3e-3
    warmup: int = 40
    weight_decay: float = 0.1
    int8_steps: int = 30
    ternary_steps: int = 200
    qat_lr: float = 1.5e-3
    draft_steps: int = 3000
    draft_lr: float = 3e-3
    n_draft: int = 4
    draft_self_fraction: float = 0.5  # share of each draft batch that is the core's own greedy text
    draft_self_windows: int = 7680
    train_dialogues: int = 20000
    heldout_dialogues: int = 600
    eval_every: int = 400
    ckpt_every: int = 50
    # One thread: reproducible float reductions, and on a shared 2-core machine two threads
    # per process oversubscribe the cores (measured 6x slower per step under load).
    threads: int = 1

    def __post_init__(self):
        assert self.seq_len % self.chunk == 0, "seq_len must be a multiple of chunk"
        assert self.steps > 0 and self.batch_size > 0, "steps and batch_size must be positive"

    @classmethod
    def quick(cls) -> CoreTrainConfig:
        """A few steps of a tiny model: exercises every phase in seconds (CI, --quick)."""
        return cls(model=CoreConfig(d_model=32, n_waves=1, ssd_head_dim=16, wkv_head_dim=16,
                                    d_state=8), seq_len=64, batch_size=4, chunk=16, steps=8,
                   warmup=2, int8_steps=2, ternary_steps=3, draft_steps=3, draft_self_windows=4,
                   train_dialogues=300,
                   heldout_dialogues=24, eval_every=0, ckpt_every=4)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["model"] = self.model.to_dict()
        return d


@dataclass
class CoreData:
    train: list[bytes]
    heldout: list[bytes]
    stream: np.ndarray  # training stream, uint8, wrapped by seq_len + 1 bytes
    starts: np.ndarray  # dialogue start offsets in the stream


def load_data(cfg: CoreTrainConfig, seed: int) -> CoreData:
    material = corpus.load_material()
    train = corpus.build_split("train", cfg.train_dialogues, seed, material)
    heldout = corpus.build_split("heldout", cfg.heldout_dialogues, seed, material)
    stream = corpus.to_stream(train)
    stream = np.concatenate([stream, stream[: cfg.seq_len + 1]])
    return CoreData(train, heldout, stream, corpus.dialogue_starts(train))


def batch_at(data: CoreData, cfg: CoreTrainConfig, seed: int, phase: str, step: int) -> torch.Tensor:
    """(B, seq_len + 1) int64 windows, each starting at a dialogue start (as inference does,
    from the zero state). Depends only on (seed, phase, step)."""
    rng = np.random.default_rng([seed, PHASE_IDS[phase], step])
    starts = data.starts[rng.integers(0, len(data.starts), cfg.batch_size)]
    idx = starts[:, None] + np.arange(cfg.seq_len + 1)[None, :]
    return torch.from_numpy(data.stream[idx].astype(np.int64))


def lr_at(step: int, total: int, peak: float, warmup: int) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


@torch.no_grad()
def heldout_bpb(model: TarsCore, dialogues: list[bytes], batch: int = 24) -> float:
    """Bits per byte (= per token) of the held-out dialogues, each from the zero state; the
    first token (PERSONA, predicted from nothing) is not counted."""
    model.eval()
    order = sorted(range(len(dialogues)), key=lambda i: len(dialogues[i]))
    total_nll, total_n = 0.0, 0
    for i in range(0, len(order), batch):
        group = [dialogues[j] for j in order[i : i + batch]]
        t = max(len(d) for d in group)
        tokens = torch.zeros(len(group), t, dtype=torch.long)
        mask = torch.zeros(len(group), t - 1, dtype=torch.bool)
        for r, d in enumerate(group):
            tokens[r, : len(d)] = torch.frombuffer(bytearray(d), dtype=torch.uint8).long()
            mask[r, : len(d) - 1] = True
        logits, *_ = model(tokens[:, :-1])
        nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1),
                              reduction="none").reshape(mask.shape)
        total_nll += float(nll[mask].sum())
        total_n += int(mask.sum())
    return total_nll / max(1, total_n) / math.log(2)


def _save(path: Path, payload: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)


def _log(log_path: Path | None, text: str) -> None:
    tqdm.write(text)
    if log_path is not None:
        with open(log_path, "a") as fh:
            fh.write(text + "\n")


def train_phase(phase: str, model: torch.nn.Module, params, loss_fn, steps: int, lr: float,
                cfg: CoreTrainConfig, ckpt: Path, on_eval=None, log_path: Path | None = None
                ) -> list[float]:
    """Generic resumable loop: ``loss_fn(step) -> (loss, postfix dict)``. Returns the loss of
    every step (including those of earlier, interrupted runs)."""
    params = [p for p in params if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    optim = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                               {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.95))
    start, losses = 0, []
    if ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"])
        if state.get("done"):
            _log(log_path, f"{phase}: finished earlier ({ckpt}), skipping")
            return state["losses"]
        optim.load_state_dict(state["optim"])
        start, losses = state["step"], state["losses"]
        _log(log_path, f"{phase}: resuming at step {start}/{steps}")
    model.train()
    t0 = time.time()
    with tqdm(total=steps, initial=start, desc=f"core {phase}", unit="step", dynamic_ncols=True) as bar:
        for step in range(start, steps):
            for g in optim.param_groups:
                g["lr"] = lr_at(step, steps, lr, cfg.warmup)
            loss, postfix = loss_fn(step)
            optim.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optim.step()
            losses.append(loss.item())
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}", **postfix)
            bar.update(1)
            done = step + 1 == steps
            if done or (step + 1) % cfg.ckpt_every == 0:
                _save(ckpt, {"model": model.state_dict(), "optim": optim.state_dict(),
                             "step": step + 1, "losses": losses, "done": False})
            if on_eval and cfg.eval_every and (step + 1) % cfg.eval_every == 0 and not done:
                _log(log_path, f"{phase} step {step + 1}: {on_eval()} ({time.time() - t0:.0f} s)")
                model.train()
    _save(ckpt, {"model": model.state_dict(), "step": steps, "losses": losses, "done": True})
    return losses


def lm_loss(model: TarsCore, tokens: torch.Tensor, chunk: int) -> torch.Tensor:
    logits, *_ = model(tokens[:, :-1], chunk=chunk)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1))


def make_core(cfg: CoreTrainConfig, variant: str, state: dict | None = None) -> TarsCore:
    model = TarsCore(cfg.model)
    if state is not None:
        model.load_state_dict(state)
    linear, table = SCHEMES[variant]
    set_scheme(model, linear, embeddings=table)
    return model


def choose_deployed(bpb: dict[str, float]) -> str:
    """Ternary when it keeps bits-per-byte within 15 % of fp32 (it is the smallest file and
    decodes as fast, see docs/core.md), else INT8."""
    return "ternary" if bpb["ternary"] <= TERNARY_BPB_BUDGET * bpb["fp32"] else "int8"


@dataclass
class TrainedCore:
    cfg: CoreTrainConfig
    models: dict[str, TarsCore]  # variant -> model with its scheme set, eval mode
    deployed: str
    bpb: dict[str, float]
    losses: dict[str, list[float]]
    data: CoreData
    seconds: float


def train_all(seed: int = 0, cfg: CoreTrainConfig | None = None,
              checkpoints: Path = DEFAULT_CHECKPOINTS, log_path: Path | None = None) -> TrainedCore:
    cfg = cfg or CoreTrainConfig()
    torch.set_num_threads(cfg.threads)
    checkpoints = Path(checkpoints)
    checkpoints.mkdir(parents=True, exist_ok=True)
    t_start = time.time()
    data = load_data(cfg, seed)
    stats = corpus.corpus_stats(data.train)
    _log(log_path, f"corpus: train {stats}, held-out {corpus.corpus_stats(data.heldout)}")
    losses: dict[str, list[float]] = {}
    models: dict[str, TarsCore] = {}

    torch.manual_seed(seed)
    fp32 = make_core(cfg, "fp32")
    _log(log_path, f"core: {fp32.num_params():,} parameters, config {cfg.model.to_dict()}")
    losses["fp32"] = train_phase(
        "fp32", fp32, fp32.parameters(),
        lambda s: (lm_loss(fp32, batch_at(data, cfg, seed, "fp32", s), cfg.chunk), {}),
        cfg.steps, cfg.lr, cfg, checkpoints / "fp32.pt",
        on_eval=lambda: f"held-out bpb {heldout_bpb(fp32, data.heldout):.4f}", log_path=log_path)
    models["fp32"] = fp32
    base = {k: v.clone() for k, v in fp32.state_dict().items()}
    for variant, steps in (("int8", cfg.int8_steps), ("ternary", cfg.ternary_steps)):
        torch.manual_seed(seed + PHASE_IDS[variant])
        model = make_core(cfg, variant, base)
        losses[variant] = train_phase(
            variant, model, model.parameters(),
            lambda s, m=model, v=variant: (lm_loss(m, batch_at(data, cfg, seed, v, s), cfg.chunk), {}),
            steps, cfg.qat_lr, cfg, checkpoints / f"{variant}.pt", log_path=log_path)
        models[variant] = model
    bpb = {}
    for variant, model in models.items():
        model.eval()
        bpb[variant] = heldout_bpb(model, data.heldout)
        _log(log_path, f"held-out bits per byte, {variant}: {bpb[variant]:.4f}")
    deployed = choose_deployed(bpb)

    seconds = time.time() - t_start
    _log(log_path, f"training done in {seconds:.0f} s; deployed variant: {deployed}")
    return TrainedCore(cfg, models, deployed, bpb, losses, data, seconds)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="tars-export train-core", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoints", type=Path, default=DEFAULT_CHECKPOINTS)
    parser.add_argument("--log", type=Path, default=None, help="also append progress lines here")
    args = parser.parse_args(argv)
    cfg = CoreTrainConfig.quick() if args.quick else CoreTrainConfig()
    train_all(args.seed, cfg, args.checkpoints, args.log)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
