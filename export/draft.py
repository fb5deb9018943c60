"""The draft head: proposes the K tokens after the core's next token, for speculative decoding
(seed §15.3; Medusa/Hydra family, sequentially dependent like Hydra).

Inputs: the core's final hidden state h_t (B, D) (``hidden`` of the core's graphs, already
RMS-normalised) at the last position it processed, and the token x_{t+1} the core chose from
that position's logits. For k = 1..K::

    z_0 = h_t
    z_k = z_{k−1} + W2_k SiLU(W1_k [z_{k−1}; Emb x_{t+k}])      W1_k: 2D→D, W2_k: D→D
    logits_k = RMSNorm_k(z_k) · Embᵀ                              predicts x_{t+k+1}
    x_{t+k+1} = argmax logits_k                                   (inside the graph)

``Emb`` is a frozen copy of the core's tied embedding table, so the draft speaks the core's
byte vocabulary and carries no LM head of its own. The head has no recurrent state: one call
gives K proposals. It is trained against the frozen core's own greedy predictions (teacher
forcing on real text: head k at position t learns argmax of the core's logits at t + k).

ONNX graphs (the ``draft`` model of a bundle):

* ``draft``: hidden (1, D) float32, token (1,) int64 -> draft_tokens (1, K) int64,
  draft_logits (1, K, 256) float32. Proposes the first round after a prefill.
* ``verify`` (:class:`SpeculateGraph`): the core over a round's K+1 tokens with the state after
  every position, fused with the head drafting the NEXT round from every position. Whichever
  prefix of the round the core accepts, the next proposals are already there: one ONNX Runtime
  call per round.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from tars_export.core import RMSNorm, TarsCore
from tars_export.quant import QuantEmbedding, QuantLinear, fake_quant


@dataclass
class DraftConfig:
    d_model: int = 192
    n_draft: int = 4  # K
    vocab_size: int = 256

    def __post_init__(self):
        assert self.d_model > 0, "d_model must be positive"
        assert 1 <= self.n_draft <= 16, "n_draft (K) must be in 1..16"
        assert self.vocab_size == 256, "the tokenizer is byte level: vocab_size must be 256"

    def to_dict(self) -> dict:
        return {"d_model": self.d_model, "n_draft": self.n_draft, "vocab_size": self.vocab_size}


class DraftStep(nn.Module):
    def __init__(self, d_model: int):
        super().__init__()
        self.w1 = QuantLinear(2 * d_model, d_model)
        self.w2 = QuantLinear(d_model, d_model, bias=False)
        self.norm = RMSNorm(d_model)
        nn.init.zeros_(self.w2.weight)  # starts as "z_k = h_t": the core's own view

    def forward(self, z: torch.Tensor, token_emb: torch.Tensor) -> torch.Tensor:
        return z + self.w2(F.silu(self.w1(torch.cat([z, token_emb], dim=-1))))


class DraftHead(nn.Module):
    def __init__(self, cfg: DraftConfig, embedding: torch.Tensor):
        super().__init__()
        self.cfg = cfg
        self.embed = QuantEmbedding(cfg.vocab_size, cfg.d_model)
        with torch.no_grad():
            self.embed.weight.copy_(embedding)
        self.embed.weight.requires_grad_(False)
        self.steps = nn.ModuleList(DraftStep(cfg.d_model) for _ in range(cfg.n_draft))

    @classmethod
    def for_core(cls, core: TarsCore, n_draft: int = 4) -> DraftHead:
        head = cls(DraftConfig(d_model=core.cfg.d_model, n_draft=n_draft), core.embed.weight.detach())
        head.embed.scheme = core.embed.scheme  # the table as the deployed core sees it
        return head

    def _logits(self, step: DraftStep, z: torch.Tensor) -> torch.Tensor:
        return F.linear(step.norm(z), fake_quant(self.embed.weight, self.embed.scheme))

    def teacher_forced(self, hidden: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Training form. hidden (B, T, D): core hidden at every position; tokens (B, T): the
        real text. Returns logits (B, T − K, K, V): entry [b, t, k−1] predicts token t+k+1
        from h_t and the real tokens x_{t+1..t+k}."""
        k_max = self.cfg.n_draft
        t = hidden.shape[1] - k_max
        z = hidden[:, :t]
        out = []
        for k, step in enumerate(self.steps):
            z = step(z, self.embed(tokens[:, k + 1 : k + 1 + t]))
            out.append(self._logits(step, z))
        return torch.stack(out, dim=2)

    def forward(self, hidden: torch.Tensor, token: torch.Tensor):
        """Inference form: hidden (B, D), token (B,) -> (draft tokens (B, K), logits (B, K, V)),
        each proposal fed back as the next step's input."""
        z = hidden
        tokens, logits = [], []
        for step in self.steps:
            z = step(z, self.embed(token))
            lg = self._logits(step, z)
            token = lg.argmax(-1)
            tokens.append(token)
            logits.append(lg)
        return torch.stack(tokens, dim=1), torch.stack(logits, dim=1)


class SpeculateGraph(nn.Module):
    """One speculative round in one graph. tokens (1, T) = [x, d1..dK] + core states ->
    logits (1, T, V), hidden (1, T, D), next_drafts (1, T, K), every position's states
    (1, T, ...). Row j of next_drafts is what the head proposes after the core's own token at
    position j (argmax of logits j), i.e. the next round's drafts when the core accepts j
    proposals."""

    def __init__(self, core: TarsCore, head: DraftHead):
        super().__init__()
        self.core = core
        self.head = head

    def forward(self, tokens, *states):
        logits, hidden, _, at = self.core(tokens, list(states), per_position=True)
        next_drafts, _ = self.head(hidden[0], logits[0].argmax(-1))
        return (logits, hidden, next_drafts.unsqueeze(0), *at)


class DraftGraph(nn.Module):
    """What goes into ONNX: hidden (1, D), token (1,) -> draft_tokens (1, K), draft_logits."""

    def __init__(self, head: DraftHead):
        super().__init__()
        self.head = head

    def forward(self, hidden, token):
        return self.head(hidden, token)


def draft_loss(head: DraftHead, hidden: torch.Tensor, tokens: torch.Tensor,
               core_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy of every draft position against the core's greedy choice there.
    Returns (loss, per-position agreement rate (K,))."""
    k_max = head.cfg.n_draft
    logits = head.teacher_forced(hidden, tokens)  # (B, T−K, K, V)
    t = logits.shape[1]
    greedy = core_logits.argmax(-1)  # (B, T): the core's pick for token t+1
    targets = torch.stack([greedy[:, k + 1 : k + 1 + t] for k in range(k_max)], dim=2)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
    agree = (logits.argmax(-1) == targets).float().mean(dim=(0, 1))
    return loss, agree
