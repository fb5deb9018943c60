"""Builds the bundle's ``draft`` model for a core: train the draft head against the frozen
deployed core (``tars_export.train_draft``), quantize it to INT8, export its two graphs, verify
both against PyTorch, measure acceptance, and only then write.

Files written:

    draft.int8.onnx          draft graph   hidden (1, D), token (1,) -> draft_tokens (1, K), draft_logits (1, K, 256)
    draft.int8.verify.onnx   verify graph  tokens (1, K+1) + core states -> logits (1, K+1, 256),
                                           hidden (1, K+1, D), next_drafts (1, K+1, K), states after
                                           every position (1, K+1, ...)   (tars_export.draft.SpeculateGraph)
    draft.int8.weights.npz   the head's weights (INT8 codes + scales)

The verify graph carries its own copy of the core's weights (0.5 MB for the ternary core): a
round of speculation is then one ONNX Runtime call. Its token count is fixed at K+1 at export,
so every shape in it is static and ONNX Runtime folds the shape arithmetic away.

``tars-export build-default --only draft`` runs this against the core the bundle already holds
(rebuilt from ``core.<v>.weights.npz``), without retraining the core.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from tars_edge import tokenizer
from tars_edge.bundle import Bundle
from tars_export.bundle_writer import put_model
from tars_export.core import TarsCore
from tars_export.core_build import (
    OPSET,
    PARITY_TOLERANCE,
    QUANT_DESCRIPTION,
    _feed,
    _np,
    _plain_copy,
    _quantize_file,
    greedy_torch,
    load_core_weights,
    save_weights,
    session,
    state_names,
    weight_schemes,
)
from tars_export.draft import DraftGraph, DraftHead, SpeculateGraph
from tars_export.quant import quantized_weight_names, set_scheme
from tars_export.train_core import DEFAULT_CHECKPOINTS, CoreData, CoreTrainConfig, load_data
from tars_export.train_draft import train_draft
from tars_export.verify import VerificationError, check_parity

# ---------------------------------------------------------------------------------- export


def export_draft_graph(draft: DraftHead, path: Path) -> None:
    plain = _plain_copy(draft)
    with torch.no_grad():
        torch.onnx.export(DraftGraph(plain), (torch.zeros(1, draft.cfg.d_model), torch.tensor([65])),
                          str(path), dynamo=False, input_names=["hidden", "token"],
                          output_names=["draft_tokens", "draft_logits"], opset_version=OPSET,
                          do_constant_folding=False)
    _quantize_file(draft, path, prefix="head.")


def verify_io(core: TarsCore, n_draft: int) -> tuple[list[dict], list[dict]]:
    """Manifest input/output specs of the verify graph (batch 1, T = K + 1)."""
    t, specs = n_draft + 1, core.cfg.state_specs(1)
    inputs = [{"name": "tokens", "dtype": "int64", "shape": [1, t]}] + [
        {"name": n, "dtype": "float32", "shape": list(s)} for n, s in specs]
    outputs = [{"name": "logits", "dtype": "float32", "shape": [1, t, core.cfg.vocab_size]},
               {"name": "hidden", "dtype": "float32", "shape": [1, t, core.cfg.d_model]},
               {"name": "next_drafts", "dtype": "int64", "shape": [1, t, n_draft]}]
    outputs += [{"name": f"{n}_at", "dtype": "float32", "shape": [1, t, *s[1:]]} for n, s in specs]
    return inputs, outputs


def export_verify_graph(core: TarsCore, draft: DraftHead, path: Path,
                        core_schemes: dict[str, str] | None = None) -> None:
    """``core_schemes``: the core's quantized weights when its module computes with them
    already dequantized (scheme "none", as rebuilt from a bundle's weights file)."""
    graph = SpeculateGraph(core, draft)
    inputs, outputs = verify_io(core, draft.cfg.n_draft)
    tokens = torch.full((1, draft.cfg.n_draft + 1), 65)
    with torch.no_grad():
        torch.onnx.export(_plain_copy(graph), (tokens, *core.initial_state(1)), str(path),
                          dynamo=False, input_names=[i["name"] for i in inputs],
                          output_names=[o["name"] for o in outputs], opset_version=OPSET,
                          do_constant_folding=False)
    names = quantized_weight_names(graph)
    names.update({f"core.{n}": sch for n, sch in (core_schemes or {}).items()})
    if torch.equal(draft.embed.weight, core.embed.weight):
        names.pop("head.embed.weight", None)  # the exporter keeps one copy of equal tables
    _quantize_file(graph, path, prefix="", names=names)


# ---------------------------------------------------------------------------------- checks


@torch.no_grad()
def check_draft_graph(draft: DraftHead, path: Path, hiddens: torch.Tensor, tokens: torch.Tensor,
                      tolerance: float = PARITY_TOLERANCE) -> float:
    sess = session(path)
    worst = 0.0
    for h, t in zip(hiddens, tokens):
        ref_tokens, ref_logits = draft(h[None], t[None])
        got_tokens, got_logits = sess.run(None, {"hidden": h[None].numpy(), "token": t[None].numpy()})
        worst = max(worst, check_parity("draft logits", ref_logits.numpy(), got_logits, tolerance))
        if not np.array_equal(ref_tokens.numpy(), got_tokens):
            raise VerificationError("draft: proposed tokens differ from PyTorch; refusing to write")
    return worst


@torch.no_grad()
def check_verify_graph(core: TarsCore, draft: DraftHead, path: Path, texts: list[bytes],
                       tolerance: float = PARITY_TOLERANCE) -> float:
    """ONNX Runtime vs PyTorch for the verify graph, from the (nonzero) state each text's
    prefix leaves: logits, hidden, every per-position state, and identical next drafts."""
    sess = session(path)
    names = state_names(core.cfg)
    t = draft.cfg.n_draft + 1
    ref_graph = SpeculateGraph(core, draft).eval()
    worst = 0.0
    for text in texts:
        ids = torch.tensor([list(text)], dtype=torch.long)
        _, _, states, _ = core(ids[:, :-t])
        tail = ids[:, -t:]
        ref = ref_graph(tail, *states)
        got = sess.run(None, {"tokens": tail.numpy(), **_feed(names, _np(states))})
        if not np.array_equal(ref[2].numpy(), got[2]):
            raise VerificationError("draft verify graph: next drafts differ from PyTorch; "
                                    "refusing to write")
        labels = ["logits", "hidden", None, *(f"state {n}" for n in names)]
        for label, r, g in zip(labels, ref, got):
            if label is not None:
                worst = max(worst, check_parity(f"draft verify {label}", r.numpy(), g, tolerance))
    return worst


@torch.no_grad()
def draft_acceptance(core: TarsCore, draft: DraftHead, prompts: list[bytes], max_new: int = 120
                     ) -> tuple[list[float], int, float]:
    """Greedy speculative acceptance on held-out prompts. The core decodes greedily; at every
    generated position t the draft proposes K tokens from (h_t, x_{t+1}); acceptance[k] is the
    share of positions whose first k+1 proposals all equal the core's own continuation, i.e.
    the chance that a verify call accepts at least k+1 draft tokens.

    Rounds start only where the previous round stopped, which is right after a rejected
    proposal, where drafting is harder than on average; so the tokens a round really yields
    are measured too, by walking the continuation round by round as the runtime does.
    Returns (rates, positions, tokens per round)."""
    k_max = draft.cfg.n_draft
    hits = np.zeros(k_max)
    positions = rounds = round_tokens = 0
    for prompt in prompts:
        gen = greedy_torch(core, prompt, max_new)
        if tokenizer.END in gen:
            gen = gen[: gen.index(tokenizer.END) + 1]
        seq = torch.tensor([list(prompt) + gen])
        _, hidden, _, _ = core(seq)
        p = len(prompt)
        accepted = []
        # position t = p-1+i has produced gen[i]; the draft then proposes gen[i+1 .. i+K]
        for i in range(len(gen) - k_max):
            proposed, _ = draft(hidden[:, p - 1 + i], torch.tensor([gen[i]]))
            match = np.cumprod(proposed[0].numpy() == np.array(gen[i + 1 : i + 1 + k_max]))
            hits += match
            accepted.append(int(match.sum()))
            positions += 1
        i = 0
        while i < len(accepted):  # a round at i emits its accepted drafts + the core's token
            rounds += 1
            round_tokens += accepted[i] + 1
            i += accepted[i] + 1
    return ([round(float(h / max(1, positions)), 4) for h in hits], positions,
            round(round_tokens / max(1, rounds), 3))


def acceptance_prompts(heldout: list[bytes], n: int) -> list[bytes]:
    """The held-out dialogues cut after their first ASSISTANT marker."""
    out = []
    for d in heldout:
        cut = d.find(bytes([tokenizer.ASSISTANT]))
        if cut > 0:
            out.append(d[: cut + 1])
        if len(out) == n:
            break
    return out


# ----------------------------------------------------------------------------------- build


def build_for_core(bundle_dir: Path, core: TarsCore, deployed: str, data: CoreData,
                   cfg: CoreTrainConfig, seed: int, quick: bool, checkpoint: Path,
                   core_schemes: dict[str, str] | None = None) -> dict:
    """Train, export, verify, measure and write the ``draft`` model for ``core``, the
    bundle's ``deployed`` variant: either with its schemes set, or (``core_schemes`` given)
    rebuilt from the bundle's weights file. Returns the manifest entry as written."""
    t0 = time.time()
    torch.set_num_threads(cfg.threads)
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    draft, losses = train_draft(core, data, cfg, seed, checkpoint)
    # INT8 after training (post-training quantization; see docs/core.md)
    set_scheme(draft, "int8")
    draft.embed.scheme = (core_schemes or {}).get("embed.weight", core.embed.scheme)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        bar = tqdm(total=3, desc="draft export+verify", unit="step")
        draft_path, verify_path = tmp / "draft.onnx", tmp / "verify.onnx"
        export_draft_graph(draft, draft_path)
        export_verify_graph(core, draft, verify_path, core_schemes)
        bar.update()
        texts = [d for d in data.heldout[:6] if len(d) > 40]
        probe = torch.tensor([list(texts[0])])
        _, hid, _, _ = core(probe)
        draft_parity = check_draft_graph(draft, draft_path, hid[0, -8:], probe[0, -8:])
        verify_parity = check_verify_graph(core, draft, verify_path, texts)
        bar.update()
        prompts = acceptance_prompts(data.heldout, 8 if quick else 60)
        acceptance, positions, per_round = draft_acceptance(core, draft, prompts,
                                                            max_new=24 if quick else 120)
        bar.update()
        bar.close()
        weights = tmp / "weights.npz"
        save_weights(draft, draft.cfg.to_dict(), weights)
        v_inputs, v_outputs = verify_io(core, draft.cfg.n_draft)
        entry = {
            "kind": "draft-head",
            "deployed": "int8",
            "core_variant": deployed,
            "graphs": {"draft": "int8", "verify": "int8.verify"},
            "weights": "int8.weights",
            "inputs": [{"name": "hidden", "dtype": "float32", "shape": [1, core.cfg.d_model]},
                       {"name": "token", "dtype": "int64", "shape": [1]}],
            "outputs": [{"name": "draft_tokens", "dtype": "int64", "shape": [1, draft.cfg.n_draft]},
                        {"name": "draft_logits", "dtype": "float32",
                         "shape": [1, draft.cfg.n_draft, core.cfg.vocab_size]}],
            "io": {"verify": {"inputs": v_inputs, "outputs": v_outputs}},
            "states": [],
            "config": {**draft.cfg.to_dict(), "seed": seed, "quick": quick,
                       "train": {"steps": cfg.draft_steps, "lr": cfg.draft_lr,
                                 "self_fraction": cfg.draft_self_fraction,
                                 "self_windows": cfg.draft_self_windows}},
            "metrics": {
                "acceptance": acceptance,
                "acceptance_positions": positions,
                "expected_tokens_per_verify": round(1 + sum(acceptance), 3),
                "tokens_per_round": per_round,
                "params": sum(p.numel() for n, p in draft.named_parameters()
                              if not n.startswith("embed.")),
                "bytes": draft_path.stat().st_size,
                "parity_max_abs": float(f"{draft_parity:.3g}"),
                "verify_parity_max_abs": float(f"{verify_parity:.3g}"),
                "final_loss": round(float(np.mean(losses[-20:])), 4),
            },
        }
        desc = {"int8": {"scheme": "int8", "weights": "per-output-channel symmetric",
                         "layers": "linear", "embedding": f"as the core ({deployed})",
                         "execution": "fold"}}
        desc["int8.verify"] = {**desc["int8"], "core": QUANT_DESCRIPTION[deployed]}
        written = put_model(bundle_dir, "draft", entry,
                            {"int8": draft_path, "int8.verify": verify_path, "int8.weights": weights},
                            desc)
    tqdm.write(f"draft: built in {time.time() - t0:.0f} s, acceptance {acceptance}, "
               f"{per_round} tokens per round")
    return written


def build(bundle_dir: Path, seed: int = 0, quick: bool = False,
          checkpoints: Path | None = None) -> dict:
    """``build-default --only draft``: a new draft model for the core already in the bundle."""
    bundle = Bundle.load(bundle_dir)
    spec = bundle.model("core")
    cfg = CoreTrainConfig.quick() if quick else CoreTrainConfig()
    weights = bundle.file("core", spec["weights"])
    if checkpoints is None:
        checkpoints = (Path(tempfile.mkdtemp(prefix="tars-draft-quick-")) if quick
                       else DEFAULT_CHECKPOINTS.with_name(f"draft-seed{seed}"))
    return build_for_core(Path(bundle_dir), load_core_weights(weights), spec["deployed"],
                          load_data(cfg, seed), cfg, seed, quick, Path(checkpoints) / "draft.pt",
                          core_schemes=weight_schemes(weights))
