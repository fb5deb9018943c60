"""Builds the bundle's ``core`` model: train (or resume from checkpoints), export every
variant's ``step`` / ``prefill`` graphs to ONNX, verify
ONNX Runtime against the PyTorch forward of that very variant (logits, hidden and every state
within ``PARITY_TOLERANCE``; 200-token greedy continuations from 5 prompts identical), measure,
and only then write the bundle.

Files written (``<v>`` = the deployed variant; the other variants are exported, verified and
measured too, but not kept):

    core.<v>.onnx           step graph     token (1,) + states -> logits (1, 256), hidden (1, D), states'
    core.<v>.prefill.onnx   prefill graph  tokens (1, T) + states -> logits (1, T, 256), hidden (1, T, D), final states
    core.<v>.weights.npz    the deployed weights (quantized ones as int8 codes + scales), so that
                            CI can rebuild the PyTorch module and check the committed graphs

The draft head and the speculative ``verify`` graph are the ``draft`` model, built right after
by ``tars_export.draft_build`` against the deployed core.
"""

from __future__ import annotations

import copy
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnx.numpy_helper
import onnxruntime as ort
import torch
from tqdm import tqdm

from tars_edge import tokenizer
from tars_export import corpus
from tars_export.bundle_writer import put_model
from tars_export.core import CoreConfig, PrefillGraph, StepGraph, TarsCore
from tars_export.draft import DraftConfig, DraftHead
from tars_export.quant import (
    QuantEmbedding,
    QuantLinear,
    dequantize,
    quantize,
    quantize_onnx_weights,
    quantized_weight_names,
    set_scheme,
)
from tars_export.train_core import (
    DEFAULT_CHECKPOINTS,
    CoreTrainConfig,
    TrainedCore,
    train_all,
)
from tars_export.verify import VerificationError, check_parity

PARITY_TOLERANCE = 1e-3  # max |Δ| of logits, hidden and states, ONNX Runtime vs PyTorch (issue #3)
GREEDY_TOKENS = 200
OPSET = 17
GRAPHS = {"step": StepGraph, "prefill": PrefillGraph}
QUANT_DESCRIPTION = {
    "fp32": {"scheme": "none"},
    "int8": {"scheme": "int8", "weights": "per-output-channel symmetric", "layers": "linear",
             "embedding": "int8 per row", "execution": "fold"},
    "ternary": {"scheme": "ternary", "weights": "BitNet b1.58 absmean, 2-bit packed",
                "layers": "linear", "embedding": "int8 per row", "execution": "fold"},
}
GREEDY_PROMPTS = [  # (lang, user text, memory notes)
    ("ru", "Привет! Как дела?", None),
    ("en", "What can you do?", None),
    ("ru", "Как зовут мою собаку?", ["Мою собаку зовут Жужа.", "Я живу в Иркутске."]),
    ("en", "Where do I live?", ["I live in Auckland."]),
    ("ru", "Почему небо голубое?", None),
]


# ----------------------------------------------------------------------------- names and specs


def state_names(cfg: CoreConfig) -> list[str]:
    return [name for name, _ in cfg.state_specs()]


def graph_io(cfg: CoreConfig, graph: str) -> tuple[list[dict], list[dict]]:
    """Manifest input/output specs of one core graph (batch 1)."""
    specs = cfg.state_specs(1)
    states = [{"name": n, "dtype": "float32", "shape": list(s)} for n, s in specs]
    v, d = cfg.vocab_size, cfg.d_model
    if graph == "step":
        inputs = [{"name": "token", "dtype": "int64", "shape": [1]}] + states
        outputs = [{"name": "logits", "dtype": "float32", "shape": [1, v]},
                   {"name": "hidden", "dtype": "float32", "shape": [1, d]}]
    else:
        inputs = [{"name": "tokens", "dtype": "int64", "shape": [1, "T"]}] + states
        outputs = [{"name": "logits", "dtype": "float32", "shape": [1, "T", v]},
                   {"name": "hidden", "dtype": "float32", "shape": [1, "T", d]}]
    outputs += [{"name": f"{n}_out", "dtype": "float32", "shape": list(s)} for n, s in specs]
    return inputs, outputs


