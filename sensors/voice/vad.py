"""End-of-speech detection after the wake word: when has the user finished the question?

:class:`Endpointer` holds the logic common to both detectors (onset, hangover, limits); they
differ only in which frames they call voiced:

* :class:`SileroVad` (the default): the Silero VAD model that faster-whisper ships inside its
  package (no download), on 32 ms windows. It hears speech, not loudness, so a fan or a street
  at the same level as the voice does not fool it; it costs under 1 ms of CPU per second of
  audio and runs only while a question is being recorded.
* :class:`EnergyVad`: loudness over the room's noise floor, nothing to load. Exact in a quiet
  room, lost at 5 dB SNR and below (bench/vad_compare.py; docs/voice.md has the table).

The energy level of a 20 ms frame (320 samples) is ``10·log10(mean(x²))`` dBFS. Its noise
floor is the 10th percentile of the last 5 s of levels heard while nobody was speaking to
TARS, so a steady fan keeps the threshold above itself, and the user's own "hey TARS" barely
moves it. A frame is voiced when its level is ``margin_db`` above the floor and above
``min_level_db``.

Both: speech starts after 60 ms of voiced frames in a row (a click is not speech); it ends
after ``hangover_s`` without a voiced frame (the pauses between words are shorter).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tars_edge.audio import FRAME_SAMPLES, SAMPLE_RATE

VAD_FRAME_SAMPLES = 320  # 20 ms
VAD_FRAME_S = VAD_FRAME_SAMPLES / SAMPLE_RATE
ONSET_FRAMES = 3  # voiced frames in a row that start speech (60 ms)
FLOOR_HISTORY_FRAMES = 250  # 5 s of background levels
FLOOR_PERCENTILE = 10.0
SILENCE_DB = -100.0  # the level of digital silence


@dataclass
class VadSettings:
    """``margin_db``: how far above the noise floor a frame must be to count as speech;
    ``min_level_db``: and never quieter than this (dBFS), so a silent room is not "speech";
    ``hangover_s``: silence that ends the utterance; ``start_timeout_s``: after the wake word,
    give up if nobody speaks this long; ``min_speech_s``: shorter bursts are ignored (a cough,
    the tail of "TARS"); ``max_utterance_s``: stop recording after this much."""

    margin_db: float = 10.0
    min_level_db: float = -50.0
    hangover_s: float = 0.7
    start_timeout_s: float = 4.0
    min_speech_s: float = 0.25
    max_utterance_s: float = 10.0


@dataclass
class Endpoint:
    """Why and where an utterance ended. Times are seconds from :meth:`EnergyVad.begin`.

    ``reason``: "silence" (the normal end), "max_length", "no_speech" (nothing said before
    ``start_timeout_s``) or "end_of_stream"; ``speech_start_s`` / ``speech_end_s``: the voiced
    part (both None for "no_speech"); ``decided_s``: when the VAD knew, i.e. the end of the
    audio it had seen; ``decided_s − speech_end_s`` is the endpointing delay."""

    reason: str
    speech_start_s: float | None
    speech_end_s: float | None
    decided_s: float

    @property
    def has_speech(self) -> bool:
        return self.speech_start_s is not None


def frame_levels(pcm: np.ndarray) -> np.ndarray:
    """dBFS of each whole 20 ms frame of ``pcm`` (leftover samples are ignored)."""
    n = len(pcm) // VAD_FRAME_SAMPLES
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    frames = np.asarray(pcm[: n * VAD_FRAME_SAMPLES], dtype=np.float32).reshape(n, -1)
    power = np.mean(frames.astype(np.float64) ** 2, axis=1)
    return (10.0 * np.log10(power + 1e-10)).astype(np.float32)


class Endpointer:
    """Streaming end-of-speech detection over fixed frames; subclasses say which frames are
    voiced. Between utterances feed it the background with :meth:`listen`; after the wake word
    call :meth:`begin`, then :meth:`push` audio until it returns an :class:`Endpoint`."""

    frame_samples = VAD_FRAME_SAMPLES

    def __init__(self, settings: VadSettings | None = None):
        self.settings = settings or VadSettings()
        self._carry = np.zeros(0, dtype=np.float32)
        self._active = False
        self._reset_utterance()

    @property
    def frame_s(self) -> float:
        return self.frame_samples / SAMPLE_RATE

    def listen(self, pcm: np.ndarray) -> None:
        """Background audio while waiting for the wake word."""

    def _frames_of(self, pcm: np.ndarray) -> np.ndarray:
        """Whole frames (n, frame_samples) of what has come so far; the rest waits."""
        pcm = np.concatenate([self._carry, np.asarray(pcm, dtype=np.float32).reshape(-1)])
        n = len(pcm) // self.frame_samples
        self._carry = pcm[n * self.frame_samples:]
        return pcm[: n * self.frame_samples].reshape(n, self.frame_samples)

    def _voicing(self, frames: np.ndarray) -> np.ndarray:
        """One bool per frame: speech or not."""
        raise NotImplementedError

    def _heard_background(self, frame_index: int) -> None:
        """A frame of the utterance that was not speech (a VAD may learn from it)."""

    # ---- one utterance --------------------------------------------------------------------------
    def _reset_utterance(self) -> None:
        self._frames = 0  # frames seen since begin()
        self._run = 0  # voiced frames in a row
        self._speech_start: float | None = None
        self._last_voiced = 0.0

    def begin(self) -> None:
        """The wake word fired: what follows is the question."""
        self._reset_utterance()
        self._carry = np.zeros(0, dtype=np.float32)
        self._active = True

    @property
    def in_speech(self) -> bool:
        return self._speech_start is not None

    @property
    def last_voiced_s(self) -> float | None:
        """End of the last voiced frame of the speech in progress (s from begin()), or None."""
        return self._last_voiced if self._speech_start is not None else None

    @property
    def silence_s(self) -> float:
        """Seconds without a voiced frame since speech started; 0 before speech."""
        if self._speech_start is None:
            return 0.0
        return self._frames * self.frame_s - self._last_voiced

    def push(self, pcm: np.ndarray) -> Endpoint | None:
        """More of the utterance; an Endpoint once it is over (then call :meth:`begin` for the
        next one)."""
        if not self._active:
            raise RuntimeError(f"{type(self).__name__}.push before begin()")
        s, step = self.settings, self.frame_s
        frames = self._frames_of(pcm)
        for i, voiced in enumerate(self._voicing(frames)):
            t0 = self._frames * step
            self._frames += 1
            t1 = self._frames * step
            self._run = self._run + 1 if voiced else 0
            if self._speech_start is None:
                if self._run * step >= ONSET_FRAMES * VAD_FRAME_S - 1e-9:
                    self._speech_start = t1 - self._run * step
                    self._last_voiced = t1
                elif t1 >= s.start_timeout_s:
                    return self._end("no_speech", t1)
                else:
                    self._heard_background(i)
            else:
                if voiced:
                    self._last_voiced = t1
                elif t1 - self._last_voiced >= s.hangover_s:
                    if self._last_voiced - self._speech_start >= s.min_speech_s:
                        return self._end("silence", t1)
                    self._speech_start = None  # a burst too short to be a question: keep waiting
                    if t1 >= s.start_timeout_s:
                        return self._end("no_speech", t1)
            if t0 + step >= s.max_utterance_s:
                return self._end("max_length", t1)
        return None

    def finish(self) -> Endpoint:
        """The audio ran out (end of a recording) in the middle of an utterance."""
        return self._end("end_of_stream", self._frames * VAD_FRAME_S)

    def endpoint(self, pcm: np.ndarray) -> Endpoint:
        """A whole recording, fed in 80 ms chunks as the live pipeline would: where the
        question it starts with ends (or why none was found)."""
        self.begin()
        for start in range(0, len(pcm), FRAME_SAMPLES):
            found = self.push(pcm[start:start + FRAME_SAMPLES])
            if found is not None:
                return found
        return self.finish()

    def _end(self, reason: str, decided: float) -> Endpoint:
        start = self._speech_start
        if start is not None and self._last_voiced - start < self.settings.min_speech_s:
            start = None  # only a burst: no question was asked
        end = self._last_voiced if start is not None else None
        if start is None and reason == "max_length":
            reason = "no_speech"
        self._active = False
        self._reset_utterance()
        return Endpoint(reason, start, end, decided)


class EnergyVad(Endpointer):
    """Voiced = louder than the room's noise floor by ``margin_db`` (module docstring)."""

    def __init__(self, settings: VadSettings | None = None):
        super().__init__(settings)
        self._history: deque[float] = deque(maxlen=FLOOR_HISTORY_FRAMES)
        self._levels = np.zeros(0, dtype=np.float32)

    @property
    def noise_floor_db(self) -> float:
        if not self._history:
            return SILENCE_DB
        return float(np.percentile(np.fromiter(self._history, dtype=np.float32),
                                   FLOOR_PERCENTILE))

    @property
    def threshold_db(self) -> float:
        return max(self.noise_floor_db + self.settings.margin_db, self.settings.min_level_db)

    def listen(self, pcm: np.ndarray) -> None:
        """Background audio (while waiting for the wake word): updates the noise floor."""
        self._history.extend(frame_levels(self._frames_of(pcm).reshape(-1)).tolist())

    def _voicing(self, frames: np.ndarray) -> np.ndarray:
        self._levels = frame_levels(frames.reshape(-1))
        return self._levels > self.threshold_db  # the floor is frozen within one push

    def _heard_background(self, frame_index: int) -> None:
        self._history.append(float(self._levels[frame_index]))


