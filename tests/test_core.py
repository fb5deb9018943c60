"""The core LM: the sequence form (training, prefill, verify) equals the one-token recurrence
for every block type, in every quantization scheme, and the config refuses bad sizes."""

import pytest
import torch

from tars_export.core import (
    CoreConfig,
    TarsCore,
    TarsCoreBlock,
    WaveMerge,
    decayed_scan,
    decayed_scan_states,
    segment_sums,
)
from tars_export.quant import set_scheme

TINY = dict(d_model=32, n_waves=2, ssd_head_dim=8, wkv_head_dim=8, d_state=4)


def _randomize(module: torch.nn.Module, seed: int) -> None:
    """Move the scalar parameters off their init values so every path matters."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.dim() <= 1:
                p.add_(0.3 * torch.randn(p.shape, generator=g, dtype=p.dtype))


def _random_states(cfg: CoreConfig, batch: int, seed: int, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    states = [0.5 * torch.randn(shape, generator=g, dtype=dtype) for _, shape in cfg.state_specs(batch)]
    states[-1] = torch.full((batch, 1), 7.0, dtype=dtype)  # pos: tokens seen so far
    return states


def test_segment_sums_are_exact_partial_sums():
    ld = -torch.rand(2, 3, 9, dtype=torch.float64)
    seg = segment_sums(ld)
    for t in range(9):
        for s in range(9):
            if s > t:
                assert seg[0, 1, t, s] == -torch.inf
            else:
                torch.testing.assert_close(seg[..., t, s], ld[..., s + 1 : t + 1].sum(-1))


@pytest.mark.parametrize("inclusive", [True, False])
@pytest.mark.parametrize("chunk", [None, 4])
def test_decayed_scan_matches_the_loop(inclusive, chunk):
    torch.manual_seed(0)
    b, t, h, dk, dv = 2, 12, 3, 4, 5
    q, k = torch.randn(b, t, h, dk, dtype=torch.float64), torch.randn(b, t, h, dk, dtype=torch.float64)
    v = torch.randn(b, t, h, dv, dtype=torch.float64)
    ld = -3 * torch.rand(b, t, h, dtype=torch.float64)
    s0 = torch.randn(b, h, dk, dv, dtype=torch.float64)
    y, final = decayed_scan(q, k, v, ld, s0, inclusive, chunk)
    y2, final2, at = decayed_scan_states(q, k, v, ld, s0, inclusive)
    torch.testing.assert_close(y2, y)
    torch.testing.assert_close(final2, final)
    s = s0
    for i in range(t):
        prev = s
        s = ld[:, i, :, None, None].exp() * s + k[:, i, :, :, None] * v[:, i, :, None, :]
        read = s if inclusive else prev
        torch.testing.assert_close(y[:, i], torch.einsum("bhk,bhkv->bhv", q[:, i], read))
        torch.testing.assert_close(at[:, i], s)
    torch.testing.assert_close(final, s)


def test_block_forward_equals_step_with_every_state():
    cfg = CoreConfig(**TINY)
    torch.manual_seed(1)
    block = TarsCoreBlock(cfg, 0).double()
    _randomize(block, 1)
    x = torch.randn(2, 11, cfg.d_model, dtype=torch.float64)
    state = tuple(_random_states(cfg, 2, 2)[:4])
    branch, final, at = block(x, state, per_position=True)
    st = state
    for t in range(x.shape[1]):
        out, st = block.step(x[:, t], st)
        torch.testing.assert_close(branch[:, t], out)
        for seq_state, step_state in zip(at, st):
            torch.testing.assert_close(seq_state[:, t], step_state)
    for a, b in zip(final, st):
        torch.testing.assert_close(a, b)


def test_wave_merge_forward_equals_step():
    torch.manual_seed(3)
    merge = WaveMerge(16).double()
    _randomize(merge, 3)
    with torch.no_grad():
        merge.gate.weight.normal_()
    x_l, x_r = torch.randn(2, 9, 16, dtype=torch.float64), torch.randn(2, 9, 16, dtype=torch.float64)
    pool, pos = torch.randn(2, 32, dtype=torch.float64), torch.full((2, 1), 4.0, dtype=torch.float64)
    out, sums = merge(x_l, x_r, pool, pos)
    for t in range(9):
        o, pool = merge.step(x_l[:, t], x_r[:, t], pool, pos)
        pos = pos + 1
        torch.testing.assert_close(out[:, t], o)
        torch.testing.assert_close(sums[:, t], pool)


def _core(seed: int, dtype=torch.float64, **overrides) -> TarsCore:
    torch.manual_seed(seed)
    model = TarsCore(CoreConfig(**{**TINY, **overrides})).to(dtype)
    _randomize(model, seed)
    return model.eval()


def test_model_forward_step_chunked_split_and_per_position_agree():
    model = _core(4)
    cfg = model.cfg
    tokens = torch.randint(0, 256, (2, 16))
    states = _random_states(cfg, 2, 5)
    with torch.no_grad():
        logits, hidden, final, at = model(tokens, states, per_position=True)
        chunked, _, final_c, _ = model(tokens, states, chunk=4)
        a, _, mid, _ = model(tokens[:, :7], states)
        b, _, final_s, _ = model(tokens[:, 7:], mid)
        st = states
        for t in range(tokens.shape[1]):
            lg, hd, st = model.step(tokens[:, t], st)
            torch.testing.assert_close(lg, logits[:, t])
            torch.testing.assert_close(hd, hidden[:, t])
            for seq_state, step_state in zip(at, st):
                torch.testing.assert_close(seq_state[:, t], step_state)
    torch.testing.assert_close(chunked, logits)
    torch.testing.assert_close(torch.cat([a, b], dim=1), logits)
    for x, y, z, w in zip(final, st, final_c, final_s):
        torch.testing.assert_close(x, y)
        torch.testing.assert_close(x, z)
        torch.testing.assert_close(x, w)


@pytest.mark.parametrize("scheme", ["int8", "ternary"])
def test_quantized_schemes_keep_step_equivalence(scheme):
    model = _core(6, dtype=torch.float32)
    set_scheme(model, scheme, embeddings="int8")
    tokens = torch.randint(0, 256, (1, 20))
    with torch.no_grad():
        logits, *_ = model(tokens)
        st = model.initial_state(1)
        for t in range(tokens.shape[1]):
            lg, _, st = model.step(tokens[:, t], st)
    torch.testing.assert_close(lg, logits[:, -1], atol=1e-4, rtol=1e-4)


def test_long_strongly_decaying_sequence_stays_finite_and_consistent():
    model = _core(7, dtype=torch.float32)
    with torch.no_grad():
        for block in model.blocks:
            block.w0.fill_(10.0)  # hits the decay cap
            block.A_log.fill_(5.0)
        tokens = torch.randint(0, 256, (1, 300))
        logits, _, final, _ = model(tokens)
        assert torch.isfinite(logits).all()
        assert all(torch.isfinite(s).all() for s in final)
        chunked, *_ = model(tokens, chunk=30)
    torch.testing.assert_close(chunked, logits, atol=1e-4, rtol=1e-4)


def test_state_specs_match_initial_state_and_the_step_output():
    model = _core(8, dtype=torch.float32)
    specs = model.cfg.state_specs(1)
    init = model.initial_state(1)
    assert [tuple(s.shape) for s in init] == [shape for _, shape in specs]
    _, _, new = model.step(torch.tensor([65]), init)
    assert [tuple(s.shape) for s in new] == [shape for _, shape in specs]
    names = [n for n, _ in specs]
    assert len(set(names)) == len(names) and names[-1] == "pos"


@pytest.mark.parametrize("bad", [
    dict(d_model=30), dict(n_waves=0), dict(vocab_size=512), dict(ssd_head_dim=7),
    dict(wkv_head_dim=24, d_model=32), dict(d_conv=1), dict(expand=0),
])
def test_config_refuses_bad_sizes(bad):
    with pytest.raises(AssertionError):
        CoreConfig(**{**TINY, **bad})


def test_config_round_trips_through_a_dict():
    cfg = CoreConfig(**TINY)
    again = CoreConfig.from_dict(cfg.to_dict())
    assert again == cfg and again.n_blocks == 4 and again.d_inner == 32
