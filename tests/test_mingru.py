"""MinGRU: the closed-form scan (ONNX), the loop scan (training) and the one-step recurrence
(streaming) compute the same states; the reflex model agrees across its three forms."""

import pytest
import torch

from tars_export.mingru import MinGRU, ReflexConfig, ReflexGraph, ReflexMinGRU
from tars_export.quant import set_scheme


def test_closed_form_scan_and_step_agree():
    torch.manual_seed(0)
    cell = MinGRU(16, 32)
    x = torch.randn(3, 40, 16)
    h0 = torch.randn(3, 32)
    parallel = cell(x, h0)
    torch.testing.assert_close(cell.scan(x, h0), parallel, atol=1e-5, rtol=1e-4)
    for chunk in (1, 5, 8, 40):  # chunked two-level form, incl. degenerate chunk sizes
        torch.testing.assert_close(cell(x, h0, chunk=chunk), parallel, atol=1e-5, rtol=1e-4)
    h = h0
    for t in range(x.shape[1]):
        h = cell.step(x[:, t], h)
        torch.testing.assert_close(parallel[:, t], h, atol=1e-5, rtol=1e-4)


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