class SileroVad(Endpointer):
    """Voiced = the Silero VAD model (the ONNX file inside the faster-whisper package, run by
    ONNX Runtime, one thread) gives speech probability ≥ ``threshold`` for a 32 ms window.
    Slower than :class:`EnergyVad` and deaf to loudness, so it holds up in noise where an
    energy threshold cannot (docs/voice.md has both on the same recordings)."""

    frame_samples = 512  # 32 ms, the model's window
    CONTEXT = 64  # samples of the previous window the model sees

    def __init__(self, settings: VadSettings | None = None, threshold: float = 0.5):
        super().__init__(settings)
        import onnxruntime as ort

        try:
            from faster_whisper.utils import get_assets_path
        except ImportError:
            raise RuntimeError("the Silero VAD comes with faster-whisper: pip install "
                               "'tars-edge[voice]'") from None
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(Path(get_assets_path()) / "silero_vad_v6.onnx"), sess_options=options,
            providers=["CPUExecutionProvider"])
        self.threshold = threshold
        self._reset_model()

    def _reset_model(self) -> None:
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(self.CONTEXT, dtype=np.float32)

    def begin(self) -> None:
        super().begin()
        self._reset_model()

    def _voicing(self, frames: np.ndarray) -> np.ndarray:
        if len(frames) == 0:
            return np.zeros(0, dtype=bool)
        previous = np.concatenate([self._context[None, :], frames[:-1, -self.CONTEXT:]])
        windows = np.concatenate([previous, frames], axis=1).astype(np.float32)
        self._context = frames[-1, -self.CONTEXT:].copy()
        probs, self._h, self._c = self._session.run(
            None, {"input": windows, "h": self._h, "c": self._c})
        return np.asarray(probs).reshape(-1) >= self.threshold


def make_vad(kind: str, settings: VadSettings, silero_threshold: float = 0.5) -> Endpointer:
    """``kind``: "silero" or "energy"."""
    if kind == "silero":
        return SileroVad(settings, silero_threshold)
    if kind == "energy":
        return EnergyVad(settings)
    raise ValueError(f"unknown VAD {kind!r}: use silero or energy")
