"""Where the audio comes from: the microphone (through PortAudio / ``sounddevice``) or a WAV file.

Both end in the same place: 16 kHz mono float32 chunks of :data:`~tars_edge.audio.FRAME_SAMPLES`
(80 ms), the wake model's streaming unit. The microphone's callback runs on PortAudio's thread
and only copies into a bounded :class:`RingBuffer`, so a slow consumer (speech to text, a
core answer) loses the oldest audio instead of growing memory or blocking the sound card.

While TARS speaks, the ring buffer is *muted*: incoming frames are dropped, so the assistant
does not hear (and answer) itself.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from tars_edge.audio import FRAME_SAMPLES, SAMPLE_RATE, read_wav


class NoMicrophone(RuntimeError):
    """No usable microphone: PortAudio missing, no input device, or the device failed.
    The message is one line saying what to do."""


class RingBuffer:
    """A bounded FIFO of float32 samples, written by one thread and read by another.

    ``capacity_s``: seconds kept; when full the oldest samples are overwritten (and counted
    in ``overflow_samples``). While ``muted``, :meth:`push` drops what it is given (counted in
    ``dropped_samples``).
    """

    def __init__(self, capacity_s: float = 10.0):
        self.capacity = max(FRAME_SAMPLES, int(capacity_s * SAMPLE_RATE))
        self._data = np.zeros(self.capacity, dtype=np.float32)
        self._start = 0  # index of the oldest sample
        self._size = 0
        self._cond = threading.Condition()
        self._closed = False
        self.muted = False
        self.dropped_samples = 0
        self.overflow_samples = 0
        self.pushed_samples = 0

    def push(self, pcm: np.ndarray) -> None:
        """Append samples (any length); called from the audio thread, never blocks."""
        pcm = np.asarray(pcm, dtype=np.float32).reshape(-1)
        with self._cond:
            if self.muted:
                self.dropped_samples += len(pcm)
                return
            self.pushed_samples += len(pcm)
            if len(pcm) >= self.capacity:
                self.overflow_samples += self._size + len(pcm) - self.capacity
                self._data[:] = pcm[-self.capacity:]
                self._start, self._size = 0, self.capacity
            else:
                excess = self._size + len(pcm) - self.capacity
                if excess > 0:  # overwrite the oldest
                    self.overflow_samples += excess
                    self._start = (self._start + excess) % self.capacity
                    self._size -= excess
                end = (self._start + self._size) % self.capacity
                first = min(len(pcm), self.capacity - end)
                self._data[end:end + first] = pcm[:first]
                self._data[:len(pcm) - first] = pcm[first:]
                self._size += len(pcm)
            self._cond.notify_all()

    def read(self, n: int, timeout: float) -> np.ndarray | None:
        """The next ``n`` samples, waiting up to ``timeout`` s; None if they did not come
        (or the buffer was closed with fewer left)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._size < n and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)
            if self._size < n:
                return None
            idx = (self._start + np.arange(n)) % self.capacity
            out = self._data[idx]
            self._start = (self._start + n) % self.capacity
            self._size -= n
            return out

    def clear(self) -> None:
        """Forget everything buffered (e.g. what was heard while TARS was thinking aloud)."""
        with self._cond:
            self._start = self._size = 0

    def close(self) -> None:
        """Wake every reader; later reads return what is left, then None."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def buffered(self) -> int:
        return self._size


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence C libraries for a moment: ALSA prints a dozen lines on stderr when it finds no
    sound card, which would bury the one line that says what to do."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to protect
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _device_arg(device: str) -> int | str | None:
    """Config text → sounddevice's device argument: "" = the default input, "3" = index 3,
    anything else = a substring of the device's name."""
    device = device.strip()
    if not device:
        return None
    return int(device) if device.isdigit() else device


