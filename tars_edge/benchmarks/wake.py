"""Wake detector cost while listening: features + model, streamed the way a microphone
delivers audio (80 ms blocks), one thread.

``wake_rtf``: wall seconds spent per second of audio. ``wake_cpu_pct``: process CPU time per
second of audio × 100, i.e. the share of one core the detector takes while listening (DESIGN
§8 target: ≤ 5 %). ``wake_features_rtf`` is the log-mel part alone. Content does not change the
cost (fixed work per chunk), so the audio is synthetic: pink-ish noise with tone bursts.
"""

from __future__ import annotations

import time

import numpy as np
from tqdm import tqdm

from tars_edge import audio
from tars_edge.bundle import Bundle, BundleError
from tars_edge.wake import WakeDetector

SECONDS = 120.0
BLOCK = audio.FRAME_SAMPLES  # what sounddevice hands over per callback in the voice sensor


def _signal(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * audio.SAMPLE_RATE)
    noise = np.cumsum(rng.standard_normal(n)).astype(np.float32)
    noise -= np.convolve(noise, np.ones(64, np.float32) / 64, mode="same")
    t = np.arange(n) / audio.SAMPLE_RATE
    tones = np.sin(2 * np.pi * 440 * t) * (np.sin(2 * np.pi * 0.5 * t) > 0.7)
    pcm = 0.05 * noise / (np.abs(noise).max() + 1e-9) + 0.1 * tones
    return pcm.astype(np.float32)


def timed_blocks(fn, pcm: np.ndarray) -> tuple[float, float]:
    """(wall, process CPU) seconds of ``fn`` over ``pcm`` fed in microphone-sized blocks."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for i in range(0, len(pcm), BLOCK):
        fn(pcm[i: i + BLOCK])
    return time.perf_counter() - wall0, time.process_time() - cpu0


def run(bundle: Bundle, progress: bool = True, seconds: float = SECONDS) -> dict:
    try:
        detector = WakeDetector.from_bundle(bundle)
    except BundleError as exc:
        return {"wake_rtf": None, "wake_cpu_pct": None, "wake_error": str(exc)}
    pcm = _signal(seconds)
    detector.process(pcm[: audio.SAMPLE_RATE])  # warm-up: ORT allocates on the first calls
    detector.reset()
    parts = np.array_split(pcm, 10)
    wall = cpu = 0.0
    for part in tqdm(parts, desc="wake", disable=not progress, leave=False):
        w, c = timed_blocks(detector.process, part)
        wall, cpu = wall + w, cpu + c
    mel = audio.LogMelStream()
    feat_wall, _ = timed_blocks(mel.push, pcm)
    return {
        "wake_rtf": round(wall / seconds, 5),
        "wake_cpu_pct": round(100 * cpu / seconds, 3),
        "wake_features_rtf": round(feat_wall / seconds, 5),
        "wake_variant": bundle.model("wake")["deployed"],
        "wake_audio_s": seconds,
    }
