"""Energy VAD vs the Silero VAD (shipped inside faster-whisper) as the end-of-question detector.

Questions spoken by espeak-ng (several voices) are mixed with white and pink ("fan") noise at
several signal-to-noise ratios; each VAD first hears 2 s of the noise alone (as it would while
waiting for the wake word), then the question followed by 2 s of noise. Per VAD and SNR:

* ``ok``: the question was found and its end detected within 0.3 s of the true end
  (neither cut early nor dragged into the noise);
* ``end_err_s``: median |detected end − true end| over the questions that were found;
* ``ms_per_s``: CPU milliseconds per second of audio (process time, one thread).

    python bench/vad_compare.py [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from tars_edge.audio import SAMPLE_RATE, read_wav
from tars_edge_sensors.voice.vad import EnergyVad, SileroVad, VadSettings, frame_levels

QUESTIONS = ["what time is it?", "set a timer for ten minutes",
             "how much memory is free right now?", "remember that the key is under the mat"]
VOICES = ["en", "en-us", "en+f3", "en-gb-scotland"]
SNRS_DB = [30, 20, 10, 5, 0]
TOLERANCE_S = 0.3


def espeak(text: str, voice: str, folder: Path) -> np.ndarray:
    out = folder / "q.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(out), text], check=True,
                   capture_output=True)
    return read_wav(out)


def noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    white = rng.normal(0, 1, n)
    if kind == "pink":  # 1/f: shape the spectrum of white noise
        spectrum = np.fft.rfft(white)
        spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
        white = np.fft.irfft(spectrum, n)
    return (white / np.sqrt(np.mean(white ** 2))).astype(np.float32)


def true_end_s(speech: np.ndarray) -> float:
    levels = frame_levels(speech)
    loud = np.flatnonzero(levels > levels.max() - 35)
    return (loud[-1] + 1) * 320 / SAMPLE_RATE


def run_one(vad, background: np.ndarray, question: np.ndarray):
    vad.listen(background)
    return vad.endpoint(question)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    settings = VadSettings()
    vads = {"energy": EnergyVad(settings), "silero": SileroVad(settings)}
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        clips = [espeak(q, v, Path(tmp)) for q in QUESTIONS for v in VOICES]
        cases = [(kind, snr, clip) for kind in ("white", "pink") for snr in SNRS_DB
                 for clip in clips]
        for kind, snr, clip in tqdm(cases, desc="vad compare"):
            speech_rms = np.sqrt(np.mean(clip[np.abs(clip) > 1e-3] ** 2))
            level = speech_rms / 10 ** (snr / 20)
            lead = np.zeros(int(0.3 * SAMPLE_RATE), np.float32)
            question = np.concatenate([lead, clip, np.zeros(2 * SAMPLE_RATE, np.float32)])
            question = question + level * noise(kind, len(question), rng)
            background = level * noise(kind, 2 * SAMPLE_RATE, rng)
            end = len(lead) / SAMPLE_RATE + true_end_s(clip)
            for name, vad in vads.items():
                started = time.process_time()
                endpoint = run_one(vad, background, question)
                cpu = time.process_time() - started
                row = rows.setdefault((name, kind, snr), {"ok": 0, "n": 0, "err": [], "cpu": 0.0,
                                                          "audio": 0.0})
                row["n"] += 1
                row["cpu"] += cpu
                row["audio"] += (len(background) + len(question)) / SAMPLE_RATE
                if endpoint.has_speech:
                    err = abs(endpoint.speech_end_s - end)
                    row["err"].append(err)
                    row["ok"] += err <= TOLERANCE_S
    table = [{"vad": name, "noise": kind, "snr_db": snr,
              "ok": f"{r['ok']}/{r['n']}",
              "end_err_s": round(float(np.median(r["err"])), 3) if r["err"] else None,
              "ms_per_s": round(1000 * r["cpu"] / r["audio"], 3)}
             for (name, kind, snr), r in rows.items()]
    if args.json:
        print(json.dumps(table))
        return
    print(f"{'vad':<8}{'noise':<7}{'SNR dB':>7}{'ok':>8}{'end err s':>11}{'ms/s':>8}")
    for r in sorted(table, key=lambda r: (r["noise"], -r["snr_db"], r["vad"])):
        err = "-" if r["end_err_s"] is None else f"{r['end_err_s']:.3f}"
        print(f"{r['vad']:<8}{r['noise']:<7}{r['snr_db']:>7}{r['ok']:>8}{err:>11}"
              f"{r['ms_per_s']:>8.2f}")


if __name__ == "__main__":
    main()
