"""The wake word's second stage (sensors/voice/verifier.py, export/wake_verifier.py).

Unit: windows at the stream start, the candidate stride, the ONNX export against PyTorch.
Integration, on the committed bundle with the real tiny.en encoder and espeak-ng speech: batched
windows encode exactly like single ones; the streaming two-stage detector gives exactly the hits
the build-time evaluation replays, finds "hey TARS" and stays quiet on a sentence that starts
with "hey"; a wrong encoder file is refused in one line.
"""

from __future__ import annotations

import copy
import shutil

import numpy as np
import pytest
from test_voice import BUNDLE, needs_espeak, room, silence, speech, trim

from tars_edge.audio import SAMPLE_RATE
from tars_edge.bundle import Bundle, BundleError
from tars_edge.wake import CHUNK_S, hits_from_scores
from tars_edge_sensors.voice.stt import SpeechToText, default_model_path
from tars_edge_sensors.voice.verifier import (
    MODEL,
    VerifiedWakeDetector,
    WakeVerifier,
    WhisperEncoder,
    candidate_chunks,
    verified_scores,
    window,
)


def test_window_is_zero_padded_before_the_stream_starts():
    pcm = np.arange(1, 16001, dtype=np.float32)
    w = window(pcm, 8000, 1.0, 0.25)
    assert len(w) == round(1.25 * SAMPLE_RATE)
    assert not w[:8000].any()  # 1 s before sample 8000 is half before the start
    np.testing.assert_array_equal(w[8000:], pcm[:12000])


def test_candidates_are_taken_at_most_once_per_stride():
    scores = np.array([0.0, 0.5, 0.6, 0.7, 0.0, 0.9, 0.2, 0.05, 0.3])
    assert candidate_chunks(scores, 0.1, 1).tolist() == [1, 2, 3, 5, 6, 8]
    assert candidate_chunks(scores, 0.1, 2).tolist() == [1, 3, 5, 8]  # 7 is under 0.1
    assert candidate_chunks(scores, 0.1, 3).tolist() == [1, 5, 8]
    probs = np.linspace(0.1, 0.9, len(scores))
    got = verified_scores(scores, probs, 0.1, 2)
    np.testing.assert_allclose(got[[1, 3, 5, 8]], probs[[1, 3, 5, 8]])
    assert not np.delete(got, [1, 3, 5, 8]).any()


def test_verifier_head_exports_to_onnx_like_pytorch(tmp_path):
    torch = pytest.importorskip("torch")
    import onnxruntime as ort

    from tars_export.wake_verifier import Ensemble, Verifier, export_onnx

    torch.manual_seed(0)
    model = Ensemble([Verifier(), Verifier()]).eval()  # as shipped: two heads, mean logit
    path = tmp_path / "v.onnx"
    export_onnx(model, path, frames=100)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for n, frames in ((3, 100), (1, 37)):  # N and T are dynamic
        x = np.random.default_rng(n).standard_normal((n, frames, 384)).astype(np.float32)
        with torch.no_grad():
            want = model(torch.from_numpy(x)).numpy()
        got = session.run(["prob"], {"encoded": x})[0]
        np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.fixture(scope="module")
def whisper():
    return SpeechToText(threads=1).load()


@pytest.fixture(scope="module")
def bundle():
    b = Bundle.load(BUNDLE)
    if MODEL not in b.models:
        pytest.skip(f"{BUNDLE} has no {MODEL} (tars-export build-default --only {MODEL})")
    return b


def test_batched_windows_encode_like_single_ones(whisper):
    encode = WhisperEncoder(whisper)
    rng = np.random.default_rng(1)
    windows = [rng.standard_normal(2 * SAMPLE_RATE).astype(np.float32) * 0.1 for _ in range(3)]
    batched = encode.many(windows, batch=2)  # one full batch and one partial
    assert batched.shape[0] == 3
    for w, got in zip(windows, batched):
        np.testing.assert_array_equal(got, encode(w))


