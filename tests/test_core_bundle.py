"""The committed bundle's core and draft: the ONNX graphs agree with a PyTorch model rebuilt from
the bundle's own weights file (no checkpoint, no training), the manifest's state contract
matches the graphs, and the recorded metrics meet the issue's targets."""

from pathlib import Path

import onnx
import pytest
import torch

from tars_edge import tokenizer
from tars_edge.bundle import Bundle
from tars_export import core_build, corpus, draft_build
from tars_export.cli import report
from tars_export.verify import VerificationError

MODELS = Path(__file__).resolve().parent.parent / "models"


@pytest.fixture(scope="module")
def bundle() -> Bundle:
    bundle = Bundle.load(MODELS)
    assert "core" in bundle.models, "models/ has no core: run `tars-export build-default --only core`"
    return bundle


@pytest.fixture(scope="module")
def core_files(bundle):
    return {graph: bundle.file("core", variant) for graph, variant in bundle.model("core")["graphs"].items()}


@pytest.fixture(scope="module")
def core_model(bundle):
    return core_build.load_core_weights(bundle.file("core", bundle.model("core")["weights"]))


def _texts():
    m = corpus.load_material()
    return [corpus.prompt(m.personas["ru"][0], "Как зовут мою собаку?", ["Мою собаку зовут Жужа."]),
            corpus.frame(m.personas["en"][0], [("Hello!", "Hi! How can I help?")], lang="en")]


def test_committed_core_graphs_match_pytorch(core_model, core_files):
    worst = core_build.check_core_graphs(core_model, core_files, _texts(), "committed core")
    assert worst <= core_build.PARITY_TOLERANCE


def test_committed_core_greedy_equals_pytorch(core_model, core_files):
    prompts = core_build.greedy_prompts()[:2]
    core_build.check_greedy(core_model, core_files, prompts, "committed core", n=60)


def test_tampered_weights_are_detected(core_model, core_files):
    model = type(core_model)(core_model.cfg)
    model.load_state_dict(core_model.state_dict())
    with torch.no_grad():
        model.embed.weight.mul_(1.01)
    with pytest.raises(VerificationError):
        core_build.check_core_graphs(model.eval(), core_files, _texts()[:1], "tampered")


def test_state_contract_matches_every_graph(bundle, core_files):
    core = bundle.model("core")
    states = core["states"]
    for graph, path in core_files.items():
        proto = onnx.load(str(path))
        inputs = {i.name: [d.dim_value or d.dim_param for d in i.type.tensor_type.shape.dim]
                  for i in proto.graph.input}
        outputs = {o.name for o in proto.graph.output}
        for s in states:
            assert inputs[s["name"]] == s["shape"], (graph, s["name"])
            assert s["output"] in outputs
    verify = onnx.load(str(bundle.file("draft", bundle.model("draft")["graphs"]["verify"])))
    outputs = {o.name for o in verify.graph.output}
    assert all(s["per_position_output"] in outputs for s in states)
    cfg = core_model_cfg(bundle)
    assert [s["name"] for s in states] == [n for n, _ in cfg.state_specs(1)]


def core_model_cfg(bundle):
    from tars_export.core import CoreConfig

    return CoreConfig.from_dict(bundle.model("core")["config"])


def test_committed_draft_graphs_match_pytorch(bundle, core_model):
    spec = bundle.model("draft")
    draft = core_build.load_draft_weights(bundle.file("draft", spec["weights"]))
    prompt = torch.tensor([list(_texts()[0])])
    with torch.no_grad():
        _, hidden, _, _ = core_model(prompt)
    worst = draft_build.check_draft_graph(draft, bundle.file("draft", spec["graphs"]["draft"]),
                                          hidden[0, -6:], prompt[0, -6:])
    worst = max(worst, draft_build.check_verify_graph(
        core_model, draft, bundle.file("draft", spec["graphs"]["verify"]), _texts()))
    assert worst <= core_build.PARITY_TOLERANCE


def test_recorded_metrics_meet_the_targets(bundle):
    flat = report(bundle)
    bpb, size = flat["core.bpb"], flat["core.bytes"]
    assert size["ternary"] * 12 <= size["fp32"], "ternary file must be at most 1/12 of fp32"
    assert flat["core.deployed"] in ("int8", "ternary")
    if flat["core.deployed"] == "ternary":
        assert bpb["ternary"] <= 1.15 * bpb["fp32"]
    assert all(p <= core_build.PARITY_TOLERANCE for p in flat["core.parity_max_abs"].values())
    acc = flat["draft.acceptance"]
    assert len(acc) == bundle.model("draft")["config"]["n_draft"]
    assert all(a >= b for a, b in zip(acc, acc[1:])), "acceptance is cumulative: non-increasing"
    total = sum(f["bytes"] for m in ("core", "draft") for f in bundle.model(m)["files"].values())
    assert total <= 8 * 2**20


@pytest.mark.xfail(strict=True, reason="known shortfall: the committed 1.5M-parameter core answers "
                   "in the right form but does not yet copy a name from its notes ('Your name is "
                   "Lekay.'); strict, so a core that does will flag this test")
def test_greedy_reply_is_a_reply(bundle, core_files):
    """The deployed core answers a grounded question by copying the held-out name."""
    cfg = core_model_cfg(bundle)
    m = corpus.load_material()
    prompt = corpus.prompt(m.personas["en"][0], "What's my name?", ["My name is Zoe."], "en")
    tokens = core_build.greedy_ort(core_files, cfg, prompt, 60)
    reply = tokenizer.decode(tokens[: tokens.index(tokenizer.END)] if tokenizer.END in tokens else tokens)
    assert "Zoe" in reply, reply
