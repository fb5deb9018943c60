"""Synthetic training and evaluation audio for the "hey TARS" wake model.

Speech comes from Debian's ``espeak-ng`` (accents × voice variants × speeds × pitches); the
rest is numpy: coloured noise, music-like tones, gain, additive noise at several SNRs,
reverberation (a synthetic exponentially decaying impulse response), speed perturbation and
time shifts.

Held-out split (evaluation only, never trained on):
  * voices: every voice whose variant is in :data:`HELDOUT_VARIANTS` or whose accent is in
    :data:`HELDOUT_ACCENTS`; training uses only the other (accent, variant) pairs;
  * phrases: the confusable phrases in :data:`HELDOUT_CONFUSABLES`, and the ~20 % of sentences
    whose hash falls in the held-out bucket (:func:`is_heldout_text`).

Labels (per 10 ms feature frame) for a clip with the wake phrase ending at frame ``e``:
negative before ``e − IGNORE_BEFORE``, ignored in ``[e − IGNORE_BEFORE, e)`` (the "S" of TARS,
where firing is early but harmless), positive in ``[e, e + POSITIVE_FRAMES)``, ignored after (the
model need not know how long ago the phrase was). The phrase end comes from synthesis: the
phrase alone is synthesised with the same voice and its energy-trimmed length is where it ends
inside the longer utterance "hey TARS, <request>".

Everything is deterministic for a seed; synthesised speech and assembled features are cached
under ``checkpoints/wake/`` (gitignored), keyed by a hash of what produced them.
"""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing as mp
import re
import subprocess
import wave
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from tars_edge import audio

SR = audio.SAMPLE_RATE
HOP = audio.HOP_SAMPLES

ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd",
           "en-029", "en-us-nyc")
VARIANTS = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5",
    "Alex", "Alicia", "Andrea", "Andy", "Annie", "Denis", "Diogo", "Gene", "Gene2", "Henrique",
    "Hugo", "Jacky", "Lee", "Marco", "Mario", "Michael", "Mike", "Mr serious", "Nguyen", "Storm",
    "Tweaky", "adam", "anika", "announcer", "antonio", "aunty", "belinda", "benjamin", "boris",
    "caleb", "david", "ed", "edward", "edward2", "grandma", "grandpa", "gustave", "iven",
    "iven2", "iven3", "iven4", "john", "kaukovalta", "klatt", "klatt2", "klatt3", "klatt4",
    "klatt5", "klatt6", "linda", "marcelo", "max", "michel", "miguel", "norbert", "pablo",
    "paul", "pedro", "quincy", "rob", "robert", "sandro", "shelby", "steph", "steph2", "steph3",
    "travis", "victor", "zac", "whisper", "whisperf", "croak",
)
HELDOUT_VARIANTS = ("m7", "f4", "Andy", "Gene2", "Hugo", "Mike", "aunty", "edward2", "iven3",
                    "klatt5", "linda", "norbert", "shelby", "steph2", "victor", "whisperf")
HELDOUT_ACCENTS = ("en-us-nyc",)

WAKE_FORMS = ("hey TARS", "hey tars", "hey, TARS", "Hey TARS!", "hey TARS.", "Hey Tars")
CONFUSABLES = (
    "hey stars", "hey tires", "hey Charles", "hey there", "tarts", "a star", "hey TA",
    "hey cars", "hey guys", "hey Tara", "hey towers", "hey doors", "hey tar", "they tore",
    "hate ours", "hey bars", "stars", "hey darts", "hey Tom", "hey Siri", "hey stairs are",
    "hay tarps",
    "stay hard", "hey Sarah", "day stars", "hey, this", "hey, tell us", "pay taxes",
)
HELDOUT_CONFUSABLES = ("hey Lars", "hey jars", "hey Mars", "a tarp", "hey tours", "hey Dallas",
                       "hey stairs", "hey star", "they are", "hey taxi")
IGNORE_BEFORE = 10  # frames before the phrase end that are neither positive nor negative
POSITIVE_FRAMES = 35  # frames after the phrase end labelled positive (350 ms)
HARD_NEGATIVE_WEIGHT = 3.0  # loss weight of frames of clips with a confusable phrase
SPEED_PERTURB_P = 0.7  # share of training clips whose speech is speed-perturbed

