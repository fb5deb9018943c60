"""tars_edge.audio: the log-mel features the wake model is trained on and runs on.

Training and runtime share this one implementation, so "parity" is checked against an
independent reference written here from the definitions (a plain DFT matrix, a Hann window
and HTK triangular filters computed in loops), and streaming is checked against batch."""

from __future__ import annotations

import math
import wave

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tars_edge import audio


def _reference_log_mel(pcm: np.ndarray) -> np.ndarray:
    """Straight from the definitions, float64, no np.fft and nothing from tars_edge.audio."""
    rate, win, hop, nfft, nmels = 16000, 400, 160, 512, 40
    padded = np.concatenate([np.zeros(win - hop), pcm.astype(np.float64)])
    n_frames = len(pcm) // hop
    hann = np.array([0.5 - 0.5 * math.cos(2 * math.pi * k / win) for k in range(win)])
    k = np.arange(nfft // 2 + 1)[:, None]
    t = np.arange(win)[None, :]
    cos_m, sin_m = np.cos(2 * np.pi * k * t / nfft), np.sin(2 * np.pi * k * t / nfft)

    def mel(f):
        return 2595 * math.log10(1 + f / 700)

    def hz(m):
        return 700 * (10 ** (m / 2595) - 1)

    lo, hi = mel(20.0), mel(7600.0)
    edges = [hz(lo + (hi - lo) * i / (nmels + 1)) for i in range(nmels + 2)]
    bank = np.zeros((nmels, nfft // 2 + 1))
    for m in range(nmels):
        a, b, c = edges[m], edges[m + 1], edges[m + 2]
        for j in range(nfft // 2 + 1):
            f = j * rate / nfft
            if a < f < c:
                bank[m, j] = (f - a) / (b - a) if f <= b else (c - f) / (c - b)
    out = np.zeros((n_frames, nmels))
    for i in range(n_frames):
        frame = padded[i * hop: i * hop + win] * hann
        power = (cos_m @ frame) ** 2 + (sin_m @ frame) ** 2
        out[i] = np.log(bank @ power + 1e-6)
    return out


def _speechlike(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    f0 = 120 + 40 * np.sin(2 * np.pi * 1.3 * t)
    voiced = sum(np.sin(2 * np.pi * h * np.cumsum(f0) / 16000) / h for h in range(1, 12))
    env = (np.sin(2 * np.pi * 3 * t) > 0).astype(float)
    return (0.2 * voiced * env + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


def test_log_mel_matches_an_independent_reference():
    pcm = _speechlike(0.6, seed=1)
    ours = audio.log_mel(pcm)
    ref = _reference_log_mel(pcm)
    assert ours.shape == ref.shape == (len(pcm) // 160, 40)
    assert ours.dtype == np.float32
    # float32 FFT vs float64 DFT: well under 0.01 nats on every band with real energy
    loud = ref > np.log(1e-6) + 3
    assert loud.mean() > 0.5
    assert np.max(np.abs(ours[loud] - ref[loud])) < 1e-2


def test_framing_one_chunk_is_eight_frames_and_silence_is_the_floor():
    assert audio.FRAME_SAMPLES == 1280 and audio.SAMPLE_RATE == 16000
    assert audio.log_mel(np.zeros(1280, np.float32)).shape == (8, audio.N_MELS)
    assert audio.log_mel(np.zeros(159, np.float32)).shape == (0, audio.N_MELS)
    assert np.allclose(audio.log_mel(np.zeros(1600, np.float32)), np.log(np.float32(1e-6)))


def test_frames_are_causal():
    """Frame i ends at sample 160·(i+1): changing later samples leaves it alone."""
    pcm = _speechlike(0.5, seed=2)
    changed = pcm.copy()
    changed[1600:] = 0.5
    a, b = audio.log_mel(pcm), audio.log_mel(changed)
    assert np.array_equal(a[:10], b[:10])
    assert not np.allclose(a[10], b[10])


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), sizes=st.lists(st.integers(0, 3000), min_size=1, max_size=25))
def test_streaming_equals_batch_for_any_chunking(seed, sizes):
    pcm = np.random.default_rng(seed).standard_normal(sum(sizes)).astype(np.float32) * 0.1
    stream = audio.LogMelStream()
    parts, pos = [], 0
    for n in sizes:
        parts.append(stream.push(pcm[pos: pos + n]))
        pos += n
    got = np.concatenate(parts)
    want = audio.log_mel(pcm)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=0)


def test_stream_reset_starts_over():
    pcm = _speechlike(0.3, seed=3)
    stream = audio.LogMelStream()
    first = stream.push(pcm)
    stream.reset()
    np.testing.assert_allclose(stream.push(pcm), first, atol=1e-5)


def test_int16_input_is_scaled():
    pcm = _speechlike(0.2, seed=4)
    as_int = np.round(pcm * 32768).astype(np.int16)
    np.testing.assert_allclose(audio.log_mel(as_int), audio.log_mel(pcm), atol=1e-2)


def test_wav_round_trip(tmp_path):
    pcm = _speechlike(0.5, seed=5)
    audio.write_wav(tmp_path / "a.wav", pcm)
    back = audio.read_wav(tmp_path / "a.wav")
    assert back.dtype == np.float32 and back.shape == pcm.shape
    assert np.max(np.abs(back - pcm)) < 1 / 32767 + 1e-6


def test_read_wav_downmixes_and_resamples(tmp_path):
    rate, seconds = 44100, 0.5
    t = np.arange(int(rate * seconds)) / rate
    left = 0.5 * np.sin(2 * np.pi * 1000 * t)
    stereo = np.stack([left, left], axis=1)
    with wave.open(str(tmp_path / "s.wav"), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.round(stereo * 32767).astype("<i2").tobytes())
    pcm = audio.read_wav(tmp_path / "s.wav")
    assert len(pcm) == 8000
    spectrum = np.abs(np.fft.rfft(pcm))
    assert abs(np.argmax(spectrum) * 16000 / len(pcm) - 1000) < 5
    assert abs(np.sqrt(np.mean(pcm[1000:-1000] ** 2)) - 0.5 / np.sqrt(2)) < 0.01


def test_read_wav_errors_name_the_file(tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio")
    with pytest.raises(ValueError, match="notes.wav: not a PCM WAV file"):
        audio.read_wav(bad)
    with pytest.raises(ValueError, match="missing.wav: no such WAV file"):
        audio.read_wav(tmp_path / "missing.wav")
