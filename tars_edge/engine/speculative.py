"""Decoding loops: plain (one ``step`` per token) and draft-head speculative (greedy only).

Speculative round (docs/engine.md): the core's pending token ``x`` and the drafts ``d1..dK``
for it go through the bundle's verify graph once, from the current states. It returns the
core's logits at every position, the state after every position, and the draft head's
proposals for the NEXT round from every position. With ``c_i = argmax(logits_i)`` the
accepted drafts are the longest run with ``d_{i+1} == c_i``; the round emits ``d1..dj, c_j``,
the states roll back to ``<state>_at[:, j]`` (no recomputation), and the next round's drafts
are ``next_drafts[j]``: one ONNX Runtime call per round. Only the first round's drafts come
from the separate draft graph. Every emitted token is the core's own argmax given the tokens
before it, so the output equals plain greedy decoding token for token.

Both loops return ``(states, logits, hidden, pending)``: ``states`` have consumed every
emitted token except ``pending`` (the last one pushed, which the next model call must feed),
and ``logits``/``hidden`` belong to the position before ``pending``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tars_edge.engine.generate import Emitter, Sampler


@dataclass
class SpecStats:
    rounds: int = 0
    drafted: int = 0
    accepted: int = 0

    @property
    def acceptance(self) -> float | None:
        return self.accepted / self.drafted if self.drafted else None


def plain_decode(model, states, logits, hidden, emitter: Emitter, sampler: Sampler):
    x = sampler.pick(logits, emitter.tokens)
    while emitter.push(x):
        logits, hidden, states = model.step(x, states)
        x = sampler.pick(logits, emitter.tokens)
    return states, logits, hidden, x


def speculative_decode(model, states, logits, hidden, emitter: Emitter, stats: SpecStats):
    """Greedy decoding with the draft head; ``model`` must have ``draft`` and ``verify``."""
    x = int(np.argmax(logits))
    if not emitter.push(x):
        return states, logits, hidden, x
    drafts = model.draft(hidden, x)
    while True:
        k = len(drafts)
        v_logits, v_hidden, next_drafts, at = model.verify(np.array([x, *drafts], dtype=np.int64),
                                                           states)
        core = v_logits.argmax(axis=-1)
        j = 0
        while j < k and drafts[j] == core[j]:
            j += 1
        stats.rounds += 1
        stats.drafted += k
        stats.accepted += j
        emitted = [int(d) for d in drafts[:j]] + [int(core[j])]
        for m, token in enumerate(emitted, start=1):
            if not emitter.push(token):
                # consumed: x and emitted[:m-1] = verify positions 0..m-1
                return model.state_at(at, m - 1), v_logits[m - 1], v_hidden[m - 1], token
        states = model.state_at(at, j)
        hidden = v_hidden[j]
        logits = v_logits[j]
        x = emitted[-1]
        drafts = next_drafts[j]