# ------------------------------------------------------------------------------------- export


def _plain_copy(module: torch.nn.Module) -> torch.nn.Module:
    """The same weights with every scheme "none": what torch exports; the quantized variants
    are then rewritten by quantize_onnx_weights from these fp32 master weights."""
    plain = copy.deepcopy(module)
    set_scheme(plain, "none", embeddings="none")
    return plain.eval()


def export_core_graph(model: TarsCore, graph: str, path: Path) -> None:
    cfg = model.cfg
    plain = _plain_copy(model)
    inputs, outputs = graph_io(cfg, graph)
    states = plain.initial_state(1)
    first = torch.tensor([tokenizer.PERSONA]) if graph == "step" else torch.tensor(
        [list(corpus.prompt("ТАРС", "привет"))])
    dynamic = {}
    if graph != "step":
        dynamic = {"tokens": {1: "T"}, "logits": {1: "T"}, "hidden": {1: "T"}}
    with torch.no_grad():
        torch.onnx.export(GRAPHS[graph](plain), (first, *states), str(path), dynamo=False,
                          input_names=[i["name"] for i in inputs],
                          output_names=[o["name"] for o in outputs],
                          dynamic_axes=dynamic or None, opset_version=OPSET,
                          do_constant_folding=False)
    _quantize_file(model, path, prefix="model.")


def compact_names(model: onnx.ModelProto) -> onnx.ModelProto:
    """Short names for every intermediate value and initializer, no node names or doc strings:
    the exporter's path-like names cost ~50 KB per graph, a sixth of a ternary step graph.
    Graph inputs and outputs keep their names (they are the contract)."""
    g = model.graph
    keep = {v.name for v in g.input} | {v.name for v in g.output}
    renamed: dict[str, str] = {}

    def short(name: str) -> str:
        if not name or name in keep:
            return name
        if name not in renamed:
            renamed[name] = format(len(renamed), "x")
        return renamed[name]

    for t in g.initializer:
        t.name = short(t.name)
        t.doc_string = ""
    for node in g.node:
        node.name = ""
        node.doc_string = ""
        node.input[:] = [short(x) for x in node.input]
        node.output[:] = [short(x) for x in node.output]
    del g.value_info[:]
    model.doc_string = ""
    return model


def _quantize_file(module: torch.nn.Module, path: Path, prefix: str,
                   names: dict[str, str] | None = None) -> None:
    """Rewrite the quantized modules' weights of an exported fp32 graph (then compact its
    names, every variant alike, so file sizes compare fairly). ``names`` (parameter name ->
    scheme) overrides the module's own schemes. The exporter keeps a
    weight's name when it is used as is, and folds ``W.T`` into an anonymous initializer for a
    bias-free MatMul; those are matched here by value, so every weight is found by name."""
    names = names if names is not None else quantized_weight_names(module, prefix=prefix)
    proto = onnx.load(str(path))
    if not names:
        onnx.save(compact_names(proto), str(path))
        return
    inits = {t.name: t for t in proto.graph.initializer}
    params = dict(module.named_parameters())
    table = {}
    for name, scheme in names.items():
        if name in inits:
            table[name] = scheme
            continue
        w = params[name[len(prefix):]].detach().numpy()
        for init_name, init in inits.items():
            if tuple(init.dims) == w.T.shape and np.array_equal(onnx.numpy_helper.to_array(init), w.T):
                table[init_name] = scheme
                break
        else:
            raise VerificationError(f"{path.name}: weight {name} not found in the exported graph")
    onnx.save(compact_names(quantize_onnx_weights(proto, table)), str(path))


def session(path: Path) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


# --------------------------------------------------------------------- deployed weights (npz)


