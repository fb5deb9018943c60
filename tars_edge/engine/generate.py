"""Sampling and the token-by-token emission rules shared by plain and speculative decoding.

* :class:`SamplingParams` — greedy (temperature 0), temperature, top-k, top-p, repetition
  penalty, seed, max tokens, stop strings. ``validate()`` raises ``ValueError`` with one line.
* :class:`Sampler` — picks the next token id from a logits row (numpy only).
* :class:`Emitter` — receives generated tokens one at a time and decides when to stop (END
  marker, stop string, max tokens, cancellation); it streams whole characters to ``on_token``
  and holds back text that might still turn into a stop string.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from tars_edge import tokenizer


@dataclass
class SamplingParams:
    max_tokens: int = 200
    temperature: float = 0.0
    top_k: int = 0  # 0 = off
    top_p: float = 1.0  # 1 = off
    repetition_penalty: float = 1.0  # 1 = off (CTRL-style: divide positive logits, multiply negative)
    seed: int | None = None
    stop: list[str] = field(default_factory=list)

    def validate(self) -> SamplingParams:
        def bad(msg: str):
            raise ValueError(msg)

        if isinstance(self.max_tokens, bool) or not isinstance(self.max_tokens, int) or self.max_tokens < 1:
            bad(f"max_tokens must be a positive integer, got {self.max_tokens!r}")
        for name in ("temperature", "top_p", "repetition_penalty"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                bad(f"{name} must be a finite number, got {v!r}")
        if self.temperature < 0:
            bad(f"temperature must be >= 0 (0 = greedy), got {self.temperature}")
        if not 0 < self.top_p <= 1:
            bad(f"top_p must be in (0, 1], got {self.top_p}")
        if self.repetition_penalty <= 0:
            bad(f"repetition_penalty must be > 0 (1 = off), got {self.repetition_penalty}")
        if isinstance(self.top_k, bool) or not isinstance(self.top_k, int) or self.top_k < 0:
            bad(f"top_k must be an integer >= 0 (0 = off), got {self.top_k!r}")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)
                                      or self.seed < 0):
            bad(f"seed must be a non-negative integer or null, got {self.seed!r}")
        if not isinstance(self.stop, (list, tuple)) or not all(isinstance(s, str) and s for s in self.stop):
            bad("stop must be a list of non-empty strings")
        return self

    @property
    def greedy(self) -> bool:
        """Deterministic argmax decoding, the case speculative decoding reproduces exactly."""
        return self.temperature == 0 and self.repetition_penalty == 1.0


class Sampler:
    def __init__(self, params: SamplingParams):
        self.p = params
        self.rng = np.random.default_rng(params.seed)

    def adjust(self, logits: np.ndarray, history) -> np.ndarray:
        """Logits after the repetition penalty over ``history`` (token ids)."""
        if self.p.repetition_penalty == 1.0 or not len(history):
            return logits
        logits = np.array(logits, dtype=np.float64)
        seen = np.unique(np.asarray(history, dtype=np.int64))
        vals = logits[seen]
        logits[seen] = np.where(vals > 0, vals / self.p.repetition_penalty, vals * self.p.repetition_penalty)
        return logits

    def pick(self, logits: np.ndarray, history=()) -> int:
        logits = self.adjust(np.asarray(logits).reshape(-1), history)
        if self.p.temperature == 0:
            return int(np.argmax(logits))
        z = np.asarray(logits, dtype=np.float64) / self.p.temperature
        if 0 < self.p.top_k < z.size:
            kth = np.partition(z, -self.p.top_k)[-self.p.top_k]
            z = np.where(z >= kth, z, -np.inf)
        z = z - z.max()
        probs = np.exp(z)
        probs /= probs.sum()
        if self.p.top_p < 1.0:
            order = np.argsort(-probs, kind="stable")
            cum = np.cumsum(probs[order])
            keep = order[: int(np.searchsorted(cum, self.p.top_p)) + 1]
            mask = np.zeros_like(probs)
            mask[keep] = probs[keep]
            probs = mask / mask.sum()
        return int(self.rng.choice(probs.size, p=probs))


def _complete_prefix(data: bytes) -> int:
    """Length of the longest prefix of ``data`` that decodes to whole characters (an ESCAPE
    sequence at the end may still be waiting for its UTF-8 continuation bytes)."""
    i = data.rfind(bytes([tokenizer.ESCAPE]), max(0, len(data) - 5))
    if i < 0:
        return len(data)
    if i + 1 >= len(data):
        return i
    need = tokenizer._utf8_length(data[i + 1])
    return len(data) if (need == 0 or i + 1 + need <= len(data)) else i


class Emitter:
    """Collects generated tokens; ``push`` returns False when generation must stop.

    ``stop_reason`` is one of ``end`` (END marker), ``stop`` (a stop string), ``max_tokens``,
    ``cancelled``. The END token and stop strings are not part of ``text``."""

    def __init__(self, params: SamplingParams, on_token: Callable[[str], None] | None = None,
                 cancel: threading.Event | None = None):
        self.p = params
        self.on_token = on_token or (lambda _t: None)
        self.cancel = cancel
        self.tokens: list[int] = []  # every pushed token, END included
        self._bytes = bytearray()  # reply bytes, END excluded
        self._done = 0  # bytes of _bytes already decoded into _text
        self._text = ""  # decoded reply text so far (whole characters)
        self._sent = 0  # characters of _text given to on_token
        self.stop_reason: str | None = None
        self._hold = max((len(s) for s in params.stop), default=0)

    @property
    def text(self) -> str:
        return self._text

    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def push(self, token: int) -> bool:
        if self.stop_reason is not None:
            return False
        if self.cancelled():
            self.stop_reason = "cancelled"
            self._flush()
            return False
        self.tokens.append(int(token))
        if token == tokenizer.END:
            self.stop_reason = "end"
            self._flush()
            return False
        self._bytes.append(int(token))
        before = len(self._text)
        pending = bytes(self._bytes[self._done:])
        n = _complete_prefix(pending)
        if n:
            self._text += tokenizer.decode(pending[:n])
            self._done += n
        for s in self.p.stop:
            at = self._text.find(s, max(0, before - len(s)))
            if at >= 0:
                self._text = self._text[:at]
                self.stop_reason = "stop"
                self._flush()
                return False
        if len(self.tokens) >= self.p.max_tokens:
            self.stop_reason = "max_tokens"
            self._flush()
            return False
        self._stream(final=False)
        return True

    def _stream(self, final: bool) -> None:
        end = len(self._text)
        if not final and self._hold:
            # hold back the longest tail that is a prefix of some stop string
            for k in range(min(self._hold - 1, end - self._sent), 0, -1):
                tail = self._text[end - k:]
                if any(s.startswith(tail) for s in self.p.stop):
                    end -= k
                    break
        if end > self._sent:
            piece = self._text[self._sent:end]
            self._sent = end
            self.on_token(piece)

    def _flush(self) -> None:
        if self.stop_reason != "stop" and self._done < len(self._bytes):
            self._text += tokenizer.decode(bytes(self._bytes[self._done:]))
            self._done = len(self._bytes)
        self._stream(final=True)
