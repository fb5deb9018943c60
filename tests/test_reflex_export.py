"""Reflex export: every variant is verified against PyTorch before it reaches a bundle, a
failing verification writes nothing, and the committed bundle's metrics are reproducible."""

import json

import numpy as np
import onnx
import pytest
from conftest import MODELS
from onnx import numpy_helper

from tars_edge.bundle import Bundle
from tars_edge.reflex import ReflexClassifier
from tars_export import intent_grammar, intents, reflex_build
from tars_export.train_reflex import ReflexTrainConfig, training_sets
from tars_export.verify import VerificationError


@pytest.fixture(scope="module")
def quick_bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("quick-bundle")
    reflex_build.build(out, seed=0, quick=True)
    return out


def test_quick_build_writes_three_verified_variants(quick_bundle):
    spec = Bundle.load(quick_bundle).model("reflex")
    assert set(spec["files"]) == {"fp32", "int8", "ternary"}
    for variant in spec["files"]:
        assert spec["metrics"]["parity_max_abs"][variant] <= reflex_build.PARITY_TOLERANCE
    sizes = {v: f["bytes"] for v, f in spec["files"].items()}
    assert sizes["ternary"] < sizes["int8"] < sizes["fp32"]
    n = len(intents.LABELS)
    confusion = np.array(spec["metrics"]["confusion"]["fp32"])
    assert confusion.shape == (n, n) and confusion.sum() == spec["metrics"]["heldout_size"]


def test_each_member_grammar_gets_its_own_training_set():
    """Members on different grammars see different generated data; members on one grammar
    share one draw."""
    cfg = ReflexTrainConfig(grammar_per_intent_lang=30, augment_copies=0)
    rows, heldout = intents.split_by_phrasing(intents.load_rows(), cfg.heldout_frac, 0)
    grammars = [(1, 2), (1, 2, 4), (1, 2)]
    sets = training_sets(grammars, rows, heldout, 0, cfg, np.random.default_rng(0))
    assert list(sets) == [(1, 2), (1, 2, 4)]

    def template_ids(examples, intent="time", lang="en"):
        prefix = f"{intent}/grammar-{lang}"
        return {int(e.group.removeprefix(prefix)) for e in examples if e.group.startswith(prefix)}

    first_two = len(intent_grammar.templates("en", "time", (1, 2)))
    assert max(template_ids(sets[(1, 2)])) < first_two  # only the first two authors' templates
    assert max(template_ids(sets[(1, 2, 4)])) >= first_two  # the fourth author's are drawn too
    hand = {e.text for e in rows}
    assert hand <= {e.text for e in sets[(1, 2)]} and hand <= {e.text for e in sets[(1, 2, 4)]}


def test_export_that_differs_from_pytorch_is_refused(tmp_path, monkeypatch):
    """Fault injection: perturb the exported graph's float weights; nothing may be written."""
    real_export = reflex_build.export_onnx

    def export_then_corrupt(model, path):
        real_export(model, path)
        proto = onnx.load(str(path))
        for init in proto.graph.initializer:
            if init.data_type == onnx.TensorProto.FLOAT and len(init.dims) == 2:
                arr = numpy_helper.to_array(init).copy()
                arr += 0.05  # every row, so bytes absent from the test texts cannot hide it
                init.CopyFrom(numpy_helper.from_array(arr, init.name))
        onnx.save(proto, str(path))

    monkeypatch.setattr(reflex_build, "export_onnx", export_then_corrupt)
    monkeypatch.setattr(reflex_build.ReflexTrainConfig, "quick", classmethod(
        lambda cls: cls(epochs=1, qat_epochs=1, augment_copies=0)))
    with pytest.raises(VerificationError, match="refusing to write"):
        reflex_build.build(tmp_path, seed=0, quick=True)
    assert not (tmp_path / "manifest.json").exists()
    assert not list(tmp_path.glob("*.onnx"))


# The DESIGN target, held by the committed bundle since round 10 (int8 95.6 %: three members,
# one grammar each, every grammar with the fifth author's boundary cases); a rebuild that falls
# under it is a regression. Round 9 deployed 94.9 %; round 1 87.5 %.
ACCURACY_FLOOR = 0.95


def test_committed_bundle_reproduces_its_metrics():
    """The committed manifest's held-out accuracy is what the runtime really gets."""
    bundle = Bundle.load(MODELS)
    spec = bundle.model("reflex")
    deployed = spec["deployed"]
    assert deployed in ("ternary", "int8")
    assert spec["metrics"]["accuracy"][deployed] >= ACCURACY_FLOOR
    _, heldout = intents.split_by_phrasing(
        intents.load_rows(), reflex_build.ReflexTrainConfig().heldout_frac, spec["config"]["seed"]
    )
    for variant in spec["files"]:
        reflex = ReflexClassifier(bundle, variant=variant)
        correct = [reflex.classify(e.text).intent == intents.LABELS[e.intent] for e in heldout]
        assert np.mean(correct) == pytest.approx(spec["metrics"]["accuracy"][variant], abs=1e-4)


def test_report_lists_accuracy_per_variant():
    from tars_export.cli import report

    data = report(Bundle.load(MODELS))
    assert set(data["reflex.accuracy"]) == {"fp32", "int8", "ternary"}
    json.dumps(data)  # serialisable as `tars-export report --json`


def test_build_is_deterministic(quick_bundle, tmp_path):
    """Same seed, same bytes: `build-default` regenerates a bundle file for file."""
    reflex_build.build(tmp_path, seed=0, quick=True)
    first = Bundle.load(quick_bundle).model("reflex")["files"]
    second = Bundle.load(tmp_path).model("reflex")["files"]
    assert {v: f["sha256"] for v, f in first.items()} == {v: f["sha256"] for v, f in second.items()}
