"""MinGRU (Feng et al. 2024, "Were RNNs all we needed?") and the reflex classifier built on it.

Recurrence, per channel, for input x_t (B, D_in) and state h (B, D):

    g_t  = σ(W_g x_t + b_g)                 update gate, (B, D)
    h̃_t  = W_h x_t + b_h                    candidate,   (B, D)
    h_t  = (1 − g_t) · h_{t−1} + g_t · h̃_t

The gates do not depend on h, so the whole sequence has a closed form. With
a_t = 1 − g_t (log a_t = −softplus(W_g x_t + b_g), exact and stable) and L_t = Σ_{s≤t} log a_s:

    h_t = exp(L_t) · h_0 + Σ_{s≤t} exp(L_t − L_s) · g_s · h̃_s

``forward`` computes that as a masked (T × T) weighting per channel (``decayed_sum``) -- the
same "quadratic" form Mamba-2's SSD uses for a chunk; every exponent L_t − L_s ≤ 0, so it never
overflows. The wake graph uses it as is. With ``chunk`` (the reflex graph) it runs chunk by
chunk and is linear in T inside a chunk (``chunked_decayed_sum``). Both export to plain ONNX ops
with a dynamic T. ``step`` is the one-token recurrence and ``scan`` loops it over a sequence;
training uses ``scan`` because its cost is O(T) rather than O(T²) (for a batch of 128-byte
texts the quadratic form's backward is ~10× slower). Tests prove the forms agree; export
verification compares ONNX Runtime against the PyTorch graph it was exported from.

State tensor of the cell: h (B, D) float32, initial value 0.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from tars_export.quant import QuantEmbedding, QuantLinear


def decayed_sum(log_a: torch.Tensor, drive: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
    """h_t = a_t·h_{t−1} + drive_t over axis 1, in closed form: log_a, drive (B, T, D),
    h0 (B, D) -> (B, T, D). Every exponent L_t − L_s ≤ 0, so nothing overflows."""
    cum = torch.cumsum(log_a, dim=1)  # L_t
    t = log_a.shape[1]
    causal = torch.ones(t, t, dtype=torch.bool, device=log_a.device).tril()
    diff = cum.unsqueeze(2) - cum.unsqueeze(1)  # (B, T, S, D): L_t − L_s
    weights = torch.where(causal[None, :, :, None], diff, torch.full_like(diff, -torch.inf)).exp()
    return (weights * drive.unsqueeze(1)).sum(dim=2) + cum.exp() * h0.unsqueeze(1)


# The chunked form factors exp(L_t − L_s) through the chunk's middle step, so each factor's
# exponent spans up to half a chunk of log a_t; with log a_t ≥ −MAX_GATE_LOGIT that is at most
# e^72 for chunks up to MAX_CHUNK (float32 ends at e^88.7). A gate logit above 18 keeps less than
# 1.6e-8 of the previous state either way, so the clamp moves a state by at most that fraction
# of the previous state's size.
MAX_GATE_LOGIT = 18.0
MAX_CHUNK = 9


def chunked_decayed_sum(log_a: torch.Tensor, drive: torch.Tensor, h0: torch.Tensor, chunk: int) -> torch.Tensor:
    """``decayed_sum`` for T a multiple of ``chunk``, in Mamba-2's two-level layout: the states
    inside each chunk from a zero start, then the chunk ends across chunks (the quadratic form
    over T/chunk ends), then each chunk's start state decayed into it.

    Inside a chunk, with m its middle step, exp(L_t − L_s) = exp(L_t − L_m) · exp(L_m − L_s),
    so its states are one cumulative sum: O(T) rather than the O(T·chunk) masked weighting,
    which on a 65-byte text was half of the reflex graph's time (docs/reflex.md, round 11).
    Needs log_a ≥ −MAX_GATE_LOGIT, chunk ≤ MAX_CHUNK and |drive| ≤ 1e6 so that nothing
    overflows (a factor times a drive stays under e^72 · 1e6 ≈ 2e37). The reflex's drive is at
    most about 100 for any byte input, a bound that follows from its weights; a state is moved
    by padding in the same chunk only through rounding (about 1e-6)."""
    assert 1 <= chunk <= MAX_CHUNK, f"chunk={chunk}: the factored form needs 1 <= chunk <= {MAX_CHUNK}"
    b, t, d = drive.shape
    assert t % chunk == 0, f"T={t} is not a multiple of chunk={chunk}"
    la, dr = log_a.reshape(b, -1, chunk, d), drive.reshape(b, -1, chunk, d)  # (B, N, C, D)
    cum = la.cumsum(2)  # decay from each chunk's start
    m = (chunk - 1) // 2
    mid = cum[:, :, m:m + 1]
    inner = (cum - mid).exp() * (dr * (mid - cum).exp()).cumsum(2)
    ends = decayed_sum(cum[:, :, -1], inner[:, :, -1], h0)  # state after chunk k, (B, N, D)
    starts = torch.cat([h0.unsqueeze(1), ends[:, :-1]], dim=1)  # state before chunk k
    return (inner + cum.exp() * starts.unsqueeze(2)).reshape(b, t, d)


class MinGRU(nn.Module):
    def __init__(self, d_in: int, d_hidden: int):
        super().__init__()
        self.gate = QuantLinear(d_in, d_hidden)
        self.candidate = QuantLinear(d_in, d_hidden)

    def forward(self, x: torch.Tensor, h0: torch.Tensor, chunk: int | None = None) -> torch.Tensor:
        """x (B, T, D_in), h0 (B, D) -> every state h_1..h_T, (B, T, D).

        With ``chunk`` (T must be a multiple of it, at most MAX_CHUNK) it is
        ``chunked_decayed_sum``: work T + (T/chunk)² per channel instead of T²."""
        z = self.gate(x)
        drive = torch.sigmoid(z) * self.candidate(x)
        if chunk is None:
            return decayed_sum(-F.softplus(z), drive, h0)  # log(1 − σ(z)) = −softplus(z)
        # softplus written out: ONNX Runtime's Softplus kernel is scalar and was a quarter of
        # the reflex graph's time; Relu/Abs/Exp/Log are vectorised. (The unchunked path above
        # keeps Softplus: it is the committed wake graph's form.)
        z = z.clamp(max=MAX_GATE_LOGIT)
        log_a = -(F.relu(z) + torch.log(1 + torch.exp(-z.abs())))
        return chunked_decayed_sum(log_a, drive, h0, chunk)

    def step(self, x_t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """x_t (B, D_in), h (B, D) -> h' (B, D)."""
        g = torch.sigmoid(self.gate(x_t))
        return (1 - g) * h + g * self.candidate(x_t)

    def scan(self, x: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
        """Same result as ``forward`` by running the recurrence; projections done once."""
        g = torch.sigmoid(self.gate(x))
        keep, drive = 1 - g, g * self.candidate(x)
        states, h = [], h0
        for t in range(x.shape[1]):
            h = keep[:, t] * h + drive[:, t]
            states.append(h)
        return torch.stack(states, dim=1)


@dataclass
class ReflexConfig:
    vocab_size: int = 256
    d_embed: int = 64
    d_hidden: int = 64
    conv_width: int = 4  # bytes seen by the causal conv: about a Cyrillic/Latin syllable
    n_intents: int = 6
    max_tokens: int = 128  # longer texts are cut; they are never reflex material anyway
    # Readout also takes the per-channel max of the states: a keyword anywhere in the text can
    # fire a channel that neither the decayed last state nor the diluted mean keeps.
    max_pool: bool = False
    # An ensemble of independently trained models in one graph (``merge_members``): every
    # layer is ``members`` times as wide and block-diagonal, so one call runs them all with the
    # operator count of one model; the heads average the members' probabilities.
    members: int = 1

    def __post_init__(self):
        assert self.d_embed > 0 and self.d_hidden > 0, "sizes must be positive"
        assert self.members >= 1, "members must be at least 1"
        assert self.conv_width >= 1, "conv_width must be at least 1"
        assert self.n_intents >= 2, "need at least two intents"


class CausalConv(nn.Module):
    """Depthwise causal conv over time: y_t = b + Σ_{j<k} w_j ⊙ x_{t−k+1+j} (zeros before t=0).

    Why: a MinGRU's gates see one byte at a time, so alone it must build words out of bytes
    through a linear recurrence; k-byte features in front give it syllables to work with
    (the same reason Mamba puts a short conv before its SSM). Measured on the held-out
    phrasings: +9 points of accuracy over embedding → MinGRU alone (docs/reflex.md).
    Streaming state: the last k−1 inputs, (B, k−1, D)."""

    def __init__(self, d: int, width: int):
        super().__init__()
        self.width = width
        self.weight = nn.Parameter(torch.randn(d, width) / width)
        self.bias = nn.Parameter(torch.zeros(d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, D) -> (B, T, D)."""
        padded = F.pad(x.transpose(1, 2), (self.width - 1, 0))
        return F.conv1d(padded, self.weight.unsqueeze(1), self.bias, groups=x.shape[-1]).transpose(1, 2)

    def step(self, x_t: torch.Tensor, window: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x_t (B, D), window (B, k−1, D) -> (y_t (B, D), window')."""
        full = torch.cat([window, x_t.unsqueeze(1)], dim=1)  # (B, k, D)
        return (full * self.weight.T).sum(1) + self.bias, full[:, 1:]


class ReflexMinGRU(nn.Module):
    """Bytes -> (intent logits (B, n_intents), confidence logit (B,)).

        e_t = Embed(byte_t);  u_t = SiLU(CausalConv(e)_t);  h_t = MinGRU(u_t, h_{t−1})
        r   = [h_T ; mean_{t≤T} h_t]  -> intent head, confidence head

    The mean keeps early words that the last state may have decayed away ("hi TARS, what
    time is it" ends in the intent, "what time is it, TARS?" begins with it). Everything is
    causal, so the model can also run byte by byte (``step``): state = (conv window
    (B, k−1, D_embed), h (B, D_hidden), running sum of h (B, D_hidden), count (B, 1)).

    Confidence means "the reflex tier can answer this itself"; it is trained as a separate
    binary target, low for `complex` and out-of-distribution text."""

    def __init__(self, cfg: ReflexConfig):
        super().__init__()
        self.cfg = cfg
        m = cfg.members
        self.width = cfg.d_hidden * m  # state width of all members together
        self.embed = QuantEmbedding(cfg.vocab_size, cfg.d_embed * m)
        self.conv = CausalConv(cfg.d_embed * m, cfg.conv_width)
        self.cell = MinGRU(cfg.d_embed * m, self.width)
        readout = (3 if cfg.max_pool else 2) * self.width
        self.intent_head = QuantLinear(readout, cfg.n_intents * m)
        self.confidence_head = QuantLinear(readout, m)

    def initial_state(self, batch: int) -> tuple[torch.Tensor, ...]:
        c = self.cfg
        state = (
            torch.zeros(batch, c.conv_width - 1, c.d_embed * c.members),
            torch.zeros(batch, self.width),
            torch.zeros(batch, self.width),
            torch.zeros(batch, 1),
        )
        # With max_pool: the running max of the states so far (−inf before the first byte).
        return (*state, torch.full((batch, self.width), -torch.inf)) if c.max_pool else state

    def heads(
        self, last: torch.Tensor, mean: torch.Tensor, peak: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (intent logits (B, n), confidence logit (B,)); for an ensemble, the log of the
        members' mean probabilities and the logit of their mean confidence."""
        r = torch.cat([last, mean] if peak is None else [last, mean, peak], dim=-1)
        logits, conf = self.intent_head(r), self.confidence_head(r)
        if self.cfg.members == 1:
            return logits, conf.squeeze(-1)
        probs = logits.unflatten(-1, (self.cfg.members, -1)).softmax(-1).mean(-2)
        p_conf = torch.sigmoid(conf).mean(-1).clamp(1e-6, 1 - 1e-6)
        return probs.log(), torch.log(p_conf) - torch.log1p(-p_conf)

    def _inputs(self, tokens: torch.Tensor) -> torch.Tensor:
        return F.silu(self.conv(self.embed(tokens)))

    def readout(self, tokens: torch.Tensor, lengths: torch.Tensor | None = None) -> list[torch.Tensor]:
        """tokens (B, T) int64, lengths (B,) for right-padded batches -> [h_T, mean, (max)],
        each (B, width). Runs the recurrence (``MinGRU.scan``): O(T), the training path."""
        b, t = tokens.shape
        h0 = torch.zeros(b, self.width)
        states = self.cell.scan(self._inputs(tokens), h0)
        if lengths is None:
            lengths = torch.full((b,), t)
        valid = (torch.arange(t)[None, :] < lengths[:, None]).unsqueeze(-1)
        mean = (states * valid).sum(1) / lengths[:, None]
        parts = [states[torch.arange(b), lengths - 1], mean]
        if self.cfg.max_pool:
            parts.append(states.masked_fill(~valid, -torch.inf).amax(1))
        return parts

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor | None = None):
        """tokens (B, T) int64, lengths (B,) for right-padded batches -> (logits, conf_logit)."""
        return self.heads(*self.readout(tokens, lengths))

    def step(self, token: torch.Tensor, state: tuple[torch.Tensor, ...]):
        """token (B,), state -> (logits, conf_logit, state') after one more byte."""
        window, h, total, count = state[:4]
        u, window = self.conv.step(self.embed(token), window)
        h = self.cell.step(F.silu(u), h)
        total, count = total + h, count + 1
        if not self.cfg.max_pool:
            return (*self.heads(h, total / count), (window, h, total, count))
        peak = torch.maximum(state[4], h)
        return (*self.heads(h, total / count, peak), (window, h, total, count, peak))


class ReflexGraph(nn.Module):
    """What goes into ONNX: tokens (1, T) right-padded to a multiple of ``CHUNK`` and the real
    length (1,) -> intent_logits (1, n), confidence (1,) as a probability. A whole text per
    call, with the chunked closed-form scan (no per-byte loop). Everything is causal, so the
    padding after ``length`` cannot change what is read at ``length − 1`` beyond float
    rounding (padding in the last chunk enters the factored in-chunk sum)."""

    CHUNK = 8

    def __init__(self, model: ReflexMinGRU):
        super().__init__()
        self.model = model

    def forward(self, tokens: torch.Tensor, length: torch.Tensor):
        h0 = torch.zeros(tokens.shape[0], self.model.width)
        states = self.model.cell(self.model._inputs(tokens), h0, chunk=self.CHUNK)
        last = length - 1
        mean = states.cumsum(dim=1).index_select(1, last).squeeze(1) / length.to(states.dtype)
        peak = None
        if self.model.cfg.max_pool:  # max over the real bytes only, not the padding
            pad = torch.arange(states.shape[1])[None, :, None] >= length[:, None, None]
            peak = states.masked_fill(pad, -torch.inf).amax(dim=1)
        logits, conf_logit = self.model.heads(states.index_select(1, last).squeeze(1), mean, peak)
        return logits, torch.sigmoid(conf_logit)


@torch.no_grad()
def merge_members(models: list[ReflexMinGRU]) -> ReflexMinGRU:
    """One model whose forward is the ensemble of ``models`` (same single-member config and
    quantization scheme): embeddings, conv channels and biases side by side, the MinGRU and the
    heads block-diagonal. The zeros between members leave each output channel's int8 scale as
    it was, and a ternary absmean ignores exact zeros; but the byte embedding's int8 row scale
    and a ternary tensor's one scale are shared by the members, so those quantized forms differ
    slightly from the members' own."""
    cfg = models[0].cfg
    assert cfg.members == 1 and all(m.cfg == cfg for m in models), "members: one config, one member each"
    m, h = len(models), cfg.d_hidden
    merged = ReflexMinGRU(replace(cfg, members=m))
    parts = 3 if cfg.max_pool else 2

    def head(name: str) -> tuple[torch.Tensor, torch.Tensor]:
        ws = [getattr(x, name).weight for x in models]  # each (n, parts·h)
        n = ws[0].shape[0]
        w = torch.zeros(n * m, parts * m * h)
        for k, wk in enumerate(ws):
            for p in range(parts):  # readout part p of member k sits at p·m·h + k·h
                w[k * n:(k + 1) * n, p * m * h + k * h: p * m * h + (k + 1) * h] = wk[:, p * h:(p + 1) * h]
        return w, torch.cat([getattr(x, name).bias for x in models])

    state = {
        "embed.weight": torch.cat([x.embed.weight for x in models], dim=1),
        "conv.weight": torch.cat([x.conv.weight for x in models]),
        "conv.bias": torch.cat([x.conv.bias for x in models]),
    }
    for layer in ("gate", "candidate"):
        state[f"cell.{layer}.weight"] = torch.block_diag(*[getattr(x.cell, layer).weight for x in models])
        state[f"cell.{layer}.bias"] = torch.cat([getattr(x.cell, layer).bias for x in models])
    for name in ("intent_head", "confidence_head"):
        state[f"{name}.weight"], state[f"{name}.bias"] = head(name)
    merged.load_state_dict(state)
    for src, dst in zip(models[0].modules(), merged.modules()):
        if hasattr(src, "scheme"):
            dst.scheme = src.scheme
    return merged.train(models[0].training)


def keep_members_apart(merged: ReflexMinGRU) -> list:
    """Gradient hooks that hold the zeros between the members of a merged model at zero while
    it is fine-tuned, so that it stays an ensemble (AdamW leaves a weight whose gradient is
    always zero where it is). Returns the hook handles (none for a single model)."""
    if merged.cfg.members == 1:
        return []
    single = replace(merged.cfg, members=1)
    ones = []
    for _ in range(merged.cfg.members):
        model = ReflexMinGRU(single)
        for p in model.parameters():
            nn.init.ones_(p)
        ones.append(model)
    masks = {name: p.detach() for name, p in merge_members(ones).named_parameters()}
    return [p.register_hook(masks[name].mul) for name, p in merged.named_parameters()]
