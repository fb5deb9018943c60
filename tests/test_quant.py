"""tars_export.quant: quantizers, packing, STE, and the ONNX rewrite against PyTorch."""

from __future__ import annotations

import contextlib
import io
import json
import math
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from tars_export.quant import (
    DEFAULT_EXECUTION,
    METADATA_KEY,
    QuantEmbedding,
    QuantLinear,
    dequantize,
    fake_quant,
    fake_quant_activations,
    find_linear_weights,
    int8_bits_per_weight,
    int8_quantize,
    pack_ternary,
    quantize_onnx_weights,
    quantized_weight_names,
    set_scheme,
    ternary_bits_per_weight,
    ternary_quantize,
    unpack_ternary,
)

torch.set_num_threads(2)

finite = st.floats(-4.0, 4.0, allow_nan=False, width=32)
matrices = hnp.arrays(np.float32, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=40),
                      elements=finite)


# ------------------------------------------------------------------------------ quantizers


@given(matrices)
def test_ternary_values_and_absmean_scale(w):
    q, scale = ternary_quantize(torch.from_numpy(w))
    assert q.dtype == torch.int8 and scale.dtype == torch.float32 and scale.dim() == 0
    assert set(np.unique(q.numpy())) <= {-1, 0, 1}
    nonzero = np.abs(w.astype(np.float64))[w != 0]  # exact zeros are structure, not weights
    expected = max(np.float32(nonzero.mean()), np.float32(1e-8)) if nonzero.size else np.float32(1e-8)
    assert scale.item() == expected  # bit-exact: mean in float64, rounded to float32 once
    # round-to-nearest then clip, in float32, like the definition
    ref = np.clip(np.round(w / np.float32(scale.item())), -1, 1)
    np.testing.assert_array_equal(q.numpy(), ref)


def test_ternary_scale_ignores_structural_zeros():
    """A block-diagonal ensemble quantizes each block as it would alone (same absmean)."""
    block = torch.randn(4, 6)
    q, scale = ternary_quantize(torch.block_diag(block, block))
    q1, scale1 = ternary_quantize(block)
    assert scale.item() == scale1.item()
    assert torch.equal(q, torch.block_diag(q1, q1))


def test_ternary_all_zero_matrix_stays_zero():
    q, scale = ternary_quantize(torch.zeros(3, 5))
    assert scale.item() > 0 and not q.any()


@given(matrices, st.sampled_from([0, 1, -1]))
def test_int8_per_channel_error_at_most_half_a_step(w, axis):
    q, scale = int8_quantize(torch.from_numpy(w), axis=axis)
    axis %= 2
    assert q.dtype == torch.int8 and scale.shape == (w.shape[axis],)
    assert q.abs().max() <= 127
    s = scale.numpy()
    expected = np.maximum(np.abs(w).max(axis=1 - axis) / np.float32(127), np.float32(1e-8))
    np.testing.assert_array_equal(s, expected)
    s_b = s[:, None] if axis == 0 else s[None, :]
    err = np.abs(w.astype(np.float64) - q.numpy().astype(np.float64) * s_b)
    assert np.all(err <= s_b.astype(np.float64) / 2 * (1 + 1e-6) + 1e-12)


@given(matrices, st.sampled_from(["int8", "ternary"]))
def test_fake_quant_forward_is_exactly_q_times_scale(w, scheme):
    t = torch.from_numpy(w)
    q, scale = (ternary_quantize(t) if scheme == "ternary" else int8_quantize(t))
    out = fake_quant(t, scheme)
    per_row = scale if scheme == "ternary" else scale[:, None]
    assert torch.equal(out, q.to(torch.float32) * per_row)
    assert torch.equal(out, dequantize(q, scale))


@pytest.mark.parametrize("scheme", ["none", "int8", "ternary"])
def test_ste_gradient_is_identity(scheme):
    torch.manual_seed(0)
    w = torch.randn(7, 5, requires_grad=True)
    g = torch.randn(7, 5)
    fake_quant(w, scheme).backward(g)
    assert torch.equal(w.grad, g)


