"""Byte-level CP1251 tokenizer: vocab 256, one Cyrillic letter = one token.

Why CP1251: the TARS design (DESIGN §4) wants a byte vocabulary where Russian costs no more
than English. CP1251 maps every Cyrillic letter and all of ASCII to single bytes.

Token map (``0..255``):

* Every byte CP1251 defines is the character CP1251 gives it.
* Four control bytes are *special tokens* that ordinary text can never produce:
  ``PERSONA`` (0x01), ``USER`` (0x02), ``ASSISTANT`` (0x03), ``END`` (0x04). They frame
  dialogue turns for the core model.
* ``ESCAPE`` (0x98) is the one byte CP1251 leaves undefined. A character CP1251 cannot encode
  (emoji, CJK, accented Latin, ...) -- and a literal special-token character inside text -- is
  written as ``ESCAPE`` followed by that character's UTF-8 bytes. The fallback is therefore
  lossless: ``decode(encode(s)) == s`` for every string, and nothing ever raises. It costs
  2-5 tokens for such a character, which is fine for the rare cases it covers.

Decoding never raises either: a broken escape (as a sampling model may produce) becomes
U+FFFD, and special tokens are dropped from the text.
"""

from __future__ import annotations

import codecs

import numpy as np

VOCAB_SIZE = 256
PERSONA, USER, ASSISTANT, END = 0x01, 0x02, 0x03, 0x04
SPECIAL_TOKENS = {"persona": PERSONA, "user": USER, "assistant": ASSISTANT, "end": END}
ESCAPE = 0x98
NAME = "bytes-cp1251"

_SPECIAL_CHARS = "".join(chr(t) for t in SPECIAL_TOKENS.values())
_ERROR_HANDLER = "tars-cp1251-escape"


def _escape_unencodable(err: UnicodeEncodeError) -> tuple[bytes, int]:
    chunk = err.object[err.start : err.end]
    return b"".join(bytes([ESCAPE]) + ch.encode("utf-8", "surrogatepass") for ch in chunk), err.end


codecs.register_error(_ERROR_HANDLER, _escape_unencodable)


def encode(text: str) -> bytes:
    """Text -> token bytes (each byte is one token id)."""
    data = text.encode("cp1251", errors=_ERROR_HANDLER)
    if any(0 < b <= END for b in data):  # rare: literal control chars 1..4 in text
        parts = []
        for ch in text:
            if ch in _SPECIAL_CHARS:
                parts.append(bytes([ESCAPE, ord(ch)]))
            else:
                parts.append(ch.encode("cp1251", errors=_ERROR_HANDLER))
        data = b"".join(parts)
    return data


def encode_ids(text: str) -> np.ndarray:
    """Text -> int64 token ids, shape (T,), the dtype the ONNX graphs take."""
    return np.frombuffer(encode(text), dtype=np.uint8).astype(np.int64)


def _utf8_length(lead: int) -> int:
    if lead < 0x80:
        return 1
    if 0xC2 <= lead < 0xE0:
        return 2
    if 0xE0 <= lead < 0xF0:
        return 3
    if 0xF0 <= lead < 0xF5:
        return 4
    return 0


def decode(ids) -> str:
    """Token ids (bytes, list or array) -> text. Never raises."""
    data = bytes(bytearray(int(i) & 0xFF for i in ids)) if not isinstance(ids, bytes) else ids
    if ESCAPE not in data and not any(0 < b <= END for b in data):
        return data.decode("cp1251")
    out: list[str] = []
    start = i = 0
    n = len(data)
    while i < n:
        b = data[i]
        if b == ESCAPE or 0 < b <= END:
            out.append(data[start:i].decode("cp1251"))
            if b == ESCAPE:
                length = _utf8_length(data[i + 1]) if i + 1 < n else 0
                try:
                    out.append(data[i + 1 : i + 1 + length].decode("utf-8") if length else "\ufffd")
                    i += 1 + length if length else 1
                except UnicodeDecodeError:
                    out.append("\ufffd")
                    i += 1
            else:
                i += 1  # special token: framing, not text
            start = i
        else:
            i += 1
    out.append(data[start:].decode("cp1251"))
    return "".join(out)