def save_weights(module: torch.nn.Module, config: dict, path: Path) -> None:
    """The weights the module computes with: quantized matrices as int8 codes + scales (codes
    compress well), everything else float32. :func:`load_core_weights` rebuilds the module."""
    arrays: dict[str, np.ndarray] = {"__config__": np.frombuffer(
        json.dumps(config).encode(), dtype=np.uint8)}
    quantized = {}
    for name, m in module.named_modules():
        if isinstance(m, (QuantLinear, QuantEmbedding)) and m.scheme != "none":
            quantized[f"{name}.weight"] = m.scheme
    for name, tensor in module.state_dict().items():
        if name in quantized:
            q, scale = quantize(tensor, quantized[name], 0)
            arrays[f"{name}.q"] = q.numpy()
            arrays[f"{name}.scale"] = scale.numpy()
        else:
            arrays[name] = tensor.detach().numpy().astype(np.float32)
    np.savez_compressed(path, **arrays)


def _state_from_npz(data) -> tuple[dict, dict]:
    config = json.loads(bytes(data["__config__"]).decode())
    state = {}
    for key in data.files:
        if key == "__config__" or key.endswith(".scale"):
            continue
        if key.endswith(".q"):
            name = key[:-2]
            state[name] = dequantize(torch.from_numpy(data[key]), torch.from_numpy(data[name + ".scale"]))
        else:
            state[key] = torch.from_numpy(data[key])
    return config, state


def weight_schemes(path: Path) -> dict[str, str]:
    """Parameter name -> "ternary" / "int8" for the quantized matrices of a weights file (a
    ternary scale is one number, an INT8 one a vector)."""
    with np.load(path) as data:
        return {k[: -len(".scale")]: "ternary" if data[k].ndim == 0 else "int8"
                for k in data.files if k.endswith(".scale")}


def load_core_weights(path: Path) -> TarsCore:
    """A PyTorch TarsCore computing exactly what the bundle's core graphs compute (scheme
    "none" over the dequantized weights)."""
    with np.load(path) as data:
        config, state = _state_from_npz(data)
    model = TarsCore(CoreConfig.from_dict(config))
    model.load_state_dict(state)
    return model.eval()


def load_draft_weights(path: Path) -> DraftHead:
    with np.load(path) as data:
        config, state = _state_from_npz(data)
    head = DraftHead(DraftConfig(**config), state["embed.weight"])
    head.load_state_dict(state)
    return head.eval()


# ----------------------------------------------------------------------------------- checking


def _np(states) -> list[np.ndarray]:
    return [s.detach().numpy() for s in states]


def _feed(names: list[str], states: list[np.ndarray]) -> dict:
    return dict(zip(names, states))


@torch.no_grad()
def check_core_graphs(model: TarsCore, files: dict[str, Path], texts: list[bytes], what: str,
                      tolerance: float = PARITY_TOLERANCE) -> float:
    """ONNX Runtime vs PyTorch for the step and prefill graphs of one variant, from
    nonzero states; raises VerificationError past ``tolerance``. Returns the max |Δ|."""
    model.eval()
    names = state_names(model.cfg)
    sessions = {g: session(p) for g, p in files.items()}
    worst = 0.0

    def cmp(label, ref, got):
        nonlocal worst
        worst = max(worst, check_parity(f"{what} {label}", ref, got, tolerance))

    for text in texts:
        ids = torch.tensor(list(text), dtype=torch.long)
        head, body = ids[:12], ids[12:]
        # step graph over the head, from the zero state
        st = model.initial_state(1)
        for tok in head:
            logits, hidden, st_next = model.step(tok[None], st)
            out = sessions["step"].run(None, {"token": tok[None].numpy(), **_feed(names, _np(st))})
            cmp("step logits", logits.numpy(), out[0])
            cmp("step hidden", hidden.numpy(), out[1])
            for n, ref, got in zip(names, st_next, out[2:]):
                cmp(f"step state {n}", ref.numpy(), got)
            st = st_next
        # prefill graph over the body, from the state the step graph left
        logits, hidden, final, _ = model(body[None], st)
        out = sessions["prefill"].run(None, {"tokens": body[None].numpy(), **_feed(names, _np(st))})
        cmp("prefill logits", logits.numpy(), out[0])
        cmp("prefill hidden", hidden.numpy(), out[1])
        for n, ref, got in zip(names, final, out[2:]):
            cmp(f"prefill state {n}", ref.numpy(), got)
    return worst


