"""The wake model: streaming == batch (PyTorch and ONNX Runtime), export parity for every
quantization scheme, the runtime detector on the committed bundle, and the builder."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from tars_export import wake_build, wake_data
from tars_export.quant import set_scheme
from tars_export.verify import VerificationError
from tars_export.wake import WakeConfig, WakeMinGRU

from tars_edge import audio
from tars_edge.bundle import Bundle, BundleError
from tars_edge.wake import WakeDetector, WakeHit, hits_from_scores, smoothed_scores

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                  reason="espeak-ng is not installed (apt-get install espeak-ng)")


def _random_model(scheme: str = "none", seed: int = 0) -> WakeMinGRU:
    torch.manual_seed(seed)
    model = WakeMinGRU(WakeConfig())
    with torch.no_grad():
        model.mel_mean.uniform_(-8, 0)
        model.mel_std.uniform_(1, 3)
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    set_scheme(model, scheme)
    return model.eval()


def _frames(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(-5, 3, size=(n, 40)).astype(np.float32)


@pytest.mark.parametrize("scheme", ["none", "int8", "ternary"])
def test_torch_streaming_equals_batch(scheme):
    model = _random_model(scheme)
    x = torch.from_numpy(_frames(96, 1))[None]
    with torch.no_grad():
        reference, _ = model(x, chunk=0)  # the recurrence, whole clip
        closed, _ = model(x, chunk=8)  # chunked closed form over the 24 steps
        state, parts = None, []
        for i in range(0, 96, 8):  # 80 ms chunks, state carried: the ONNX graph's form
            logits, state = model(x[:, i: i + 8], state, chunk=None)
            parts.append(logits)
    torch.testing.assert_close(closed, reference, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(torch.cat(parts, 1), reference, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("scheme", ["none", "int8", "ternary"])
def test_onnx_streaming_matches_pytorch(tmp_path, scheme):
    model = _random_model(scheme, seed=2)
    path = tmp_path / "wake.onnx"
    wake_build.export_onnx(model, path)
    frames = _frames(160, 3)
    want = wake_build.torch_probs(model, frames)
    got = wake_build.ort_stream_probs(path, model, frames)
    assert got.shape == want.shape == (160 // model.cfg.stride,)
    assert np.max(np.abs(got - want)) < 1e-4
    if scheme != "none":  # the quantized graph computes the quantized model, not the fp32 one
        plain = _random_model("none", seed=2)
        assert np.max(np.abs(wake_build.torch_probs(plain, frames) - want)) > 1e-4


def test_hits_respect_threshold_and_refractory():
    scores = np.array([0.1, 0.9, 0.95, 0.2] + [0.0] * 20 + [0.91, 0.3])
    hits = hits_from_scores(scores, threshold=0.9, refractory_s=1.0)
    assert hits == [WakeHit(0.16, 0.9), WakeHit(2.0, 0.91)]
    assert hits_from_scores(scores, threshold=0.9, refractory_s=3.0) == [WakeHit(0.16, 0.9)]
    assert hits_from_scores(scores, threshold=0.99, refractory_s=1.0) == []


def test_smoothing_averages_the_steps_before_and_streams_exactly():
    probs = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.4]], np.float32)
    np.testing.assert_array_equal(smoothed_scores(probs, 1), np.float32([1.0, 1.0, 0.4]))
    # step means with one zero before the stream: 0, .5, 1, .5, .1, .3
    np.testing.assert_allclose(smoothed_scores(probs, 2), [0.5, 1.0, 0.3], rtol=1e-6)
    # three steps: 0, 1/3, 2/3, 2/3, 0.4, 0.2
    np.testing.assert_allclose(smoothed_scores(probs, 3), [1 / 3, 2 / 3, 0.4], rtol=1e-6)
    rng = np.random.default_rng(0)
    many = rng.random((50, 2)).astype(np.float32)
    for k in (1, 2, 3, 5):
        whole = smoothed_scores(many, k)
        recent, parts = np.zeros(k - 1, np.float32), []
        for row in many:  # chunk by chunk, the last k - 1 steps carried, as the detector does
            parts.append(smoothed_scores(row[None], k, recent)[0])
            recent = np.concatenate([recent, row])[len(recent) + 2 - (k - 1):]
        np.testing.assert_array_equal(np.array(parts), whole)


# ------------------------------------------------------------------ the committed bundle


@pytest.fixture(scope="module")
def bundle():
    b = Bundle.load()
    if "wake" not in b.models:
        pytest.fail("the committed bundle has no wake model: run tars-export build-default --only wake")
    return b


def test_manifest_entry(bundle):
    spec = bundle.model("wake")
    assert spec["deployed"] in ("int8", "ternary")
    assert 0 < spec["thresholds"]["wake"] < 1 and spec["refractory_s"] > 0
    assert spec["metrics"]["params"] <= 50_000
    assert [s["name"] for s in spec["states"]] == ["conv", "h1", "h2"]
    assert spec.get("smoothing_steps", 1) in wake_build.SMOOTHING_CHOICES
    for variant in ("fp32", "int8", "ternary"):
        assert spec["metrics"]["parity_max_abs"][variant] <= 1e-4
        assert spec["metrics"]["test_hours"][variant] >= 1.0
        bundle.file("wake", variant)  # size + sha256 checked


@settings(max_examples=8, deadline=None)
@given(sizes=st.lists(st.integers(1, 4000), min_size=1, max_size=12), seed=st.integers(0, 1000))
def test_detector_streaming_equals_batch(bundle, sizes, seed):
    """Any chunking of the PCM gives the scores of the whole recording at once (ONNX)."""
    pcm = np.random.default_rng(seed).standard_normal(sum(sizes) + 2560).astype(np.float32) * 0.05
    streamed = WakeDetector.from_bundle(bundle)
    scores, pos = [], 0
    for n in [*sizes, 2560]:
        streamed.process(pcm[pos: pos + n])
        scores.append(streamed.last_score)
        pos += n
    whole = WakeDetector.from_bundle(bundle)
    batch = whole.chunk_scores(audio.log_mel(pcm))
    assert len(batch) == len(pcm) // audio.FRAME_SAMPLES
    assert streamed.time_s == pytest.approx(whole.time_s)
    assert scores[-1] == pytest.approx(batch[-1], abs=1e-4)


@pytest.mark.parametrize("smoothing", [1, 2, 3])
def test_detector_scores_are_the_evaluations_replay(bundle, smoothing):
    """The build evaluates smoothings by replaying ``smoothed_scores`` over raw probabilities;
    the detector, streaming in odd block sizes, must produce exactly those scores."""
    pcm = np.random.default_rng(smoothing).standard_normal(40_000).astype(np.float32) * 0.05
    raw = WakeDetector.from_bundle(bundle).step_probabilities(audio.log_mel(pcm))
    want = smoothed_scores(raw, smoothing)
    det = WakeDetector(bundle.file("wake"), bundle.model("wake"), smoothing_steps=smoothing)
    got, mel = [], audio.log_mel(pcm)
    for i in range(0, len(mel), 13):
        got += det.chunk_scores(mel[i: i + 13])
    np.testing.assert_array_equal(np.array(got, np.float32), want)


def test_bad_smoothing_in_the_manifest_is_one_clear_error(bundle):
    spec = {**bundle.model("wake"), "smoothing_steps": 0}
    with pytest.raises(BundleError, match="smoothing_steps must be >= 1"):
        WakeDetector(bundle.file("wake"), spec)


def _speak(tmp_path, text: str, voice: str, speed: int = 160, pitch: int = 50) -> np.ndarray:
    path = tmp_path / "say.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(path),
                    text], check=True, capture_output=True)
    speech = audio.read_wav(path)
    rng = np.random.default_rng(0)
    pcm = np.concatenate([np.zeros(16000, np.float32), speech, np.zeros(24000, np.float32)])
    return 0.5 * pcm + 0.003 * rng.standard_normal(len(pcm)).astype(np.float32)


# voices from the held-out split: never heard in training
HELDOUT = [("en-us-nyc+m3", 150, 45), ("en-gb+f4", 170, 60), ("en-us+m7", 140, 40)]


@needs_espeak
@pytest.mark.parametrize("voice,speed,pitch", HELDOUT)
def test_fires_on_heldout_voice_saying_hey_tars(bundle, tmp_path, voice, speed, pitch):
    assert voice.split("+")[1] in wake_data.HELDOUT_VARIANTS or voice.startswith("en-us-nyc")
    pcm = _speak(tmp_path, "hey TARS, what time is it?", voice, speed, pitch)
    phrase = _speak(tmp_path, "hey TARS,", voice, speed, pitch)[16000:]
    phrase_end = 1.0 + np.flatnonzero(np.abs(phrase) > 0.05).max() / 16000
    for block in (1000, 1280, len(pcm)):  # the event time must not depend on the block size
        detector = WakeDetector.from_bundle(bundle)
        hits = []
        for i in range(0, len(pcm), block):
            hits += detector.process(pcm[i: i + block])
        assert len(hits) == 1, hits
        assert phrase_end - 0.3 <= hits[0].t <= phrase_end + 1.0, (hits, phrase_end)


@needs_espeak
@pytest.mark.parametrize("voice,speed,pitch", HELDOUT)
def test_silent_on_heldout_sentence_without_the_phrase(bundle, tmp_path, voice, speed, pitch):
    text = "the stars were bright over the harbour and the cars kept driving past"
    pcm = _speak(tmp_path, text, voice, speed, pitch)
    detector = WakeDetector.from_bundle(bundle)
    assert detector.process(pcm) == []


# ---------------------------------------------------------------------------- the builder


@pytest.mark.slow
def test_quick_build_writes_a_verified_bundle_and_refuses_on_parity_failure(tmp_path, monkeypatch):
    entry = wake_build.build(tmp_path / "b", seed=0, quick=True)
    b = Bundle.load(tmp_path / "b")
    assert b.model("wake")["files"] == entry["files"]
    for variant in ("fp32", "int8", "ternary"):
        b.file("wake", variant)
    detector = WakeDetector.from_bundle(b)
    detector.process(np.zeros(32000, np.float32))  # 2 s = 25 chunks of 80 ms
    assert detector.time_s == pytest.approx(2.0)

    before = json.loads((tmp_path / "b" / "manifest.json").read_text())
    real = wake_build.ort_stream_probs

    def corrupted(*args):  # fault injection: ONNX Runtime "disagrees" with PyTorch
        return real(*args) + 1e-3

    monkeypatch.setattr(wake_build, "ort_stream_probs", corrupted)
    with pytest.raises(VerificationError, match="refusing to write"):
        wake_build.build(tmp_path / "b", seed=0, quick=True)
    assert json.loads((tmp_path / "b" / "manifest.json").read_text()) == before


def test_wake_sentences_do_not_follow_the_reflex_grammar(monkeypatch):
    """The wake data speaks a frozen copy of the grammar's output: editing the reflex grammar
    must not silently change the wake model's training or held-out sets."""
    from tars_export import intent_grammar

    before = (wake_data.sentences(False), wake_data.sentences(True))
    monkeypatch.setattr(intent_grammar, "generate", lambda *a, **k: [(0, "x", "en", "changed grammar")])
    assert (wake_data.sentences(False), wake_data.sentences(True)) == before
    assert len(before[0]) > 1000 and len(before[1]) > 200