def test_quant_linear_trains_master_weights_through_ste():
    torch.manual_seed(0)
    layer = QuantLinear(6, 4, scheme="ternary")
    x = torch.randn(3, 6)
    layer(x).pow(2).sum().backward()
    # STE: d loss / d W = d loss / d Ŵ, computed with the dequantized weight
    w_hat = fake_quant(layer.weight.detach(), "ternary").requires_grad_()
    torch.nn.functional.linear(x, w_hat, layer.bias.detach()).pow(2).sum().backward()
    torch.testing.assert_close(layer.weight.grad, w_hat.grad, rtol=0, atol=0)


def test_set_scheme_and_names():
    model = nn.Sequential(QuantLinear(4, 8), nn.ReLU(), nn.Sequential(QuantLinear(8, 3)),
                          QuantEmbedding(10, 4))
    assert set_scheme(model, "ternary") == 2
    assert [m.scheme for m in model.modules() if isinstance(m, QuantLinear)] == ["ternary"] * 2
    assert model[3].scheme == "none"  # embeddings only when asked
    assert set_scheme(model, "int8", embeddings="int8") == 3
    assert quantized_weight_names(model, "m.") == {
        "m.0.weight": "int8", "m.2.0.weight": "int8", "m.3.weight": "int8"}
    with pytest.raises(ValueError, match="unknown quantization scheme"):
        set_scheme(model, "int4")
    with pytest.raises(ValueError):
        QuantLinear(2, 2, scheme="fp16")
    assert "scheme='int8'" in repr(model[0])


# --------------------------------------------------------------------------------- packing


@given(hnp.arrays(np.int8, hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=23),
                  elements=st.integers(-1, 1)))
def test_pack_unpack_round_trip(q):
    packed = pack_ternary(q)
    assert packed.dtype == np.uint8 and packed.shape == (math.ceil(q.size / 4),)
    out = unpack_ternary(packed, q.shape)
    assert out.dtype == np.int8
    np.testing.assert_array_equal(out, q)


def test_pack_layout_is_low_bits_first_code_q_plus_2():
    packed = pack_ternary(np.array([-1, 0, 1, 1, -1], np.int8))
    assert packed.tolist() == [0b11_11_10_01, 0b10_10_10_01]


def test_pack_rejects_bad_input():
    with pytest.raises(ValueError):
        pack_ternary(np.array([2], np.int8))
    with pytest.raises(TypeError):
        pack_ternary(np.array([0.5]))
    with pytest.raises(ValueError):
        unpack_ternary(np.zeros(3, np.uint8), (4, 4))
    with pytest.raises(ValueError, match="corrupt"):
        unpack_ternary(np.zeros(1, np.uint8), (4,))


@settings(deadline=None)
@given(st.integers(1, 1024), st.integers(1, 1024))
def test_ternary_bits_per_weight(rows, cols):
    n = rows * cols
    bits = ternary_bits_per_weight((rows, cols))
    assert bits == (8 * pack_ternary(np.zeros(n, np.int8)).size + 32) / n
    if n >= 380:
        assert bits <= 2.1
    assert int8_bits_per_weight((rows, cols)) == pytest.approx(8 + 32 / cols)


# ---------------------------------------------------------------------------- ONNX rewrite


