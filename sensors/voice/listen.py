"""``tars-edge listen``: the voice pipeline in this process, on the microphone or a recording.

The CLI gives it an ``ask`` callable (through the daemon when one runs, else an in-process
assistant: the same Session as ``tars-edge ask``) and gets back an exit status. Events are
printed as they happen, one JSON object per line with ``--json``.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable

from tars_edge.config import SENSOR_KEYS, Config, check_section
from tars_edge_sensors.voice.plugin import VOICE_CONFIG, build_pipeline, load_wake_detector
from tars_edge_sensors.voice.source import MicrophoneSource, NoMicrophone, WavSource
from tars_edge_sensors.voice.stt import SpeechToText


def voice_config(config: Config) -> dict:
    """The checked ``[sensors.voice]`` table of ``config`` (defaults for missing keys)."""
    table = {k: v for k, v in config.sensors.get("voice", {}).items() if k not in SENSOR_KEYS}
    where = config.sources[-1] if config.sources else "config"
    return check_section(f"{where}: sensors.voice", VOICE_CONFIG, table,
                         config.sensor_dirs.get("voice"), also_known=tuple(SENSOR_KEYS))


def format_event(event: dict) -> str:
    """One human-readable line for an event (without --json)."""
    kind = event["event"]
    if kind == "wake":
        return f"wake word at {event['t']:.2f} s (score {event['score']:.2f})"
    if kind == "transcript":
        return f"you: {event['text'] or '(nothing recognised)'}"
    if kind == "reply":
        return f"TARS [{event.get('tier')}]: {event['text']}"
    if kind == "no_speech":
        return "(nothing said after the wake word)"
    if kind == "error":
        return f"error ({event.get('stage')}): {event.get('message')}"
    return json.dumps(event, ensure_ascii=False)


def run_listen(config: Config, bundle, ask: Callable[[str, str], dict], *, wav: str | None,
               as_json: bool, speak: bool | None, device: str | None = None,
               realtime: bool = False, on_ready: Callable[[], None] | None = None,
               out=None) -> int:
    """Run the pipeline until the recording ends (or Ctrl-C on the microphone).

    ``ask(text, session)`` returns the ``ask`` result; ``speak`` None = the config's choice on
    the microphone and off for a recording. Raises NoMicrophone (the caller prints it) when
    there is no microphone."""
    out = out or sys.stdout
    settings = voice_config(config)
    if device is not None:
        settings["device"] = device
    if speak is None:
        speak = settings["speak_replies"] if wav is None else False
    if wav is not None:
        source = WavSource(wav, realtime=realtime)
    else:
        source = MicrophoneSource(settings["device"])
        source.start()  # no microphone: say so before anything else
    stt = SpeechToText(settings["stt_model"], threads=settings["stt_threads"],
                       language=settings["language"])
    try:
        wake = load_wake_detector(bundle, settings, stt)
    except Exception:
        source.stop()
        raise

    def emit(event: dict) -> None:
        line = json.dumps(event, ensure_ascii=False) if as_json else format_event(event)
        print(line, file=out, flush=True)

    pipeline = build_pipeline(settings, wake, lambda text: ask(text, settings["session"]), emit,
                              speak=speak, stt=stt)
    if settings["stt_preload"]:
        pipeline.stt.prewarm()
    if on_ready is not None:
        on_ready()
    stopping = threading.Event()
    if wav is None and not as_json:
        print('listening; say "hey TARS" (Ctrl-C to stop)', file=sys.stderr, flush=True)
    try:
        pipeline.run(source, stopping)
    except KeyboardInterrupt:
        stopping.set()
        source.stop()
    return 0


__all__ = ["NoMicrophone", "format_event", "run_listen", "voice_config"]
