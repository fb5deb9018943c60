"""Builds the bundle's ``reflex`` model: train (fp32 + int8/ternary QAT), export each variant
to ONNX, verify ONNX Runtime against the PyTorch forward of that variant, measure held-out
metrics through ONNX Runtime (the numbers describe the files users run), and write the bundle.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from tars_edge import tokenizer
from tars_export import intents
from tars_export.bundle_writer import put_model
from tars_export.mingru import ReflexGraph, ReflexMinGRU
from tars_export.quant import QuantLinear, quantize_onnx_weights
from tars_export.train_reflex import ReflexTrainConfig, metrics, predict, train_all
from tars_export.verify import check_parity

CONFIDENCE_THRESHOLD = 0.85  # DESIGN §4; the runtime reads it from the manifest
PARITY_TOLERANCE = 1e-4  # max |Δ logit|, ONNX Runtime vs PyTorch, every variant
TARGET_ACCURACY = 0.95
# Among variants that reach the target, prefer the smallest file.
DEPLOY_PREFERENCE = ("ternary", "int8", "fp32")


def export_onnx(model: ReflexMinGRU, path: Path) -> None:
    """fp32 graph of ``model``'s master weights; quantized variants are rewritten after."""
    scheme = {m.scheme for m in model.modules() if isinstance(m, QuantLinear)}
    plain = ReflexMinGRU(model.cfg)
    plain.load_state_dict(model.state_dict())
    plain.eval()
    tokens = torch.tensor([list(tokenizer.encode("hello TARS"))])
    h0 = plain.initial_state(1)
    torch.onnx.export(
        ReflexGraph(plain),
        (tokens, h0),
        str(path),
        dynamo=False,
        input_names=["tokens", "h0"],
        output_names=["intent_logits", "confidence", "h"],
        dynamic_axes={"tokens": {1: "T"}},
        opset_version=17,
    )
    (scheme,) = scheme
    if scheme != "none":
        weights = [f"model.{name}.weight" for name, m in plain.named_modules() if isinstance(m, QuantLinear)]
        onnx.save(quantize_onnx_weights(onnx.load(str(path)), weights, scheme), str(path))


def _ort_outputs(path: Path, texts: list[str], max_tokens: int, d_hidden: int):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    h0 = np.zeros((1, d_hidden), dtype=np.float32)
    logits, conf = [], []
    for text in texts:
        ids = tokenizer.encode_ids(text)[:max_tokens][None, :]
        lg, cf, _ = session.run(None, {"tokens": ids, "h0": h0})
        logits.append(lg[0])
        conf.append(cf[0])
    return np.array(logits), np.array(conf)


@torch.no_grad()
def _torch_logits(model: ReflexMinGRU, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """One text at a time, exactly like the runtime (no padding)."""
    logits, conf = [], []
    for text in texts:
        ids = torch.from_numpy(tokenizer.encode_ids(text)[: model.cfg.max_tokens][None, :])
        lg, cf = model(ids)
        logits.append(lg[0].numpy())
        conf.append(torch.sigmoid(cf)[0].item())
    return np.array(logits), np.array(conf)


def build(bundle_dir: Path, seed: int = 0, quick: bool = False) -> dict:
    cfg = ReflexTrainConfig.quick() if quick else ReflexTrainConfig()
    trained = train_all(seed, cfg)
    heldout_texts = [e.text for e in trained.heldout]
    ood_texts = [e.text for e in trained.ood_heldout]
    parity_texts = heldout_texts + ood_texts
    any_model = trained.models["fp32"]
    per_variant: dict[str, dict] = {}
    files: dict[str, Path] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for variant, model in trained.models.items():
            path = Path(tmp) / f"reflex.{variant}.onnx"
            export_onnx(model, path)
            ref_logits, ref_conf = _torch_logits(model, parity_texts)
            logits, conf = _ort_outputs(path, parity_texts, model.cfg.max_tokens, model.cfg.d_hidden)
            parity = max(
                check_parity(f"reflex {variant} logits", ref_logits, logits, PARITY_TOLERANCE),
                check_parity(f"reflex {variant} confidence", ref_conf, conf, PARITY_TOLERANCE),
            )
            n = len(heldout_texts)
            probs = np.exp(logits - logits.max(-1, keepdims=True))
            probs /= probs.sum(-1, keepdims=True)
            m = metrics(trained.heldout, trained.ood_heldout, probs[:n], conf[:n], conf[n:],
                        CONFIDENCE_THRESHOLD)
            m["parity_max_abs"] = parity
            m["bytes"] = path.stat().st_size
            m["final_loss"] = round(trained.losses[variant][-1], 4)
            torch_probs, _ = predict(model, heldout_texts)
            m["accuracy_torch_batched"] = round(
                float((torch_probs.argmax(-1) == np.array([e.intent for e in trained.heldout])).mean()), 4
            )
            per_variant[variant] = m
            files[variant] = path
        deployed = next(
            (v for v in DEPLOY_PREFERENCE if per_variant[v]["accuracy"] >= TARGET_ACCURACY),
            max(DEPLOY_PREFERENCE, key=lambda v: per_variant[v]["accuracy"]),
        )
        # metric -> variant -> value, so `tars-export report` shows reflex.accuracy per variant.
        model_metrics: dict = {"params": sum(p.numel() for p in any_model.parameters())}
        for variant, m in per_variant.items():
            for key, value in m.items():
                model_metrics.setdefault(key, {})[variant] = value
        cfg_model = any_model.cfg
        entry = {
            "kind": "reflex-mingru",
            "deployed": deployed,
            "labels": list(intents.LABELS),
            "thresholds": {"confidence": CONFIDENCE_THRESHOLD},
            "config": {
                "vocab_size": cfg_model.vocab_size,
                "d_embed": cfg_model.d_embed,
                "d_hidden": cfg_model.d_hidden,
                "max_tokens": cfg_model.max_tokens,
                "seed": seed,
                "quick": quick,
            },
            "inputs": [
                {"name": "tokens", "dtype": "int64", "shape": [1, "T"]},
                {"name": "h0", "dtype": "float32", "shape": [1, cfg_model.d_hidden]},
            ],
            "outputs": [
                {"name": "intent_logits", "dtype": "float32", "shape": [1, len(intents.LABELS)]},
                {"name": "confidence", "dtype": "float32", "shape": [1]},
                {"name": "h", "dtype": "float32", "shape": [1, cfg_model.d_hidden]},
            ],
            "states": [
                {"name": "h0", "output": "h", "dtype": "float32",
                 "shape": [1, cfg_model.d_hidden], "init": 0.0},
            ],
            "metrics": model_metrics,
        }
        quantization = {
            "fp32": {"scheme": "none"},
            "int8": {"scheme": "int8", "weights": "per-output-channel symmetric", "layers": "linear"},
            "ternary": {"scheme": "ternary", "weights": "BitNet b1.58 absmean, 2-bit packed",
                        "layers": "linear"},
        }
        return put_model(bundle_dir, "reflex", entry, files, quantization)
