"""Audio I/O and log-mel features: the one feature pipeline the wake model is trained on and runs on.

Why one module: a wake model is only as good as the agreement between the features it was
trained on and the features it sees at run time. Training (``tars_export.wake_data``) and the
runtime (``tars_edge.wake``) both call :func:`log_mel` / :class:`LogMelStream` from here, numpy
only, so there is no second implementation to drift.

Framing (16 kHz mono):

* window 25 ms (400 samples, periodic Hann), hop 10 ms (160 samples), FFT 512, 40 mel bands
  (HTK mel scale, 20 Hz – 7.6 kHz), value ``log(mel power + 1e-6)``;
* the signal is preceded by ``WINDOW − HOP`` (240) zeros, so frame ``i`` covers samples
  ``[160·i − 240, 160·i + 160)`` and **ends** at sample ``160·(i + 1)``: N samples give exactly
  ``N // 160`` frames, and one 80 ms chunk (1280 samples) gives exactly 8 frames. Frames are
  causal: none reads a sample after its end, so streaming and batch agree.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
FRAME_SAMPLES = 1280  # 80 ms: the streaming unit of the wake model
WINDOW_SAMPLES = 400  # 25 ms analysis window
HOP_SAMPLES = 160  # 10 ms between frames
N_FFT = 512
N_MELS = 40
FMIN_HZ = 20.0
FMAX_HZ = 7600.0
LOG_FLOOR = 1e-6  # added to the mel power before the log: silence is log(1e-6) ≈ −13.8
FRAMES_PER_CHUNK = FRAME_SAMPLES // HOP_SAMPLES  # 8
_LEAD = WINDOW_SAMPLES - HOP_SAMPLES  # zeros before the first sample


def _hz_to_mel(hz):
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def _mel_to_hz(mel):
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(n_mels: int = N_MELS, n_fft: int = N_FFT, rate: int = SAMPLE_RATE,
                   fmin: float = FMIN_HZ, fmax: float = FMAX_HZ) -> np.ndarray:
    """(n_fft // 2 + 1, n_mels) float32 triangular filters, peak 1, on the HTK mel scale."""
    bins_hz = np.arange(n_fft // 2 + 1) * rate / n_fft
    edges = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins_hz[None, :] - lo) / (mid - lo)
    falling = (hi - bins_hz[None, :]) / (hi - mid)
    return np.maximum(0.0, np.minimum(rising, falling)).T.astype(np.float32)


# Computed once at import: every call of log_mel / LogMelStream shares them.
WINDOW = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(WINDOW_SAMPLES) / WINDOW_SAMPLES)).astype(np.float32)
MEL_BANK = mel_filterbank()


def _frames_to_log_mel(frames: np.ndarray) -> np.ndarray:
    """frames (n, WINDOW_SAMPLES) float32 -> (n, N_MELS) float32."""
    spectrum = np.fft.rfft(frames * WINDOW, n=N_FFT, axis=1)
    power = (spectrum.real ** 2 + spectrum.imag ** 2).astype(np.float32)
    return np.log(power @ MEL_BANK + np.float32(LOG_FLOOR)).astype(np.float32)


def as_pcm(pcm) -> np.ndarray:
    pcm = np.asarray(pcm)
    if pcm.ndim != 1:
        raise ValueError(f"expected mono PCM as a 1-D array, got shape {pcm.shape}")
    if pcm.dtype.kind in "iu":  # int16 straight from a sound card
        return (pcm.astype(np.float32) / 32768.0).astype(np.float32)
    return pcm.astype(np.float32, copy=False)


def log_mel(pcm) -> np.ndarray:
    """Log-mel frames of a whole 16 kHz mono signal: (len(pcm) // 160, N_MELS) float32."""
    pcm = as_pcm(pcm)
    n = len(pcm) // HOP_SAMPLES
    if n == 0:
        return np.zeros((0, N_MELS), dtype=np.float32)
    padded = np.concatenate([np.zeros(_LEAD, dtype=np.float32), pcm[: n * HOP_SAMPLES]])
    frames = np.lib.stride_tricks.sliding_window_view(padded, WINDOW_SAMPLES)[::HOP_SAMPLES]
    out = np.empty((n, N_MELS), dtype=np.float32)
    for start in range(0, n, 4096):  # bounded temporaries for hour-long recordings
        out[start:start + 4096] = _frames_to_log_mel(frames[start:start + 4096])
    return out


