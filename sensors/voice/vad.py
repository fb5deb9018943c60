"""End-of-speech detection after the wake word: an energy VAD with an adaptive noise floor.

Why energy and not a model: after "hey TARS" the question is one person speaking close to the
microphone, and what matters is *when it ends*. Loudness against the room's own background
answers that in microseconds per frame with nothing to load. (faster-whisper ships the Silero
VAD model; docs/voice.md records how the two compare on our recordings.)

Per 20 ms frame (320 samples) the level is ``10·log10(mean(x²))`` in dBFS. The noise floor is
the 10th percentile of the last 5 s of levels heard while nobody was speaking to TARS, so a
fan or a street keeps the threshold above itself, and the user's own "hey TARS" barely moves
it. A frame is voiced when its level is ``margin_db`` above the floor and above
``min_level_db``. Speech starts after 3 voiced frames in a row (60 ms: a click is not
speech); it ends after ``hangover_s`` without a voiced frame (the pauses between words are
shorter than that).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from tars_edge.audio import SAMPLE_RATE

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


class EnergyVad:
    """Streaming endpointer. Between utterances feed it the background with :meth:`listen`
    (it learns the noise floor); after the wake word call :meth:`begin`, then :meth:`push`
    audio until it returns an :class:`Endpoint`."""

    def __init__(self, settings: VadSettings | None = None):
        self.settings = settings or VadSettings()
        self._history: deque[float] = deque(maxlen=FLOOR_HISTORY_FRAMES)
        self._carry = np.zeros(0, dtype=np.float32)
        self._active = False
        self._reset_utterance()

    # ---- the noise floor ------------------------------------------------------------------------
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
        """Background audio (while waiting for the wake word): updates the noise floor only."""
        for level in self._levels(pcm):
            self._history.append(float(level))

    def _levels(self, pcm: np.ndarray) -> np.ndarray:
        pcm = np.concatenate([self._carry, np.asarray(pcm, dtype=np.float32).reshape(-1)])
        whole = len(pcm) // VAD_FRAME_SAMPLES * VAD_FRAME_SAMPLES
        self._carry = pcm[whole:]
        return frame_levels(pcm[:whole])

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

    def push(self, pcm: np.ndarray) -> Endpoint | None:
        """More of the utterance; an Endpoint once it is over (then call :meth:`begin` for the
        next one)."""
        if not self._active:
            raise RuntimeError("EnergyVad.push before begin()")
        s = self.settings
        threshold = self.threshold_db  # frozen while the user speaks
        for level in self._levels(pcm):
            t0 = self._frames * VAD_FRAME_S
            self._frames += 1
            t1 = self._frames * VAD_FRAME_S
            voiced = level > threshold
            self._run = self._run + 1 if voiced else 0
            if self._speech_start is None:
                if self._run >= ONSET_FRAMES:
                    self._speech_start = t1 - ONSET_FRAMES * VAD_FRAME_S
                    self._last_voiced = t1
                elif t1 >= s.start_timeout_s:
                    return self._end("no_speech", t1)
                else:
                    self._history.append(float(level))
            else:
                if voiced:
                    self._last_voiced = t1
                elif t1 - self._last_voiced >= s.hangover_s:
                    if self._last_voiced - self._speech_start >= s.min_speech_s:
                        return self._end("silence", t1)
                    self._speech_start = None  # a burst too short to be a question: keep waiting
                    if t1 >= s.start_timeout_s:
                        return self._end("no_speech", t1)
            if t0 + VAD_FRAME_S >= s.max_utterance_s:
                return self._end("max_length", t1)
        return None

    def finish(self) -> Endpoint:
        """The audio ran out (end of a recording) in the middle of an utterance."""
        return self._end("end_of_stream", self._frames * VAD_FRAME_S)

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
