"""The bundled embedder: ONNX Runtime vs sentence-transformers on the parity sentences, the
manifest entry, held-out recall@1 through the runtime, and a failing export writes nothing."""

import numpy as np
import pytest
from conftest import MODELS

from tars_edge.bundle import Bundle
from tars_edge.memory import Embedder, MemoryStore, VectorMemory
from tars_export import embedder as embedder_build
from tars_export.verify import VerificationError


@pytest.fixture(scope="module")
def bundle():
    return Bundle.load(MODELS)


@pytest.fixture(scope="module")
def reference():
    return embedder_build.load_reference()


def test_manifest_lists_model_and_tokenizer(bundle):
    spec = bundle.model("embedder")
    assert set(spec["files"]) == {spec["deployed"], "tokenizer"}
    for variant in spec["files"]:
        assert bundle.file("embedder", variant).exists()  # size + sha256 checked here
    assert spec["metrics"]["parity_sentences"] >= 100
    assert spec["metrics"]["parity_cosine_min"][spec["deployed"]] >= 0.99
    assert spec["metrics"]["parity_cosine_min"]["fp32"] >= 0.9999


def test_runtime_matches_sentence_transformers(bundle, reference):
    texts = embedder_build.parity_sentences()
    assert len(texts) >= 100
    runtime = Embedder.from_bundle(bundle)
    embedder_build.check_tokenizer(reference, runtime, texts)
    ref = embedder_build.reference_embeddings(reference, texts)
    got = runtime.embed(texts)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
    cos = embedder_build.check_cosine(bundle.model("embedder")["deployed"], ref, got, texts)
    assert cos["min"] >= 0.99
    # Batching with padding must not change a vector.
    one = np.stack([runtime.embed_one(t) for t in texts[:8]])
    assert np.max(np.abs(one - got[:8])) < 1e-3


def test_heldout_recall_at_1(bundle):
    """The docs' headline number, through the runtime path users run."""
    runtime = Embedder.from_bundle(bundle)
    metrics = embedder_build.evaluate_recall(runtime, progress=False)
    assert metrics["recall_eval_questions"] >= 80 and metrics["recall_eval_memories"] >= 40
    assert metrics["recall_at_1"] >= 0.9


def test_failed_parity_writes_nothing(tmp_path, monkeypatch):
    """Fault injection: deploy plain dynamic INT8 (measured min cosine 0.96) as the int8
    variant; the build must refuse before touching the bundle."""
    monkeypatch.setattr(embedder_build, "quantize_int8",
                        lambda src, dest: embedder_build.quantize_dynamic_int8(src, dest) or {})
    with pytest.raises(VerificationError, match="embedder int8: cosine .* refusing to write"):
        embedder_build.build(tmp_path, seed=0, quick=True)
    assert not list(tmp_path.iterdir())


def test_empty_store_and_unloaded_embedder(tmp_path, bundle):
    runtime = Embedder.from_bundle(bundle)
    assert not runtime.loaded  # lazy: nothing loaded until the first embed
    store = MemoryStore.open(tmp_path)
    memory = VectorMemory(store, runtime)
    assert memory.recall("anything at all", k=3) == []
    assert runtime.loaded
    runtime.unload()
    assert not runtime.loaded and runtime.embed_one("again").shape == (runtime.dim,)
    store.close()
