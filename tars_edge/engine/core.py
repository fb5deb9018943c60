"""T3: the core language model through ONNX Runtime (DESIGN §3-§4, docs/core.md, docs/engine.md).

:class:`CoreModel` wraps the bundle's graphs (step / prefill / verify, and the draft head) with
explicit state tensors; :class:`CoreEngine` is the cascade's :class:`~tars_edge.cascade.CoreTier`:
prompt building in the training format, the prefix-state cache (persona and per-session
states), plain or speculative decoding, streaming, cancellation.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from tars_edge import tokenizer
from tars_edge.bundle import Bundle, BundleError
from tars_edge.cascade import AskParams, CoreAnswer, CorePrompt
from tars_edge.engine.buffers import StepBuffers, VerifyBuffers
from tars_edge.engine.generate import Emitter, Sampler, SamplingParams
from tars_edge.engine.prefix_cache import PrefixEntry, PrefixStateCache
from tars_edge.engine.sessions import open_session
from tars_edge.engine.speculative import SpecStats, plain_decode, speculative_decode
from tars_edge.persona import DEFAULT_PERSONA

PREFILL_CHUNK = 256  # prefill cost grows as T^2 per head inside one call (docs/core.md)
MAX_SESSION_TOKENS = 8192  # a longer session starts over from the persona
# a real round also copies the rolled-back states and pushes tokens; verify timings on a noisy
# shared CPU vary: measured rounds in the decode loop cost ~1.3x the calibration round
SPEC_MARGIN = 1.3
MEMORY_LABEL = {"ru": "Память:", "en": "Memory:"}


class CoreModel:
    """The core graphs with explicit states. Every ``run`` is timed into ``ort_s``."""

    def __init__(self, bundle: Bundle, threads: int | None = None, draft: bool = True):
        spec = bundle.model("core")
        self.spec = spec
        self.state_specs = spec["states"]
        self.state_names = [s["name"] for s in self.state_specs]
        graphs = self._graphs(bundle, "core", ("step", "prefill"))
        self._step = open_session(bundle.file("core", graphs["step"]), threads)
        self._prefill = open_session(bundle.file("core", graphs["prefill"]), threads)
        self._draft = self._verify = None
        self.n_draft = 0
        if draft and "draft" in bundle.models:
            graphs = self._graphs(bundle, "draft", ("draft", "verify"))
            self._draft = open_session(bundle.file("draft", graphs["draft"]), threads)
            self._verify = open_session(bundle.file("draft", graphs["verify"]), threads)
            self.n_draft = int(bundle.model("draft").get("config", {}).get("n_draft", 0))
        self._outs = ["logits", "hidden", *[s.get("output", s["name"] + "_out") for s in self.state_specs]]
        self._verify_outs = ["logits", "hidden", "next_drafts",
                             *[s.get("per_position_output", s["name"] + "_at") for s in self.state_specs]]
        self._step_bound = StepBuffers(self._step, self.state_names, self._outs, self.init_states())
        self._verify_bound = (VerifyBuffers(self._verify, self.state_names, self._verify_outs,
                                             self.init_states())
                              if self._verify is not None else None)
        self.ort_s = 0.0
        self.calls = 0
        self.state_bytes = sum(int(np.prod(s["shape"])) * 4 for s in self.state_specs)

    @staticmethod
    def _graphs(bundle: Bundle, model: str, needed: tuple[str, ...]) -> dict:
        graphs = bundle.model(model).get("graphs") or {}
        for g in needed:
            if g not in graphs:
                raise BundleError(f"{bundle.root / 'manifest.json'}: {model} model has no '{g}' graph")
        return graphs

    @property
    def has_draft(self) -> bool:
        return self._draft is not None

    def init_states(self) -> list[np.ndarray]:
        return [np.full(s["shape"], s.get("init", 0.0), dtype=np.float32) for s in self.state_specs]

    def _call(self, fn, *args):
        """One model call, timed into ``ort_s``."""
        t = time.perf_counter()
        result = fn(*args)
        self.ort_s += time.perf_counter() - t
        self.calls += 1
        return result

    def _run(self, sess, outs, feed):
        return self._call(sess.run, outs, feed)

    def _feed(self, states):
        return dict(zip(self.state_names, states))

    def step(self, token: int, states):
        """(logits (V,), hidden (D,), states') after ``token``. The states live in the
        model's step buffers (:class:`~tars_edge.engine.buffers.StepBuffers`): valid until
        the step after next; copy them to keep them longer (the prefix cache does)."""
        out = self._call(self._step_bound.run, token, states)
        return out[0][0].copy(), out[1][0].copy(), out[2:]

    def chained_steps(self, token: int, states):
        """A callable that runs one step per call, each from the states the previous call left
        (as decoding does, so the step buffers alternate as they do there): for timing."""
        chain = [states]

        def one_step():
            chain[0] = self.step(token, chain[0])[2]

        return one_step

    def prefill(self, tokens, states, chunk: int = PREFILL_CHUNK):
        """(logits (V,), hidden (D,), states) after feeding ``tokens`` (1-D), in chunks."""
        tokens = np.asarray(tokens, dtype=np.int64).reshape(-1)
        if tokens.size == 0:
            raise ValueError("prefill needs at least one token")
        for start in range(0, tokens.size, chunk):
            piece = tokens[None, start:start + chunk]
            out = self._run(self._prefill, self._outs, {"tokens": piece, **self._feed(states)})
            states = out[2:]
        return out[0][0, -1], out[1][0, -1], states

    def verify(self, tokens, states):
        """One speculative round over ``tokens`` = [x, d1..dK]: (logits (K+1, V), hidden
        (K+1, D), next drafts (K+1, K), per-position states (1, K+1, ...))."""
        out = self._call(self._verify_bound.run, tokens, states)
        # the small outputs are copied (a round still reads its drafts after the next call);
        # the per-position states stay in the buffers until state_at copies one position out
        return out[0][0].copy(), out[1][0].copy(), out[2][0].copy(), out[3:]

    def state_at(self, at, j: int):
        """The states after verify position ``j``, copied into the verify graph's input
        buffers (the next round reads them in place; a step copies them into its own)."""
        return self._verify_bound.load_states([a[:, j] for a in at])

    def draft(self, hidden, token: int) -> list[int]:
        out = self._run(self._draft, ["draft_tokens"],
                        {"hidden": np.asarray(hidden, dtype=np.float32).reshape(1, -1),
                         "token": np.array([token], dtype=np.int64)})
        return [int(t) for t in out[0][0]]


def frame_turn(persona: str | None, text: str, notes: list[str], lang: str) -> bytes:
    """Token bytes of one turn in the training format (export/corpus.py):
    ``PERSONA persona [PERSONA label notes] USER text ASSISTANT`` (persona None: a later
    turn of a session, which continues after the previous reply's END)."""
    out = bytearray()
    if persona is not None:
        out += bytes([tokenizer.PERSONA]) + tokenizer.encode(persona)
    if notes:
        out += bytes([tokenizer.PERSONA]) + tokenizer.encode(
            " ".join([MEMORY_LABEL.get(lang, MEMORY_LABEL["en"]), *notes]))
    out += bytes([tokenizer.USER]) + tokenizer.encode(text) + bytes([tokenizer.ASSISTANT])
    return bytes(out)


class CoreEngine:
    """The cascade's CoreTier backed by :class:`CoreModel` (one ``answer`` at a time)."""

    unavailable_reason: str | None = None

    def __init__(self, bundle: Bundle, settings: dict | None = None, persona: str = DEFAULT_PERSONA,
                 model: CoreModel | None = None):
        self.settings = dict(settings or {})
        self.bundle = bundle
        threads = int(self.settings.get("threads", 0) or 0) or None
        self._threads = threads
        self._model = model or CoreModel(bundle, threads)
        self.idle_unload_s = float(self.settings.get("idle_unload_s", 0) or 0)
        self._unload_timer: threading.Timer | None = None
        self.last_used = time.monotonic()
        self.persona = persona
        self.trained_personas = dict(bundle.model("core").get("prompt", {}).get("persona", {}))
        cache_path = self.settings.get("prefix_cache_db")
        self.cache = PrefixStateCache(bundle.id, int(self.settings.get("prefix_cache_bytes", 32 << 20)),
                                      path=Path(cache_path) if cache_path else None)
        self.sessions: dict[str, bytes] = {}  # session -> tokens its cached state has consumed
        # speculation pays only when one verify (+ draft) call costs less than the tokens it
        # yields would cost as steps; "auto" measures that once, "always"/"never" override
        self.spec_policy = str(self.settings.get("speculative_policy", "auto"))
        self.spec_calibration: dict | None = None
        self._lock = threading.Lock()

    # ---- load / idle unload ---------------------------------------------------------------
    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def model(self) -> CoreModel:
        """The ORT sessions, opened again on first use after an idle unload (the prefix-state
        cache and sessions are numpy and survive an unload)."""
        if self._model is None:
            self._model = CoreModel(self.bundle, self._threads)
        return self._model

    def _touch(self) -> None:
        self.last_used = time.monotonic()
        if self.idle_unload_s > 0:
            if self._unload_timer is not None:
                self._unload_timer.cancel()
            self._unload_timer = threading.Timer(self.idle_unload_s, self._idle_unload)
            self._unload_timer.daemon = True
            self._unload_timer.start()

    def _idle_unload(self) -> None:
        with self._lock:
            if time.monotonic() - self.last_used >= self.idle_unload_s * 0.99:
                self._model = None

    # ---- prompt -------------------------------------------------------------------------
    def persona_text(self, persona: str, lang: str) -> str:
        """The persona the model reads. The built-in daemon persona is replaced by the persona
        the bundle's core was trained with for that language (a 1M-parameter model only
        follows the framing it has seen); a user's own persona file is used as written."""
        if persona.strip() == DEFAULT_PERSONA.strip() and lang in self.trained_personas:
            return self.trained_personas[lang]
        if persona.strip() == DEFAULT_PERSONA.strip() and self.trained_personas:
            return next(iter(self.trained_personas.values()))
        return persona

    def persona_prefix(self, persona: str, lang: str) -> bytes:
        return bytes([tokenizer.PERSONA]) + tokenizer.encode(self.persona_text(persona, lang))

    # ---- CoreTier -----------------------------------------------------------------------
    def prewarm(self, persona: str) -> None:
        with self._lock:
            self._prewarm(persona)
            self._touch()

    def _prewarm(self, persona: str) -> None:
        if self.spec_policy == "auto" and self.spec_calibration is None and self.model.has_draft:
            self.spec_calibration = self.calibrate()
        for lang in (self.trained_personas or {"en": None}):
            prefix = self.persona_prefix(persona, lang)
            if self.cache.get(prefix) is None:
                self._prefill_from(prefix, persist=True)

    def sampling(self, params: AskParams) -> SamplingParams:
        s = self.settings
        return SamplingParams(
            max_tokens=params.max_tokens, temperature=params.temperature,
            top_k=getattr(params, "top_k", s.get("top_k", 0)),
            top_p=getattr(params, "top_p", s.get("top_p", 1.0)),
            repetition_penalty=getattr(params, "repetition_penalty", s.get("repetition_penalty", 1.0)),
            seed=params.seed, stop=list(getattr(params, "stop", s.get("stop", [])) or []),
        ).validate()

    def _prefill_from(self, tokens: bytes, persist: bool = False):
        """State after ``tokens`` via the longest cached prefix; returns (entry, hit length)."""
        entry = self.cache.lookup(tokens)
        if entry is not None and len(entry.tokens) == len(tokens):
            return entry, len(tokens)
        start = len(entry.tokens) if entry is not None else 0
        states = entry.states if entry is not None else self.model.init_states()
        logits, hidden, states = self.model.prefill(np.frombuffer(tokens[start:], dtype=np.uint8), states)
        new = PrefixEntry(tokens, list(states), np.asarray(logits), np.asarray(hidden))
        self.cache.put(new, persist=persist)
        return new, start

    def answer(self, prompt: CorePrompt, params: AskParams, on_token, cancel) -> CoreAnswer:
        sp = self.sampling(params)
        t0 = time.perf_counter()
        with self._lock:
            try:
                return self._answer(prompt, params, sp, on_token, cancel, t0)
            finally:
                self._touch()

    def _answer(self, prompt, params, sp, on_token, cancel, t0) -> CoreAnswer:
        ort0, calls0 = self.model.ort_s, self.model.calls
        history = self.sessions.get(prompt.session)
        if history is not None and len(history) > MAX_SESSION_TOKENS:
            self._drop_session(prompt.session)
            history = None
        if history is None:
            persona = self.persona_prefix(prompt.persona, prompt.lang)
            # the persona alone is a cacheable prefix (persisted): prefill it separately once
            hits0 = self.cache.hits
            persona_entry, _ = self._prefill_from(persona, persist=True)
            persona_hit = self.cache.hits > hits0
            full = persona + frame_turn(None, prompt.text, prompt.notes, prompt.lang)
            base = persona_entry
        else:
            full = history + frame_turn(None, prompt.text, prompt.notes, prompt.lang)
            base = self.cache.lookup(full)
            persona_hit = base is not None
            if base is None:  # the session's state was evicted: start from the best prefix
                base = self._prefill_from(full[:len(history)])[0]
        rest = full[len(base.tokens):]
        logits, hidden, states = self.model.prefill(np.frombuffer(rest, dtype=np.uint8), base.states)
        t_prefill = time.perf_counter()

        emitter = Emitter(sp, on_token, cancel)
        spec = bool(params.speculative) and sp.greedy and self._spec_worthwhile()
        stats = SpecStats()
        first = {}

        def timed_push(push):
            def inner(tok):
                if "t" not in first:
                    first["t"] = time.perf_counter()
                return push(tok)
            return inner

        emitter.push = timed_push(emitter.push)
        if spec:
            states, logits, hidden, pending = speculative_decode(self.model, states, logits, hidden,
                                                                 emitter, stats)
        else:
            states, logits, hidden, pending = plain_decode(self.model, states, logits, hidden, emitter,
                                                           Sampler(sp))
        t_end = time.perf_counter()
        # close the turn the way training dialogues do (reply END) so the session continues
        generated = bytes(emitter.tokens)
        tail = [pending] if generated else []
        if not generated or generated[-1] != tokenizer.END:
            tail.append(tokenizer.END)
        for tok in tail:
            logits, hidden, states = self.model.step(tok, states)
        consumed = full + (generated if generated and generated[-1] == tokenizer.END
                           else generated + bytes([tokenizer.END]))
        if history is not None and history != consumed:
            self.cache.discard(history)
        # step states live in the model's buffers: the cache keeps copies
        self.cache.put(PrefixEntry(consumed, [s.copy() for s in states], logits, hidden))
        self.sessions[prompt.session] = consumed

        n = len(emitter.tokens)
        decode_s = t_end - (first.get("t", t_end))
        timings = {"prefill_ms": (t_prefill - t0) * 1e3,
                   "ttft_ms": (first.get("t", t_end) - t0) * 1e3,
                   "decode_ms": (t_end - t_prefill) * 1e3}
        result_stats = {
            "prefix_cache": "hit" if persona_hit else "miss",
            "prefilled_tokens": len(rest), "prompt_tokens": len(full),
            "speculative": spec, "stop_reason": emitter.stop_reason,
            "decode_tok_s": round((n - 1) / decode_s, 1) if n > 1 and decode_s > 0 else None,
            "ort_frac": round((self.model.ort_s - ort0) / max(1e-9, time.perf_counter() - t0), 3),
            "ort_calls": self.model.calls - calls0,
        }
        if spec:
            result_stats["draft_acceptance"] = (round(stats.acceptance, 4)
                                                if stats.acceptance is not None else None)
        return CoreAnswer(emitter.text.strip(), n, timings,
                          cancelled=emitter.stop_reason == "cancelled", stats=result_stats)

    def _spec_worthwhile(self) -> bool:
        if not self.model.has_draft or self.spec_policy == "never":
            return False
        if self.spec_policy == "always":
            return True
        # uncalibrated (no prewarm yet): plain; calibrating here would add ~0.1-0.4 s to TTFT
        return self.spec_calibration is not None and self.spec_calibration["worthwhile"]

    def calibrate(self, reps: int = 20) -> dict:
        """Median cost of one step vs one speculative round (one verify call, which also
        drafts the next round) on this machine, and the draft's tokens per round from the
        manifest."""
        model = self.model
        _logits, hidden, states = model.prefill(np.frombuffer(b"\x01TARS\x02hi\x03", np.uint8),
                                               model.init_states())
        d = model.draft(hidden, 65)
        tokens = np.array([65, *d], dtype=np.int64)
        # each graph timed in its own run of calls, as decoding uses it: interleaving them
        # would evict each other's weights from the CPU caches and flatter the bigger graph
        step_t = self._timed(model.chained_steps(65, states), reps)
        round_t = self._timed(lambda: model.verify(tokens, states), reps)
        step_ms = float(np.median(step_t)) * 1e3
        round_ms = float(np.median(round_t)) * 1e3
        metrics = self.bundle.model("draft").get("metrics", {})
        # measured round by round on held-out text when the bundle has it (a round starts
        # right after a rejection, so per-position acceptance overstates it)
        expected = float(metrics.get("tokens_per_round",
                                     metrics.get("expected_tokens_per_verify", 1 + 0.5 * model.n_draft)))
        return {"step_ms": round(step_ms, 4), "round_ms": round(round_ms, 4),
                "expected_tokens_per_verify": expected,
                "worthwhile": round_ms * SPEC_MARGIN < expected * step_ms}

    @staticmethod
    def _timed(call, reps: int) -> list[float]:
        for _ in range(4):  # the first calls of a shape allocate buffers: not timed
            call()
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            call()
            times.append(time.perf_counter() - t)
        return times

    def reset_session(self, session: str) -> bool:
        with self._lock:
            return self._drop_session(session)

    def _drop_session(self, session: str) -> bool:
        history = self.sessions.pop(session, None)
        if history is None:
            return False
        self.cache.discard(history)
        return True

    def status(self) -> dict:
        return {"loaded": self.loaded, "available": True,
                "variant": self.bundle.model("core").get("deployed"),
                "draft": "draft" in self.bundle.models,
                "n_draft": int(self.bundle.models.get("draft", {}).get("config", {}).get("n_draft", 0)),
                "idle_unload_s": self.idle_unload_s,
                "speculative_policy": self.spec_policy, "speculative_calibration": self.spec_calibration,
                "sessions": len(self.sessions),
                "state_bytes": sum(int(np.prod(x["shape"])) * 4
                                   for x in self.bundle.model("core")["states"]),
                "prefix_cache": self.cache.stats()}

    def close(self) -> None:
        if self._unload_timer is not None:
            self._unload_timer.cancel()
        with self._lock:
            self.cache.close()
            self._model = None


def open_core(bundle: Bundle, settings: dict, persona: str):
    """The CoreTier for ``bundle`` (BundleError, one line, when its files cannot be used)."""
    return CoreEngine(bundle, settings, persona)
