"""ONNX export of the core: step and prefill graphs reproduce the PyTorch forward of
their variant (fp32, INT8, ternary), greedy decoding through ONNX Runtime equals PyTorch's, the
manifest describes the graphs' real inputs/outputs, and a bad export never reaches a bundle.
A tiny model trained for a few steps (``--quick``) exercises the whole build."""

import json

import numpy as np
import onnx
import pytest
import torch

from tars_edge import tokenizer
from tars_edge.bundle import Bundle
from tars_export import core_build, corpus
from tars_export.cli import report
from tars_export.core import CoreConfig, TarsCore
from tars_export.quant import set_scheme
from tars_export.verify import VerificationError

TINY = dict(d_model=32, n_waves=1, ssd_head_dim=16, wkv_head_dim=16, d_state=8)


def _tiny(seed: int, scheme: str = "none") -> TarsCore:
    torch.manual_seed(seed)
    model = TarsCore(CoreConfig(**TINY))
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() <= 1:
                p.add_(0.2 * torch.randn_like(p))
    set_scheme(model, scheme, embeddings="int8" if scheme != "none" else "none")
    return model.eval()


def _texts() -> list[bytes]:
    return [corpus.prompt("You are TARS.", "Hello! What can you do?", ["My name is Zoe."], "en"),
            corpus.frame("Ты ТАРС.", [("Привет!", "Привет! Чем могу помочь?")])]


def _export_all(model: TarsCore, tmp_path) -> dict:
    files = {}
    for graph in core_build.GRAPHS:
        files[graph] = tmp_path / f"{graph}.onnx"
        core_build.export_core_graph(model, graph, files[graph])
    return files


# fp32 and int8 graphs are checked the same way by the quick build below.
@pytest.mark.parametrize("scheme", ["ternary"])
def test_every_graph_matches_pytorch_and_greedy_is_identical(scheme, tmp_path):
    model = _tiny(0, scheme)
    files = _export_all(model, tmp_path)
    worst = core_build.check_core_graphs(model, files, _texts(), f"tiny {scheme}")
    assert worst <= core_build.PARITY_TOLERANCE
    replies = core_build.check_greedy(model, files, [_texts()[0]], f"tiny {scheme}", n=40)
    assert len(replies) == 1


def test_graph_io_in_the_manifest_matches_the_onnx_files(tmp_path):
    model = _tiny(1)
    files = _export_all(model, tmp_path)
    for graph, path in files.items():
        proto = onnx.load(str(path))
        inputs, outputs = core_build.graph_io(model.cfg, graph)
        assert [i.name for i in proto.graph.input] == [i["name"] for i in inputs]
        assert [o.name for o in proto.graph.output] == [o["name"] for o in outputs]
        for spec, value in zip(inputs, proto.graph.input):
            dims = [d.dim_value or d.dim_param for d in value.type.tensor_type.shape.dim]
            assert dims == spec["shape"], (graph, spec["name"])


def test_a_wrong_export_is_refused(tmp_path):
    model = _tiny(2)
    files = _export_all(model, tmp_path)
    with torch.no_grad():
        model.blocks[0].out_proj.weight.mul_(1.5)  # the graphs no longer match this model
    with pytest.raises(VerificationError):
        core_build.check_core_graphs(model, files, _texts(), "tampered")
    with pytest.raises(VerificationError):
        core_build.check_greedy(model, files, [_texts()[0]], "tampered", n=60)


def test_weights_file_rebuilds_the_same_model(tmp_path):
    model = _tiny(3, "ternary")
    path = tmp_path / "w.npz"
    core_build.save_weights(model, model.cfg.to_dict(), path)
    again = core_build.load_core_weights(path)
    tokens = torch.tensor([list(_texts()[0])])
    with torch.no_grad():
        torch.testing.assert_close(again(tokens)[0], model(tokens)[0], atol=1e-5, rtol=1e-5)


@pytest.fixture(scope="module")
def quick_build(tmp_path_factory):
    root = tmp_path_factory.mktemp("core_quick")
    entry = core_build.build(root / "bundle", seed=0, quick=True, checkpoints=root / "ckpt")
    return root, entry


@pytest.mark.slow
def test_quick_build_writes_core_and_draft_with_report_keys(quick_build):
    root, _ = quick_build
    bundle = Bundle.load(root / "bundle")
    draft = bundle.model("draft")
    for graph in ("draft", "verify"):
        bundle.file("draft", draft["graphs"][graph])  # size + sha256 checked
    verify = onnx.load(str(bundle.file("draft", draft["graphs"]["verify"])))
    assert [o.name for o in verify.graph.output] == [o["name"] for o in draft["io"]["verify"]["outputs"]]
    core = bundle.model("core")
    assert core["deployed"] in ("int8", "ternary")
    for graph, variant in core["graphs"].items():
        path = bundle.file("core", variant)  # size + sha256 checked
        proto = onnx.load(str(path))
        assert [i.name for i in proto.graph.input] == [i["name"] for i in core["io"][graph]["inputs"]]
    names = [s["name"] for s in core["states"]]
    inputs = {i["name"]: i["shape"] for i in core["io"]["step"]["inputs"]}
    for s in core["states"]:
        assert inputs[s["name"]] == s["shape"] and s["init"] == 0.0
    assert names[-1] == "pos"
    flat = report(bundle)
    for key in ("core.params", "core.bytes", "core.bpb", "core.parity_max_abs", "core.deployed",
                "draft.acceptance"):
        assert key in flat, key
    assert set(flat["core.bpb"]) == {"fp32", "int8", "ternary"}
    assert set(flat["core.bytes"]) == {"fp32", "int8", "ternary"}
    n_draft = bundle.model("draft")["config"]["n_draft"]
    assert len(flat["draft.acceptance"]) == n_draft
    assert 1.0 <= flat["draft.tokens_per_round"] <= n_draft + 1
    json.dumps(flat)  # plain JSON


@pytest.mark.slow
def test_build_refuses_to_write_when_an_export_is_wrong(quick_build, monkeypatch, tmp_path):
    root, _ = quick_build
    real_export = core_build.export_core_graph

    def sabotaged(model, graph, path):
        bad = core_build._plain_copy(model)
        with torch.no_grad():
            bad.norm_f.weight.mul_(2.0)
        set_scheme(bad, "none", embeddings="none")
        real_export(bad, graph, path)

    monkeypatch.setattr(core_build, "export_core_graph", sabotaged)
    bundle = tmp_path / "bundle"
    with pytest.raises(VerificationError):
        core_build.build(bundle, seed=0, quick=True, checkpoints=root / "ckpt")
    assert not (bundle / "manifest.json").exists()


def test_prompt_format_uses_the_special_tokens():
    data = corpus.prompt("P", "hi", ["note."], "en")
    assert data[0] == tokenizer.PERSONA and data[-1] == tokenizer.ASSISTANT
    assert data.count(bytes([tokenizer.PERSONA])) == 2 and b"Memory: note." in data
    assert np.frombuffer(data, np.uint8).max() < 256
