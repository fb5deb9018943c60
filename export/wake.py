"""The wake-word model: the reflex's MinGRU cell over log-mel frames, streaming in 80 ms chunks.

Over 10 ms frames x_t (N_MELS log-mel values, ``tars_edge.audio``), one step j per 40 ms:

    z_t  = (x_t − μ) / σ                                  fixed per-band normalisation (buffers,
                                                           measured on the training features)
    u_j  = SiLU(W_c [z_{4j−4}; …; z_{4j+3}] + b_c)        causal conv: 8 frames, stride 4, as a
                                                          Linear over stacked frames
    h1_j = MinGRU_1(u_j, h1_{j−1})                        (tars_export.mingru.MinGRU), 25 Hz
    h2_j = MinGRU_2(h1_j, h2_{j−1})
    p_j  = σ(w_o · h2_j + b_o)                             P(the wake phrase just ended)

The conv is a Linear over stacked frames (not an nn.Conv1d) so that the quantization library
rewrites it like every other matrix. Everything is causal, so running the clip at once, frame
by frame, or in 8-frame chunks with the state carried gives the same numbers (tested).

Streaming state (all float32, initial value 0; zeros before t = 0 in batch form too):
  conv: (B, CONTEXT − STRIDE, N_MELS)   the last four normalised frames
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
    context: int = 8  # frames seen by the causal conv (80 ms)
    stride: int = 4  # frames between recurrent steps (40 ms): the MinGRU runs at 25 Hz
    d_conv: int = 48
    d_hidden: int = 96
    d_mid: int = 0  # >0: SiLU(Linear(h1)) of this width feeds the second MinGRU (else h1 itself)
    d_head: int = 0  # >0: the output head is an MLP with this hidden width (else one Linear)
    chunk_frames: int = audio.FRAMES_PER_CHUNK  # 8 frames = 80 ms per streaming call

    def __post_init__(self):
        assert self.context >= self.stride >= 1, "need context >= stride >= 1"
        assert self.chunk_frames % self.stride == 0, "a chunk must hold whole strides"
        assert self.d_conv > 0 and self.d_hidden > 0, "sizes must be positive"


class WakeMinGRU(nn.Module):
    def __init__(self, cfg: WakeConfig):
        super().__init__()
        self.cfg = cfg
        self.register_buffer("mel_mean", torch.zeros(cfg.n_mels))
        self.register_buffer("mel_std", torch.ones(cfg.n_mels))
        self.conv = QuantLinear(cfg.context * cfg.n_mels, cfg.d_conv)  # a strided causal conv
        self.cell1 = MinGRU(cfg.d_conv, cfg.d_hidden)
        self.mid = QuantLinear(cfg.d_hidden, cfg.d_mid) if cfg.d_mid else None
        self.cell2 = MinGRU(cfg.d_mid or cfg.d_hidden, cfg.d_hidden)
        self.head_hidden = QuantLinear(cfg.d_hidden, cfg.d_head) if cfg.d_head else None
        self.head = QuantLinear(cfg.d_head or cfg.d_hidden, 1)

    def initial_state(self, batch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        c = self.cfg
        return (torch.zeros(batch, c.context - c.stride, c.n_mels), torch.zeros(batch, c.d_hidden),
                torch.zeros(batch, c.d_hidden))

    def _conv(self, z: torch.Tensor, window: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z (B, T, M) normalised frames after ``window`` (B, k−s, M), T a multiple of the
        stride s -> (u (B, T/s, D), window'). Output j sees frames [j·s − (k−s), j·s + s)."""
        k, s, t = self.cfg.context, self.cfg.stride, z.shape[1]
        full = torch.cat([window, z], dim=1)  # (B, k−s+T, M)
        stacked = torch.cat([full[:, j: j + t: s] for j in range(k)], dim=-1)  # oldest first
        return F.silu(self.conv(stacked)), full[:, t:]

    def forward(self, x: torch.Tensor, state=None, chunk: int | None = 16):
        """x (B, T, M) raw log-mel, T a multiple of the stride -> (logits (B, T / stride), state'),
        one logit per stride, read at its last frame. ``chunk``: the closed-form scan's
        chunk length (T must be a multiple of it), None for the plain T×T closed form, 0 for the
        step-by-step recurrence (the reference)."""
        conv_w, h1, h2 = state if state is not None else self.initial_state(x.shape[0])
        z = (x - self.mel_mean) / self.mel_std
        u, conv_w = self._conv(z, conv_w)
        s1 = self.cell1.scan(u, h1) if chunk == 0 else self.cell1(u, h1, chunk=chunk)
        u2 = F.silu(self.mid(s1)) if self.mid is not None else s1
        s2 = self.cell2.scan(u2, h2) if chunk == 0 else self.cell2(u2, h2, chunk=chunk)
        r = F.silu(self.head_hidden(s2)) if self.head_hidden is not None else s2
        logits = self.head(r).squeeze(-1)
        return logits, (conv_w, s1[:, -1], s2[:, -1])


class WakeStreamGraph(nn.Module):
    """What goes into ONNX: one chunk of frames (1, T, M) (T = 8 at run time; the axis is
    dynamic, a multiple of the stride) and the three state tensors -> probabilities
    (1, T / stride), one per 40 ms, and the new state."""

    def __init__(self, model: WakeMinGRU):
        super().__init__()
        self.model = model

    def forward(self, features, conv, h1, h2):
        logits, (conv_o, h1_o, h2_o) = self.model(features, (conv, h1, h2), chunk=None)
        return torch.sigmoid(logits), conv_o, h1_o, h2_o
