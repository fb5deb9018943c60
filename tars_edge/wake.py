"""Wake-word detection: "hey TARS" in a 16 kHz stream, by the bundle's streaming wake MinGRU.

PCM of any chunk size goes through :class:`tars_edge.audio.LogMelStream` (the same numpy code
the model was trained on); every 8 frames (80 ms) the ONNX graph runs once with its recurrent
state carried over, and yields one probability per 40 ms step (two per chunk). Each step's
probability is averaged with the ``smoothing_steps − 1`` before it (manifest key, chosen at
build time on the calibration set like the threshold; 1 = no smoothing): a lone spike on noise
is damped, while "hey TARS" keeps the probability up for several steps. The chunk's score is
the higher of its two smoothed values; a chunk whose score reaches the threshold fires, unless
the previous firing is less than the refractory period ago (one "hey TARS" is one wake event,
not five). Evaluation replays the same :func:`smoothed_scores` over recorded probabilities.

Costs: one 1-thread ONNX Runtime session, ~40K parameters, buffers allocated once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tars_edge import audio
from tars_edge.bundle import Bundle, BundleError
from tars_edge.engine.sessions import open_session

MODEL = "wake"
CHUNK_S = audio.FRAME_SAMPLES / audio.SAMPLE_RATE  # 0.08 s per model call


@dataclass
class WakeHit:
    t: float  # seconds from stream start (end of the 80 ms chunk that fired)
    score: float


def hits_from_scores(scores: np.ndarray, threshold: float, refractory_s: float,
                     chunk_s: float = CHUNK_S) -> list[WakeHit]:
    """The detector's decision over a recorded sequence of chunk scores (evaluation replays
    thresholds with it): chunk ``i`` ends at ``(i + 1)·chunk_s``."""
    hits: list[WakeHit] = []
    for i in np.flatnonzero(np.asarray(scores) >= threshold):
        t = (int(i) + 1) * chunk_s
        if not hits or t - hits[-1].t >= refractory_s - 1e-9:
            hits.append(WakeHit(round(t, 4), float(scores[i])))
    return hits


def smoothed_scores(step_probs: np.ndarray, smoothing_steps: int,
                    previous: np.ndarray | None = None) -> np.ndarray:
    """Chunk scores from raw step probabilities ``(chunks, steps_per_chunk)``: each step's
    probability averaged with the ``smoothing_steps − 1`` steps before it (``previous``, the
    last ones of the stream so far; zeros at stream start), then the highest per chunk. Each
    window is summed on its own, so streaming and one call over the whole stream agree exactly."""
    probs = np.asarray(step_probs, dtype=np.float32)
    k = int(smoothing_steps)
    if k <= 1:
        return probs.max(axis=1)
    before = np.zeros(k - 1, np.float32) if previous is None else np.asarray(previous, np.float32)
    full = np.concatenate([before, probs.ravel()])
    means = np.lib.stride_tricks.sliding_window_view(full, k).mean(axis=1, dtype=np.float32)
    return means.reshape(probs.shape).max(axis=1)


class WakeDetector:
    """Streaming "hey TARS" detector over the bundle's ``wake`` model.

    Args:
        model_path: the ONNX file (verified by the bundle when built through ``from_bundle``).
        spec: the model's manifest entry (state tensors, feature settings, threshold).
        threshold: fire when a chunk's score reaches this (default: the manifest's).
        refractory_s: seconds after a firing during which it cannot fire again.
        threads: ONNX Runtime intra-op threads; 1 -- the graph is tiny.
        smoothing_steps: steps averaged per score (default: the manifest's, else 1).
    """

    def __init__(self, model_path: Path, spec: dict, threshold: float | None = None,
                 refractory_s: float | None = None, threads: int = 1,
                 smoothing_steps: int | None = None):
        cfg = spec.get("config", {})
        expected = {"sample_rate": audio.SAMPLE_RATE, "hop_samples": audio.HOP_SAMPLES,
                    "n_mels": audio.N_MELS, "chunk_frames": audio.FRAMES_PER_CHUNK}
        for key, value in expected.items():
            if cfg.get(key) != value:
                raise BundleError(f"{model_path}: wake model expects {key}={cfg.get(key)!r}, this "
                                  f"runtime computes {value}; rebuild it with a matching tars-export")
        self.threshold = float(threshold if threshold is not None else spec["thresholds"]["wake"])
        self.refractory_s = float(refractory_s if refractory_s is not None
                                  else spec.get("refractory_s", 2.0))
        self.smoothing_steps = int(smoothing_steps if smoothing_steps is not None
                                   else spec.get("smoothing_steps", 1))
        if self.smoothing_steps < 1:
            raise BundleError(f"{model_path}: smoothing_steps must be >= 1, got "
                              f"{self.smoothing_steps}; fix the manifest's wake entry")
        self._session = open_session(Path(model_path), threads=threads)
        self._state_specs = [(s["name"], s["output"], tuple(s["shape"]), float(s.get("init", 0.0)))
                             for s in spec["states"]]
        self._outputs = ["probs"] + [out for _, out, _, _ in self._state_specs]
        self._features = np.zeros((1, audio.FRAMES_PER_CHUNK, audio.N_MELS), dtype=np.float32)
        self._feeds: dict[str, np.ndarray] = {"features": self._features}
        self._mel = audio.LogMelStream()
        self.reset()

    @classmethod
    def from_bundle(cls, bundle: Bundle, threshold: float | None = None,
                    refractory_s: float | None = None, variant: str | None = None) -> WakeDetector:
        """The bundle's wake model (its deployed variant unless ``variant`` says); threshold
        and refractory period from the manifest unless given."""
        spec = bundle.model(MODEL)
        smoothing = None
        if variant not in (None, spec.get("deployed")):
            # each variant has its own calibrated threshold and smoothing
            # (metrics.threshold.<variant>, metrics.smoothing_steps.<variant>)
            metrics = spec.get("metrics", {})
            if threshold is None:
                threshold = metrics.get("threshold", {}).get(variant)
            smoothing = metrics.get("smoothing_steps", {}).get(variant)
        return cls(bundle.file(MODEL, variant), spec, threshold, refractory_s,
                   smoothing_steps=smoothing)

    def reset(self) -> None:
        """Start a new stream: features, recurrent state, clock and refractory period."""
        self._mel.reset()
        for name, _, shape, init in self._state_specs:
            self._feeds[name] = np.full(shape, init, dtype=np.float32)
        self._pending = 0  # frames waiting in self._features
        self._chunks = 0  # model calls so far (the clock)
        self._recent = np.zeros(self.smoothing_steps - 1, np.float32)  # last raw step probs
        self._last_hit: float | None = None
        self.last_score = 0.0

    @property
    def time_s(self) -> float:
        """Seconds of audio scored so far (the end of the last complete chunk)."""
        return self._chunks * CHUNK_S

    def process(self, pcm: np.ndarray) -> list[WakeHit]:
        """Feed 16 kHz mono samples (float32 in [−1, 1] or int16), any number; returns the
        wake events completed by them."""
        return self.process_features(self.features(pcm))

    def features(self, pcm: np.ndarray) -> np.ndarray:
        """The log-mel frames completed by ``pcm`` (streaming; nothing is scored)."""
        return self._mel.push(pcm)

    def process_features(self, frames: np.ndarray) -> list[WakeHit]:
        """Feed log-mel frames (n, N_MELS) directly (evaluation runs hours of audio this way)."""
        hits = []
        first = self._chunks  # chunk_scores advances the clock past every chunk at once
        for i, score in enumerate(self.chunk_scores(frames)):
            t = (first + i + 1) * CHUNK_S
            if score >= self.threshold and (
                    self._last_hit is None or t - self._last_hit >= self.refractory_s - 1e-9):
                self._last_hit = t
                hits.append(WakeHit(round(t, 4), float(score)))
        return hits

    def chunk_scores(self, frames: np.ndarray) -> list[float]:
        """Advance the model over ``frames``; one (smoothed) score per completed 80 ms chunk."""
        scores = []
        for probs in self.step_probabilities(frames):
            self.last_score = float(smoothed_scores(probs[None], self.smoothing_steps,
                                                    self._recent)[0])
            if self.smoothing_steps > 1:
                self._recent = np.concatenate([self._recent, probs])[1 - self.smoothing_steps:]
            scores.append(self.last_score)
        return scores

    def step_probabilities(self, frames: np.ndarray) -> np.ndarray:
        """Advance the model over ``frames``; the raw probabilities ``(chunks, steps)`` of the
        completed 80 ms chunks (evaluation records these once and replays smoothings with
        :func:`smoothed_scores`; the detector's own smoothing history is left as it was)."""
        out = []
        pos, n = 0, len(frames)
        while pos < n:
            take = min(n - pos, audio.FRAMES_PER_CHUNK - self._pending)
            self._features[0, self._pending: self._pending + take] = frames[pos: pos + take]
            self._pending += take
            pos += take
            if self._pending < audio.FRAMES_PER_CHUNK:
                break
            outs = self._session.run(self._outputs, self._feeds)
            for (name, _, _, _), value in zip(self._state_specs, outs[1:]):
                self._feeds[name] = value
            self._pending = 0
            self._chunks += 1
            out.append(np.array(outs[0][0], dtype=np.float32))
        return np.array(out, dtype=np.float32) if out else np.zeros((0, 0), np.float32)
