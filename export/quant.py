"""Weight quantization for TARS models: the PyTorch side (quantizers, straight-through fake
quantization, :class:`QuantLinear`) and the ONNX side (:func:`quantize_onnx_weights`, which
rewrites the fp32 weights of an exported graph into a compact on-disk form).

Schemes (DESIGN §4):

``"ternary"``  BitNet b1.58 absmean, one scale per matrix::

                   scale = max(mean|W|, EPS)        (the mean is taken in float64, then rounded
                                                     to float32, so every caller gets the same bits)
                   q     = clamp(round(W / scale), -1, 1)          int8 in {-1, 0, 1}
                   Ŵ     = float32(q) * scale

               On disk: 2 bits per weight (4 per byte, see :func:`pack_ternary`) + one float32.
``"int8"``     symmetric, one scale per output channel (axis 0 of a PyTorch weight)::

                   scale = max(max|W_c| / 127, EPS);  q = clamp(round(W / scale), -127, 127)
                   Ŵ     = float32(q) * scale

``"none"``     the fp32 weight itself.

Parity by construction: the ONNX rewrite quantizes the exported initializer with the very same
functions the PyTorch forward uses, and the graph computes ``Ŵ`` with the same float32
expression (``q * scale``), so the dequantized weight is bit-identical on both sides; only the
matmul's accumulation order differs (≈1e-6 on unit-scale activations).

How the quantized weight executes in ONNX Runtime was measured (``bench/quant_matmul.py``,
``docs/quantization.md``). The default, ``execution="fold"``, stores the packed weight plus a
tiny unpack subgraph over constant initializers; ORT's constant folding turns it into the plain
fp32 weight once, at session load, so the per-call cost is exactly that of fp32 and parity is
exact. The other executions (``MatMulNBits``, QDQ, ``MatMulInteger``) stay selectable.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper
from torch import nn

__all__ = [
    "DEFAULT_EXECUTION",
    "EPS",
    "EXECUTIONS",
    "METADATA_KEY",
    "SCHEMES",
    "LinearWeight",
    "QuantEmbedding",
    "QuantLinear",
    "dequantize",
    "fake_quant",
    "fake_quant_activations",
    "find_linear_weights",
    "int8_bits_per_weight",
    "int8_quantize",
    "pack_ternary",
    "quantize",
    "quantize_onnx_weights",
    "quantized_weight_names",
    "set_scheme",
    "ternary_bits_per_weight",
    "ternary_quantize",
    "unpack_ternary",
]

SCHEMES = ("none", "int8", "ternary")
EPS = float(np.float32(1e-8))  # lower bound for every scale (an all-zero matrix stays all zero)
INT8_QMAX = 127

# Which ONNX executions each scheme offers; the first of each is the measured default.
EXECUTIONS = {
    "ternary": ("fold", "nbits2", "nbits4"),
    "int8": ("fold", "qdq", "nbits8", "dynamic"),
}
DEFAULT_EXECUTION = {scheme: execs[0] for scheme, execs in EXECUTIONS.items()}
# Executions that reproduce the PyTorch fake-quant forward to float32 rounding (≤ 1e-4).
# "nbits*" do so only with accuracy_level 0/1; "qdq" only if ORT is told not to fuse it into an
# int8-activation MatMulNBits (it does by default, see docs/quantization.md); "dynamic" never
# (it quantizes activations too).
EXACT_EXECUTIONS = ("fold", "nbits2", "nbits4", "nbits8")

METADATA_KEY = "tars_export.quant"  # model.metadata_props entry: JSON {weight: description}


def _check_scheme(scheme: str) -> str:
    if scheme not in SCHEMES:
        raise ValueError(f"unknown quantization scheme {scheme!r}; use one of {', '.join(SCHEMES)}")
    return scheme


# --------------------------------------------------------------------------- PyTorch quantizers


@torch.no_grad()
def ternary_quantize(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """BitNet b1.58 absmean ternary quantization of a whole tensor.

    Returns ``(q, scale)``: ``q`` int8 with values in {-1, 0, 1} (shape of ``w``), ``scale`` a
    float32 0-dim tensor = max(mean of |w| over its nonzero entries, EPS). For a trained dense
    weight that is BitNet's mean|w|; exact zeros are structure, not weights (the blocks between
    the members of a merged reflex ensemble, ``mingru.merge_members``), and must not shrink the
    scale. The dequantized weight is ``q.float() * scale``."""
    w = w.detach().to(torch.float32)
    # float64 accumulation: the float32 result does not depend on summation order, so the
    # ONNX rewrite (CPU, exported layout) and training (any device/layout) agree bit for bit.
    # Sum over count rather than indexing the nonzeros: shapes stay static for torch.export.
    magnitudes = w.abs().to(torch.float64)
    count = (magnitudes > 0).sum().clamp_min(1)
    scale = (magnitudes.sum() / count).to(torch.float32).clamp_min(EPS)
    q = torch.clamp(torch.round(w / scale), -1, 1).to(torch.int8)
    return q, scale


@torch.no_grad()
def int8_quantize(w: torch.Tensor, axis: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric per-channel int8 quantization along ``axis`` (0 = output channel of a
    PyTorch Linear weight, or the row of an embedding table).

    Returns ``(q, scale)``: ``q`` int8 in [-127, 127] (shape of ``w``), ``scale`` float32 of
    shape ``(w.shape[axis],)`` = max(max|w_c| / 127, EPS). Every element satisfies
    ``|w - q * scale| <= scale / 2`` (up to float32 rounding)."""
    w = w.detach().to(torch.float32)
    if w.dim() == 0:
        raise ValueError("int8_quantize needs a tensor with at least one dimension")
    axis = axis % w.dim()
    others = [d for d in range(w.dim()) if d != axis]
    amax = w.abs().amax(dim=others, keepdim=True) if others else w.abs()
    scale = (amax / INT8_QMAX).clamp_min(EPS)
    q = torch.clamp(torch.round(w / scale), -INT8_QMAX, INT8_QMAX).to(torch.int8)
    return q, scale.reshape(-1)


