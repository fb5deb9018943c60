"""The runtime tokenizer, mirrored for PyTorch: the same byte map (one implementation, so
training and inference can never disagree), plus tensor helpers for batching."""

from __future__ import annotations

import torch

from tars_edge.tokenizer import (  # noqa: F401  (re-exported for the export side)
    ASSISTANT,
    END,
    ESCAPE,
    NAME,
    PERSONA,
    SPECIAL_TOKENS,
    USER,
    VOCAB_SIZE,
    decode,
    encode,
    encode_ids,
)


def encode_batch(texts: list[str], max_tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded token batch (B, T) int64 and lengths (B,), each text cut to ``max_tokens``.
    Padding is 0; models read only up to each length, so the pad value never matters."""
    encoded = [encode(t)[:max_tokens] or b" " for t in texts]
    lengths = torch.tensor([len(e) for e in encoded], dtype=torch.long)
    batch = torch.zeros(len(encoded), int(lengths.max()), dtype=torch.long)
    for row, data in enumerate(encoded):
        batch[row, : len(data)] = torch.frombuffer(bytearray(data), dtype=torch.uint8).long()
    return batch, lengths
