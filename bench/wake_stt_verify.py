"""Would a speech-to-text check behind the wake model close the wake word's FRR gap?

Two-stage idea (round 9, docs/wake.md): the bundle's wake model fires a *candidate* at a low
threshold L; the candidate becomes a wake event if the model's score reaches the usual high
threshold H within ~1 s anyway, or if faster-whisper (the pipeline's own tiny.en) hears "TARS"
in the 2.5 s of audio around it (2 s before the crossing, 0.5 s after).

``collect`` runs the deployed wake model over the builder's own evaluation audio (the held-out
wake utterances, the calibration and test hours of negative audio, the held-out confusable
phrases; all from the synthesis cache of ``tars-export build-default --only wake``) and over
150 wake utterances and 150 confusable utterances of *training* voices (where the "TARS" rule
was read off), transcribes every candidate twice (plain, and with ``hotwords="Hey TARS"``), and
pickles them. ``analyze`` prints the FRR / false accepts per hour for a grid of (L, H):
calibration half and hour (where a setting is chosen) next to the test half and hour.

    python bench/wake_stt_verify.py collect [--low 0.1]   # ~20 min on 2 cores
    python bench/wake_stt_verify.py analyze [--key hot|plain]

Needs the export and voice extras (the evaluation audio is built by tars_export).
Approximations, fine for a go/no-go and stated in docs/wake.md: a candidate's "peak" is the
highest score over the 12 chunks (~1 s) after the crossing, and a wake utterance counts as
found if an accepted candidate starts between 1.5 s before and 1 s after the phrase end.
"""

from __future__ import annotations

import argparse
import collections
import pickle
import re
from pathlib import Path

import numpy as np
from tqdm import tqdm

PRE_S, POST_S = 2.0, 0.5  # transcribed audio around a candidate's first chunk over L
PEAK_CHUNKS = 12
VARIANTS = {"plain": {}, "hot": {"hotwords": "Hey TARS"}}
NAME = re.compile(r"\btars\b")
DEFAULT_OUT = Path("checkpoints/wake/stt_verify.pkl")


def collect(low: float, out: Path) -> None:
    from tars_edge import audio
    from tars_edge.bundle import Bundle
    from tars_edge.wake import CHUNK_S, WakeDetector, smoothed_scores
    from tars_edge_sensors.voice.stt import SpeechToText
    from tars_export import wake_data
    from tars_export.train_wake import WakeTrainConfig, build_data, training_pools
    from tars_export.wake_build import stream_probs

    sr = audio.SAMPLE_RATE
    det = WakeDetector.from_bundle(Bundle.load(None), threshold=1.0)
    cfg = WakeTrainConfig()
    data = build_data(0, cfg)
    pools = training_pools(0, cfg)
    train_wake, train_neg = pools["wake"], pools["neg"]
    stt = SpeechToText(threads=2)
    model = stt.load()

    def transcribe(pcm: np.ndarray, **kw) -> str:
        segs, _ = model.transcribe(pcm.astype(np.float32), language="en", beam_size=1,
                                   vad_filter=False, condition_on_previous_text=False,
                                   without_timestamps=True, **kw)
        return " ".join(s.text.strip() for s in segs)

    def candidates(pcm: np.ndarray, scores: np.ndarray) -> list[dict]:
        above = scores >= low
        starts = np.flatnonzero(above & ~np.concatenate([[False], above[:-1]]))
        found = []
        for i in starts:
            t = (i + 1) * CHUNK_S
            window = pcm[int(max(0.0, t - PRE_S) * sr): int(min(len(pcm) / sr, t + POST_S) * sr)]
            found.append({"t": t, "peak": float(scores[i: i + PEAK_CHUNKS].max()),
                          **{k: transcribe(window, **kw) for k, kw in VARIANTS.items()}})
        return found

    def clips(name: str, items: list) -> None:
        res = []
        for pcm, meta in tqdm(items, desc=name):
            det.reset()
            scores = smoothed_scores(det.step_probabilities(audio.log_mel(pcm)), 1)
            res.append({"meta": meta, "cands": candidates(pcm, scores)})
        result[name] = res

    def positives(items) -> list:
        return [(p.pcm, {"end_s": p.end_s, "text": p.text, "voice": p.voice}) for p in items]

    result: dict = {"low": low}
    clips("train_pos", positives(wake_data.eval_positives(train_wake, 5)[:300:2]))
    clips("train_conf", [(pcm, {"text": t}) for pcm, t in wake_data.eval_confusables(train_neg, 5)[:150]])
    clips("pos", positives(data.eval_positives))
    clips("conf", [(pcm, {"text": t}) for pcm, t in data.confusables])
    for name, pieces in (("calib", data.calib_negative), ("test", data.test_negative)):
        det.reset()
        scores = smoothed_scores(stream_probs(det, pieces), 1)
        pcm = np.concatenate(pieces)
        result[name] = {"cands": candidates(pcm, scores), "hours": len(pcm) / sr / 3600}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(pickle.dumps(result))
    print(f"wrote {out}")


def analyze(path: Path, key: str) -> None:
    o = pickle.loads(path.read_bytes())

    def says_tars(c: dict) -> bool:
        return bool(NAME.search(c[key].lower()))

    def accepted(c: dict, low: float, high: float) -> bool:
        return c["peak"] >= high or (c["peak"] >= low and says_tars(c))

    def frr(items: list, low: float, high: float) -> float:
        missed = [not any(accepted(c, low, high) and r["meta"]["end_s"] - 1.5 <= c["t"] <= r["meta"]["end_s"] + 1.0
                          for c in r["cands"]) for r in items]
        return float(np.mean(missed))

    def fa_per_hour(stream: dict, low: float, high: float) -> float:
        last, n = -1e9, 0
        for c in stream["cands"]:
            if accepted(c, low, high) and c["t"] - last >= 2.0:
                n, last = n + 1, c["t"]
        return n / stream["hours"]

    def fires(items: list, low: float, high: float) -> float:
        return float(np.mean([any(accepted(c, low, high) for c in r["cands"]) for r in items]))

    pos = o["pos"]
    calib, test = pos[0::2], pos[1::2]
    print(f"candidates over L={o['low']}; transcripts: {key}")
    print("training voices: wake utterances with 'TARS' heard in a candidate: "
          f"{np.mean([any(says_tars(c) for c in r['cands']) for r in o['train_pos']]):.3f}; "
          f"confusables: {np.mean([any(says_tars(c) for c in r['cands']) for r in o['train_conf']]):.3f}")
    words = collections.Counter(w for r in o["train_pos"] for c in r["cands"]
                                for w in re.findall(r"[a-z]+", c[key].lower()))
    print("commonest words heard in training-voice wake candidates:", words.most_common(8))
    print("  L     H  | calib FRR  FA/h | test FRR  FA/h  confusables fire")
    for low in (0.1, 0.2, 0.3, 0.5):
        for high in (0.85, 0.9, 0.95, 0.99, 1.01):
            print(f"{low:4.2f} {high:5.2f} | {frr(calib, low, high):9.3f} {fa_per_hour(o['calib'], low, high):5.1f} | "
                  f"{frr(test, low, high):8.3f} {fa_per_hour(o['test'], low, high):5.1f}  {fires(o['conf'], low, high):.3f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["collect", "analyze"])
    ap.add_argument("--low", type=float, default=0.1, help="candidate threshold L for collect")
    ap.add_argument("--key", choices=sorted(VARIANTS), default="hot")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    if args.command == "collect":
        collect(args.low, args.out)
    else:
        analyze(args.out, args.key)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