# Speech addressed to TARS by name ("hello TARS", "thanks, tars") is in neither class: whether
# it should wake the assistant is a product decision, not something to train against.
_NAMES_TARS = re.compile(r"\btars\b", re.IGNORECASE)


def is_heldout_text(text: str) -> bool:
    """~20 % of texts, chosen by a stable hash (independent of the seed)."""
    return hashlib.sha256(text.lower().encode()).digest()[0] < 52


def voices(heldout: bool) -> list[str]:
    """espeak-ng voice names "accent+variant" of one side of the split."""
    out = []
    for accent in ACCENTS:
        for variant in VARIANTS:
            held = variant in HELDOUT_VARIANTS or accent in HELDOUT_ACCENTS
            if held == heldout:
                out.append(f"{accent}+{variant}")
    return out


def sentences(heldout: bool) -> list[str]:
    """English utterances to speak as negative speech (and as requests after the wake
    phrase): the reflex grammar's output, frozen in ``data/wake_sentences_en.txt`` (so a
    grammar change cannot move the wake evaluation set), and the reflex's hand-written set.
    Texts that contain the wake phrase, or address TARS by name at all, are dropped."""
    data = Path(__file__).parent / "data"
    texts = [ln for ln in (data / "wake_sentences_en.txt").read_text(encoding="utf-8").splitlines()
             if ln and not ln.startswith("#")]
    texts += _tsv_texts(data / "intents_en.tsv")
    seen, out = set(), []
    for t in texts:
        key = t.strip().lower()
        if not key or key in seen or _NAMES_TARS.search(t) or is_heldout_text(t) != heldout:
            continue
        seen.add(key)
        out.append(t.strip())
    return out


def russian_sentences(heldout: bool) -> list[str]:
    """Russian utterances (the project's users speak Russian too): negative speech."""
    texts = _tsv_texts(Path(__file__).parent / "data" / "intents_ru.tsv")
    return [t for t in dict.fromkeys(texts)
            if is_heldout_text(t) == heldout and not re.search("тарс|tars", t, re.IGNORECASE)]


def _tsv_texts(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return [ln.split("\t")[2] for ln in lines if ln.count("\t") >= 2]


# ------------------------------------------------------------------------------------ synthesis


@dataclass(frozen=True)
class SpeechJob:
    """One espeak-ng utterance; ``prefix`` (optional) is synthesised alone with the same voice
    to find where it ends inside ``text``."""

    text: str
    voice: str
    speed: int
    pitch: int
    prefix: str = ""


def _espeak(text: str, voice: str, speed: int, pitch: int) -> np.ndarray:
    proc = subprocess.run(
        ["espeak-ng", "--stdout", "-v", voice, "-s", str(speed), "-p", str(pitch), text],
        capture_output=True, check=True, timeout=60,
    )
    with wave.open(io.BytesIO(proc.stdout)) as wav:
        rate = wav.getframerate()
        raw = wav.readframes(wav.getnframes())
    return audio.resample(np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0, rate, SR)


def _voiced_span(pcm: np.ndarray) -> tuple[int, int]:
    """[first, last) sample of the part above −40 dB of the loudest 10 ms (energy trim)."""
    n = len(pcm) // HOP
    if n == 0:
        return 0, len(pcm)
    energy = (pcm[: n * HOP].reshape(n, HOP) ** 2).mean(1)
    loud = np.flatnonzero(energy > energy.max() * 1e-4)
    return int(loud[0]) * HOP, int(loud[-1] + 1) * HOP


def synthesize(job: SpeechJob) -> tuple[np.ndarray, int]:
    """(int16 speech trimmed to its voiced span, end sample of ``prefix`` in it or −1)."""
    pcm = _espeak(job.text, job.voice, job.speed, job.pitch)
    start, stop = _voiced_span(pcm)
    end = -1
    if job.prefix:
        alone = _espeak(job.prefix, job.voice, job.speed, job.pitch)
        p_start, p_stop = _voiced_span(alone)
        end = min(stop, start + (p_stop - p_start)) - start
    peak = np.abs(pcm[start:stop]).max(initial=1e-6)
    clip = pcm[start:stop] / peak * 0.9  # level is set later by augmentation
    return np.round(clip * 32767).astype(np.int16), end


class SpeechPool:
    """Many utterances in one int16 buffer (cached as one .npz)."""

    def __init__(self, data: np.ndarray, offsets: np.ndarray, ends: np.ndarray, jobs: list[SpeechJob]):
        self.data, self.offsets, self.ends, self.jobs = data, offsets, ends, jobs

    def __len__(self) -> int:
        return len(self.jobs)

    def get(self, i: int) -> np.ndarray:
        return self.data[self.offsets[i]: self.offsets[i + 1]].astype(np.float32) / 32767.0


def synthesize_pool(name: str, jobs: list[SpeechJob], cache: Path, workers: int = 2) -> SpeechPool:
    key = hashlib.sha256(json.dumps([asdict(j) for j in jobs]).encode()).hexdigest()[:16]
    path = cache / f"speech-{name}-{key}.npz"
    if path.exists():
        z = np.load(path)
        return SpeechPool(z["data"], z["offsets"], z["ends"], jobs)
    cache.mkdir(parents=True, exist_ok=True)
    with mp.get_context("fork").Pool(workers) as pool:
        results = list(tqdm(pool.imap(synthesize, jobs, chunksize=16), total=len(jobs),
                            desc=f"espeak-ng {name}", unit="utt"))
    lengths = np.array([len(r[0]) for r in results])
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    data = np.concatenate([r[0] for r in results]) if results else np.zeros(0, np.int16)
    ends = np.array([r[1] for r in results], dtype=np.int64)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, data=data, offsets=offsets, ends=ends)
    tmp.replace(path)
    return SpeechPool(data, offsets, ends, jobs)