class LogMelStream:
    """Streaming :func:`log_mel`: feed PCM in pieces of any size, get each frame once, as soon
    as its last sample has arrived. The concatenated output equals ``log_mel`` of the
    concatenated input (same code, same framing)."""

    def __init__(self) -> None:
        self._buf = np.zeros(_LEAD, dtype=np.float32)

    def reset(self) -> None:
        """Forget the stream: the next push starts at t = 0 again."""
        self._buf = np.zeros(_LEAD, dtype=np.float32)

    def push(self, pcm) -> np.ndarray:
        """Append samples; returns the frames completed by them, (n, N_MELS) float32."""
        pcm = as_pcm(pcm)
        buf = np.concatenate([self._buf, pcm]) if len(pcm) else self._buf
        n = (len(buf) - _LEAD) // HOP_SAMPLES
        if n <= 0:
            self._buf = buf
            return np.zeros((0, N_MELS), dtype=np.float32)
        frames = np.lib.stride_tricks.sliding_window_view(
            buf[: _LEAD + n * HOP_SAMPLES], WINDOW_SAMPLES)[::HOP_SAMPLES]
        out = _frames_to_log_mel(frames)
        self._buf = buf[n * HOP_SAMPLES:].copy()  # the next frame's first 240 samples + rest
        return out


# ----------------------------------------------------------------------------------- WAV files


def resample(pcm: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Band-limited resampling of a whole signal by truncating / zero-padding its spectrum
    (numpy only; fine for files, not meant for streaming)."""
    pcm = np.asarray(pcm, dtype=np.float32)
    if rate == target or len(pcm) == 0:
        return pcm
    n_out = max(1, round(len(pcm) * target / rate))
    spectrum = np.fft.rfft(pcm.astype(np.float64))
    keep = min(len(spectrum), n_out // 2 + 1)
    out = np.fft.irfft(spectrum[:keep], n=n_out) * (n_out / len(pcm))
    return out.astype(np.float32)


def read_wav(path) -> np.ndarray:
    """A PCM WAV file as float32 mono in [−1, 1] at 16 kHz (channels averaged, resampled).
    Raises ValueError with one line naming the file when it is not a readable PCM WAV."""
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            raw = wav.readframes(wav.getnframes())
    except FileNotFoundError:
        raise ValueError(f"{path}: no such WAV file") from None
    except (wave.Error, EOFError) as exc:
        why = str(exc) or "the file ends before its header does"
        raise ValueError(f"{path}: not a PCM WAV file ({why}); convert it, e.g. "
                         f"`sox {path.name} -r 16000 -c 1 -b 16 out.wav`") from None
    if width == 1:
        data = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        data = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints = (b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16))
        data = (np.where(ints >= 1 << 23, ints - (1 << 24), ints)).astype(np.float32) / float(1 << 23)
    elif width == 4:
        data = np.frombuffer(raw, dtype="<i4").astype(np.float32) / float(1 << 31)
    else:
        raise ValueError(f"{path}: {8 * width}-bit samples are not supported; use 16-bit PCM")
    if channels > 1:
        data = data[: len(data) // channels * channels].reshape(-1, channels).mean(axis=1)
    return resample(data, rate, SAMPLE_RATE)


def write_wav(path, pcm, rate: int = SAMPLE_RATE) -> None:
    """16-bit mono PCM WAV; float input is clipped to [−1, 1]."""
    pcm = np.asarray(pcm)
    if pcm.dtype.kind == "f":
        pcm = np.round(np.clip(pcm, -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(int(rate))
        wav.writeframes(pcm.astype("<i2").tobytes())
