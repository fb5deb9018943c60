"""Voice: speech-to-text real-time factor and end of speech → reply text, on real espeak-ng audio.

``stt_rtf``: seconds faster-whisper (the configured model; default tiny.en, int8, beam 1)
spends per second of a spoken question, median of several runs after a warm-up.

``voice_latency_s``: "hey TARS, what time is it?" played through the whole pipeline in real
time, as a microphone delivers it (wake model, VAD, early STT, the in-process cascade): wall
time from the moment the last word ends in the recording to the reply text. Median of several
runs, the STT model loaded beforehand (the first question after start also waits for the load,
``stt_load_s``). Its parts: ``voice_vad_delay_s`` (the VAD must hear ``vad_hangover_s`` of
silence), ``voice_stt_s`` (the whole transcription, which starts ``stt_early_s`` into that
silence, so only ``voice_stt_wait_s`` of it is waited for) and ``voice_ask_s``. DESIGN §8
target: ≤ 1.5 s with tiny.en. ``wake_rtf`` / ``wake_cpu_pct`` come from benchmarks.wake.

``wake_verified_cpu_pct``: the whole wake word as the voice sensor runs it — the detector plus
its verifier (tiny.en's encoder on every candidate window, docs/wake.md) — as process CPU time
per second of audio × 100, over ordinary espeak-ng speech without the wake phrase (sentences
that start with "hey" and near-misses among them), streamed in 80 ms blocks. Unlike the
detector's, the verifier's cost depends on the content: speech makes candidates, silence does
not, so this is the busy case. ``wake_verified_candidates_per_min``: windows verified.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

from tars_edge.audio import SAMPLE_RATE, read_wav, write_wav
from tars_edge.bundle import Bundle

QUESTION = "hey TARS, what time is it?"
STT_TEXT = "what time is it?"
STT_RUNS = 5
LATENCY_RUNS = 3
NOISE_LEVEL = 0.002  # a quiet room under the synthetic voice


def _espeak(text: str, folder: Path, voice: str = "en", speed: int = 160) -> np.ndarray:
    out = folder / "speech.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(out), text],
                   check=True, capture_output=True)
    return read_wav(out)


def _speech_end_s(pcm: np.ndarray, offset_s: float) -> float:
    """Where the voice stops: the last sample louder than -50 dBFS, in seconds (+ offset)."""
    loud = np.flatnonzero(np.abs(pcm) > 10 ** (-50 / 20))
    return offset_s + (loud[-1] + 1) / SAMPLE_RATE if len(loud) else offset_s


def _room(pcm: np.ndarray, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0.0, NOISE_LEVEL, len(pcm)).astype(np.float32)
    return pcm + noise


VERIFY_LINES = ("hey, I'm back home", "what's the weather like tomorrow?",
                "hey there, how are you doing?", "turn the lights off in the kitchen",
                "hey, can you play some music", "I think it will rain later today",
                "hey Charles, the car is outside", "set a timer for ten minutes",
                "the stars are bright tonight", "they tore the old poster down")
VERIFY_VOICES = ("en", "en-gb", "en-us+f3", "en-gb-scotland+m3")
VERIFY_SPEED = 175  # espeak-ng's own default


def measure_verified_wake(bundle: Bundle, stt, folder: Path, progress: bool) -> dict:
    from tars_edge.benchmarks.wake import timed_blocks
    from tars_edge_sensors.voice.plugin import VOICE_CONFIG, load_wake_detector
    from tars_edge_sensors.voice.verifier import MODEL

    if MODEL not in bundle.models:
        return {"wake_verified_cpu_pct": None, "wake_verified_error": f"the bundle has no {MODEL}"}
    settings = {name: key.default for name, key in VOICE_CONFIG.items()}
    wake = load_wake_detector(bundle, settings, stt)  # wake_verify is on by default
    pause = np.zeros(int(0.6 * SAMPLE_RATE), np.float32)
    parts = []
    for voice in VERIFY_VOICES:
        for line in VERIFY_LINES:
            parts += [_espeak(line, folder, voice, VERIFY_SPEED), pause]
    pcm = _room(np.concatenate(parts), seed=2)
    wake.process(pcm[:SAMPLE_RATE])  # warm-up: the first encoder and ORT calls allocate
    wake.reset()
    hits: list = []
    wall, cpu = timed_blocks(lambda block: hits.extend(wake.process(block)), pcm)  # 80 ms blocks
    seconds = len(pcm) / SAMPLE_RATE
    return {"wake_verified_cpu_pct": round(100 * cpu / seconds, 3),
            "wake_verified_rtf": round(wall / seconds, 5),
            "wake_verified_candidates_per_min": round(wake.candidates / (seconds / 60), 2),
            "wake_verified_false_wakes": len(hits), "wake_verified_audio_s": round(seconds, 1)}


def measure_stt(stt, folder: Path, progress: bool) -> dict:
    from tars_edge_sensors.voice.stt import SttUnavailable

    audio = _room(np.concatenate([np.zeros(3200, np.float32), _espeak(STT_TEXT, folder),
                                  np.zeros(3200, np.float32)]), seed=0)
    try:
        stt.load()
    except SttUnavailable as exc:
        return {"stt_rtf": None, "stt_error": str(exc)}
    stt.transcribe(audio)  # warm-up: first call allocates
    times = []
    for _ in tqdm(range(STT_RUNS), desc="voice stt", disable=not progress, leave=False):
        result = stt.transcribe(audio)
        times.append(result.stt_s)
    audio_s = len(audio) / SAMPLE_RATE
    return {"stt_rtf": round(float(np.median(times)) / audio_s, 4),
            "stt_audio_s": round(audio_s, 2), "stt_load_s": round(stt.load_s or 0.0, 2),
            "stt_threads": stt.threads, "stt_text": result.text}


def measure_latency(bundle: Bundle, stt, folder: Path, progress: bool) -> dict:
    from tars_edge.config import load_config
    from tars_edge.daemon import Assistant
    from tars_edge_sensors.voice.listen import voice_config
    from tars_edge_sensors.voice.plugin import build_pipeline, load_wake_detector
    from tars_edge_sensors.voice.source import WavSource

    lead_s = 1.0
    spoken = _espeak(QUESTION, folder)
    recording = _room(np.concatenate([np.zeros(int(lead_s * SAMPLE_RATE), np.float32), spoken,
                                      np.zeros(2 * SAMPLE_RATE, np.float32)]), seed=1)
    wav = folder / "question.wav"
    write_wav(wav, recording)
    true_end = _speech_end_s(spoken, lead_s)
    config = load_config(env={}, overrides={("daemon", "state_dir"): str(folder / "state"),
                                            ("daemon", "bundle"): str(bundle.root)})
    settings = voice_config(config)
    assistant = Assistant(config)
    wake = load_wake_detector(bundle, settings, stt)
    turns, events = [], []

    def ask(text: str) -> dict:
        return assistant.cascade.answer(assistant.ask_params(text, session="bench")).as_result()

    latencies = []
    try:
        for _ in tqdm(range(LATENCY_RUNS), desc="voice latency", disable=not progress,
                      leave=False):
            wake.reset()
            pipeline = build_pipeline(settings, wake, ask, events.append, speak=False, stt=stt)
            source = WavSource(wav, realtime=True)
            pipeline.run(source)
            for turn in pipeline.turns:
                if turn.reply is not None:
                    turns.append(turn)
                    latencies.append(turn.reply_at - (source.started_at + true_end))
    finally:
        assistant.close()
    if not turns:
        kinds = [e["event"] for e in events]
        return {"voice_latency_s": None,
                "voice_error": f"no reply from the pipeline (events: {kinds})"}

    def median(values) -> float:
        return round(float(np.median(values)), 3)

    return {"voice_latency_s": median(latencies),
            "voice_vad_delay_s": median([t.decided_t - true_end for t in turns]),
            "voice_stt_s": median([t.stt_s for t in turns]),
            "voice_stt_wait_s": median([t.stt_wait_s for t in turns]),
            "voice_ask_s": median([t.ask_s for t in turns]),
            "voice_reply_tier": turns[0].reply.get("tier"),
            "voice_transcript": turns[0].transcript,
            "voice_runs": len(turns)}


def run(bundle: Bundle, progress: bool = True) -> dict:
    from tars_edge.benchmarks import wake as wake_bench
    from tars_edge_sensors.voice.stt import SpeechToText

    results: dict = wake_bench.run(bundle, progress)  # wake_rtf, wake_cpu_pct (no espeak needed)
    if shutil.which("espeak-ng") is None:
        return {**results, "stt_rtf": None, "voice_latency_s": None,
                "voice_error": "espeak-ng is not installed (sudo apt-get install espeak-ng)"}
    stt = SpeechToText()
    with tempfile.TemporaryDirectory(prefix="tars-bench-voice-") as tmp:
        folder = Path(tmp)
        results.update(measure_stt(stt, folder, progress))
        if results.get("stt_rtf") is not None:
            results.update(measure_verified_wake(bundle, stt, folder, progress))
            results.update(measure_latency(bundle, stt, folder, progress))
    return results
