"""The TARS core language model: a byte-level recurrent LM of TarsCoreBlocks grouped in waves.

Notation: B batch, T tokens, D = d_model, E = d_inner, Hs SSD heads of P = E/Hs channels,
N = d_state, Hw WKV heads of K = E/Hw channels, C = E + 2N conv channels, k = d_conv.
Every state below has a closed "sequence" form (``forward``, used for training and for the
``prefill``/``verify`` graphs) and a one-token form (``step``, the ``step`` graph); tests prove
the two agree.

Model (seed §2.2-§3.3, DESIGN §4)::

    x_0 = Emb[token]                                         tied with the LM head (seed §15.12)
    wave j = 0..n_waves-1, blocks L = 2j and R = 2j+1 see the same input:
        x_L = x + Block_L(RMSNorm(x)),   x_R = x + Block_R(RMSNorm(x))
        m_L,t = mean_{s<=t} x_L,s,       m_R,t = mean_{s<=t} x_R,s          (causal mean-pool)
        α_t = σ(w_gate · [m_L,t; m_R,t] + b)                      WaveGate, a scalar per token
        c_t = W_2 SiLU(W_1 [m_L,t; m_R,t])                        WaveMerge correction
        x'_t = (1 − α_t) x_L,t + α_t x_R,t + 0.1 c_t
    hidden = RMSNorm(x_final);  logits = hidden · Embᵀ

TarsCoreBlock(u), u = RMSNorm(x) (B, T, D)::

    [xbc | z | dt | rkvw] = in_proj(u)                     one shared projection, then two paths
    SSD path (Mamba-2 style, multi-head, B and C shared by the heads):
        [x̂; B̂; Ĉ] = SiLU(causal depthwise conv_k([x; B; C]))
        Δ_t = softplus(dt_t + dt_bias) (Hs),   A = −exp(A_log) (Hs),   a_t = exp(Δ_t A)
        S_t = a_t S_{t−1} + B̂_t ⊗ Δ_t x̂_t                    S: (Hs, N, P) per batch row
        y_t = Ĉ_t · S_t + D ⊙ x̂_t
        y_ssd = RMSNorm(y ⊙ SiLU(z))
    WKV path (RWKV style; decay is one scalar per head and token, see docs/core.md):
        ρ'_t = ρ_t + μ ⊙ (ρ_{t−1} − ρ_t)   for ρ = [r; k; v; w̃]     token shift, μ ∈ (0, 1)
        log w_t = −exp(min(w_0 + w̃_t, 4))  (Hw)                   decay in (0, 1)
        o_t = r_t S_{t−1} + (r_t · (u ⊙ k_t)) v_t                  u: the current-token bonus
        S_t = w_t S_{t−1} + k_tᵀ v_t                               S: (Hw, K, K) per batch row
        y_wkv = HeadRMSNorm(o)
    fusion:  g = σ(W_f [y_ssd; y_wkv]),  y = g ⊙ y_ssd + (1 − g) ⊙ y_wkv,  out = out_proj(y)

Every linear map is a :class:`~tars_export.quant.QuantLinear`, so one scheme switch makes the
whole model fp32, INT8 or ternary (BitNet b1.58); the tied embedding is a QuantEmbedding that
the quantized variants keep in INT8 (one scale per token row, which is also the LM head's
per-output-channel scale). The sequence form builds, per head, the
(T × T) matrix of decay sums Σ_{τ=s+1..t} log a_τ by a masked cumulative sum (never as a
difference of two long cumulative sums, which loses precision), so every exponent is ≤ 0 and
nothing overflows; cost is T² per head, fine for the ≤ a few hundred tokens one call sees.

State tensors (the ONNX state contract; all float32, initial value 0, batch first), in order:

    for each block i = 0 .. 2·n_waves − 1:
        conv.{i}   (B, C, k − 1)       the last k − 1 inputs of the causal conv
        ssd.{i}    (B, Hs, N, P)       SSD state S
        shift.{i}  (B, 3E + Hw)        the previous token's [r; k; v; w̃] (token shift)
        wkv.{i}    (B, Hw, K, K)       WKV key-value state S
    for each wave j = 0 .. n_waves − 1:
        pool.{j}   (B, 2D)             running sums of [x_L; x_R] for the causal mean-pool
    pos            (B, 1)              tokens seen so far (the mean-pool's divisor)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from tars_export.quant import QuantEmbedding, QuantLinear, fake_quant

WKV_LOG_DECAY_CAP = 4.0  # log w ≥ −e⁴ ≈ −55: w is already 0 in float32, and exp() stays finite
MERGE_CORRECTION = 0.1  # seed §3.3: x' = (1 − α) x_L + α x_R + 0.1 c


@dataclass
class CoreConfig:
    vocab_size: int = 256
    d_model: int = 256
    n_waves: int = 2  # each wave holds two parallel blocks
    expand: float = 1.0  # d_inner = expand · d_model
    ssd_head_dim: int = 32  # P
    d_state: int = 16  # N
    d_conv: int = 4  # k
    wkv_head_dim: int = 32  # K
    # derived in __post_init__
    d_inner: int = field(init=False)
    n_ssd_heads: int = field(init=False)
    n_wkv_heads: int = field(init=False)
    n_blocks: int = field(init=False)
    conv_channels: int = field(init=False)
    shift_channels: int = field(init=False)

    def __post_init__(self):
        assert self.vocab_size == 256, "the tokenizer is byte level: vocab_size must be 256"
        assert self.d_model > 0 and self.d_model % 8 == 0, "d_model must be a positive multiple of 8"
        assert self.n_waves >= 1, "need at least one wave"
        assert self.expand > 0, "expand must be positive"
        self.d_inner = int(round(self.expand * self.d_model))
        assert self.d_inner % self.ssd_head_dim == 0, (
            f"d_inner {self.d_inner} must be a multiple of ssd_head_dim {self.ssd_head_dim}")
        assert self.d_inner % self.wkv_head_dim == 0, (
            f"d_inner {self.d_inner} must be a multiple of wkv_head_dim {self.wkv_head_dim}")
        assert self.d_state >= 1, "d_state must be positive"
        assert self.d_conv >= 2, "d_conv must be at least 2 (a causal conv with memory)"
        self.n_ssd_heads = self.d_inner // self.ssd_head_dim
        self.n_wkv_heads = self.d_inner // self.wkv_head_dim
        self.n_blocks = 2 * self.n_waves
        self.conv_channels = self.d_inner + 2 * self.d_state
        self.shift_channels = 3 * self.d_inner + self.n_wkv_heads

    def to_dict(self) -> dict:
        """The constructor arguments only (derived fields are recomputed)."""
        return {k: v for k, v in asdict(self).items() if k in _INIT_FIELDS}

    @classmethod
    def from_dict(cls, data: dict) -> CoreConfig:
        return cls(**{k: v for k, v in data.items() if k in _INIT_FIELDS})

    def state_specs(self, batch: int = 1) -> list[tuple[str, tuple[int, ...]]]:
        """(name, shape) of every recurrent state tensor, in graph order (see module docstring)."""
        c = self
        specs = []
        for i in range(c.n_blocks):
            specs += [
                (f"conv.{i}", (batch, c.conv_channels, c.d_conv - 1)),
                (f"ssd.{i}", (batch, c.n_ssd_heads, c.d_state, c.ssd_head_dim)),
                (f"shift.{i}", (batch, c.shift_channels)),
                (f"wkv.{i}", (batch, c.n_wkv_heads, c.wkv_head_dim, c.wkv_head_dim)),
            ]
        specs += [(f"pool.{j}", (batch, 2 * c.d_model)) for j in range(c.n_waves)]
        specs.append(("pos", (batch, 1)))
        return specs


_INIT_FIELDS = {
    "vocab_size", "d_model", "n_waves", "expand", "ssd_head_dim", "d_state", "d_conv", "wkv_head_dim",
}

STATES_PER_BLOCK = 4


def segment_sums(log_decay: torch.Tensor) -> torch.Tensor:
    """(..., L) per-step log decays -> (..., L, L) with [t, s] = Σ_{τ=s+1..t} log_decay_τ for
    s ≤ t and −inf above the diagonal. Built by a cumulative sum over a masked copy, so short
    segments are exact even when the whole sequence decays a lot."""
    n = log_decay.shape[-1]
    strict = torch.ones(n, n, dtype=torch.bool, device=log_decay.device).tril(-1)
    grid = log_decay.unsqueeze(-1).expand(*log_decay.shape, n)  # [t, s] = ld_t
    summed = torch.cumsum(torch.where(strict, grid, torch.zeros_like(grid)), dim=-2)
    causal = torch.ones(n, n, dtype=torch.bool, device=log_decay.device).tril()
    return torch.where(causal, summed, torch.full_like(summed, -torch.inf))


def decayed_scan(q, k, v, log_decay, s0, inclusive: bool, chunk: int | None = None):
    """The one recurrence both paths share, in sequence form::

        S_t = exp(log_decay_t) · S_{t−1} + k_t ⊗ v_t          S: (B, H, Dk, Dv)
        y_t = q_t · S_t   (inclusive, SSD)   or   q_t · S_{t−1}   (exclusive, WKV)

    q, k (B, T, H, Dk), v (B, T, H, Dv), log_decay (B, T, H) ≤ 0, s0 (B, H, Dk, Dv) ->
    (y (B, T, H, Dv), S_T).

    ``chunk=None`` treats the whole sequence as one chunk: (T × T) per head, any T, what the
    prefill graph uses. With ``chunk`` (T a multiple of it; training), the quadratic part stays
    inside chunks and states are carried between them, so the cost is T·chunk, not T²."""
    bsz, t, h, _ = k.shape
    n = t if chunk is None else chunk
    nc = 1 if chunk is None else t // chunk
    assert chunk is None or t % chunk == 0, f"T={t} is not a multiple of chunk={chunk}"
    # (B, nc, n, H, ·) chunked views; ld: (B, nc, H, n)
    qc, kc, vc = (a.reshape(bsz, nc, n, h, a.shape[-1]) for a in (q, k, v))
    ld = log_decay.reshape(bsz, nc, n, h).transpose(2, 3)
    seg = segment_sums(ld)  # (B, nc, H, n, n)
    cum = torch.cumsum(ld, dim=-1)  # decay from the chunk start, (B, nc, H, n)
    if inclusive:
        read, read0 = seg, cum
    else:  # q_t reads S_{t−1}: drop the decay of step t itself and the diagonal
        strict = torch.ones(n, n, dtype=torch.bool, device=k.device).tril(-1)
        read = torch.where(strict, seg - ld.unsqueeze(-1), -torch.inf)
        read0 = cum - ld
    att = read.exp() * torch.einsum("bcthk,bcshk->bchts", qc, kc)
    y = torch.einsum("bchts,bcshv->bcthv", att, vc)
    # each chunk's own contribution to the state at its end, and its total decay
    local = torch.einsum("bchs,bcshk,bcshv->bchkv", seg[..., -1, :].exp(), kc, vc)
    total = cum[..., -1].exp()  # (B, nc, H)
    entering = []
    state = s0
    for c in range(nc):
        entering.append(state)
        state = total[:, c, :, None, None] * state + local[:, c]
    s_in = torch.stack(entering, dim=1)  # (B, nc, H, Dk, Dv)
    y = y + torch.einsum("bcthk,bchkv->bcthv", qc, s_in) * read0.exp().transpose(2, 3).unsqueeze(-1)
    return y.reshape(bsz, t, h, v.shape[-1]), state


def decayed_scan_states(q, k, v, log_decay, s0, inclusive: bool):
    """:func:`decayed_scan` for the few tokens of a speculative verification, which also needs
    the state after every position. Same arguments, except that q and k may have a head axis
    of 1 that broadcasts (the SSD's B and C are shared by its heads); returns (y, S_T,
    per-position S_t (B, T, H, Dk, Dv)).

    The states come first and y reads them, all in batched MatMuls::

        S_t = Σ_{s≤t} exp(L_t − L_s) k_s ⊗ v_s + exp(L_t) S_0,     L = cumsum(log_decay)

    A graph of few, plain operators: at T ≈ 5 and d_model 192 one ONNX Runtime call costs its
    operator count, not its FLOPs (docs/engine.md), and the einsum/chunk form of
    :func:`decayed_scan` exports to several times the step graph's operators. L_t − L_s as a
    difference of cumulative sums is exact enough over a handful of tokens."""
    bsz, t, h = log_decay.shape
    dk, dv = k.shape[-1], v.shape[-1]
    cum = torch.cumsum(log_decay, dim=1).transpose(1, 2)  # (B, H, T)
    causal = torch.ones(t, t, dtype=torch.bool, device=k.device).tril()
    decay = torch.where(causal, cum.unsqueeze(-1) - cum.unsqueeze(-2), -torch.inf).exp()
    kv = (k.unsqueeze(-1) * v.unsqueeze(-2)).reshape(bsz, t, h, dk * dv).transpose(1, 2)
    at = decay @ kv + cum.exp().unsqueeze(-1) * s0.reshape(bsz, h, 1, dk * dv)
    at = at.reshape(bsz, h, t, dk, dv).transpose(1, 2)  # (B, T, H, Dk, Dv)
    read = at if inclusive else torch.cat([s0.unsqueeze(1), at[:, :-1]], dim=1)
    y = (q.unsqueeze(-2) @ read).squeeze(-2)
    return y, at[:, -1], at


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class HeadRMSNorm(nn.Module):
    """RMSNorm of each head's K channels separately (RWKV's per-head GroupNorm, without mean)."""

    def __init__(self, n_heads: int, head_dim: int, eps: float = 1e-5):
        super().__init__()
        self.n_heads, self.head_dim, self.eps = n_heads, head_dim, eps
        self.weight = nn.Parameter(torch.ones(n_heads * head_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        h = x.reshape(*shape[:-1], self.n_heads, self.head_dim)
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return h.reshape(shape) * self.weight


class TarsCoreBlock(nn.Module):
    """One block: shared in_proj -> SSD path ∥ WKV path -> gated fusion -> out_proj.
    Returns the residual branch only; the wave adds it to x."""

    def __init__(self, cfg: CoreConfig, layer: int):
        super().__init__()
        self.cfg = cfg
        c = cfg
        e = c.d_inner
        self.norm = RMSNorm(c.d_model)
        self.in_proj = QuantLinear(c.d_model, c.conv_channels + e + c.n_ssd_heads + c.shift_channels,
                                   bias=False)
        self.conv_weight = nn.Parameter(torch.randn(c.conv_channels, c.d_conv) / math.sqrt(c.d_conv))
        self.conv_bias = nn.Parameter(torch.zeros(c.conv_channels))
        # SSD: A spread over [1, 16] and Δ over [1e-3, 1e-1] at init, as in Mamba-2.
        self.A_log = nn.Parameter(torch.log(torch.linspace(1.0, 16.0, c.n_ssd_heads)))
        dt = torch.exp(torch.linspace(math.log(1e-3), math.log(1e-1), c.n_ssd_heads))
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))  # softplus⁻¹(dt)
        self.D = nn.Parameter(torch.ones(c.n_ssd_heads))
        self.ssd_norm = RMSNorm(e)
        # WKV: per-head decay time constants spread over 2..256 tokens at init.
        tau = torch.exp(torch.linspace(math.log(2.0), math.log(256.0), c.n_wkv_heads))
        self.w0 = nn.Parameter(torch.log(-torch.log1p(-1.0 / tau)))
        self.mu = nn.Parameter(torch.full((c.shift_channels,), 0.5))
        self.u = nn.Parameter(torch.ones(e))
        self.wkv_norm = HeadRMSNorm(c.n_wkv_heads, c.wkv_head_dim)
        self.fuse = QuantLinear(2 * e, e)
        self.out_proj = QuantLinear(e, c.d_model, bias=False)
        with torch.no_grad():  # GPT-2 style: residual branches start small
            self.out_proj.weight.mul_(1.0 / math.sqrt(2 * c.n_blocks))

    # -- pieces shared by forward and step --------------------------------------------------

    def _split(self, u: torch.Tensor):
        c = self.cfg
        return torch.split(self.in_proj(u), [c.conv_channels, c.d_inner, c.n_ssd_heads,
                                             c.shift_channels], dim=-1)

    def _ssd_inputs(self, xbc: torch.Tensor, dt_raw: torch.Tensor):
        c = self.cfg
        xs, bm, cm = torch.split(F.silu(xbc), [c.d_inner, c.d_state, c.d_state], dim=-1)
        dt = F.softplus(dt_raw + self.dt_bias)
        log_a = -torch.exp(self.A_log) * dt
        return xs, bm, cm, dt, log_a

    def _wkv_inputs(self, mixed: torch.Tensor):
        c = self.cfg
        r, k, v, w_raw = torch.split(mixed, [c.d_inner] * 3 + [c.n_wkv_heads], dim=-1)
        log_w = -torch.exp(torch.clamp(self.w0 + w_raw, max=WKV_LOG_DECAY_CAP))
        return r, k, v, log_w

    def _fuse(self, y_ssd: torch.Tensor, y_wkv: torch.Tensor) -> torch.Tensor:
        g = torch.sigmoid(self.fuse(torch.cat([y_ssd, y_wkv], dim=-1)))
        return self.out_proj(g * y_ssd + (1 - g) * y_wkv)

    # -- sequence form ------------------------------------------------------------------------

    def forward(self, x: torch.Tensor, state: tuple, per_position: bool = False,
                chunk: int | None = None):
        """x (B, T, D), state (conv, ssd, shift, wkv) -> (branch (B, T, D), final state,
        per-position states or None). Per-position states have T after the batch axis:
        entry t is the state after token t, what the runtime restores after a speculation
        whose last accepted token is t. ``chunk``: see :func:`decayed_scan`."""
        c = self.cfg
        conv0, ssd0, shift0, wkv0 = state
        bsz, t, _ = x.shape
        hs, p, n, hw, kd = c.n_ssd_heads, c.ssd_head_dim, c.d_state, c.n_wkv_heads, c.wkv_head_dim
        xbc, z, dt_raw, rkvw = self._split(self.norm(x))
        if per_position:
            scan = decayed_scan_states
        else:
            def scan(q, k, v, log_decay, s0, inclusive):
                return (*decayed_scan(q, k, v, log_decay, s0, inclusive, chunk), None)

        # SSD: causal depthwise conv with its memory prepended, then the scan
        padded = torch.cat([conv0, xbc.transpose(1, 2)], dim=2)  # (B, C, k−1+T)
        conv = F.conv1d(padded, self.conv_weight.unsqueeze(1), self.conv_bias, groups=c.conv_channels)
        xs, bm, cm, dt, log_a = self._ssd_inputs(conv.transpose(1, 2), dt_raw)
        xh = xs.reshape(bsz, t, hs, p)
        q, k = cm.unsqueeze(2), bm.unsqueeze(2)  # one head, shared by all Hs
        if not per_position:
            q, k = q.expand(bsz, t, hs, n), k.expand(bsz, t, hs, n)
        y, ssd_t, ssd_at = scan(q, k, xh * dt.unsqueeze(-1), log_a, ssd0, inclusive=True)
        y = y + xh * self.D.unsqueeze(-1)
        y_ssd = self.ssd_norm(y.reshape(bsz, t, -1) * F.silu(z))

        # WKV: token shift, then the scan reading the previous state, plus the bonus term
        prev = torch.cat([shift0.unsqueeze(1), rkvw[:, :-1]], dim=1)
        r, k, v, log_w = self._wkv_inputs(rkvw + self.mu * (prev - rkvw))
        rh, kh, vh = (a.reshape(bsz, t, hw, kd) for a in (r, k, v))
        o, wkv_t, wkv_at = scan(rh, kh, vh, log_w, wkv0, inclusive=False)
        o = o + (rh * self.u.reshape(hw, kd) * kh).sum(-1, keepdim=True) * vh
        y_wkv = self.wkv_norm(o.reshape(bsz, t, -1))

        branch = self._fuse(y_ssd, y_wkv)
        k1 = c.d_conv - 1
        final = (padded[:, :, -k1:], ssd_t, rkvw[:, -1], wkv_t)
        if not per_position:
            return branch, final, None
        idx = torch.arange(t, device=x.device).unsqueeze(1) + torch.arange(1, k1 + 1, device=x.device)
        conv_at = padded[:, :, idx].permute(0, 2, 1, 3)  # (B, T, C, k−1)
        return branch, final, (conv_at, ssd_at, rkvw, wkv_at)

    # -- one token ----------------------------------------------------------------------------

    def step(self, x: torch.Tensor, state: tuple):
        """x (B, D), state (conv, ssd, shift, wkv) -> (branch (B, D), state')."""
        c = self.cfg
        conv0, ssd0, shift0, wkv0 = state
        bsz = x.shape[0]
        hs, p, hw, kd = c.n_ssd_heads, c.ssd_head_dim, c.n_wkv_heads, c.wkv_head_dim
        xbc, z, dt_raw, rkvw = self._split(self.norm(x))

        window = torch.cat([conv0, xbc.unsqueeze(-1)], dim=-1)  # (B, C, k)
        conv = (window * self.conv_weight).sum(-1) + self.conv_bias
        xs, bm, cm, dt, log_a = self._ssd_inputs(conv, dt_raw)
        xh = xs.reshape(bsz, hs, p)
        ssd = log_a.exp()[:, :, None, None] * ssd0 + (
            bm[:, None, :, None] * (xh * dt.unsqueeze(-1)).unsqueeze(2))
        y = torch.einsum("bhnp,bn->bhp", ssd, cm) + xh * self.D.unsqueeze(-1)
        y_ssd = self.ssd_norm(y.reshape(bsz, -1) * F.silu(z))

        r, k, v, log_w = self._wkv_inputs(rkvw + self.mu * (shift0 - rkvw))
        rh, kh, vh = (a.reshape(bsz, hw, kd) for a in (r, k, v))
        o = torch.einsum("bhk,bhkj->bhj", rh, wkv0)
        o = o + (rh * self.u.reshape(hw, kd) * kh).sum(-1, keepdim=True) * vh
        wkv = log_w.exp()[:, :, None, None] * wkv0 + kh.unsqueeze(-1) * vh.unsqueeze(-2)
        y_wkv = self.wkv_norm(o.reshape(bsz, -1))

        return self._fuse(y_ssd, y_wkv), (window[:, :, 1:], ssd, rkvw, wkv)


class WaveMerge(nn.Module):
    """WaveGate (α, a scalar per token) + WaveMerge (the correction c) over the causal
    running means of the two blocks' outputs (seed §3.3)."""

    def __init__(self, d_model: int):
        super().__init__()
        self.gate = QuantLinear(2 * d_model, 1)
        self.merge_in = QuantLinear(2 * d_model, d_model)
        self.merge_out = QuantLinear(d_model, d_model, bias=False)
        with torch.no_grad():
            self.gate.weight.zero_()  # α starts at ½: both blocks count equally
            self.gate.bias.zero_()

    def mix(self, x_l: torch.Tensor, x_r: torch.Tensor, pooled: torch.Tensor) -> torch.Tensor:
        """pooled (..., 2D): the causal means [m_L; m_R] at the same positions as x_l, x_r."""
        alpha = torch.sigmoid(self.gate(pooled))
        correction = self.merge_out(F.silu(self.merge_in(pooled)))
        return (1 - alpha) * x_l + alpha * x_r + MERGE_CORRECTION * correction

    def forward(self, x_l, x_r, pool0, pos0):
        """x_l, x_r (B, T, D), pool0 (B, 2D), pos0 (B, 1) -> (x' (B, T, D), running sums at
        every position (B, T, 2D))."""
        t = x_l.shape[1]
        sums = torch.cumsum(torch.cat([x_l, x_r], dim=-1), dim=1) + pool0.unsqueeze(1)
        count = pos0.unsqueeze(1) + torch.arange(1, t + 1, dtype=x_l.dtype, device=x_l.device
                                                 ).reshape(1, t, 1)
        return self.mix(x_l, x_r, sums / count), sums

    def step(self, x_l, x_r, pool0, pos0):
        """x_l, x_r (B, D) -> (x' (B, D), pool' (B, 2D)); pos0 is the count before this token."""
        sums = pool0 + torch.cat([x_l, x_r], dim=-1)
        return self.mix(x_l, x_r, sums / (pos0 + 1)), sums


class TarsCore(nn.Module):
    """Byte-level LM: tokens -> (logits (B, T, 256), hidden (B, T, D)) with explicit states."""

    def __init__(self, cfg: CoreConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = QuantEmbedding(cfg.vocab_size, cfg.d_model)
        nn.init.normal_(self.embed.weight, std=0.02)
        self.blocks = nn.ModuleList(TarsCoreBlock(cfg, i) for i in range(cfg.n_blocks))
        self.merges = nn.ModuleList(WaveMerge(cfg.d_model) for _ in range(cfg.n_waves))
        self.norm_f = RMSNorm(cfg.d_model)

    def initial_state(self, batch: int = 1) -> list[torch.Tensor]:
        dtype = self.embed.weight.dtype
        return [torch.zeros(shape, dtype=dtype) for _, shape in self.cfg.state_specs(batch)]

    def head(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.norm_f(x)
        # the tied table as the embedding sees it (int8 per row in the quantized variants)
        return F.linear(hidden, fake_quant(self.embed.weight, self.embed.scheme)), hidden

    def _unpack(self, states: list[torch.Tensor]):
        nb = self.cfg.n_blocks
        blocks = [tuple(states[STATES_PER_BLOCK * i : STATES_PER_BLOCK * (i + 1)]) for i in range(nb)]
        rest = states[STATES_PER_BLOCK * nb :]
        return blocks, rest[:-1], rest[-1]

    def forward(self, tokens: torch.Tensor, states: list[torch.Tensor] | None = None,
                per_position: bool = False, chunk: int | None = None):
        """tokens (B, T) int64, states in ``state_specs`` order (zeros if None) ->
        (logits (B, T, V), hidden (B, T, D), final states, per-position states or None).
        Per-position states have shape (B, T, *state shape without B). ``chunk`` (training):
        see :func:`decayed_scan`."""
        bsz, t = tokens.shape
        if states is None:
            states = self.initial_state(bsz)
        blocks, pools, pos = self._unpack(states)
        x = self.embed(tokens)
        new_blocks, at_blocks, new_pools, at_pools = [], [], [], []
        for j, merge in enumerate(self.merges):
            outs = []
            for i in (2 * j, 2 * j + 1):
                branch, final, at = self.blocks[i](x, blocks[i], per_position, chunk)
                outs.append(x + branch)
                new_blocks += final
                at_blocks += at or ()
            x, sums = merge(outs[0], outs[1], pools[j], pos)
            new_pools.append(sums[:, -1])
            at_pools.append(sums)
        logits, hidden = self.head(x)
        new_pos = pos + t
        final = new_blocks + new_pools + [new_pos]
        if not per_position:
            return logits, hidden, final, None
        steps = torch.arange(1, t + 1, dtype=pos.dtype, device=pos.device).reshape(1, t, 1)
        return logits, hidden, final, at_blocks + at_pools + [pos.unsqueeze(1) + steps]

    def step(self, token: torch.Tensor, states: list[torch.Tensor]):
        """token (B,) int64 -> (logits (B, V), hidden (B, D), states')."""
        blocks, pools, pos = self._unpack(states)
        x = self.embed(token)
        new_blocks, new_pools = [], []
        for j, merge in enumerate(self.merges):
            outs = []
            for i in (2 * j, 2 * j + 1):
                branch, st = self.blocks[i].step(x, blocks[i])
                outs.append(x + branch)
                new_blocks += st
            x, sums = merge.step(outs[0], outs[1], pools[j], pos)
            new_pools.append(sums)
        logits, hidden = self.head(x)
        return logits, hidden, new_blocks + new_pools + [pos + 1]

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


# -- what goes into ONNX ----------------------------------------------------------------------


class StepGraph(nn.Module):
    """token (1,) int64 + states -> logits (1, V), hidden (1, D), states'."""

    def __init__(self, model: TarsCore):
        super().__init__()
        self.model = model

    def forward(self, token, *states):
        logits, hidden, new = self.model.step(token, list(states))
        return (logits, hidden, *new)


class PrefillGraph(nn.Module):
    """tokens (1, T) + states -> logits (1, T, V), hidden (1, T, D), final states."""

    def __init__(self, model: TarsCore):
        super().__init__()
        self.model = model

    def forward(self, tokens, *states):
        logits, hidden, final, _ = self.model(tokens, list(states))
        return (logits, hidden, *final)