def _detector(bundle, whisper) -> VerifiedWakeDetector:
    return VerifiedWakeDetector.from_bundle(bundle, default_model_path(), lambda _dir: whisper)


@needs_espeak
def test_streaming_two_stage_detector_equals_the_replayed_decision(tmp_path, bundle, whisper):
    phrase = trim(speech(tmp_path, "hey TARS"))
    question = speech(tmp_path, "what time is it?")
    near_miss = speech(tmp_path, "hey cars, set a timer", voice="en-us")  # MinGRU alone: 0.998
    pcm = room(np.concatenate([silence(1.0), phrase, question, silence(1.5), near_miss,
                               silence(1.5)]))
    phrase_end = 1.0 + len(phrase) / SAMPLE_RATE
    near_miss_start = phrase_end + (len(question) / SAMPLE_RATE) + 1.5

    det = _detector(bundle, whisper)
    scores = np.array(det.detector.chunk_scores(det.detector.features(pcm)))
    cand, stride = det.verifier.candidate_threshold, det.verifier.stride
    idx = candidate_chunks(scores, cand, stride)
    probs = np.zeros(len(scores), np.float32)
    probs[idx] = det.verifier.chunk_probabilities(pcm, idx)
    replay = hits_from_scores(verified_scores(scores, probs, cand, stride), det.threshold,
                              det.refractory_s)

    rng = np.random.default_rng(0)
    for _ in range(2):  # microphone-sized blocks and random ones
        det.reset()
        cuts = np.sort(rng.integers(0, len(pcm), 40))
        streamed = [h for part in np.split(pcm, cuts) for h in det.process(part)]
        assert [h.t for h in streamed] == [h.t for h in replay]
        np.testing.assert_allclose([h.score for h in streamed], [h.score for h in replay], atol=1e-5)
    assert len(replay) == 1, replay  # the wake phrase, not "hey cars"
    assert phrase_end - 0.3 <= replay[0].t <= phrase_end + 1.0
    t = (idx + 1) * CHUNK_S
    rejected = probs[idx][t > near_miss_start]
    assert len(rejected) and rejected.max() < det.threshold  # candidates there, all turned down
    alone = bundle.model("wake")["thresholds"]["wake"]  # the MinGRU alone would have woken
    assert scores[(np.arange(len(scores)) + 1) * CHUNK_S > near_miss_start].max() >= alone


def test_a_different_encoder_file_is_refused_in_one_line(tmp_path, bundle, whisper):
    fake = tmp_path / "whisper"
    shutil.copytree(default_model_path(), fake, ignore=shutil.ignore_patterns("model.bin"))
    (fake / "model.bin").write_bytes(b"not the model the verifier was trained on")
    spec = copy.deepcopy(bundle.model(MODEL))
    with pytest.raises(BundleError) as err:
        WakeVerifier(bundle.file(MODEL), spec, fake, lambda _dir: whisper)
    assert "\n" not in str(err.value) and "wake_verifier" in str(err.value)


def test_the_voice_sensor_verifies_by_default_and_can_run_the_detector_alone(bundle, whisper):
    from tars_edge.wake import WakeDetector
    from tars_edge_sensors.voice.plugin import VOICE_CONFIG, load_wake_detector

    config = {name: key.default for name, key in VOICE_CONFIG.items()}
    stt = SpeechToText()
    verified = load_wake_detector(bundle, config, stt)
    assert isinstance(verified, VerifiedWakeDetector)
    assert stt.loaded  # the verifier shares the STT's tiny.en instead of loading a second copy
    assert verified.threshold == bundle.model(MODEL)["thresholds"]["verify"]
    alone = load_wake_detector(bundle, {**config, "wake_verify": False})
    assert type(alone) is WakeDetector
    assert alone.threshold == bundle.model("wake")["thresholds"]["wake"]