def quantize(w: torch.Tensor, scheme: str, axis: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``(q, scale)`` for ``scheme`` in {"int8", "ternary"}."""
    if _check_scheme(scheme) == "ternary":
        return ternary_quantize(w)
    if scheme == "int8":
        return int8_quantize(w, axis)
    raise ValueError('scheme "none" has no quantized form')


def dequantize(q: torch.Tensor, scale: torch.Tensor, axis: int = 0) -> torch.Tensor:
    """``float32(q) * scale``; a 1-D ``scale`` broadcasts along ``axis`` (per channel)."""
    qf = q.to(torch.float32)
    if scale.dim() == 0:
        return qf * scale
    shape = [1] * q.dim()
    shape[axis % q.dim()] = -1
    return qf * scale.reshape(shape)


class _FakeQuantSTE(torch.autograd.Function):
    """Forward: the dequantized weight, exactly. Backward: identity (straight-through)."""

    @staticmethod
    def forward(ctx, w: torch.Tensor, scheme: str, axis: int) -> torch.Tensor:
        q, scale = quantize(w, scheme, axis)
        return dequantize(q, scale, axis).to(w.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return grad, None, None


def fake_quant(w: torch.Tensor, scheme: str, axis: int = 0) -> torch.Tensor:
    """Quantize-dequantize ``w`` with a straight-through estimator.

    The forward value is ``dequantize(*quantize(w, scheme))`` (bit-identical to what the ONNX
    rewrite computes); the gradient w.r.t. ``w`` is the incoming gradient unchanged, so the
    fp32 master weights keep training (quantization-aware fine-tuning). ``"none"`` returns
    ``w`` itself."""
    if _check_scheme(scheme) == "none":
        return w
    return _FakeQuantSTE.apply(w, scheme, axis)


class _SchemeMixin:
    """A validated ``scheme`` attribute (plain attribute, not in the state dict: a checkpoint
    holds the fp32 master weights, the scheme is chosen by whoever builds the module)."""

    _scheme: str = "none"

    @property
    def scheme(self) -> str:
        return self._scheme

    @scheme.setter
    def scheme(self, value: str) -> None:
        self._scheme = _check_scheme(value)


class QuantLinear(_SchemeMixin, nn.Linear):
    """``nn.Linear`` whose forward uses ``fake_quant(weight, scheme)`` (the bias stays fp32).

    Same constructor as ``nn.Linear`` plus keyword-only ``scheme`` (default ``"none"``, i.e.
    an ordinary Linear) and ``act_block`` (default 0: activations stay fp32). Export to ONNX
    with ``scheme="none"`` (the fp32 master weights) and rewrite the file with
    :func:`quantize_onnx_weights`; that reproduces this forward.

    ``act_block=B`` (B in 32, 64, 128) also fake-quantizes the input to int8 per block of B
    values along the feature axis (:func:`fake_quant_activations`), which is what ONNX
    Runtime's MatMulNBits does with ``accuracy_level=4``: train/verify with ``act_block=64`` to
    deploy with ``execution="nbits2", accuracy_level=4, block_size=64`` (the fast batch-1 path
    for models larger than the CPU cache; see docs/quantization.md)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None, *, scheme: str = "none", act_block: int = 0):
        super().__init__(in_features, out_features, bias=bias, device=device, dtype=dtype)
        self.scheme = scheme
        self.act_block = _check_act_block(act_block)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.act_block and self.scheme != "none":
            x = fake_quant_activations(x, self.act_block)
        return F.linear(x, fake_quant(self.weight, self.scheme), self.bias)

    def extra_repr(self) -> str:
        extra = f", act_block={self.act_block}" if self.act_block else ""
        return f"{super().extra_repr()}, scheme={self.scheme!r}{extra}"


def _check_act_block(block: int) -> int:
    block = int(block)
    if block and (block < 16 or block & (block - 1)):
        raise ValueError(f"act_block must be 0 (off) or a power of two >= 16, got {block}")
    return block


