"""Training of the draft head against a frozen core (the ``draft`` phase of the core pipeline,
also run alone by ``tars-export build-default --only draft`` on the bundle's committed core).

The head learns the core's own greedy choices (``tars_export.draft.draft_loss``). Two kinds of
windows, both starting at a dialogue start so the core's hidden states are the ones inference
sees:

* real text (``train_core.batch_at``), as the core was trained on;
* self-distillation windows: a real prefix, then the core's own greedy continuation. At run
  time the head drafts after the core's greedy output, not after human text, and on real text
  alone its acceptance in greedy decoding trails its teacher-forced agreement (docs/core.md).

Batches depend only on (seed, step), so a resumed run sees what an uninterrupted one would.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from tars_export.core import TarsCore
from tars_export.draft import DraftHead, draft_loss
from tars_export.train_core import PHASE_IDS, CoreData, CoreTrainConfig, _log, batch_at, train_phase

GEN_BATCH = 96  # rows generated together: batched steps amortise the per-call cost


@torch.no_grad()
def greedy_windows(core: TarsCore, data: CoreData, cfg: CoreTrainConfig, seed: int, n: int
                   ) -> torch.Tensor:
    """(n, seq_len) windows: a real prefix of a random length in [seq_len/4, 3·seq_len/4),
    then the core's greedy continuation to seq_len. Deterministic in (seed, core)."""
    rng = np.random.default_rng([seed, PHASE_IDS["draft"], 1])
    out = torch.empty(n, cfg.seq_len, dtype=torch.long)
    bar = tqdm(total=n, desc="draft: core greedy windows", unit="win", leave=False, dynamic_ncols=True)
    for lo in range(0, n, GEN_BATCH):
        rows = min(GEN_BATCH, n - lo)
        starts = data.starts[rng.integers(0, len(data.starts), rows)]
        cut = int(rng.integers(cfg.seq_len // 4, 3 * cfg.seq_len // 4))
        prefix = torch.from_numpy(data.stream[starts[:, None] + np.arange(cut)[None, :]].astype(np.int64))
        logits, _, states, _ = core(prefix, chunk=None)
        token = logits[:, -1].argmax(-1)
        gen = [token]
        for _ in range(cfg.seq_len - cut - 1):
            logits, _, states = core.step(token, states)
            token = logits.argmax(-1)
            gen.append(token)
        out[lo : lo + rows] = torch.cat([prefix, torch.stack(gen, dim=1)], dim=1)
        bar.update(rows)
    bar.close()
    return out


def train_draft(core: TarsCore, data: CoreData, cfg: CoreTrainConfig, seed: int, ckpt: Path,
                log_path: Path | None = None) -> tuple[DraftHead, list[float]]:
    """Train a fresh head (resuming from ``ckpt``) against the frozen ``core``."""
    core.eval()
    for p in core.parameters():
        p.requires_grad_(False)
    torch.manual_seed(seed + PHASE_IDS["draft"])
    draft = DraftHead.for_core(core, cfg.n_draft)
    n_self = round(cfg.batch_size * cfg.draft_self_fraction)
    pool = None
    if n_self and not _finished(ckpt):
        pool = greedy_windows(core, data, cfg, seed, cfg.draft_self_windows)
        _log(log_path, f"draft: {len(pool)} self-distillation windows of the core's greedy text")

    def draft_step(step: int):
        tokens = batch_at(data, cfg, seed, "draft", step)[: cfg.batch_size - n_self, : cfg.seq_len]
        if n_self:
            rng = np.random.default_rng([seed, PHASE_IDS["draft"], 2, step])
            tokens = torch.cat([tokens, pool[rng.integers(0, len(pool), n_self)]])
        with torch.no_grad():
            logits, hidden, _, _ = core(tokens, chunk=cfg.chunk)
        loss, agree = draft_loss(draft, hidden, tokens, logits)
        return loss, {"agree": "/".join(f"{a:.2f}" for a in agree.tolist())}

    losses = train_phase("draft", draft, draft.parameters(), draft_step, cfg.draft_steps,
                         cfg.draft_lr, cfg, ckpt, log_path=log_path)
    return draft.eval(), losses


def _finished(ckpt: Path) -> bool:
    return ckpt.exists() and bool(torch.load(ckpt, weights_only=False).get("done"))