def _speed_pitch(rng: np.random.Generator) -> tuple[int, int]:
    return int(rng.integers(110, 211)), int(rng.integers(15, 91))


def wake_jobs(n: int, heldout: bool, rng: np.random.Generator) -> list[SpeechJob]:
    """Wake phrase, alone (half) or followed by a request in the same breath (half)."""
    vs, reqs = voices(heldout), sentences(heldout)
    jobs = []
    for i in range(n):
        form = WAKE_FORMS[rng.integers(len(WAKE_FORMS))]
        voice = vs[rng.integers(len(vs))]
        speed, pitch = _speed_pitch(rng)
        if i % 2:
            sep = ", " if rng.random() < 0.5 else " "
            text = form.rstrip("!.") + sep + reqs[rng.integers(len(reqs))]
        else:
            text = form
        jobs.append(SpeechJob(text, voice, speed, pitch, prefix=form))
    return jobs


def negative_jobs(n_sent: int, n_conf: int, n_ru: int, heldout: bool,
                  rng: np.random.Generator) -> list[SpeechJob]:
    vs, texts = voices(heldout), sentences(heldout)
    confs = HELDOUT_CONFUSABLES if heldout else CONFUSABLES
    jobs = []
    for _ in range(n_sent):
        speed, pitch = _speed_pitch(rng)
        jobs.append(SpeechJob(texts[rng.integers(len(texts))], vs[rng.integers(len(vs))], speed, pitch))
    for i in range(n_conf):
        speed, pitch = _speed_pitch(rng)
        conf = confs[rng.integers(len(confs))]
        text = conf + (" " + texts[rng.integers(len(texts))] if i % 2 else "")
        # prefix marks these as hard negatives (their clips get HARD_NEGATIVE_WEIGHT)
        jobs.append(SpeechJob(text, vs[rng.integers(len(vs))], speed, pitch, prefix="hard:" + conf))
    ru = russian_sentences(heldout)
    ru_voices = ("ru", "ru+m3", "ru+f2", "ru+m5", "ru+f4") if not heldout else ("ru+m7", "ru+f5")
    for _ in range(n_ru):
        speed, pitch = _speed_pitch(rng)
        jobs.append(SpeechJob(ru[rng.integers(len(ru))], ru_voices[rng.integers(len(ru_voices))],
                              speed, pitch))
    return jobs


# --------------------------------------------------------------------------- noise and effects


def coloured_noise(n: int, rng: np.random.Generator, colour: str) -> np.ndarray:
    """Unit-RMS white, pink (1/f power) or brown (1/f²) noise of ``n`` samples."""
    if colour == "white":
        x = rng.standard_normal(n)
    else:
        spec = np.fft.rfft(rng.standard_normal(n))
        f = np.maximum(np.arange(len(spec)), 1.0)
        spec /= np.sqrt(f) if colour == "pink" else f
        x = np.fft.irfft(spec, n=n)
    x = x - x.mean()
    return (x / (np.sqrt((x ** 2).mean()) + 1e-12)).astype(np.float32)