class _FakeQuantActSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, block: int) -> torch.Tensor:
        k = x.shape[-1]
        pad = -k % block
        xf = x.to(torch.float32)
        if pad:
            xf = F.pad(xf, (0, pad))
        xb = xf.reshape(*xf.shape[:-1], -1, block)
        scale = xb.abs().amax(dim=-1, keepdim=True) / INT8_QMAX
        safe = torch.where(scale > 0, scale, torch.ones_like(scale))
        q = torch.clamp(torch.round(xb / safe), -INT8_QMAX, INT8_QMAX)
        out = (q * scale).reshape(xf.shape)
        return out[..., :k].to(x.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return grad, None


def fake_quant_activations(x: torch.Tensor, block: int = 64) -> torch.Tensor:
    """Symmetric int8 quantize-dequantize of ``x`` per block of ``block`` consecutive values
    along the last axis (scale = max|x_block| / 127), with a straight-through gradient.

    This emulates ONNX Runtime's MatMulNBits with ``accuracy_level=4`` on x86 (measured: it
    reproduces ORT 1.32's output to float rounding, ~1e-5 on outputs of magnitude ~50), so a
    model trained and verified with it has a checkable parity with that execution."""
    return _FakeQuantActSTE.apply(x, _check_act_block(block) or 64)


class QuantEmbedding(_SchemeMixin, nn.Embedding):
    """``nn.Embedding`` with a fake-quantized table (int8: one scale per row, i.e. per token;
    for a table tied to an LM head that is also the head's per-output-channel scale).

    Optional: TARS models keep embeddings fp32 unless they opt in (BitNet keeps them in high
    precision too). ``set_scheme`` only touches these when given ``embeddings=``."""

    def __init__(self, *args, scheme: str = "none", **kwargs):
        super().__init__(*args, **kwargs)
        self.scheme = scheme

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if self.scheme != "none" and self.max_norm is not None:
            raise ValueError("QuantEmbedding: max_norm renormalises the table in place; "
                             "it cannot be combined with a quantization scheme")
        return F.embedding(tokens, fake_quant(self.weight, self.scheme), self.padding_idx,
                           self.max_norm, self.norm_type, self.scale_grad_by_freq, self.sparse)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, scheme={self.scheme!r}"


def set_scheme(module: nn.Module, scheme: str, *, embeddings: str | None = None,
               act_block: int | None = None) -> int:
    """Set ``scheme`` on every :class:`QuantLinear` inside ``module`` (and ``embeddings`` on
    every :class:`QuantEmbedding` when given; they are left alone otherwise; likewise
    ``act_block`` on every QuantLinear when given). Returns the number of modules changed."""
    _check_scheme(scheme)
    if embeddings is not None:
        _check_scheme(embeddings)
    if act_block is not None:
        _check_act_block(act_block)
    n = 0
    for m in module.modules():
        if isinstance(m, QuantLinear):
            m.scheme = scheme
            if act_block is not None:
                m.act_block = act_block
            n += 1
        elif isinstance(m, QuantEmbedding) and embeddings is not None:
            m.scheme = embeddings
            n += 1
    return n


def quantized_weight_names(module: nn.Module, prefix: str = "") -> dict[str, str]:
    """``{prefix + "<module path>.weight": scheme}`` for every quantized Quant* module: the
    ``weights`` argument of :func:`quantize_onnx_weights` for a graph exported from ``module``
    (``prefix`` is the attribute path of ``module`` inside the exported wrapper, e.g. "model.")."""
    return {
        f"{prefix}{name}.weight" if name else f"{prefix}weight": m.scheme
        for name, m in module.named_modules()
        if isinstance(m, (QuantLinear, QuantEmbedding)) and m.scheme != "none"
    }


# ------------------------------------------------------------------------------------- packing

_SHIFTS = np.array([0, 2, 4, 6], dtype=np.uint8)


def pack_ternary(q: np.ndarray) -> np.ndarray:
    """Pack ternary values (any integer dtype, values in {-1, 0, 1}, any shape) into a 1-D
    uint8 array of ``ceil(n / 4)`` bytes: element ``i`` (C order) is stored as the 2-bit code
    ``q + 2`` in bits ``2*(i % 4)`` of byte ``i // 4`` (lowest bits first). The tail of the
    last byte holds code 2 (= 0). This is exactly the layout of ONNX Runtime's MatMulNBits
    with bits=2 and its default zero point 2, for a (N, K) matrix with K a multiple of the
    block size."""
    q = np.asarray(q)
    if q.dtype.kind not in "iu":
        raise TypeError(f"pack_ternary expects integers in {{-1, 0, 1}}, got dtype {q.dtype}")
    flat = q.reshape(-1)
    if flat.size and (flat.min() < -1 or flat.max() > 1):
        raise ValueError("pack_ternary: values must be in {-1, 0, 1}")
    n = flat.size
    codes = np.full(4 * -(-n // 4), 2, dtype=np.uint8)
    codes[:n] = (flat.astype(np.int16) + 2).astype(np.uint8)
    codes = codes.reshape(-1, 4) << _SHIFTS
    return np.bitwise_or.reduce(codes, axis=1).astype(np.uint8)


def unpack_ternary(packed: np.ndarray, shape) -> np.ndarray:
    """Inverse of :func:`pack_ternary`: int8 array of ``shape`` with values in {-1, 0, 1}."""
    shape = tuple(int(s) for s in (shape if isinstance(shape, Iterable) else (shape,)))
    n = math.prod(shape)
    packed = np.asarray(packed, dtype=np.uint8).reshape(-1)
    if packed.size != -(-n // 4):
        raise ValueError(f"unpack_ternary: {packed.size} bytes cannot hold shape {shape} "
                         f"(needs {-(-n // 4)})")
    codes = ((packed[:, None] >> _SHIFTS) & 3).reshape(-1)[:n]
    if np.any(codes == 0):
        raise ValueError("unpack_ternary: code 0 is not a ternary value (corrupt data?)")
    return (codes.astype(np.int8) - 2).reshape(shape)


def ternary_bits_per_weight(shape) -> float:
    """On-disk bits per weight of a ternary matrix: the packed bytes plus its float32 scale.
    ≤ 2.1 for every matrix of at least 380 weights: (2n + 32 + ≤6 bits of padding) / n."""
    n = math.prod(int(s) for s in shape)
    return (8 * -(-n // 4) + 32) / n


def int8_bits_per_weight(shape, axis: int = 0) -> float:
    """On-disk bits per weight of an int8 matrix: one byte each plus a float32 per channel."""
    n = math.prod(int(s) for s in shape)
    return (8 * n + 32 * int(shape[axis])) / n


# ------------------------------------------------------------------------------- ONNX: finding


@dataclass
class LinearWeight:
    """A float32 2-D initializer that feeds a MatMul/Gemm (or a Gather), as resolved by
    :func:`find_linear_weights`.

    ``name``: the PyTorch parameter it stands for when that could be established (from the
    initializer name, the exporter's scope/metadata, or by value against a named initializer);
    otherwise the initializer name. ``transposed``: the stored tensor is that parameter
    transposed (torch's exporter folds ``W.T`` into a fresh initializer for MatMul)."""

    name: str
    initializer: str
    shape: tuple[int, ...]
    transposed: bool
    uses: list[str] = field(default_factory=list)  # "matmul", "gemm", "matmul_t", "gather", ...
    resolved_by: str = "name"  # "name" | "scope" | "value" | "unresolved"
    embedding: bool = False  # it is (a copy of) a table some Gather reads, e.g. a tied LM head


_LINEAR_USES = ("matmul", "gemm", "matmul_t")


class _GraphIndex:
    def __init__(self, graph: onnx.GraphProto):
        self.graph = graph
        self.inits = {t.name: t for t in graph.initializer}
        self.producer: dict[str, onnx.NodeProto] = {}
        self.consumers: dict[str, list[tuple[onnx.NodeProto, int]]] = {}
        for node in graph.node:
            for o in node.output:
                self.producer[o] = node
            for i, name in enumerate(node.input):
                if name:
                    self.consumers.setdefault(name, []).append((node, i))
        self._arrays: dict[str, np.ndarray] = {}
        self.subgraph_refs = _subgraph_inputs(graph)
        self.names = set(self.inits) | {o for n in graph.node for o in n.output}
        self.names |= {v.name for v in graph.input} | {v.name for v in graph.output}

    def array(self, name: str) -> np.ndarray:
        if name not in self._arrays:
            self._arrays[name] = numpy_helper.to_array(self.inits[name])
        return self._arrays[name]

    def is_float_matrix(self, name: str) -> bool:
        t = self.inits.get(name)
        return t is not None and t.data_type == TensorProto.FLOAT and len(t.dims) == 2

    def unique(self, base: str) -> str:
        name, k = base, 1
        while name in self.names:
            name, k = f"{base}_{k}", k + 1
        self.names.add(name)
        return name

    def uses_of(self, init: str) -> list[tuple[onnx.NodeProto, int, str]]:
        """(consumer node, input index, kind) for every consumer of ``init`` (through
        Identity nodes)."""
        out = []
        stack = [init]
        while stack:
            name = stack.pop()
            for node, idx in self.consumers.get(name, []):
                if node.op_type == "Identity":
                    stack.append(node.output[0])
                    continue
                out.append((node, idx, self._kind(node, idx)))
            if name in self.subgraph_refs:  # read inside an If/Loop/Scan body
                out.append((None, -1, "other"))
        return out

    def _kind(self, node: onnx.NodeProto, idx: int) -> str:
        op = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
        if op == "MatMul" and idx == 1:
            return "matmul"
        if op == "Gemm" and idx == 1:
            return "gemm"
        if op == "Gather" and idx == 0 and _attr(node, "axis", 0) == 0:
            return "gather"
        if op == "Transpose" and idx == 0 and list(_attr(node, "perm", [1, 0])) == [1, 0]:
            feeds = [self._kind(n, i) for n, i in self._consumers_through_identity(node.output[0])]
            if feeds and all(k in ("matmul", "gemm") for k in feeds):
                return "matmul_t"
        return "other"

    def _consumers_through_identity(self, name: str):
        for node, idx in self.consumers.get(name, []):
            if node.op_type == "Identity":
                yield from self._consumers_through_identity(node.output[0])
            else:
                yield node, idx


def _subgraph_inputs(graph: onnx.GraphProto) -> set[str]:
    """Names that nodes inside control-flow bodies of ``graph`` read (outer-scope captures)."""
    names: set[str] = set()
    for node in graph.node:
        for a in node.attribute:
            subs = [a.g] if a.type == onnx.AttributeProto.GRAPH else list(a.graphs)
            for sub in subs:
                for n in sub.node:
                    names.update(i for i in n.input if i)
                names |= _subgraph_inputs(sub)
    return names


def _attr(node: onnx.NodeProto, name: str, default=None):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def _scope_candidates(node: onnx.NodeProto) -> list[str]:
    """Parameter names the exporter's scope information suggests for the weight of ``node``.

    torch.onnx (dynamo) records the module path in the metadata ``pkg.torch.onnx.name_scopes``
    (e.g. ['', 'model', 'model.cell', 'model.cell.gate', 'linear']); the TorchScript exporter
    names nodes by scope ("/model/cell/gate/MatMul", "/a_1/MatMul" for a second call of ``a``)."""
    for p in node.metadata_props:
        if p.key == "pkg.torch.onnx.name_scopes":
            try:
                scopes = ast.literal_eval(p.value)
            except (ValueError, SyntaxError):
                break
            if isinstance(scopes, list) and len(scopes) >= 3 and scopes[-2]:
                return [f"{scopes[-2]}.weight"]
            return []
    if not node.name.startswith("/"):
        return []
    parts = [p for p in node.name.split("/")[1:-1] if p]
    if not parts:
        return []
    out = [_join_scopes(parts) + ".weight"]
    m = re.fullmatch(r"(.+)_(\d+)", parts[-1])
    if m:  # repeated call of the same module
        out.append(_join_scopes(parts[:-1] + [m.group(1)]) + ".weight")
    return out


def _join_scopes(parts: list[str]) -> str:
    """TorchScript scopes are sometimes relative ("/layers.0/proj") and sometimes already
    qualified ("/body/body.0" for a Sequential's child): join them into one dotted path."""
    path = ""
    for part in parts:
        if path and (part == path or part.startswith(path + ".")):
            path = part
        else:
            path = f"{path}.{part}" if path else part
    return path


def _linear_orientation(uses: list[tuple[onnx.NodeProto, int, str]]) -> bool:
    """``transposed`` implied by the consumers: a MatMul B (or Gemm transB=0) stores the
    (in, out) matrix, i.e. the PyTorch (out, in) weight transposed."""
    for node, _, kind in uses:
        if kind == "matmul":
            return True
        if kind == "gemm":
            return not _attr(node, "transB", 0)
    return False


def find_linear_weights(model: onnx.ModelProto, names: Iterable[str] | None = None
                        ) -> list[LinearWeight]:
    """Every float32 2-D initializer consumed by a MatMul/Gemm weight input (directly, through
    Identity, or through a [1, 0] Transpose) or by an embedding Gather, with the PyTorch
    parameter name it stands for. ``names`` (parameter names) helps resolve initializers the
    exporter renamed (``onnx::MatMul_12``, ``val_3``), including by comparing values."""
    idx = _GraphIndex(model.graph)
    wanted = set(names or ())
    found: list[LinearWeight] = []
    for init in list(idx.inits):
        if not idx.is_float_matrix(init):
            continue
        uses = idx.uses_of(init)
        kinds = [k for _, _, k in uses]
        if not any(k in (*_LINEAR_USES, "gather") for k in kinds):
            continue
        shape = tuple(int(d) for d in idx.inits[init].dims)
        ref = LinearWeight(init, init, shape, False, kinds, "name")
        if init in wanted or init in _scope_candidates_for(idx, uses):
            if _generated(init):  # asked for by its exporter-made name: layout from its use
                ref.transposed = _linear_orientation(uses)
            found.append(ref)  # the initializer is (or stands for) the parameter itself
            continue
        resolved = _resolve(idx, init, uses, wanted)
        if resolved is not None:
            ref.name, ref.transposed, ref.resolved_by = resolved
        elif _generated(init):
            ref.transposed = _linear_orientation(uses)
            ref.resolved_by = "unresolved"
        found.append(ref)
    tables = {r.name for r in found if "gather" in r.uses}
    for r in found:
        r.embedding = r.name in tables
    return found


def _scope_candidates_for(idx: _GraphIndex, uses) -> list[str]:
    nodes = [n for n, _, k in uses if k in ("matmul", "gemm")]
    for n, _, k in uses:  # a Transpose feeding the MatMul: use the MatMul's scope
        if k == "matmul_t":
            nodes += [c for c, _ in idx._consumers_through_identity(n.output[0])]
    out: list[str] = []
    for n in nodes:
        out += [c for c in _scope_candidates(n) if c not in out]
    return out


def _generated(name: str) -> bool:
    """An exporter-made initializer name (``onnx::MatMul_7``, ``val_3``, ``permute``) rather
    than a parameter path (``layers.0.proj.weight``)."""
    return "::" in name or "." not in name


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(a, b)


def _resolve(idx: _GraphIndex, init: str, uses, wanted: set[str]):
    arr = idx.array(init)
    candidates = _scope_candidates_for(idx, uses)
    for c in candidates:  # the parameter is in the graph too: accept if the values match
        if c != init and c in idx.inits and idx.is_float_matrix(c):
            other = idx.array(c)
            if _same(arr, other):
                return c, False, "scope"
            if _same(arr.T, other):
                return c, True, "scope"
    for c in candidates:
        if c == init or c in idx.inits:
            continue
        if not wanted:
            return c, _linear_orientation(uses), "scope"
        # TorchScript scopes start at the calling module: a wrapper that calls
        # ``self.model.cell(...)`` yields "/cell/gate/MatMul" for "model.cell.gate"
        matches = [w for w in wanted if w == c or w.endswith("." + c)]
        if len(matches) == 1 and matches[0] not in idx.inits:
            return matches[0], _linear_orientation(uses), "scope"
    # e.g. a tied LM head: MatMul(h, Emb.T) with Emb used by a Gather
    pool = sorted(wanted) if wanted else sorted(
        n for n in idx.inits if not _generated(n) and idx.is_float_matrix(n)
        and set(idx.inits[n].dims) == set(arr.shape))
    for c in pool:
        if c != init and c in idx.inits and idx.is_float_matrix(c):
            other = idx.array(c)
            if _same(arr, other):
                return c, False, "value"
            if _same(arr.T, other):
                return c, True, "value"
    if candidates and not wanted:
        return candidates[0], _linear_orientation(uses), "scope"
    return None


# ----------------------------------------------------------------------------- ONNX: rewriting


class _Rewriter:
    def __init__(self, model: onnx.ModelProto, block_size: int | None, accuracy_level: int):
        self.model = model
        self.idx = _GraphIndex(model.graph)
        self.block_size = block_size
        self.accuracy_level = int(accuracy_level)
        self.prefix_nodes: list[onnx.NodeProto] = []  # dequant subgraphs (inputs: initializers)
        self.new_inits: list[TensorProto] = []
        self.replace_nodes: dict[int, list[onnx.NodeProto]] = {}  # id(node) -> replacement
        self.drop_inits: set[str] = set()
        self.shared: dict[str, str] = {}
        self.counter = 0

    # -- helpers
    def add_init(self, base: str, array: np.ndarray) -> str:
        name = self.idx.unique(base)
        self.new_inits.append(numpy_helper.from_array(np.asarray(array, order="C"), name))
        return name

    def const(self, key: str, array: np.ndarray) -> str:
        """A shared small constant (deduplicated by ``key``)."""
        if key not in self.shared:
            existing = self.idx.inits.get(key)
            if existing is not None and _same(numpy_helper.to_array(existing), array):
                self.shared[key] = key
            else:
                self.shared[key] = self.add_init(key, array)
        return self.shared[key]

    def node(self, op: str, inputs: list[str], base: str, out: str | None = None,
             domain: str = "", **attrs) -> tuple[onnx.NodeProto, str]:
        # Short generated names and no node names: a 64x64 ternary matrix is only 1 KB, so
        # the subgraph's protobuf overhead matters.
        if out is None:
            self.counter += 1
            out = self.idx.unique(f"tq{self.counter}")
        n = helper.make_node(op, inputs, [out], domain=domain, **attrs)
        return n, out

    def opset(self, domain: str = "") -> int:
        for o in self.model.opset_import:
            if o.domain in (domain, "ai.onnx" if domain == "" else domain):
                return o.version
        return 0

    def need_ms_domain(self) -> None:
        if not any(o.domain == "com.microsoft" for o in self.model.opset_import):
            self.model.opset_import.append(helper.make_opsetid("com.microsoft", 1))

    def ternary_lut(self) -> str:
        """The (256, 4) float32 table of the four ternary values in each packed byte, built by
        a few foldable integer ops from ~100 bytes of constants (storing it would cost 4 KB,
        more than all ternary weights of the reflex model):
        lut[b, j] = (b // 4**j) % 4 - 2."""
        if "lut" not in self.shared:
            start = self.const("tars_quant.i0", np.array(0, np.int32))
            stop = self.const("tars_quant.i256", np.array(256, np.int32))
            step = self.const("tars_quant.i1", np.array(1, np.int32))
            col = self.const("tars_quant.col", np.array([-1, 1], np.int64))
            pows = self.const("tars_quant.pow4", np.array([[1, 4, 16, 64]], np.int32))
            four = self.const("tars_quant.i4", np.array(4, np.int32))
            two = self.const("tars_quant.i2", np.array(2, np.int32))
            n1, r = self.node("Range", [start, stop, step], "lut")
            n2, c = self.node("Reshape", [r, col], "lut")
            n3, d = self.node("Div", [c, pows], "lut")
            n4, m = self.node("Mod", [d, four], "lut")
            n5, v = self.node("Sub", [m, two], "lut")
            n6, f = self.node("Cast", [v], "lut", to=TensorProto.FLOAT)
            self.prefix_nodes += [n1, n2, n3, n4, n5, n6]
            self.shared["lut"] = f
        return self.shared["lut"]

    # -- "fold": the weight tensor itself, recomputed from the compact form at load
    def fold(self, ref: LinearWeight, scheme: str, q_s: np.ndarray, scale: np.ndarray,
             ch_axis: int) -> None:
        base, shape = ref.initializer, ref.shape
        nodes = []
        if scheme == "ternary":
            packed = self.add_init(f"{base}.ternary2", pack_ternary(q_s))
            s = self.add_init(f"{base}.scale", scale.reshape(()).astype(np.float32))
            lut = self.ternary_lut()
            n1, idx32 = self.node("Cast", [packed], f"{base}/unpack", to=TensorProto.INT32)
            n2, slut = self.node("Mul", [lut, s], f"{base}/scaled_lut")
            n3, g = self.node("Gather", [slut, idx32], f"{base}/gather", axis=0)
            nodes += [n1, n2, n3]
            n = math.prod(shape)
            shp = self.const(f"tars_quant.shape_{shape[0]}x{shape[1]}", np.array(shape, np.int64))
            if n % 4:
                flat = self.const("tars_quant.flat", np.array([-1], np.int64))
                zero = self.const("tars_quant.zero", np.array([0], np.int64))
                end = self.const(f"tars_quant.len_{n}", np.array([n], np.int64))
                n4, f = self.node("Reshape", [g, flat], f"{base}/flatten")
                n5, sl = self.node("Slice", [f, zero, end], f"{base}/trim")
                nodes += [n4, n5]
                g = sl
            nodes.append(self.node("Reshape", [g, shp], f"{base}/reshape", out=ref.initializer)[0])
        else:
            qn = self.add_init(f"{base}.int8", q_s.astype(np.int8))
            bshape = [1, 1]
            bshape[ch_axis] = -1
            s = self.add_init(f"{base}.scale", scale.astype(np.float32).reshape(bshape))
            n1, c = self.node("Cast", [qn], f"{base}/dequant", to=TensorProto.FLOAT)
            nodes += [n1, self.node("Mul", [c, s], f"{base}/dequant", out=ref.initializer)[0]]
        self.prefix_nodes += nodes

    def qdq(self, ref: LinearWeight, q_s: np.ndarray, scale: np.ndarray, ch_axis: int) -> None:
        if self.opset() < 13:
            raise ValueError("execution 'qdq' needs opset >= 13 (per-axis DequantizeLinear)")
        base = ref.initializer
        qn = self.add_init(f"{base}.int8", q_s.astype(np.int8))
        s = self.add_init(f"{base}.scale", scale.astype(np.float32).reshape(-1))
        self.prefix_nodes.append(self.node("DequantizeLinear", [qn, s], f"{base}/dq",
                                           out=ref.initializer, axis=ch_axis)[0])

    # -- node rewrites for MatMulNBits / MatMulInteger
    def linear_use_ok(self, node: onnx.NodeProto, kind: str) -> bool:
        if kind == "matmul":
            return True
        if kind == "gemm":
            return (_attr(node, "transA", 0) == 0 and _attr(node, "alpha", 1.0) == 1.0
                    and _attr(node, "beta", 1.0) == 1.0)
        return False

    def nbits(self, ref: LinearWeight, node: onnx.NodeProto, kind: str, bits: int,
              q_lin: np.ndarray, scale_n: np.ndarray, cache: dict) -> None:
        """Replace ``node`` by MatMulNBits(A, B, scales) (+ Add for a Gemm bias)."""
        n_out, k = q_lin.shape
        key = ("nbits", q_lin.shape, q_lin.strides)
        if key not in cache:
            bs = self.block_size or _default_block_size(k, bits)
            kb = -(-k // bs)
            zp = 1 << (bits - 1)  # MatMulNBits' default zero point
            codes = np.full((n_out, kb * bs), zp, dtype=np.uint8)
            codes[:, :k] = (q_lin.astype(np.int16) + zp).astype(np.uint8)
            per = 8 // bits
            codes = codes.reshape(n_out, kb, bs // per, per).astype(np.uint16)
            shifts = (np.arange(per, dtype=np.uint16) * bits)
            blob = np.bitwise_or.reduce(codes << shifts, axis=3).astype(np.uint8)
            base = ref.initializer
            b = self.add_init(f"{base}.nbits{bits}", blob)
            # one float per matrix (ternary) or per row (int8) on disk, expanded to the
            # (N, blocks) scale grid by constant folding at load
            small = scale_n.astype(np.float32)
            small = small if small.ndim == 0 else small.reshape(-1, 1)
            s = self.add_init(f"{base}.scale", small)
            grid = self.const(f"tars_quant.shape_{n_out}x{kb}", np.array([n_out, kb], np.int64))
            ne, sg = self.node("Expand", [s, grid], f"{base}/scales")
            self.prefix_nodes.append(ne)
            cache[key] = (b, sg, bs)
        b, sg, bs = cache[key]
        self.need_ms_domain()
        a = node.input[0]
        out = node.output[0]
        has_bias = kind == "gemm" and len(node.input) > 2 and node.input[2]
        mm_out = self.idx.unique(f"{out}_nobias") if has_bias else out
        new = [helper.make_node("MatMulNBits", [a, b, sg], [mm_out], domain="com.microsoft",
                                name=self.idx.unique(f"{node.name or out}/MatMulNBits"),
                                K=k, N=n_out, bits=bits, block_size=bs,
                                accuracy_level=self.accuracy_level)]
        if has_bias:
            new.append(helper.make_node("Add", [mm_out, node.input[2]], [out],
                                        name=self.idx.unique(f"{node.name or out}/bias")))
        self.replace_nodes[id(node)] = new

    def dynamic(self, ref: LinearWeight, node: onnx.NodeProto, kind: str, q_lin: np.ndarray,
                scale_n: np.ndarray, cache: dict) -> None:
        """Replace ``node`` by DynamicQuantizeLinear → MatMulInteger → rescale (+ bias)."""
        base = ref.initializer
        key = ("dyn", q_lin.shape, q_lin.strides)
        if key not in cache:
            cache[key] = (self.add_init(f"{base}.int8", np.ascontiguousarray(q_lin.T)),
                            self.add_init(f"{base}.scale", scale_n.astype(np.float32).reshape(-1)))
        bq, ws = cache[key]
        tag = node.name or node.output[0]
        out = node.output[0]
        aq, asc, azp = (self.idx.unique(f"{tag}/a_{s}") for s in ("q", "scale", "zp"))
        n1 = helper.make_node("DynamicQuantizeLinear", [node.input[0]], [aq, asc, azp],
                              name=self.idx.unique(f"{tag}/DynamicQuantizeLinear"))
        n2, acc = self.node("MatMulInteger", [aq, bq, azp], f"{tag}/mmi")
        n3, accf = self.node("Cast", [acc], f"{tag}/mmi_f", to=TensorProto.FLOAT)
        n4, scaled = self.node("Mul", [accf, asc], f"{tag}/a_rescale")
        has_bias = kind == "gemm" and len(node.input) > 2 and node.input[2]
        n5, y = self.node("Mul", [scaled, ws], f"{tag}/w_rescale",
                          out=None if has_bias else out)
        new = [n1, n2, n3, n4, n5]
        if has_bias:
            new.append(self.node("Add", [y, node.input[2]], f"{tag}/bias", out=out)[0])
        self.replace_nodes[id(node)] = new

    def finish(self) -> None:
        g = self.model.graph
        keep_inits = [t for t in g.initializer if t.name not in self.drop_inits]
        del g.initializer[:]
        g.initializer.extend(keep_inits + self.new_inits)
        inputs = [v for v in g.input if v.name not in self.drop_inits]
        del g.input[:]
        g.input.extend(inputs)
        nodes = list(self.prefix_nodes)
        for n in g.node:
            nodes += self.replace_nodes.get(id(n), [n])
        # Identity nodes that only forwarded a replaced weight are now dead
        graph_outputs = {v.name for v in g.output}
        while True:
            used = {i for n in nodes for i in n.input} | graph_outputs
            dead = [n for n in nodes if n.op_type == "Identity" and n.output[0] not in used]
            if not dead:
                break
            dead_ids = {id(n) for n in dead}
            nodes = [n for n in nodes if id(n) not in dead_ids]
        available = ({t.name for t in g.initializer} | {v.name for v in g.input}
                     | {o for n in nodes for o in n.output} | {""})
        for n in nodes:
            lost = [i for i in n.input if i not in available]
            if lost and n.op_type != "Loop" and n.op_type != "If" and n.op_type != "Scan":
                raise RuntimeError(f"quantize_onnx_weights: node {n.name or n.op_type} lost its "
                                   f"input {lost[0]} (please report this graph)")
        del g.node[:]
        g.node.extend(nodes)


def _default_block_size(k: int, bits: int) -> int:
    """MatMulNBits block along K: 64 (measured fastest for 2 bits with accuracy_level 4; 2-bit
    blocks may not exceed 256) unless K is smaller."""
    bs = 16
    while bs < 64 and bs < k:
        bs *= 2
    return bs


def _as_ternary(w: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(q, scale)`` if ``w`` already is a dequantized ternary matrix (only -a, 0, a), else
    None. Re-quantizing such a matrix would change its scale (mean|q·a| = a·(share of nonzeros))."""
    a = np.abs(w)
    top = a.max(initial=0.0)
    if top == 0 or not np.all((a == top) | (a == 0)):
        return None
    return np.sign(w).astype(np.int8), np.array(top, dtype=np.float32)


def _execution_for(execution: str | Mapping[str, str] | None, scheme: str) -> str:
    """A string names the execution for every scheme that offers it (the others keep their
    default); a mapping gives one per scheme."""
    if isinstance(execution, Mapping):
        ex = execution.get(scheme, DEFAULT_EXECUTION[scheme])
        if ex not in EXECUTIONS[scheme]:
            raise ValueError(f"execution {ex!r} is not available for scheme {scheme!r} "
                             f"(choose from {', '.join(EXECUTIONS[scheme])})")
        return ex
    if execution is None or execution not in EXECUTIONS[scheme]:
        return DEFAULT_EXECUTION[scheme]
    return execution


def _selector(weights, scheme: str) -> tuple[Callable[[LinearWeight], str | None], set[str]]:
    """(weight -> scheme or None, the names that must be found)."""
    def linear(ref: LinearWeight) -> bool:
        return any(u in _LINEAR_USES for u in ref.uses) and not ref.embedding

    if weights is None:
        return (lambda ref: scheme if linear(ref) else None), set()
    if callable(weights) and not isinstance(weights, Mapping):
        return (lambda ref: scheme if linear(ref) and weights(ref.name) else None), set()
    if isinstance(weights, Mapping):
        table = {k: _check_scheme(v) for k, v in weights.items()}
    elif isinstance(weights, str):
        table = {weights: scheme}
    else:
        table = {k: scheme for k in weights}

    def pick(ref: LinearWeight) -> str | None:
        return table.get(ref.name, table.get(ref.initializer))

    return pick, set(table)


def quantize_onnx_weights(
    model: onnx.ModelProto,
    weights: Iterable[str] | Mapping[str, str] | Callable[[str], bool] | None = None,
    scheme: str = "ternary",
    *,
    execution: str | Mapping[str, str] | None = None,
    block_size: int | None = None,
    accuracy_level: int = 0,
) -> onnx.ModelProto:
    """Rewrite fp32 weight initializers of an exported graph into quantized form; returns a new
    model (``model`` is not modified).

    ``weights`` selects what to quantize, by PyTorch parameter name:
      * a list of names (``"model.cell.gate.weight"``): each must be found, else ValueError;
        names resolve through the exporter's renaming (torch folds ``W.T`` of a Linear used on
        3-D input into an initializer called ``onnx::MatMul_N`` / ``val_N``; its module scope or
        its value identifies it), and an embedding table (Gather) may be named too;
      * a mapping name -> scheme (mixed schemes in one call; ``scheme`` is then unused);
      * a predicate ``f(name) -> bool`` or ``None`` (= every MatMul/Gemm weight; embedding
        tables, including an LM head tied to one, are only quantized when named).

    ``scheme``: "ternary" or "int8" ("none" returns a copy). The quantized values are computed
    with :func:`ternary_quantize` / :func:`int8_quantize` on the weight in PyTorch orientation
    (int8 scale per output channel), so the graph reproduces ``QuantLinear`` with that scheme.

    ``execution`` (default: ``DEFAULT_EXECUTION[scheme]``, i.e. "fold"; a string applies to
    the schemes that offer it, a mapping scheme -> execution to each scheme):
      * "fold" — packed 2-bit (ternary) or int8 initializer + a small unpack subgraph over
        constants; ORT's constant folding rebuilds the fp32 weight at session load (needs graph
        optimisation level ≥ basic, the ORT default). Exact; fp32 speed; smallest file.
      * "nbits2" / "nbits4" (ternary), "nbits8" (int8) — com.microsoft MatMulNBits with
        ``block_size`` (default 64) and ``accuracy_level`` (0 = fp32 math, exact but slow in
        ORT 1.32; 4 = int8 activations, faster for one row, not exact).
      * "qdq" (int8) — DequantizeLinear → MatMul. ORT ≥ 1.2x fuses that pair into an
        int8-activation MatMulNBits by default (session option
        ``session.qdq_matmulnbits_accuracy_level``), which breaks parity.
      * "dynamic" (int8) — DynamicQuantizeLinear + MatMulInteger (activations quantized per
        call; not exact).
    Weights that an execution cannot handle at a given consumer (e.g. a Gather, a Gemm with
    alpha ≠ 1) fall back to "fold" there.

    A summary is stored in ``metadata_props[METADATA_KEY]`` (JSON, merged across calls)."""
    _check_scheme(scheme)
    if isinstance(execution, str) and not any(execution in e for e in EXECUTIONS.values()):
        raise ValueError(f"unknown execution {execution!r}; available: "
                         + "; ".join(f"{k}: {', '.join(v)}" for k, v in EXECUTIONS.items()))
    out = onnx.ModelProto()
    out.CopyFrom(model)
    if scheme == "none" and not isinstance(weights, Mapping):
        return out
    pick, required = _selector(weights, scheme)
    refs = find_linear_weights(out, required or None)
    found = {r.name for r in refs} | {r.initializer for r in refs}
    missing = sorted(required - found)
    if missing:
        known = ", ".join(sorted(r.name for r in refs)) or "none"
        raise ValueError(f"quantize_onnx_weights: no MatMul/Gemm/Gather weight found for "
                         f"{', '.join(missing)} (weights in this graph: {known}). Export the "
                         "model with scheme 'none' (set_scheme(model, 'none')) and pass "
                         "PyTorch parameter names, e.g. from quantized_weight_names(model).")

    rw = _Rewriter(out, block_size, accuracy_level)
    summary: dict[str, dict] = {}
    for ref in refs:
        sch = pick(ref)
        if sch is None or sch == "none":
            continue
        ex = _execution_for(execution, sch)
        stored = rw.idx.array(ref.initializer).astype(np.float32, copy=False)
        w_pt = np.ascontiguousarray(stored.T if ref.transposed else stored)
        already = _as_ternary(w_pt) if sch == "ternary" else None
        if already is not None:
            # exported with the scheme already applied (torch.onnx dynamo folds the fake-quant
            # forward into the initializer): store those values losslessly
            q_pt, scale = already
        else:
            q_t, s_t = quantize(torch.from_numpy(np.array(w_pt, copy=True)), sch, 0)
            q_pt, scale = q_t.numpy(), s_t.numpy()
        q_s = q_pt.T if ref.transposed else q_pt
        ch_axis = 1 if ref.transposed else 0  # int8 channel axis in stored orientation
        fold_needed = False
        used = ex
        if ex == "fold":
            fold_needed = True
        elif ex == "qdq":
            rw.qdq(ref, q_s, scale, ch_axis)
        else:
            cache: dict = {}
            for node, _, kind in rw.idx.uses_of(ref.initializer):
                direct = kind in ("matmul", "gemm") and rw.linear_use_ok(node, kind)
                if direct:
                    # (N, K) orientation of this use: y = x @ W_lin.T
                    w_lin_is_stored = kind == "gemm" and _attr(node, "transB", 0)
                    q_lin = q_s if w_lin_is_stored else q_s.T
                    out_axis = 0 if w_lin_is_stored else 1  # output axis in stored layout
                    if sch == "int8" and ch_axis != out_axis:
                        direct = False  # per-input-channel scales: not expressible here
                if not direct:
                    fold_needed = True
                    continue
                scale_n = scale  # ternary: a 0-dim scale for the whole matrix
                if ex == "dynamic":
                    rw.dynamic(ref, node, kind, q_lin, scale_n, cache)
                else:
                    bits = int(ex.removeprefix("nbits"))
                    rw.nbits(ref, node, kind, bits, q_lin, scale_n, cache)
            if fold_needed:
                used = f"{ex}+fold"
        if fold_needed:
            rw.fold(ref, sch, q_s, scale, ch_axis)
        rw.drop_inits.add(ref.initializer)
        summary[ref.name if ref.name == ref.initializer else f"{ref.name} ({ref.initializer})"] = {
            "scheme": sch,
            "execution": used,
            "shape": list(ref.shape),
            "transposed": ref.transposed,
            "bits_per_weight": round(ternary_bits_per_weight(ref.shape) if sch == "ternary"
                                     else int8_bits_per_weight(ref.shape, ch_axis), 4),
        }
    rw.finish()
    if summary:
        props = {p.key: p for p in out.metadata_props}
        merged = json.loads(props[METADATA_KEY].value) if METADATA_KEY in props else {}
        merged.update(summary)
        if METADATA_KEY in props:
            props[METADATA_KEY].value = json.dumps(merged, sort_keys=True)
        else:
            out.metadata_props.append(onnx.StringStringEntryProto(
                key=METADATA_KEY, value=json.dumps(merged, sort_keys=True)))
    return out
