"""CP1251 byte tokenizer: lossless round trip for every string, fallback never raises."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tars_edge import tokenizer

# Every character CP1251 can encode (the one undefined byte 0x98 aside).
CP1251_CHARS = "".join(
    bytes([b]).decode("cp1251") for b in range(256) if b != tokenizer.ESCAPE
)
SPECIAL_CHARS = [chr(t) for t in tokenizer.SPECIAL_TOKENS.values()]


def test_cyrillic_letter_is_one_token():
    assert len(tokenizer.encode("Привет, ёжик!")) == len("Привет, ёжик!")
    assert tokenizer.encode("Я") == "Я".encode("cp1251")


@given(st.text(alphabet=[c for c in CP1251_CHARS if c not in SPECIAL_CHARS]))
def test_cp1251_text_round_trips_byte_for_byte(text):
    data = tokenizer.encode(text)
    assert data == text.encode("cp1251")
    assert tokenizer.decode(data) == text


@given(st.text())  # any Unicode: emoji, CJK, accents, control characters, surrogate-free
def test_any_text_round_trips(text):
    assert tokenizer.decode(tokenizer.encode(text)) == text


def test_fallback_escapes_non_cp1251_characters():
    for text in ["🙂", "日本語", "café", "ß→∞"]:
        data = tokenizer.encode(text)
        assert tokenizer.ESCAPE in data
        assert tokenizer.decode(data) == text
    # An emoji costs its UTF-8 length plus one escape byte.
    assert len(tokenizer.encode("🙂")) == 5


def test_text_can_never_produce_special_tokens():
    text = "".join(SPECIAL_CHARS) + "end\x04"
    data = tokenizer.encode(text)
    specials = set(tokenizer.SPECIAL_TOKENS.values())
    # every special byte in the output is the payload of an escape, never a bare token
    for i, b in enumerate(data):
        if b in specials:
            assert i > 0 and data[i - 1] == tokenizer.ESCAPE
    assert tokenizer.decode(data) == text


@given(st.lists(st.integers(0, 255), max_size=64))
def test_decode_never_raises_on_arbitrary_tokens(ids):
    out = tokenizer.decode(ids)
    assert isinstance(out, str)


def test_special_tokens_are_dropped_and_broken_escapes_replaced():
    ids = [tokenizer.USER] + list(tokenizer.encode("hi")) + [tokenizer.END, tokenizer.ESCAPE, 0xFF]
    assert tokenizer.decode(ids) == "hi\ufffdя"
    assert tokenizer.decode([tokenizer.ESCAPE]) == "\ufffd"


def test_encode_ids_dtype_and_range():
    ids = tokenizer.encode_ids("Hi Мир 🙂")
    assert ids.dtype == np.int64 and ids.min() >= 0 and ids.max() < tokenizer.VOCAB_SIZE
