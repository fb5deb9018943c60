"""The wake-word model: the reflex's MinGRU cell over log-mel frames, streaming in 80 ms chunks.

Per 10 ms frame x_t (N_MELS log-mel values, ``tars_edge.audio``):

    z_t  = (x_t − μ) / σ                                  fixed per-band normalisation (buffers,
                                                           measured on the training features)
    u_t  = SiLU(W_c [z_{t−2}; z_{t−1}; z_t] + b_c)        causal conv over 3 frames, as a Linear
    h1_t = MinGRU_1(u_t, h1_{t−1})                        (tars_export.mingru.MinGRU)
    h2_t = MinGRU_2(h1_t, h2_{t−1})
    p_t  = σ(w_o · h2_t + b_o)                             P(the wake phrase just ended)

The conv is a Linear over stacked frames (not an nn.Conv1d) so that the quantization library
rewrites it like every other matrix. Everything is causal, so running the clip at once, frame
by frame, or in 8-frame chunks with the state carried gives the same numbers (tested).

Streaming state (all float32, initial value 0; zeros before t = 0 in batch form too):
  conv: (B, CONTEXT − 1, N_MELS)   the last two normalised frames
  h1:   (B, D_HIDDEN)
  h2:   (B, D_HIDDEN)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from tars_export.mingru import MinGRU
from tars_export.quant import QuantLinear
from torch import nn

from tars_edge import audio

STATE_NAMES = ("conv", "h1", "h2")


@dataclass
class WakeConfig:
    n_mels: int = audio.N_MELS
    context: int = 3  # frames seen by the causal conv (30 ms)
    d_conv: int = 64
    d_hidden: int = 64
    chunk_frames: int = audio.FRAMES_PER_CHUNK  # 8 frames = 80 ms per streaming call

    def __post_init__(self):
        assert self.context >= 1, "context must be at least one frame"
        assert self.d_conv > 0 and self.d_hidden > 0, "sizes must be positive"


class WakeMinGRU(nn.Module):
    def __init__(self, cfg: WakeConfig):
        super().__init__()
        self.cfg = cfg
        self.register_buffer("mel_mean", torch.zeros(cfg.n_mels))
        self.register_buffer("mel_std", torch.ones(cfg.n_mels))
        self.conv = QuantLinear(cfg.context * cfg.n_mels, cfg.d_conv)
        self.cell1 = MinGRU(cfg.d_conv, cfg.d_hidden)
        self.cell2 = MinGRU(cfg.d_hidden, cfg.d_hidden)
        self.head = QuantLinear(cfg.d_hidden, 1)

    def initial_state(self, batch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        c = self.cfg
        return (torch.zeros(batch, c.context - 1, c.n_mels), torch.zeros(batch, c.d_hidden),
                torch.zeros(batch, c.d_hidden))

    def _conv(self, z: torch.Tensor, window: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z (B, T, M) normalised frames after ``window`` (B, k−1, M) -> (u (B, T, D), window')."""
        k, t = self.cfg.context, z.shape[1]
        full = torch.cat([window, z], dim=1)  # (B, k−1+T, M)
        stacked = torch.cat([full[:, j: j + t] for j in range(k)], dim=-1)  # oldest first
        return F.silu(self.conv(stacked)), full[:, t:]

    def forward(self, x: torch.Tensor, state=None, chunk: int | None = 16):
        """x (B, T, M) raw log-mel -> (logits (B, T), state'). ``chunk``: the closed-form scan's
        chunk length (T must be a multiple of it), None for the plain T×T closed form, 0 for the
        step-by-step recurrence (the reference)."""
        conv_w, h1, h2 = state if state is not None else self.initial_state(x.shape[0])
        z = (x - self.mel_mean) / self.mel_std
        u, conv_w = self._conv(z, conv_w)
        if chunk == 0:
            s1 = self.cell1.scan(u, h1)
            s2 = self.cell2.scan(s1, h2)
        else:
            s1 = self.cell1(u, h1, chunk=chunk)
            s2 = self.cell2(s1, h2, chunk=chunk)
        logits = self.head(s2).squeeze(-1)
        return logits, (conv_w, s1[:, -1], s2[:, -1])


class WakeStreamGraph(nn.Module):
    """What goes into ONNX: one chunk of frames (1, T, M) (T = 8 at run time; the axis is
    dynamic) and the three state tensors -> per-frame probabilities (1, T) and the new state."""

    def __init__(self, model: WakeMinGRU):
        super().__init__()
        self.model = model

    def forward(self, features, conv, h1, h2):
        logits, (conv_o, h1_o, h2_o) = self.model(features, (conv, h1, h2), chunk=None)
        return torch.sigmoid(logits), conv_o, h1_o, h2_o