class _Net(nn.Module):
    """Linear layers on 3-D input (exported as MatMul with a folded, renamed W.T), a shared
    layer called twice, and a head on 2-D input (exported as Gemm, transB=1)."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(QuantLinear(24, 48), nn.Tanh(), QuantLinear(48, 40, bias=False))
        self.shared = QuantLinear(40, 40)
        self.head = QuantLinear(40, 6)

    def forward(self, x):
        h = torch.tanh(self.shared(torch.tanh(self.shared(self.body(x)))))
        return self.head(h[:, -1])


def _export(model: nn.Module, x: torch.Tensor, dynamo: bool) -> onnx.ModelProto:
    buf = io.BytesIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        if dynamo:
            import tempfile
            from pathlib import Path

            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "m.onnx"
                torch.onnx.export(model, (x,), str(path), dynamo=True, input_names=["x"],
                                  opset_version=18)
                return onnx.load(str(path))
        torch.onnx.export(model, (x,), buf, dynamo=False, input_names=["x"], opset_version=17,
                          dynamic_axes={"x": {0: "B", 1: "T"}})
    return onnx.load_from_string(buf.getvalue())


def _run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    s = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return s.run(None, {s.get_inputs()[0].name: x})[0]


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    model = _Net().eval()
    x = torch.randn(2, 9, 24)
    return model, x, {False: _export(model, x, False)}


def _reference(model, x, scheme):
    set_scheme(model, scheme)
    try:
        with torch.no_grad():
            return model(x).numpy()
    finally:
        set_scheme(model, "none")


@pytest.mark.parametrize("scheme", ["ternary", "int8"])
def test_rewrite_matches_pytorch_fake_quant(net, scheme):
    model, x, graphs = net
    fp32 = graphs[False]
    set_scheme(model, scheme)
    names = quantized_weight_names(model)
    set_scheme(model, "none")
    q = quantize_onnx_weights(fp32, list(names), scheme)
    ref = _reference(model, x, scheme)
    got = _run(q, x.numpy())
    assert np.max(np.abs(got - ref)) <= 1e-4
    # and it really is quantized: far from the fp32 output
    assert np.max(np.abs(_run(fp32, x.numpy()) - ref)) > 1e-3
    meta = json.loads({p.key: p.value for p in q.metadata_props}[METADATA_KEY])
    assert {v["scheme"] for v in meta.values()} == {scheme}
    assert {v["execution"] for v in meta.values()} == {DEFAULT_EXECUTION[scheme]}


def test_rewrite_with_dynamo_exporter(net):
    model, x, _ = net
    fp32 = _export(model, x, True)
    for scheme in ("ternary", "int8"):
        set_scheme(model, scheme)
        names = quantized_weight_names(model)
        set_scheme(model, "none")
        got = _run(quantize_onnx_weights(fp32, names, scheme), x.numpy())
        assert np.max(np.abs(got - _reference(model, x, scheme))) <= 1e-4


def test_weights_are_resolved_to_parameter_names(net):
    _, _, graphs = net
    refs = {r.name: r for r in find_linear_weights(graphs[False])}
    assert set(refs) == {"body.0.weight", "body.2.weight", "shared.weight", "head.weight"}
    assert refs["body.0.weight"].transposed and refs["body.0.weight"].shape == (24, 48)
    assert not refs["head.weight"].transposed  # Gemm transB=1 keeps the PyTorch layout
    assert refs["shared.weight"].uses.count("matmul") == 2  # called twice, one initializer


@pytest.mark.parametrize("scheme,execution", [("ternary", "nbits2"), ("ternary", "nbits4"),
                                              ("int8", "nbits8")])
def test_matmulnbits_executions_are_exact_with_accuracy_level_0(net, scheme, execution):
    model, x, graphs = net
    q = quantize_onnx_weights(graphs[False], None, scheme, execution=execution, accuracy_level=0)
    assert any(n.op_type == "MatMulNBits" for n in q.graph.node)
    assert np.max(np.abs(_run(q, x.numpy()) - _reference(model, x, scheme))) <= 1e-4


def test_dequantized_weight_is_bit_identical_to_pytorch():
    """x = I makes MatMul return its weight operand exactly: the ONNX dequantized weight must
    equal PyTorch's fake_quant bit for bit (both compute float32(q) * scale)."""
    torch.manual_seed(1)
    w = torch.randn(13, 10)  # (out, in); 130 weights: not a multiple of 4
    g = helper.make_graph([helper.make_node("MatMul", ["x", "onnx::MatMul_7"], ["y"],
                                            name="/lin/MatMul")], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [10, 10])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [10, 13])],
                          [numpy_helper.from_array(w.T.contiguous().numpy(), "onnx::MatMul_7")])
    fp32 = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    eye = np.eye(10, dtype=np.float32)
    for scheme in ("ternary", "int8"):
        q = quantize_onnx_weights(fp32, ["lin.weight"], scheme)
        np.testing.assert_array_equal(_run(q, eye), fake_quant(w, scheme).T.numpy())


def test_fold_execution_really_folds_in_onnxruntime(tmp_path, net):
    _, _, graphs = net
    reference = None
    for scheme in ("none", "ternary", "int8"):
        path = tmp_path / f"{scheme}.onnx"
        onnx.save(quantize_onnx_weights(graphs[False], None, scheme), str(path))
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.optimized_model_filepath = str(tmp_path / f"{scheme}.opt.onnx")
        opts.log_severity_level = 3
        ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        if reference is None:
            optimised = onnx.load(opts.optimized_model_filepath)
            reference = sorted(n.op_type for n in optimised.graph.node)
            continue
        ops = sorted(n.op_type for n in onnx.load(opts.optimized_model_filepath).graph.node)
        assert ops == reference, ops  # the unpack subgraph is gone: only the fp32 graph's ops


