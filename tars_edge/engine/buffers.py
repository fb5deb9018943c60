"""Preallocated buffers for the decode path: the step and verify graphs run through ONNX
Runtime IOBindings over numpy arrays allocated once per model, so a call converts and allocates
nothing (docs/engine.md, "Buffers, not allocations": +7-12 % plain decode here).
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort


def _bind(sess, inputs: dict, outputs: dict):
    """An ONNX Runtime IOBinding over numpy buffers: ORT reads the inputs and writes the
    outputs in place, so a call allocates and converts nothing."""
    io = sess.io_binding()
    for name, arr in inputs.items():
        io.bind_ortvalue_input(name, ort.OrtValue.ortvalue_from_numpy(arr))
    for name, arr in outputs.items():
        io.bind_ortvalue_output(name, ort.OrtValue.ortvalue_from_numpy(arr))
    return io


def _output_buffers(sess, names: list[str], feed: dict, sets: int = 1) -> list[list[np.ndarray]]:
    """``sets`` sets of buffers shaped like the graph's outputs, from one call on ``feed``."""
    shaped = sess.run(names, feed)
    return [[np.empty_like(a) for a in shaped] for _ in range(sets)]


class StepBuffers:
    """The step graph through two IOBindings over two buffer sets that alternate: a call
    reads its states from one set and writes the new ones into the other, so a decode loop
    passes states without a copy or an allocation per token (10 % of a step, docs/engine.md).
    States from anywhere else (a prefill, the cache, a verify) are copied into the read set
    first."""

    def __init__(self, sess, state_names: list[str], outs: list[str], init: list[np.ndarray]):
        self.token = np.zeros(1, dtype=np.int64)
        feed = {"token": self.token, **dict(zip(state_names, init))}
        self.sets = _output_buffers(sess, outs, feed, sets=2)
        self.sess = sess
        # binding i reads the states of set 1 - i and writes set i
        self.bindings = [_bind(sess, {"token": self.token, **dict(zip(state_names, self.sets[1 - i][2:]))},
                               dict(zip(outs, self.sets[i]))) for i in range(2)]

    def run(self, token: int, states) -> list[np.ndarray]:
        if states[0] is self.sets[0][2]:
            i = 1
        elif states[0] is self.sets[1][2]:
            i = 0
        else:
            for dst, src in zip(self.sets[1][2:], states):
                np.copyto(dst, src)
            i = 0
        self.token[0] = token
        self.sess.run_with_iobinding(self.bindings[i])
        return self.sets[i]


class VerifyBuffers:
    """The verify graph through one IOBinding: its input states are a buffer set that
    :meth:`load_states` fills (the rollback copy the round needs anyway), its outputs are
    preallocated and overwritten by the next round."""

    def __init__(self, sess, state_names: list[str], outs: list[str], init: list[np.ndarray]):
        # K + 1 tokens a round, fixed when the graph was exported
        shape = next(i.shape for i in sess.get_inputs() if i.name == "tokens")
        self.tokens = np.zeros(shape, dtype=np.int64)
        self.states = [np.array(a) for a in init]
        feed = {"tokens": self.tokens, **dict(zip(state_names, self.states))}
        self.outs = _output_buffers(sess, outs, feed)[0]
        self.sess = sess
        self.binding = _bind(sess, feed, dict(zip(outs, self.outs)))

    def load_states(self, states) -> list[np.ndarray]:
        if states is not self.states:
            for dst, src in zip(self.states, states):
                np.copyto(dst, src)
        return self.states

    def run(self, tokens, states) -> list[np.ndarray]:
        self.tokens[0] = tokens
        self.load_states(states)
        self.sess.run_with_iobinding(self.binding)
        return self.outs
