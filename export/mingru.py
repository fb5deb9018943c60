"""MinGRU (Feng et al. 2024, "Were RNNs all we needed?") and the reflex classifier built on it.

Recurrence, per channel, for input x_t (B, D_in) and state h (B, D):

    g_t  = σ(W_g x_t + b_g)                 update gate, (B, D)
    h̃_t  = W_h x_t + b_h                    candidate,   (B, D)
    h_t  = (1 − g_t) · h_{t−1} + g_t · h̃_t

The gates do not depend on h, so the whole sequence has a closed form. With
a_t = 1 − g_t (log a_t = −softplus(W_g x_t + b_g), exact and stable) and L_t = Σ_{s≤t} log a_s:

    h_t = exp(L_t) · h_0 + Σ_{s≤t} exp(L_t − L_s) · g_s · h̃_s

``forward`` computes that as a masked (T × T) weighting per channel -- the same "quadratic"
form Mamba-2's SSD uses for a chunk. Every exponent L_t − L_s ≤ 0, so it never overflows, and it
exports to plain ONNX ops with a dynamic T. ``step`` is the one-token recurrence. A test proves
the two agree.

State tensors (the ONNX state contract):
    h: (B, D) float32, initial value 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from tars_export.quant import QuantLinear


class MinGRU(nn.Module):
    def __init__(self, d_in: int, d_hidden: int):
        super().__init__()
        self.gate = QuantLinear(d_in, d_hidden)
        self.candidate = QuantLinear(d_in, d_hidden)

    def forward(self, x: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
        """x (B, T, D_in), h0 (B, D) -> every state h_1..h_T, (B, T, D)."""
        z = self.gate(x)
        g = torch.sigmoid(z)
        log_a = -F.softplus(z)  # log(1 − σ(z))
        cum = torch.cumsum(log_a, dim=1)  # L_t, (B, T, D)
        t = x.shape[1]
        causal = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
        diff = cum.unsqueeze(2) - cum.unsqueeze(1)  # (B, T, S, D): L_t − L_s
        weights = torch.where(causal[None, :, :, None], diff, torch.full_like(diff, -torch.inf)).exp()
        drive = (g * self.candidate(x)).unsqueeze(1)  # (B, 1, S, D)
        return (weights * drive).sum(dim=2) + cum.exp() * h0.unsqueeze(1)

    def step(self, x_t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """x_t (B, D_in), h (B, D) -> h' (B, D)."""
        g = torch.sigmoid(self.gate(x_t))
        return (1 - g) * h + g * self.candidate(x_t)


@dataclass
class ReflexConfig:
    vocab_size: int = 256
    d_embed: int = 64
    d_hidden: int = 64
    n_intents: int = 6
    max_tokens: int = 128  # longer texts are cut; they are never reflex material anyway

    def __post_init__(self):
        assert self.d_embed > 0 and self.d_hidden > 0, "sizes must be positive"
        assert self.n_intents >= 2, "need at least two intents"


class ReflexMinGRU(nn.Module):
    """Bytes -> (intent logits (B, n_intents), confidence logit (B,)) from the last state.

    Confidence means "the reflex tier can answer this itself"; it is trained as a separate
    binary target, low for `complex` and out-of-distribution text."""

    def __init__(self, cfg: ReflexConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_embed)
        self.cell = MinGRU(cfg.d_embed, cfg.d_hidden)
        self.intent_head = QuantLinear(cfg.d_hidden, cfg.n_intents)
        self.confidence_head = QuantLinear(cfg.d_hidden, 1)

    def initial_state(self, batch: int) -> torch.Tensor:
        return torch.zeros(batch, self.cfg.d_hidden)

    def heads(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.intent_head(h), self.confidence_head(h).squeeze(-1)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor | None = None):
        """tokens (B, T) int64, lengths (B,) for right-padded batches -> (logits, conf_logit)."""
        states = self.cell(self.embed(tokens), self.initial_state(tokens.shape[0]))
        if lengths is None:
            last = states[:, -1]
        else:
            last = states[torch.arange(tokens.shape[0]), lengths - 1]
        return self.heads(last)

    def step(self, token: torch.Tensor, h: torch.Tensor):
        """token (B,), h (B, D) -> (logits, conf_logit, h')."""
        h = self.cell.step(self.embed(token), h)
        return (*self.heads(h), h)


class ReflexGraph(nn.Module):
    """What goes into ONNX: tokens (1, T) + state h0 (1, D) ->
    intent_logits (1, n), confidence (1,) as a probability, h (1, D)."""

    def __init__(self, model: ReflexMinGRU):
        super().__init__()
        self.model = model

    def forward(self, tokens: torch.Tensor, h0: torch.Tensor):
        states = self.model.cell(self.model.embed(tokens), h0)
        h = states[:, -1]
        logits, conf_logit = self.model.heads(h)
        return logits, torch.sigmoid(conf_logit), h