def test_rewritten_file_is_smaller_by_the_expected_factor():
    torch.manual_seed(0)
    model = nn.Sequential(QuantLinear(256, 512), nn.ReLU(), QuantLinear(512, 256)).eval()
    x = torch.randn(4, 7, 256)
    fp32 = _export(model, x, False)
    n_weights = 2 * 256 * 512
    size = {s: len(quantize_onnx_weights(fp32, None, s).SerializeToString())
            for s in ("ternary", "int8")}
    fp32_size = len(fp32.SerializeToString())
    # weights dominate: 32 bits → ~2 bits (ternary) and ~8 bits (int8) per weight
    assert fp32_size / size["ternary"] >= 14
    assert fp32_size / size["int8"] >= 3.8
    assert 8 * size["ternary"] / n_weights <= 2.1 + 8 * 4 * (512 + 256) / n_weights + 0.05
    for s in ("ternary", "int8"):
        assert np.max(np.abs(_run(quantize_onnx_weights(fp32, None, s), x.numpy())
                             - _reference(model, x, s))) <= 1e-4


def test_weight_exported_with_the_scheme_already_applied():
    """torch.onnx (dynamo) folds a fake-quantized forward into the initializer; the rewrite
    must keep those values (re-quantizing would change the ternary scale)."""
    torch.manual_seed(0)
    model = nn.Sequential(QuantLinear(32, 16, scheme="ternary")).eval()
    x = torch.randn(5, 32)
    folded = _export(model, x, True)
    q = quantize_onnx_weights(folded, ["0.weight"], "ternary")
    with torch.no_grad():
        assert np.max(np.abs(_run(q, x.numpy()) - model(x).numpy())) <= 1e-4


def test_embedding_and_tied_head():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = QuantEmbedding(50, 16, scheme="int8")
            self.mix = QuantLinear(16, 16, scheme="ternary")

        def forward(self, t):
            h = torch.tanh(self.mix(self.emb(t)))
            return torch.nn.functional.linear(h, fake_quant(self.emb.weight, self.emb.scheme))

    torch.manual_seed(0)
    model = Tied().eval()
    t = torch.randint(0, 50, (2, 6))
    with torch.no_grad():
        ref = model(t).numpy()
    names = quantized_weight_names(model)
    assert names == {"emb.weight": "int8", "mix.weight": "ternary"}
    set_scheme(model, "none", embeddings="none")
    fp32 = _export(model, t, False)
    # weights=None: every linear weight but not the table nor the head tied to it
    only_linear = quantize_onnx_weights(fp32, None, "ternary")
    meta = json.loads({p.key: p.value for p in only_linear.metadata_props}[METADATA_KEY])
    assert [k.split(" ")[0] for k in meta] == ["mix.weight"]
    q = quantize_onnx_weights(fp32, names)  # mapping: one scheme per weight
    assert np.max(np.abs(_run(q, t.numpy()) - ref)) <= 1e-4
    big_floats = [i.name for i in q.graph.initializer
                  if i.data_type == TensorProto.FLOAT and math.prod(i.dims) > 50]
    assert big_floats == []  # the table and its transposed copy for the head are both int8 now


def test_unknown_weight_name_is_an_error(net):
    _, _, graphs = net
    with pytest.raises(ValueError, match="nope.weight"):
        quantize_onnx_weights(graphs[False], ["nope.weight"], "ternary")
    with pytest.raises(ValueError, match="not available"):
        quantize_onnx_weights(graphs[False], None, "ternary", execution={"ternary": "qdq"})
    with pytest.raises(ValueError, match="unknown execution"):
        quantize_onnx_weights(graphs[False], None, "ternary", execution="magic")