def music(n: int, rng: np.random.Generator) -> np.ndarray:
    """Music-like tones: a random melody of harmonic notes with attack/decay envelopes, over a
    sustained chord; unit RMS."""
    t = np.arange(n) / SR
    out = np.zeros(n)
    root = 110.0 * 2 ** (rng.integers(0, 24) / 12)
    for semis in (0, 4, 7) if rng.random() < 0.5 else (0, 3, 7):
        out += 0.3 * np.sin(2 * np.pi * root * 2 ** (semis / 12) * t)
    pos = 0
    while pos < n:
        dur = int(SR * rng.uniform(0.1, 0.5))
        f0 = root * 2 ** (rng.integers(0, 24) / 12)
        k = np.arange(min(dur, n - pos)) / SR
        env = np.minimum(1.0, k / 0.01) * np.exp(-k * rng.uniform(2, 10))
        note = sum(np.sin(2 * np.pi * f0 * h * k) / h for h in (1, 2, 3, 4))
        out[pos: pos + len(k)] += env * note
        pos += dur
    out -= out.mean()
    return (out / (np.sqrt((out ** 2).mean()) + 1e-12)).astype(np.float32)


def background(n: int, rng: np.random.Generator) -> np.ndarray:
    """A unit-RMS background: coloured noise, music, or a mix."""
    kind = rng.random()
    if kind < 0.75:
        return coloured_noise(n, rng, ("white", "pink", "brown")[rng.integers(3)])
    if kind < 0.9:
        return music(n, rng)
    return (coloured_noise(n, rng, "pink") + music(n, rng)) / np.sqrt(2)