@torch.no_grad()
def greedy_torch(model: TarsCore, prompt: bytes, n: int) -> list[int]:
    logits, _, states, _ = model(torch.tensor([list(prompt)]))
    token = int(logits[0, -1].argmax())
    out = [token]
    for _ in range(n - 1):
        logits, _, states = model.step(torch.tensor([token]), states)
        token = int(logits[0].argmax())
        out.append(token)
    return out


def eager_decode_tok_s(weights: Path, prompts: list[bytes], n: int, threads: int) -> float:
    """Greedy decode speed (tokens/s, prefill excluded) of PyTorch eager on a bundle's own
    weights: the baseline `tars-edge bench` compares ONNX Runtime against. It lives here so
    the runtime never imports torch itself."""
    torch.set_num_threads(threads)
    model = load_core_weights(weights).eval()
    tokens, wall = 0, 0.0
    with torch.no_grad():
        for prompt in prompts:
            logits, _, states, _ = model(torch.tensor([list(prompt)]))
            token = int(logits[0, -1].argmax())
            start = time.perf_counter()
            for _ in range(n):
                logits, _, states = model.step(torch.tensor([token]), states)
                token = int(logits[0].argmax())
            wall += time.perf_counter() - start
            tokens += n
    return tokens / wall


def greedy_ort(files: dict[str, Path], cfg: CoreConfig, prompt: bytes, n: int) -> list[int]:
    names = state_names(cfg)
    prefill, step = session(files["prefill"]), session(files["step"])
    zeros = [np.zeros(s, dtype=np.float32) for _, s in cfg.state_specs(1)]
    out = prefill.run(None, {"tokens": np.array([list(prompt)], dtype=np.int64), **_feed(names, zeros)})
    token = int(out[0][0, -1].argmax())
    states = out[2:]
    tokens = [token]
    for _ in range(n - 1):
        out = step.run(None, {"token": np.array([token], dtype=np.int64), **_feed(names, states)})
        token = int(out[0][0].argmax())
        states = out[2:]
        tokens.append(token)
    return tokens


def greedy_prompts(material: corpus.Material | None = None) -> list[bytes]:
    material = material or corpus.load_material()
    return [corpus.prompt(material.personas[lang][0], user, memory, lang)
            for lang, user, memory in GREEDY_PROMPTS]


def check_greedy(model: TarsCore, files: dict[str, Path], prompts: list[bytes], what: str,
                 n: int = GREEDY_TOKENS) -> list[str]:
    """Identical greedy continuations (ONNX Runtime prefill + step vs PyTorch), else raises.
    Returns the decoded continuations (up to END) for the record."""
    replies = []
    for prompt in prompts:
        ref = greedy_torch(model, prompt, n)
        got = greedy_ort(files, model.cfg, prompt, n)
        if ref != got:
            first = next(i for i, (a, b) in enumerate(zip(ref, got)) if a != b)
            raise VerificationError(
                f"{what}: greedy continuation of {tokenizer.decode(prompt)!r} differs from "
                f"PyTorch at token {first}; refusing to write the bundle")
        end = ref.index(tokenizer.END) if tokenizer.END in ref else len(ref)
        replies.append(tokenizer.decode(ref[:end]))
    return replies


# -------------------------------------------------------------------------------------- build


def _file_bytes(paths) -> int:
    return int(sum(Path(p).stat().st_size for p in paths))


