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

Gate: a verify costs several steps (``round_ms / step_ms``, measured at calibration), so a round
whose drafts the head itself doubts is not worth one. Before each round the expected yield
``1 + Σ_k Π_{i≤k} p_i`` (``p_i``: the head's probability of its i-th draft) is compared with
``min_expected``; below it, the core takes one plain step instead and the draft graph proposes
again from there. Which path a round takes never changes a token.

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
    rounds: int = 0  # verify calls
    drafted: int = 0
    accepted: int = 0
    steps: int = 0  # plain steps taken where the gate judged a verify not worth it

    @property
    def acceptance(self) -> float | None:
        return self.accepted / self.drafted if self.drafted else None


def plain_decode(model, states, logits, hidden, emitter: Emitter, sampler: Sampler):
    x = sampler.pick(logits, emitter.tokens)
    while emitter.push(x):
        logits, hidden, states = model.step(x, states)
        x = sampler.pick(logits, emitter.tokens)
    return states, logits, hidden, x


def expected_tokens(probs) -> float:
    """Tokens one verify yields if the head's probabilities are right: the core's own token
    plus each draft while all before it were accepted."""
    return 1.0 + float(np.cumprod(probs).sum())


def speculative_decode(model, states, logits, hidden, emitter: Emitter, stats: SpecStats,
                       min_expected: float = 0.0):
    """Greedy decoding with the draft head; ``model`` must have ``draft`` and ``verify``.
    ``min_expected``: the gate (module docstring); 0 verifies every round."""
    x = int(np.argmax(logits))
    if not emitter.push(x):
        return states, logits, hidden, x
    drafts, probs = model.draft(hidden, x)
    while True:
        if expected_tokens(probs) < min_expected:
            logits, hidden, states = model.step(x, states)
            stats.steps += 1
            x = int(np.argmax(logits))
            if not emitter.push(x):
                return states, logits, hidden, x
            drafts, probs = model.draft(hidden, x)
            continue
        k = len(drafts)
        v_logits, v_hidden, next_drafts, next_probs, at = model.verify(
            np.array([x, *drafts], dtype=np.int64), states)
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
        drafts, probs = next_drafts[j], next_probs[j]