class MicrophoneSource:
    """The microphone as 80 ms chunks.

    ``device``: "" for the system's default input, a device index ("2") or part of its name
    ("USB"); ``buffer_s``: seconds the ring buffer holds while the pipeline is busy.
    :meth:`start` raises :class:`NoMicrophone` with one actionable line when there is none.
    """

    def __init__(self, device: str = "", buffer_s: float = 10.0):
        self.device = device
        self.ring = RingBuffer(buffer_s)
        self._stream = None
        self.name = ""  # the device's name once started
        self.status_flags = 0  # input overflows reported by PortAudio

    def start(self) -> None:
        if self._stream is not None:
            return
        try:
            with quiet_stderr():
                import sounddevice as sd
        except OSError as exc:  # the Python package is there, the C library is not
            raise NoMicrophone(f"PortAudio is not available ({exc}); install it: "
                               "sudo apt-get install libportaudio2") from None
        except ImportError:
            raise NoMicrophone("the sounddevice package is missing; install the voice extra: "
                               "pip install 'tars-edge[voice]'") from None
        device = _device_arg(self.device)
        try:
            with quiet_stderr():
                info = sd.query_devices(device, kind="input")
                stream = sd.InputStream(samplerate=SAMPLE_RATE, channels=1, dtype="float32",
                                        blocksize=FRAME_SAMPLES, device=device,
                                        callback=self._callback)
                stream.start()
        except (ValueError, sd.PortAudioError, OSError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            which = f"input device {self.device!r}" if self.device else "a default input device"
            raise NoMicrophone(f"no microphone: cannot open {which} ({reason}); plug one in, "
                               "or pick one from `python -m sounddevice` with "
                               "[sensors.voice] device") from None
        self._stream = stream
        self.name = str(info.get("name", "")) if isinstance(info, dict) else ""

    def _callback(self, indata, frames, time_info, status) -> None:  # PortAudio's thread
        if status:
            self.status_flags += 1
        self.ring.push(indata[:, 0])

    @property
    def alive(self) -> bool:
        return self._stream is not None and bool(self._stream.active)

    def chunks(self, stopping: threading.Event | None = None) -> Iterator[np.ndarray]:
        """80 ms chunks until ``stopping`` is set; raises :class:`NoMicrophone` when the device
        goes away (unplugged) while listening."""
        silent_since = time.monotonic()
        while stopping is None or not stopping.is_set():
            chunk = self.ring.read(FRAME_SAMPLES, timeout=0.25)
            if chunk is not None:
                silent_since = time.monotonic()
                yield chunk
                continue
            yield None  # a tick without audio: lets the caller beat and check stopping
            if not self.ring.muted and time.monotonic() - silent_since > 3.0 and not self.alive:
                raise NoMicrophone("the microphone stopped delivering audio (unplugged?)")

    def stop(self) -> None:
        if self._stream is not None:
            with contextlib.suppress(Exception), quiet_stderr():
                self._stream.close()
            self._stream = None
        self.ring.close()


class WavSource:
    """A recording as 80 ms chunks. ``realtime=True`` paces them like a microphone (a feeder
    thread fills the ring buffer at 1× speed, so muting drops audio just as it would live);
    otherwise chunks come as fast as the pipeline takes them and nothing is ever dropped."""

    def __init__(self, path: str | Path, realtime: bool = False):
        self.path = Path(path)
        self.pcm = read_wav(self.path)  # ValueError with one line when unreadable
        self.realtime = realtime
        self.ring = RingBuffer(max(10.0, len(self.pcm) / SAMPLE_RATE + 1)) if realtime else None
        self._feeder: threading.Thread | None = None
        self.started_at: float | None = None  # time.monotonic() of sample 0 (realtime)

    @property
    def duration_s(self) -> float:
        return len(self.pcm) / SAMPLE_RATE

    def start(self) -> None:
        if self.realtime and self._feeder is None:
            self._feeder = threading.Thread(target=self._feed, name="wav-feeder", daemon=True)
            self._feeder.start()

    def _feed(self) -> None:
        began = self.started_at = time.monotonic()
        for i, start in enumerate(range(0, len(self.pcm), FRAME_SAMPLES)):
            delay = began + (i + 1) * FRAME_SAMPLES / SAMPLE_RATE - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            chunk = self.pcm[start:start + FRAME_SAMPLES]
            self.ring.push(np.pad(chunk, (0, FRAME_SAMPLES - len(chunk))))
        self.ring.close()

    def chunks(self, stopping: threading.Event | None = None) -> Iterator[np.ndarray]:
        if not self.realtime:
            for start in range(0, len(self.pcm), FRAME_SAMPLES):
                if stopping is not None and stopping.is_set():
                    return
                chunk = self.pcm[start:start + FRAME_SAMPLES]
                if len(chunk) < FRAME_SAMPLES:  # the wake model wants whole 80 ms frames
                    chunk = np.pad(chunk, (0, FRAME_SAMPLES - len(chunk)))
                yield chunk
            return
        while stopping is None or not stopping.is_set():
            chunk = self.ring.read(FRAME_SAMPLES, timeout=0.25)
            if chunk is None:
                if self._feeder is not None and not self._feeder.is_alive() \
                        and self.ring.buffered < FRAME_SAMPLES:
                    return
                yield None
                continue
            yield chunk

    def stop(self) -> None:
        if self.ring is not None:
            self.ring.close()