def build(bundle_dir: Path, seed: int = 0, quick: bool = False,
          checkpoints: Path | None = None) -> dict:
    """Train (resuming from ``checkpoints``), export, verify, measure, write ``core`` into
    ``bundle_dir``, then its ``draft`` model (tars_export.draft_build). Returns the core's
    manifest entry."""
    t0 = time.time()
    cfg = CoreTrainConfig.quick() if quick else CoreTrainConfig()
    if checkpoints is None:
        checkpoints = (Path(tempfile.mkdtemp(prefix="tars-core-quick-")) if quick
                       else DEFAULT_CHECKPOINTS.with_name(f"core-seed{seed}") if seed
                       else DEFAULT_CHECKPOINTS)
    trained: TrainedCore = train_all(seed, cfg, checkpoints)
    torch.set_num_threads(cfg.threads)
    material = corpus.load_material()
    prompts = greedy_prompts(material)
    parity_texts = [d for d in trained.data.heldout[:6] if len(d) > 40]
    n_greedy = 24 if quick else GREEDY_TOKENS
    deployed = trained.deployed

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        exported: dict[str, dict[str, Path]] = {}
        parity: dict[str, float] = {}
        replies: dict[str, list[str]] = {}
        bar = tqdm(total=len(GRAPHS) * len(trained.models), desc="core export+verify", unit="graph")
        for variant, model in trained.models.items():
            model.eval()
            files = {}
            for graph in GRAPHS:
                path = tmp / variant / f"{graph}.onnx"
                path.parent.mkdir(exist_ok=True)
                export_core_graph(model, graph, path)
                files[graph] = path
                bar.update(1)
            parity[variant] = check_core_graphs(model, files, parity_texts, f"core {variant}")
            replies[variant] = check_greedy(model, files, prompts, f"core {variant}", n_greedy)
            exported[variant] = files
        bar.close()
        core = trained.models[deployed]

        weights = tmp / "weights.npz"
        save_weights(core, core.cfg.to_dict(), weights)

        bytes_step = {v: _file_bytes([f["step"]]) for v, f in exported.items()}
        bytes_total = {v: _file_bytes(f.values()) for v, f in exported.items()}
        cfg_model = core.cfg
        inputs, outputs = graph_io(cfg_model, "step")
        io = {g: dict(zip(("inputs", "outputs"), graph_io(cfg_model, g))) for g in GRAPHS}
        core_metrics = {
            "params": core.num_params(),
            "bytes": bytes_step,
            "bytes_all_graphs": bytes_total,
            "bpb": {v: round(b, 4) for v, b in trained.bpb.items()},
            "parity_max_abs": {v: float(f"{p:.3g}") for v, p in parity.items()},
            "greedy_identical_tokens": {"prompts": len(prompts), "tokens": n_greedy},
            "ternary_file_ratio": round(bytes_step["fp32"] / bytes_step["ternary"], 2),
            "ternary_bpb_ratio": round(trained.bpb["ternary"] / trained.bpb["fp32"], 4),
            "train_seconds": round(trained.seconds, 1),
            "final_loss": {v: round(float(np.mean(trained.losses[v][-20:])), 4)
                           for v in trained.models},
        }
        core_entry = {
            "kind": "tars-core-ssm",
            "deployed": deployed,
            "graphs": {"step": deployed, "prefill": f"{deployed}.prefill"},
            "weights": f"{deployed}.weights",
            "io": io,
            "inputs": inputs,
            "outputs": outputs,
            "states": [
                {"name": n, "output": f"{n}_out", "per_position_output": f"{n}_at",
                 "dtype": "float32", "shape": list(s), "init": 0.0}
                for n, s in cfg_model.state_specs(1)
            ],
            "prompt": {
                "format": "PERSONA persona [PERSONA memory-label notes] USER text ASSISTANT "
                          "reply END ...",
                "persona": {lang: material.personas[lang][0] for lang in corpus.LANGS},
                "memory_label": dict(corpus.MEMORY_LABEL),
                "stop_token": tokenizer.END,
            },
            "config": {**cfg_model.to_dict(), "seed": seed, "quick": quick,
                       "train": {k: v for k, v in cfg.to_dict().items() if k != "model"}},
            "samples": {"greedy": replies[deployed]},
            "metrics": core_metrics,
        }
        files = {deployed: exported[deployed]["step"],
                 f"{deployed}.prefill": exported[deployed]["prefill"],
                 f"{deployed}.weights": weights}
        quant = {deployed: QUANT_DESCRIPTION[deployed],
                 f"{deployed}.prefill": QUANT_DESCRIPTION[deployed]}
        written = put_model(bundle_dir, "core", core_entry, files, quant)
    tqdm.write(f"core: built in {time.time() - t0:.0f} s, deployed {deployed}, "
               f"bpb {core_metrics['bpb']}")
    from tars_export import draft_build  # it builds on this module's export helpers

    draft_build.build_for_core(bundle_dir, core, deployed, trained.data, cfg, seed, quick,
                               checkpoints / "draft.pt")
    return written