def reverb(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Convolve with a synthetic room: direct path + exponentially decaying noise tail
    (RT60 0.15–0.8 s), mixed at a random wet level; FFT convolution, length kept."""
    rt60 = rng.uniform(0.15, 0.8)
    m = int(rt60 * SR)
    k = np.arange(m) / SR
    ir = rng.standard_normal(m) * np.exp(-6.9 * k / rt60)
    ir[: int(0.002 * SR)] = 0.0  # first reflections arrive after ~2 ms
    ir *= rng.uniform(0.2, 0.7) / (np.sqrt((ir ** 2).sum()) + 1e-12)
    ir[0] = 1.0
    size = 1 << int(np.ceil(np.log2(len(x) + m)))
    y = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(ir, size), size)[: len(x)]
    return y.astype(np.float32)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt((x.astype(np.float64) ** 2).mean())) if len(x) else 0.0


def mix(speech: np.ndarray, rng: np.random.Generator, reverb_p: float = 0.3,
        snr_db: tuple[float, float] = (0.0, 30.0), clean_p: float = 0.15) -> np.ndarray:
    """Augment one clip in place of a microphone: reverberation, additive background at a
    random SNR (or none), a random level (−40 … −3 dBFS peak), a faint noise floor."""
    x = speech.astype(np.float32)
    if rng.random() < reverb_p:
        x = reverb(x, rng)
    active = x[np.abs(x) > 0.02 * np.abs(x).max(initial=0)]
    level = _rms(active) or 1e-3
    if rng.random() >= clean_p:
        snr = rng.uniform(*snr_db)
        x = x + background(len(x), rng) * level / 10 ** (snr / 20)
    peak = np.abs(x).max(initial=0) or 1.0
    x = x * (10 ** (rng.uniform(-40, -3) / 20) / peak)
    x = x + coloured_noise(len(x), rng, "white") * 10 ** (rng.uniform(-85, -60) / 20)
    return np.clip(x, -1, 1).astype(np.float32)


# ------------------------------------------------------------------------------ training clips


@dataclass
class ClipSet:
    """Fixed-length clips as features: x (N, T, N_MELS) float16, y (N, T) float32 targets,
    w (N, T) float32 loss weights (0 = ignored), kind (N,) int8: 1 wake, 2 hard negative,
    0 other negative."""

    x: np.ndarray
    y: np.ndarray
    w: np.ndarray
    kind: np.ndarray


def perturb_speed(speech: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Speed perturbation (Ko et al. 2015): play the clip 0.85–1.15× as fast, which moves
    pitch and formants together -- new "speakers" from the same voices. Returns the clip and
    the factor its positions were scaled by."""
    factor = rng.uniform(0.85, 1.15)
    out = audio.resample(speech, round(SR * factor), SR)
    return out, len(out) / max(1, len(speech))


def _place(seg: np.ndarray, n: int, start: int) -> np.ndarray:
    out = np.zeros(n, dtype=np.float32)
    lo, hi = max(0, start), min(n, start + len(seg))
    if hi > lo:
        out[lo:hi] = seg[lo - start: hi - start]
    return out


def make_clip(kind: int, i: int, pools: dict[str, SpeechPool], n_frames: int,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One augmented clip of ``n_frames`` frames -> (pcm, targets, weights)."""
    n = n_frames * HOP
    y = np.zeros(n_frames, dtype=np.float32)
    w = np.ones(n_frames, dtype=np.float32)
    if kind == 1:
        wake = pools["wake"]
        j = int(rng.integers(len(wake)))
        speech, end = wake.get(j), int(wake.ends[j])
        if rng.random() < SPEED_PERTURB_P:
            speech, scale = perturb_speed(speech, rng)
            end = min(len(speech), round(end * scale))
        # the phrase ends somewhere in the clip's second third .. near its end
        latest = n - 0.25 * SR
        end_at = int(rng.uniform(min(max(end + 0.05 * SR, 0.35 * n), latest), latest))
        pcm = _place(speech, n, end_at - end)
        if rng.random() < 0.2:  # speech just before the wake phrase
            other = pools["neg"].get(int(rng.integers(len(pools["neg"]))))
            gap = int(rng.uniform(0.1, 0.6) * SR)
            pcm += _place(other, n, end_at - end - gap - len(other))
        e = (end_at + HOP - 1) // HOP  # first frame whose end is at/after the phrase end
        w[max(0, e - IGNORE_BEFORE): e] = 0.0
        y[e: e + POSITIVE_FRAMES] = 1.0
        w[e + POSITIVE_FRAMES:] = 0.0
    else:
        r = rng.random()
        if r < 0.12:
            pcm = np.zeros(n, dtype=np.float32)  # background only
        else:
            pool = pools["neg"]
            j = int(rng.integers(len(pool)))
            speech = pool.get(j)
            if rng.random() < SPEED_PERTURB_P:
                speech, _ = perturb_speed(speech, rng)
            start = int(rng.integers(-max(0, len(speech) - n // 2), max(1, n - len(speech) // 2)))
            pcm = _place(speech, n, start)
            if pool.jobs[j].prefix.startswith("hard:"):
                w *= HARD_NEGATIVE_WEIGHT
    return mix(pcm, rng), y, w


def _make_batch(args) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    seed, start, kinds, pools, n_frames = args
    xs, ys, ws, ks = [], [], [], []
    for k, kind in enumerate(kinds):
        rng = np.random.default_rng([seed, start + k])
        pcm, y, w = make_clip(int(kind), start + k, pools, n_frames, rng)
        hard = int(kind == 0 and w.max() > 1)
        xs.append(audio.log_mel(pcm).astype(np.float16))
        ys.append(y)
        ws.append(w)
        ks.append(1 if kind == 1 else 2 if hard else 0)
    return np.stack(xs), np.stack(ys), np.stack(ws), np.array(ks, dtype=np.int8)


_POOLS: dict = {}


def _make_batch_worker(args):
    seed, start, kinds, n_frames = args
    return _make_batch((seed, start, kinds, _POOLS, n_frames))


def make_clips(pools: dict[str, SpeechPool], n_pos: int, n_neg: int, n_frames: int, seed: int,
               cache: Path, tag: str, workers: int = 2) -> ClipSet:
    """Assemble and featurise ``n_pos`` wake clips and ``n_neg`` negative clips (cached)."""
    key = hashlib.sha256(json.dumps([
        tag, n_pos, n_neg, n_frames, seed, IGNORE_BEFORE, POSITIVE_FRAMES, HARD_NEGATIVE_WEIGHT,
        [len(p) for p in pools.values()], [int(p.data[:1000].astype(np.int64).sum()) for p in pools.values()],
        audio.N_MELS, audio.HOP_SAMPLES, SPEED_PERTURB_P, 4,
    ]).encode()).hexdigest()[:16]
    path = cache / f"clips-{tag}-{key}.npz"
    if path.exists():
        z = np.load(path)
        return ClipSet(z["x"], z["y"], z["w"], z["kind"])
    kinds = np.array([1] * n_pos + [0] * n_neg, dtype=np.int8)
    kinds = kinds[np.random.default_rng(seed).permutation(len(kinds))]
    step = 64
    tasks = [(seed, s, kinds[s: s + step], n_frames) for s in range(0, len(kinds), step)]
    _POOLS.clear()
    _POOLS.update(pools)  # inherited by the forked workers
    parts = []
    with mp.get_context("fork").Pool(workers) as pool, \
            tqdm(total=len(kinds), desc=f"clips {tag}", unit="clip") as bar:
        for part in pool.imap(_make_batch_worker, tasks):
            parts.append(part)
            bar.update(len(part[0]))
    x, y, w, k = (np.concatenate([p[i] for p in parts]) for i in range(4))
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, x=x, y=y, w=w, kind=k)
    tmp.replace(path)
    return ClipSet(x, y, w, k)


# --------------------------------------------------------------------------- evaluation audio


@dataclass
class EvalPositive:
    pcm: np.ndarray  # 1 s of background, the utterance, 1 s of background
    end_s: float  # where the wake phrase ends
    text: str
    voice: str


def eval_positives(pool: SpeechPool, seed: int) -> list[EvalPositive]:
    """Every held-out wake utterance, augmented once (SNR 5–30 dB, reverb on 30 %)."""
    out = []
    for j in range(len(pool)):
        rng = np.random.default_rng([seed, 7, j])
        speech, end = pool.get(j), int(pool.ends[j])
        lead = int(rng.uniform(0.5, 1.0) * SR)
        pcm = np.concatenate([np.zeros(lead, np.float32), speech, np.zeros(SR, np.float32)])
        pcm = mix(pcm, rng, snr_db=(5.0, 30.0), clean_p=0.1)
        out.append(EvalPositive(pcm, (lead + end) / SR, pool.jobs[j].text, pool.jobs[j].voice))
    return out


def is_confusable(job: SpeechJob) -> bool:
    return job.prefix.startswith("hard:")


def eval_confusables(pool: SpeechPool, seed: int) -> list[tuple[np.ndarray, str]]:
    """Every held-out confusable utterance ("hey star", "hey Lars", ...), alone in 0.5–1 s of
    background on each side (SNR 5–30 dB): a stress test reported per utterance, apart from
    the hourly false-accept rate."""
    out = []
    for j in range(len(pool)):
        if not is_confusable(pool.jobs[j]):
            continue
        rng = np.random.default_rng([seed, 13, j])
        pad = [np.zeros(int(rng.uniform(0.5, 1.0) * SR), np.float32) for _ in range(2)]
        pcm = mix(np.concatenate([pad[0], pool.get(j), pad[1]]), rng, snr_db=(5.0, 30.0), clean_p=0.1)
        out.append((pcm, pool.jobs[j].text))
    return out


def eval_negative_stream(pool: SpeechPool, seconds: float, seed: int,
                         piece_s: float = 60.0) -> list[np.ndarray]:
    """``seconds`` of continuous held-out negative audio in ``piece_s`` pieces: held-out voices
    saying held-out English and Russian sentences, pauses, noise and music, each piece with its
    own background at SNR 5–30 dB. The confusable phrases are left out here (a stream that
    says "hey star" hundreds of times an hour is not an hour of ordinary audio); they are
    measured per utterance by :func:`eval_confusables`."""
    rng = np.random.default_rng([seed, 11])
    ordinary = [j for j in range(len(pool)) if not is_confusable(pool.jobs[j])]
    pieces = []
    for _ in range(int(np.ceil(seconds / piece_s))):
        n = int(piece_s * SR)
        pcm = np.zeros(n, dtype=np.float32)
        pos = int(rng.uniform(0, 1) * SR)
        while pos < n:
            if rng.random() < 0.12:  # a stretch with no speech
                pos += int(rng.uniform(1, 5) * SR)
                continue
            speech = pool.get(ordinary[int(rng.integers(len(ordinary)))])
            seg = speech * 10 ** (rng.uniform(-12, 0) / 20)
            if rng.random() < 0.3:
                seg = reverb(seg, rng)
            end = min(n, pos + len(seg))
            pcm[pos:end] += seg[: end - pos]
            pos = end + int(rng.uniform(0.2, 2.0) * SR)
        pieces.append(mix(pcm, rng, reverb_p=0.0, snr_db=(5.0, 30.0), clean_p=0.1))
    return pieces
