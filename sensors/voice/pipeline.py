"""The voice pipeline: 80 ms chunks in, events out.

    listening ──wake word──► recording (VAD) ──end of speech──► STT ──► ask ──► speak ──┐
        ▲                                                                               │
        └───────────────────── wake detector reset, buffered audio dropped ◄────────────┘

:class:`VoicePipeline` knows nothing about where audio comes from or where questions go: it is
given a wake detector, a speech-to-text engine, an ``ask`` callable (the daemon through the
plugin API, or an in-process assistant) and an ``emit`` callable for its events, which are
plain dicts (docs/voice.md):

    {"event": "wake", "t": 1.84, "score": 0.97}
    {"event": "transcript", "text": "What time is it?", "t": 3.02, "audio_s": 1.5, "stt_s": 0.41}
    {"event": "reply", "text": "It's 14:05.", "tier": "reflex", "lang": "en", ...}
    {"event": "no_speech", "t": 6.1}               the wake word, then nothing said
    {"event": "error", "stage": "stt" | "ask" | "tts", "message": "..."}

``t`` is seconds of audio since the pipeline started (for a recording: the position in it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from tars_edge.audio import SAMPLE_RATE
from tars_edge_sensors.voice.source import RingBuffer
from tars_edge_sensors.voice.stt import SpeechToText, SttUnavailable
from tars_edge_sensors.voice.tts import Speaker
from tars_edge_sensors.voice.vad import Endpoint, EnergyVad

Emit = Callable[[dict], None]
Ask = Callable[[str], dict]
RECENT_S = 2.0  # audio kept from before the wake word, for the pre-roll
END_PAD_S = 0.15  # silence kept after the last voiced frame: Whisper wants to hear the end


@dataclass
class VoiceSettings:
    """``pre_roll_s``: audio from before the wake word's detection that goes to STT (the
    question may start while the detector is still sure it heard "TARS"); ``speak_replies``:
    say the reply through the TTS command; ``mute_tail_s``: keep the microphone muted this
    long after speaking (room echo); ``early_stt_s``: after this much silence start
    transcribing in the background, before the hangover has confirmed the end (if the user
    goes on, the early text is discarded); 0 = wait for the end."""

    pre_roll_s: float = 0.3
    speak_replies: bool = True
    mute_tail_s: float = 0.3
    early_stt_s: float = 0.3


@dataclass
class Turn:
    """One question, for the record (bench, tests). Times in seconds; ``*_t`` on the audio
    clock, the rest wall-clock."""

    wake_t: float
    speech_end_t: float | None = None
    decided_t: float | None = None  # when the VAD declared the end
    transcript: str = ""
    stt_s: float | None = None  # transcription time
    stt_wait_s: float | None = None  # of it, the part after the end was declared
    early: bool = False  # the transcript was started before the end was declared
    ask_s: float | None = None
    reply_at: float | None = None  # time.monotonic() when the reply was emitted
    reply: dict | None = None
    spoken: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def latency_s(self) -> float | None:
        """End of speech → reply text: the VAD's endpointing delay + the STT still to wait
        for once the end is declared + ask. (Exact for live audio; for a recording read
        faster than real time an early transcript has had no head start, so this is the
        pessimistic figure.)"""
        if None in (self.speech_end_t, self.decided_t, self.stt_wait_s, self.ask_s):
            return None
        return (self.decided_t - self.speech_end_t) + self.stt_wait_s + self.ask_s


class VoicePipeline:
    """``wake``: a :class:`tars_edge.wake.WakeDetector` (threshold and refractory set);
    ``stt``: :class:`SpeechToText`; ``ask``: text → the ``ask`` result dict (may raise; the
    error becomes an event); ``emit``: receives every event; ``speaker``: spoken replies (None:
    silent); ``vad``: the endpointer; ``on_tick``: called at least every 0.5 s, also while
    STT or ``ask`` run (the plugin's heartbeat)."""

    def __init__(self, wake, stt: SpeechToText, ask: Ask, emit: Emit, *,
                 speaker: Speaker | None = None, vad: EnergyVad | None = None,
                 settings: VoiceSettings | None = None,
                 on_tick: Callable[[], None] | None = None):
        self.wake = wake
        self.stt = stt
        self.ask = ask
        self.emit = emit
        self.speaker = speaker
        self.vad = vad or EnergyVad()
        self.settings = settings or VoiceSettings()
        self.on_tick = on_tick
        self.ring: RingBuffer | None = None  # the live source's buffer, muted while speaking
        self.turns: list[Turn] = []
        self.samples = 0  # audio clock: samples consumed since start
        self._wake_origin = 0  # the audio clock when the wake detector last started
        self._recent = np.zeros(0, dtype=np.float32)  # the last RECENT_S of audio
        self._recording: list[np.ndarray] | None = None  # the question, from the pre-roll on
        self._recording_start = 0  # its first sample on the audio clock
        self._hit_sample = 0  # where the VAD began
        self._turn: Turn | None = None
        self._early: _EarlyTranscript | None = None

    # ---- driving it -----------------------------------------------------------------------------
    def run(self, source, stopping: threading.Event | None = None) -> None:
        """Consume ``source`` (``MicrophoneSource`` / ``WavSource``) until it ends or
        ``stopping`` is set. A question cut off by the end of a recording is still answered."""
        self.ring = getattr(source, "ring", None)
        self.wake.reset()  # a detector reused from an earlier source starts a new stream
        self._wake_origin = self.samples
        source.start()
        try:
            for chunk in source.chunks(stopping):
                self.feed(chunk)
            if stopping is None or not stopping.is_set():
                self.finish()
        finally:
            source.stop()

    @property
    def listening(self) -> bool:
        """True while waiting for the wake word; False while recording a question."""
        return self._recording is None

    def feed(self, chunk: np.ndarray | None) -> None:
        """One chunk of 16 kHz float32 audio (None: no audio this time, just a tick)."""
        if self.on_tick is not None:
            self.on_tick()
        if chunk is None or len(chunk) == 0:
            return
        chunk = np.asarray(chunk, dtype=np.float32)
        self.samples += len(chunk)
        recent = np.concatenate([self._recent, chunk])
        self._recent = recent[-int(RECENT_S * SAMPLE_RATE):]
        if self._recording is not None:
            self._recording.append(chunk)
            endpoint = self.vad.push(chunk)
            if endpoint is not None:
                self._complete(endpoint)
            else:
                self._maybe_transcribe_early()
            return
        hits = self.wake.process(chunk)
        if not hits:
            self.vad.listen(chunk)
            return
        hit = hits[0]
        # a verified hit arrives a little after its chunk (tars_edge_sensors.voice.verifier)
        recent_start = self.samples - len(recent)
        hit_sample = min(self.samples, max(recent_start, self._wake_origin
                                           + round(hit.t * SAMPLE_RATE)))
        self._turn = Turn(wake_t=hit_sample / SAMPLE_RATE)
        self.emit({"event": "wake", "t": round(hit_sample / SAMPLE_RATE, 3),
                   "score": round(float(hit.score), 4)})
        self.stt.prewarm()  # loads while the user speaks
        first = max(recent_start, hit_sample - int(self.settings.pre_roll_s * SAMPLE_RATE))
        self._recording = [recent[first - recent_start:]]
        self._recording_start = first
        self._hit_sample = hit_sample
        self.vad.begin()
        endpoint = self.vad.push(recent[hit_sample - recent_start:])
        if endpoint is not None:
            self._complete(endpoint)

    def finish(self) -> None:
        """The audio ended: finish a question in progress."""
        if self._recording is not None:
            self._complete(self.vad.finish())

    # ---- one question -----------------------------------------------------------------------------
    def _question_audio(self, speech_end_s: float) -> np.ndarray:
        """The recording from the pre-roll to ``speech_end_s`` (VAD time) plus a little."""
        recording = np.concatenate(self._recording)
        end = self._hit_sample + int((speech_end_s + END_PAD_S) * SAMPLE_RATE)
        return recording[:max(0, end - self._recording_start)]

    def _maybe_transcribe_early(self) -> None:
        """A pause long enough to be the end: start STT now, so that by the time the hangover
        confirms it most of the work is done."""
        early_after = self.settings.early_stt_s
        last = self.vad.last_voiced_s
        if early_after <= 0 or last is None or self.vad.silence_s < early_after \
                or early_after >= self.vad.settings.hangover_s:
            return
        if self._early is not None and self._early.speech_end_s == last:
            return  # already transcribing this
        if self._early is not None and not self._early.done.is_set():
            return  # a stale one still runs; the final pass will queue behind it anyway
        self._early = _EarlyTranscript(self.stt, self._question_audio(last), last)

    def _complete(self, endpoint: Endpoint) -> None:
        turn = self._turn
        early, self._early = self._early, None
        origin = self._hit_sample / SAMPLE_RATE
        turn.decided_t = origin + endpoint.decided_s
        try:
            if not endpoint.has_speech:
                self.emit({"event": "no_speech", "t": round(turn.decided_t, 3)})
                return
            turn.speech_end_t = origin + endpoint.speech_end_s
            if early is not None and early.speech_end_s != endpoint.speech_end_s:
                early = None  # the user went on after that pause: its text is incomplete
            if early is None:
                early = _EarlyTranscript(self.stt, self._question_audio(endpoint.speech_end_s),
                                         endpoint.speech_end_s)
            else:
                turn.early = True
            self._answer(turn, early)
        finally:
            self._recording = None
            self.turns.append(turn)
            self._turn = None
            self._listen_again()

    def _answer(self, turn: Turn, job: _EarlyTranscript) -> None:
        waited = time.perf_counter()
        try:
            transcript = self._in_background(job.result)
        except SttUnavailable as exc:
            self._error(turn, "stt", str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a broken model, an engine bug: report, go on
            self._error(turn, "stt", f"speech to text failed: {_one_line(exc)}")
            return
        turn.transcript, turn.stt_s = transcript.text, transcript.stt_s
        # waiting for the model to load is the first question's cost, not the pipeline's
        turn.stt_wait_s = min(time.perf_counter() - waited, transcript.stt_s)
        self.emit({"event": "transcript", "text": transcript.text,
                   "t": round(turn.speech_end_t, 3), "audio_s": round(transcript.audio_s, 3),
                   "stt_s": round(transcript.stt_s, 3)})
        if not transcript.text:
            return
        started = time.perf_counter()
        try:
            result = self._in_background(self.ask, transcript.text)
        except Exception as exc:  # noqa: BLE001 - any failure to answer becomes an event
            self._error(turn, "ask", _one_line(exc))
            return
        turn.ask_s = time.perf_counter() - started
        turn.reply = result
        reply = {"event": "reply", "text": result.get("text", ""), "tier": result.get("tier"),
                 "lang": result.get("lang", "en"), "intent": result.get("intent"),
                 "ask_s": round(turn.ask_s, 3), "latency_s": round(turn.latency_s, 3)}
        speak = self.speaker is not None and self.settings.speak_replies and reply["text"]
        if speak and self.ring is not None:
            self.ring.muted = True  # from here on the microphone hears only ourselves
        try:
            turn.reply_at = time.monotonic()
            self.emit(reply)
            if speak:
                try:
                    self._in_background(self.speaker.say, reply["text"], reply["lang"])
                    turn.spoken = True
                except RuntimeError as exc:
                    self._error(turn, "tts", str(exc))
                if self.ring is not None and self.settings.mute_tail_s > 0:
                    time.sleep(self.settings.mute_tail_s)
        finally:
            if self.ring is not None:
                self.ring.clear()
                self.ring.muted = False

    def _listen_again(self) -> None:
        """Back to waiting for the wake word, with fresh detector state; audio heard while we
        were busy is dropped (it was either our own voice or talk not meant for us)."""
        if self.ring is not None:
            self.ring.clear()
        self.wake.reset()
        self._wake_origin = self.samples
        self._recent = np.zeros(0, dtype=np.float32)

    def _error(self, turn: Turn, stage: str, message: str) -> None:
        turn.errors.append(f"{stage}: {message}")
        self.emit({"event": "error", "stage": stage, "message": message})

    def _in_background(self, fn, *args):
        """``fn(*args)``, ticking meanwhile when someone needs the ticks (the plugin's
        heartbeat while a long answer is generated)."""
        if self.on_tick is None:
            return fn(*args)
        box: dict = {}

        def target() -> None:
            try:
                box["value"] = fn(*args)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                box["error"] = exc

        worker = threading.Thread(target=target, name="voice-work", daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(0.5)
            self.on_tick()
        if "error" in box:
            raise box["error"]
        return box["value"]


class _EarlyTranscript:
    """One transcription running on its own thread (the model's lock keeps them in turn)."""

    def __init__(self, stt: SpeechToText, audio: np.ndarray, speech_end_s: float):
        self.speech_end_s = speech_end_s
        self.done = threading.Event()
        self._value = None
        self._error: BaseException | None = None
        threading.Thread(target=self._run, args=(stt, audio), name="stt", daemon=True).start()

    def _run(self, stt: SpeechToText, audio: np.ndarray) -> None:
        try:
            self._value = stt.transcribe(audio)
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits for the result
            self._error = exc
        finally:
            self.done.set()

    def result(self):
        self.done.wait()
        if self._error is not None:
            raise self._error
        return self._value


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
