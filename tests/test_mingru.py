"""MinGRU: the closed-form scan (ONNX), the loop scan (training) and the one-step recurrence
(streaming) compute the same states; the reflex model agrees across its three forms."""

import pytest
import torch

from tars_export.mingru import (
    MAX_GATE_LOGIT,
    MinGRU,
    ReflexConfig,
    ReflexGraph,
    ReflexMinGRU,
    keep_members_apart,
    merge_members,
)
from tars_export.quant import set_scheme


def test_closed_form_scan_and_step_agree():
    torch.manual_seed(0)
    cell = MinGRU(16, 32)
    x = torch.randn(3, 40, 16)
    h0 = torch.randn(3, 32)
    parallel = cell(x, h0)
    torch.testing.assert_close(cell.scan(x, h0), parallel, atol=1e-5, rtol=1e-4)
    for chunk in (1, 2, 5, 8):  # chunked two-level form, incl. the degenerate chunk of one
        torch.testing.assert_close(cell(x, h0, chunk=chunk), parallel, atol=1e-5, rtol=1e-4)
    h = h0
    for t in range(x.shape[1]):
        h = cell.step(x[:, t], h)
        torch.testing.assert_close(parallel[:, t], h, atol=1e-5, rtol=1e-4)


def test_chunked_form_with_saturated_gates_matches_the_recurrence():
    """Gate logits far past ±MAX_GATE_LOGIT (a state forgotten at once, or kept for good) in
    every chunk position: the factored chunk form neither overflows nor drifts from ``scan``."""
    torch.manual_seed(4)
    cell = MinGRU(8, 16)
    with torch.no_grad():
        cell.gate.weight.mul_(60)
    x = torch.randn(2, 72, 8)
    h0 = torch.randn(2, 16)
    z = cell.gate(x)
    assert (z > 3 * MAX_GATE_LOGIT).any() and (z < -3 * MAX_GATE_LOGIT).any()
    for chunk in (8, 9):  # 9 = MAX_CHUNK: the factors on both sides of the middle reach e^72
        chunked = cell(x, h0, chunk=chunk)
        assert torch.isfinite(chunked).all()
        torch.testing.assert_close(chunked, cell.scan(x, h0), atol=1e-5, rtol=1e-4)


def test_chunk_longer_than_the_factored_form_allows_is_refused():
    with pytest.raises(AssertionError, match="chunk=16"):
        MinGRU(4, 4)(torch.randn(1, 32, 4), torch.zeros(1, 4), chunk=16)


def test_long_sequence_stays_finite():
    torch.manual_seed(1)
    cell = MinGRU(8, 8)
    out = cell(torch.randn(1, 600, 8) * 5, torch.zeros(1, 8))
    assert torch.isfinite(out).all()