def test_rewrite_does_not_modify_its_input(net):
    _, _, graphs = net
    before = graphs[False].SerializeToString()
    quantize_onnx_weights(graphs[False], None, "ternary")
    assert graphs[False].SerializeToString() == before


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 70), st.integers(1, 70), st.integers(0, 2**31 - 1))
def test_rewrite_parity_for_random_linear_shapes(n_in, n_out, seed):
    """Any (out, in) incl. sizes not divisible by 4, as the Gemm a 2-D Linear exports to."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((n_out, n_in)).astype(np.float32)
    b = rng.standard_normal(n_out).astype(np.float32)
    gemm = helper.make_node("Gemm", ["x", "lin.weight", "lin.bias"], ["y"], transB=1)
    g = helper.make_graph([gemm],
                          "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, n_in])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, n_out])],
                          [numpy_helper.from_array(w, "lin.weight"),
                           numpy_helper.from_array(b, "lin.bias")])
    fp32 = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    x = rng.standard_normal((3, n_in)).astype(np.float32)
    for scheme in ("ternary", "int8"):
        layer = QuantLinear(n_in, n_out, scheme=scheme)
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(w))
            layer.bias.copy_(torch.from_numpy(b))
            ref = layer(torch.from_numpy(x)).numpy()
        got = _run(quantize_onnx_weights(fp32, ["lin.weight"], scheme), x)
        assert np.max(np.abs(got - ref)) <= 1e-4


# ------------------------------------------- activation emulation for MatMulNBits accuracy 4


@given(hnp.arrays(np.float32, st.tuples(st.integers(1, 3), st.integers(1, 150)), elements=finite),
       st.sampled_from([16, 32, 64]))
def test_fake_quant_activations_is_blockwise_int8(x, block):
    t = torch.from_numpy(x).requires_grad_()
    out = fake_quant_activations(t, block)
    k = x.shape[1]
    pad = np.pad(x, ((0, 0), (0, -k % block))).reshape(x.shape[0], -1, block)
    scale = np.abs(pad).max(-1, keepdims=True) / np.float32(127)
    err = np.abs(out.detach().numpy() - x).reshape(x.shape[0], -1)
    bound = np.repeat(scale[..., 0], block, axis=1)[:, :k] / 2
    assert np.all(err <= bound * (1 + 1e-5) + 1e-12)
    out.backward(torch.ones_like(out))
    assert torch.equal(t.grad, torch.ones_like(t))  # straight-through


def test_act_block_reproduces_matmulnbits_accuracy_level_4():
    """QuantLinear(act_block=64) is the PyTorch forward of execution="nbits2",
    accuracy_level=4, block_size=64: parity ≤ 1e-4 where ORT takes its int8 path."""
    torch.manual_seed(0)
    layer = QuantLinear(200, 48, scheme="ternary", act_block=64).eval()
    g = helper.make_graph(
        [helper.make_node("Gemm", ["x", "lin.weight", "lin.bias"], ["y"], transB=1)], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 200])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 48])],
        [numpy_helper.from_array(layer.weight.detach().numpy(), "lin.weight"),
         numpy_helper.from_array(layer.bias.detach().numpy(), "lin.bias")])
    fp32 = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    q = quantize_onnx_weights(fp32, None, "ternary", execution="nbits2", accuracy_level=4,
                              block_size=64)
    x = torch.randn(4, 200) * 3
    got = _run(q, x.numpy())
    with torch.no_grad():
        emulated = layer(x).numpy()
        layer.act_block = 0
        weight_only = layer(x).numpy()
    if np.max(np.abs(got - weight_only)) <= 1e-5:
        pytest.skip("this CPU's ONNX Runtime runs MatMulNBits accuracy_level=4 in float32")
    assert np.max(np.abs(got - emulated)) <= 1e-4
    assert np.max(np.abs(got - weight_only)) > 1e-3  # the activation quantization is real


def test_act_block_validation():
    with pytest.raises(ValueError):
        QuantLinear(4, 4, act_block=48)
    layer = QuantLinear(4, 4, act_block=0)
    assert set_scheme(nn.Sequential(layer), "ternary", act_block=32) == 1
    assert layer.act_block == 32 and "act_block=32" in repr(layer)


def test_weights_selected_by_exported_initializer_name(net):
    """Callers may name the anonymous initializer torch made (``onnx::MatMul_N``): its layout
    still comes from its MatMul use, so int8 scales stay per output channel."""
    model, x, graphs = net
    refs = find_linear_weights(graphs[False])
    table = {r.initializer: "int8" for r in refs}
    got = _run(quantize_onnx_weights(graphs[False], table), x.numpy())
    assert np.max(np.abs(got - _reference(model, x, "int8"))) <= 1e-4