def _check_reflex_forms(model: ReflexMinGRU):
    texts = [torch.randint(0, 256, (n,)) for n in (1, 3, 17, 9)]
    batch = torch.zeros(len(texts), 17, dtype=torch.long)
    for i, t in enumerate(texts):
        batch[i, : len(t)] = t
    lengths = torch.tensor([len(t) for t in texts])
    with torch.no_grad():
        batched_logits, batched_conf = model(batch, lengths)
        for i, t in enumerate(texts):
            logits, conf = model(t[None])
            torch.testing.assert_close(batched_logits[i], logits[0], atol=1e-5, rtol=1e-4)
            torch.testing.assert_close(batched_conf[i], conf[0], atol=1e-5, rtol=1e-4)
            state = model.initial_state(1)
            for token in t:
                step_logits, step_conf, state = model.step(token[None], state)
            torch.testing.assert_close(step_logits, logits, atol=1e-5, rtol=1e-4)
            torch.testing.assert_close(step_conf, conf, atol=1e-5, rtol=1e-4)
            padded = torch.zeros(1, 32, dtype=torch.long)  # the graph's zero-padded input
            padded[0, : len(t)] = t
            g_logits, g_conf = ReflexGraph(model)(padded, torch.tensor([len(t)]))
            torch.testing.assert_close(g_logits, logits, atol=1e-5, rtol=1e-4)
            torch.testing.assert_close(g_conf, torch.sigmoid(conf), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("max_pool", [False, True])
def test_reflex_batched_step_and_graph_agree(max_pool):
    """With max_pool the padding must not win the max (the graph masks it; the batch too)."""
    torch.manual_seed(2)
    _check_reflex_forms(ReflexMinGRU(ReflexConfig(max_pool=max_pool)).eval())


@pytest.mark.parametrize("max_pool", [False, True])
def test_quantized_schemes_keep_the_forms_equivalent(max_pool):
    torch.manual_seed(3)
    for scheme in ("int8", "ternary"):
        model = ReflexMinGRU(ReflexConfig(max_pool=max_pool)).eval()
        set_scheme(model, scheme, embeddings="int8")
        _check_reflex_forms(model)


def _trained_like(cfg: ReflexConfig, seed: int) -> ReflexMinGRU:
    """Random weights without the zero biases of a fresh model, so every block is exercised."""
    torch.manual_seed(seed)
    model = ReflexMinGRU(cfg)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.2 * torch.randn_like(p))
    return model.eval()


@pytest.mark.parametrize("max_pool", [False, True])
@pytest.mark.parametrize("scheme", ["none", "int8"])
def test_merged_members_are_their_ensemble(max_pool, scheme):
    """The merged graph averages the members' probabilities and confidences exactly (int8
    linear layers too: the zeros between members leave each output channel's scale alone),
    and its three forms agree like a single model's."""
    cfg = ReflexConfig(d_hidden=24, max_pool=max_pool)
    members = [_trained_like(cfg, seed) for seed in range(3)]
    for m in members:
        set_scheme(m, scheme)
    merged = merge_members(members)
    assert merged.cfg.members == 3 and merged.width == 72
    tokens = torch.randint(0, 256, (4, 21))
    lengths = torch.tensor([21, 1, 8, 15])
    with torch.no_grad():
        logits, conf = merged(tokens, lengths)
        outs = [m(tokens, lengths) for m in members]
    torch.testing.assert_close(logits.softmax(-1), torch.stack([o[0].softmax(-1) for o in outs]).mean(0),
                               atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(torch.sigmoid(conf), torch.stack([torch.sigmoid(o[1]) for o in outs]).mean(0),
                               atol=1e-6, rtol=1e-5)
    _check_reflex_forms(merged)


def test_merge_refuses_mixed_configs():
    with pytest.raises(AssertionError, match="one config"):
        merge_members([ReflexMinGRU(ReflexConfig(d_hidden=8)), ReflexMinGRU(ReflexConfig(d_hidden=16))])


def test_fine_tuning_a_merged_model_keeps_it_an_ensemble():
    """With keep_members_apart, AdamW steps leave the zeros between members at zero."""
    members = [_trained_like(ReflexConfig(d_hidden=16, max_pool=True), seed) for seed in range(2)]
    merged = merge_members(members)
    set_scheme(merged, "ternary")
    zero = {name: p.detach() == 0 for name, p in merged.named_parameters()}
    assert zero["cell.gate.weight"].sum() == 2 * 16 * 64 and zero["intent_head.weight"].any()
    hooks = keep_members_apart(merged)
    optim = torch.optim.AdamW(merged.parameters(), lr=0.05, weight_decay=0.1)
    tokens = torch.randint(0, 256, (8, 12))
    for _ in range(3):
        logits, conf = merged.train()(tokens)
        (logits.logsumexp(-1).sum() + conf.sum()).backward()
        optim.step()
        optim.zero_grad()
    for hook in hooks:
        hook.remove()
    for name, p in merged.named_parameters():
        assert (p[zero[name]] == 0).all(), name
    assert not torch.equal(merged.cell.gate.weight, merge_members(members).cell.gate.weight)
