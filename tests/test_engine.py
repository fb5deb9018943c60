"""Runtime engine: sampling rules, prefix-state cache, core tier, speculative == greedy.

The core bundle is the checkout's models/ when it has a core model, else a quick one built
once per run with `tars-export build-default --quick --only core` (about 40 s; skipped when
the export side is not installed)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from tars_edge import tokenizer
from tars_edge.bundle import Bundle
from tars_edge.cascade import AskParams, CorePrompt
from tars_edge.engine.generate import Emitter, Sampler, SamplingParams
from tars_edge.engine.prefix_cache import PrefixEntry, PrefixStateCache

MODELS = Path(__file__).resolve().parent.parent / "models"


@pytest.fixture(scope="session")
def core_bundle(tmp_path_factory) -> Bundle:
    b = Bundle.load(MODELS)
    if "core" in b.models and "draft" in b.models:
        return b
    try:
        import tars_export  # noqa: F401
    except ImportError:
        pytest.skip("no core model in models/ and no tars_export to build a quick one")
    out = tmp_path_factory.mktemp("corebundle")
    cmd = [sys.executable, "-m", "tars_export.cli", "build-default", "--quick", "--only", "core",
           "--out", str(out)]
    exe = shutil.which("tars-export")
    if exe:
        cmd = [exe, "build-default", "--quick", "--only", "core", "--out", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=600)
    return Bundle.load(out)


@pytest.fixture(scope="session")
def engine(core_bundle):
    from tars_edge.engine.core import open_core
    from tars_edge.persona import DEFAULT_PERSONA

    core = open_core(core_bundle, {"speculative_policy": "always"}, DEFAULT_PERSONA)
    yield core
    core.close()


def _prompt(text, session="t", lang="en", notes=()):
    from tars_edge.persona import DEFAULT_PERSONA

    return CorePrompt(DEFAULT_PERSONA, list(notes), text, session, lang)


# ---- generate.py ---------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, word", [
    ({"max_tokens": 0}, "max_tokens"), ({"temperature": -1}, "temperature"),
    ({"top_p": 0}, "top_p"), ({"top_k": -2}, "top_k"), ({"repetition_penalty": 0}, "repetition"),
    ({"seed": -1}, "seed"), ({"stop": [""]}, "stop"), ({"temperature": float("nan")}, "temperature"),
])
def test_invalid_params_raise_one_line(kwargs, word):
    with pytest.raises(ValueError, match=word) as err:
        SamplingParams(**kwargs).validate()
    assert "\n" not in str(err.value)


def test_sampler_greedy_topk_topp_seed():
    logits = np.array([0.0, 5.0, 4.9, -3.0, 1.0])
    assert Sampler(SamplingParams()).pick(logits) == 1
    picks = {Sampler(SamplingParams(temperature=1.0, top_k=2, seed=s)).pick(logits) for s in range(40)}
    assert picks == {1, 2}
    picks = {Sampler(SamplingParams(temperature=1.0, top_p=0.01, seed=s)).pick(logits) for s in range(20)}
    assert picks == {1}
    a = [Sampler(SamplingParams(temperature=2.0, seed=7)).pick(logits) for _ in range(5)]
    s = Sampler(SamplingParams(temperature=2.0, seed=7))
    assert [s.pick(logits)] * 1 == a[:1]
    # repetition penalty pushes an already generated token below the runner-up
    assert Sampler(SamplingParams(repetition_penalty=2.0)).pick(logits, [1]) == 2


def test_emitter_end_stop_strings_and_streaming():
    pieces = []
    e = Emitter(SamplingParams(stop=["\nUser"]), pieces.append)
    for b in tokenizer.encode("Hi there\nUs"):
        assert e.push(b)
    assert "".join(pieces) == "Hi there"  # "\nUs" held back: might become the stop string
    for b in tokenizer.encode("er: x"):
        if not e.push(b):
            break
    assert e.stop_reason == "stop" and e.text == "Hi there" and "".join(pieces) == "Hi there"
    e = Emitter(SamplingParams(), pieces.clear() or pieces.append)
    for b in tokenizer.encode("Да 🙂") + bytes([tokenizer.END]):
        if not e.push(b):
            break
    assert e.stop_reason == "end" and e.text == "Да 🙂" and "".join(pieces) == "Да 🙂"
    assert "\ufffd" not in "".join(pieces)
    e = Emitter(SamplingParams(max_tokens=3))
    assert e.push(65) and e.push(66) and not e.push(67) and e.stop_reason == "max_tokens"
    cancel = threading.Event()
    e = Emitter(SamplingParams(), cancel=cancel)
    assert e.push(65)
    cancel.set()
    assert not e.push(66) and e.stop_reason == "cancelled" and e.text == "A"


# ---- prefix_cache.py -----------------------------------------------------------------------
def _entry(tokens: bytes, n=100):
    return PrefixEntry(tokens, [np.full((1, n), len(tokens), np.float32)], np.zeros(4, np.float32),
                       np.zeros(2, np.float32))


def test_prefix_cache_longest_prefix_lru_and_counters():
    size = _entry(b"ab").nbytes
    cache = PrefixStateCache("b1", max_bytes=size * 3)
    cache.put(_entry(b"ab"))
    cache.put(_entry(b"abcd"))
    assert cache.lookup(b"abcdef").tokens == b"abcd"
    assert cache.lookup(b"abxx").tokens == b"ab"
    assert cache.lookup(b"zz") is None
    cache.lookup(b"ab")  # ab most recent; abcd least
    cache.put(_entry(b"q1"))
    cache.put(_entry(b"q2"))  # over the bound: evicts abcd
    st = cache.stats()
    assert st["hits"] == 3 and st["misses"] == 1 and st["evictions"] == 1 and st["entries"] == 3
    assert cache.get(b"abcd") is None and cache.get(b"ab") is not None
    assert st["bytes"] <= size * 3


def test_prefix_cache_sqlite_persistence_invalidated_on_bundle_change(tmp_path):
    db = tmp_path / "prefix.db"
    cache = PrefixStateCache("b1", path=db)
    cache.put(_entry(b"persona"), persist=True)
    cache.put(_entry(b"session"))  # not persisted
    cache.close()
    again = PrefixStateCache("b1", path=db)
    got = again.lookup(b"persona+more")
    assert got is not None and got.tokens == b"persona" and float(got.states[0][0, 0]) == 7.0
    assert again.get(b"session") is None
    again.close()
    other = PrefixStateCache("b2", path=db)
    assert other.lookup(b"persona+more") is None and other.stats()["entries"] == 0
    other.close()
    assert PrefixStateCache("b1", path=db).stats()["entries"] == 0  # the b2 open deleted b1's rows


def test_prefix_cache_corrupt_database_degrades_to_memory_only(tmp_path, caplog):
    db = tmp_path / "prefix.db"
    db.write_bytes(b"this is not a database" * 100)
    cache = PrefixStateCache("b1", path=db)
    st = cache.stats()
    assert not st["persistent"] and "prefix.db" in st["persist_error"]
    assert "memory-only" in caplog.text
    cache.put(_entry(b"persona"), persist=True)  # still caches in RAM
    assert cache.lookup(b"persona!").tokens == b"persona"


def test_prefix_cache_full_disk_degrades_to_memory_only(tmp_path):
    cache = PrefixStateCache("b1", path=tmp_path / "prefix.db")
    cache._db.execute("PRAGMA max_page_count = 3")  # fault injection: SQLITE_FULL on write
    cache.put(_entry(b"persona", n=20000), persist=True)
    st = cache.stats()
    assert not st["persistent"] and "full" in st["persist_error"]
    assert cache.lookup(b"persona!").tokens == b"persona"  # the answer path is unaffected


def test_core_settings_from_config(tmp_path):
    from tars_edge.config import load_config
    from tars_edge.daemon import core_settings

    cfg = load_config(None, overrides={("daemon", "state_dir"): str(tmp_path)})
    settings = core_settings(cfg["core"], tmp_path)
    assert settings["prefix_cache_db"] == str(tmp_path / "prefix_cache.sqlite")
    assert settings["prefix_cache_bytes"] == 32 << 20 and settings["speculative_policy"] == "auto"
    cfg["core"]["prefix_cache_persist"] = False
    assert "prefix_cache_db" not in core_settings(cfg["core"], tmp_path)


# ---- the core tier -------------------------------------------------------------------------
def test_prompt_format_is_the_training_format():
    from tars_edge.engine.core import frame_turn

    got = bytes([tokenizer.PERSONA]) + tokenizer.encode("P") + frame_turn(None, "hi", ["a", "b"], "en")
    want = (bytes([tokenizer.PERSONA]) + b"P" + bytes([tokenizer.PERSONA]) + b"Memory: a b"
            + bytes([tokenizer.USER]) + b"hi" + bytes([tokenizer.ASSISTANT]))
    assert got == want
    try:
        from tars_export import corpus
    except ImportError:
        return
    assert got == corpus.prompt("P", "hi", ["a", "b"], "en")


def test_answer_streams_and_reports(engine):
    pieces = []
    r = engine.answer(_prompt("explain how photosynthesis works", "s1"), AskParams("x", max_tokens=40),
                      pieces.append, threading.Event())
    assert 1 <= r.tokens <= 40 and "".join(pieces).strip() == r.text
    assert r.stats["stop_reason"] in ("end", "max_tokens")
    st = engine.status()
    assert st["loaded"] and st["prefix_cache"]["entries"] >= 2
    with pytest.raises(ValueError, match="temperature"):
        engine.answer(_prompt("x"), AskParams("x", temperature=-1), lambda _t: None, threading.Event())


def test_cached_persona_and_session_continuation_match_full_prefill(engine, core_bundle):
    engine.prewarm(engine.persona)
    r1 = engine.answer(_prompt("hello", "cont"), AskParams("x", max_tokens=30, speculative=False),
                       lambda _t: None, threading.Event())
    assert r1.stats["prefix_cache"] == "hit"
    assert r1.stats["prefilled_tokens"] < r1.stats["prompt_tokens"]
    history = engine.sessions["cont"]
    r2 = engine.answer(_prompt("how are you?", "cont"), AskParams("x", max_tokens=30, speculative=False),
                       lambda _t: None, threading.Event())
    # the second turn prefills only its own turn, not the conversation again
    turn = bytes([tokenizer.USER]) + b"how are you?" + bytes([tokenizer.ASSISTANT])
    assert r2.stats["prefilled_tokens"] == len(turn)
    # and equals a from-scratch prefill of the whole conversation
    model = engine.model
    full = history + turn
    logits, _, states = model.prefill(np.frombuffer(full, np.uint8), model.init_states())
    out, tok = [], int(np.argmax(logits))
    while tok != tokenizer.END and len(out) < 30:
        out.append(tok)
        logits, _, states = model.step(tok, states)
        tok = int(np.argmax(logits))
    assert r2.text == tokenizer.decode(bytes(out)).strip()
    assert engine.reset_session("cont") and not engine.reset_session("cont")


def test_cancel_returns_what_there_is(engine):
    cancel = threading.Event()
    seen = []

    def on_token(t):
        seen.append(t)
        cancel.set()

    r = engine.answer(_prompt("tell me a story", "c"), AskParams("x", max_tokens=100), on_token, cancel)
    assert r.cancelled and r.tokens < 100


# ---- speculative.py ------------------------------------------------------------------------
SPEC_PROMPTS = [
    "hello", "привет", "how are you?", "как дела?", "what can you do?", "что ты умеешь?",
    "thanks", "спасибо", "who are you?", "кто ты?", "explain how photosynthesis works",
    "what is 2 plus 2?", "сколько будет два плюс три?", "good night", "спокойной ночи",
    "what is my name?", "как меня зовут?", "give me advice", "I am tired", "расскажи шутку",
    "where do I live?", "bye",
]


def test_bound_buffers_give_exactly_what_a_plain_session_run_gives(core_bundle):
    """step and verify run through IOBindings over reused buffers (core.py): chained steps,
    states from elsewhere, and a verify after steps must all equal ORT's own run()."""
    from tars_edge.engine.core import CoreModel

    model = CoreModel(core_bundle, threads=1)
    names = model.state_names
    _, _, states = model.prefill(np.frombuffer(b"\x01TARS\x02hello", np.uint8), model.init_states())
    ref = [s.copy() for s in states]
    for tok in b"hi there":  # the first step copies foreign states in, then the sets alternate
        logits, hidden, states = model.step(tok, states)
        want = model._step.run(model._outs, {"token": np.array([tok], np.int64),
                                             **dict(zip(names, ref))})
        np.testing.assert_array_equal(logits, want[0][0])
        np.testing.assert_array_equal(hidden, want[1][0])
        for got, exp in zip(states, want[2:]):
            np.testing.assert_array_equal(got, exp)
        ref = [s.copy() for s in want[2:]]
    if model.has_draft:
        tokens = np.array([65, 66, 67, 68, 69][: model.n_draft + 1], np.int64)
        logits, hidden, drafts, at = model.verify(tokens, states)
        want = model._verify.run(model._verify_outs, {"tokens": tokens[None], **dict(zip(names, ref))})
        np.testing.assert_array_equal(logits, want[0][0])
        np.testing.assert_array_equal(drafts, want[2][0])
        rolled = model.state_at(at, 2)
        for got, exp in zip(rolled, want[3:]):
            np.testing.assert_array_equal(got, exp[:, 2])
        # what a call returned is not overwritten by the next call's outputs
        kept = drafts.copy()
        model.verify(tokens[::-1].copy(), rolled)
        np.testing.assert_array_equal(drafts, kept)


def test_speculative_greedy_equals_plain_greedy(engine):
    assert engine.model.has_draft
    for i, q in enumerate(SPEC_PROMPTS):
        lang = "ru" if any("а" <= ch <= "я" for ch in q) else "en"
        notes = ["the user's name is Ada"] if i % 5 == 0 else []
        res = {}
        for spec in (False, True):
            p = _prompt(q, f"spec{i}{spec}", lang, notes)
            res[spec] = engine.answer(p, AskParams("x", max_tokens=48, speculative=spec),
                                      lambda _t: None, threading.Event())
        assert res[True].stats["speculative"] and not res[False].stats["speculative"]
        assert res[True].text == res[False].text, q
        assert res[True].tokens == res[False].tokens, q
    # per-position rollback: the session state after a speculative turn continues identically
    a = engine.answer(_prompt("and then?", "spec0True", "en"), AskParams("x", max_tokens=30),
                      lambda _t: None, threading.Event())
    b = engine.answer(_prompt("and then?", "spec0False", "en"),
                      AskParams("x", max_tokens=30, speculative=False), lambda _t: None, threading.Event())
    assert a.text == b.text


def test_auto_speculation_policy_measures_costs(core_bundle):
    from tars_edge.engine.core import CoreEngine

    eng = CoreEngine(core_bundle, {"threads": 1})
    assert eng.spec_policy == "auto"
    cal = eng.calibrate(reps=3)
    assert cal["step_ms"] > 0 and cal["round_ms"] > 0 and isinstance(cal["worthwhile"], bool)
    r = eng.answer(_prompt("hello"), AskParams("x", max_tokens=8), lambda _t: None, threading.Event())
    assert r.stats["speculative"] is False  # not calibrated before the prewarm: plain
    eng.prewarm(eng.persona)
    assert eng.spec_calibration is not None
    r = eng.answer(_prompt("hello"), AskParams("x", max_tokens=8), lambda _t: None, threading.Event())
    assert r.stats["speculative"] == eng.spec_calibration["worthwhile"]
    assert CoreEngine(core_bundle, {"speculative_policy": "never"})._spec_worthwhile() is False
    eng.close()


def test_a_draft_without_its_verify_graph_is_one_clear_error(core_bundle, tmp_path):
    import json
    import os

    from tars_edge.bundle import BundleError
    from tars_edge.engine.core import CoreModel

    manifest = json.loads((core_bundle.root / "manifest.json").read_text())
    for spec in manifest["models"].values():
        for entry in spec.get("files", {}).values():
            os.symlink(core_bundle.root / entry["path"], tmp_path / entry["path"])
    del manifest["models"]["draft"]["graphs"]["verify"]
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="draft model has no 'verify' graph"):
        CoreModel(Bundle.load(tmp_path))
    assert not CoreModel(Bundle.load(tmp_path), draft=False).has_draft  # the core alone still loads


def test_idle_unload_and_reload(core_bundle):
    import time

    from tars_edge.engine.core import CoreEngine

    eng = CoreEngine(core_bundle, {"threads": 1, "idle_unload_s": 0.2, "speculative_policy": "never"})
    r1 = eng.answer(_prompt("hello", "u"), AskParams("x", max_tokens=10), lambda _t: None,
                    threading.Event())
    deadline = time.monotonic() + 10
    while eng.status()["loaded"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not eng.status()["loaded"] and eng.status()["prefix_cache"]["entries"] >= 2
    r2 = eng.answer(_prompt("hello", "u2"), AskParams("x", max_tokens=10), lambda _t: None,
                    threading.Event())
    assert r2.text == r1.text and r2.stats["prefix_cache"] == "hit"
    eng.close()


def test_persona_state_survives_a_restart(core_bundle, tmp_path):
    """The daemon's settings persist the prewarmed persona; a new engine (a restarted daemon)
    answers its first question from the stored state, with the same text."""
    from tars_edge.config import load_config
    from tars_edge.daemon import core_settings
    from tars_edge.engine.core import CoreEngine

    cfg = load_config(None, overrides={("daemon", "state_dir"): str(tmp_path)})
    settings = core_settings(cfg["core"], tmp_path) | {"threads": 1, "speculative_policy": "never"}
    first = CoreEngine(core_bundle, settings)
    first.prewarm(first.persona)
    r1 = first.answer(_prompt("hello", "r"), AskParams("x", max_tokens=10), lambda _t: None,
                      threading.Event())
    first.close()
    again = CoreEngine(core_bundle, settings)
    assert again.status()["prefix_cache"]["persistent"]
    assert again.status()["prefix_cache"]["entries"] >= 1  # loaded from STATE_DIR, no prefill yet
    r2 = again.answer(_prompt("hello", "r"), AskParams("x", max_tokens=10), lambda _t: None,
                      threading.Event())
    assert r2.stats["prefix_cache"] == "hit" and r2.text == r1.text
    again.close()


def test_cli_ask_answers_with_tier_core(core_bundle, tmp_path):
    """`tars-edge ask --json --tier core` in-process (no daemon) through the cascade."""
    import json
    import os

    bundle = tmp_path / "bundle"
    bundle.mkdir()
    manifest = json.loads((MODELS / "manifest.json").read_text())
    for src_root, names in ((MODELS, None), (core_bundle.root, ("core", "draft"))):
        for name, spec in json.loads((src_root / "manifest.json").read_text())["models"].items():
            if names is not None and name not in names:
                continue
            manifest["models"][name] = spec
            for entry in spec.get("files", {}).values():
                dest = bundle / entry["path"]
                if not dest.exists():
                    os.symlink(src_root / entry["path"], dest)
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    out = subprocess.run([sys.executable, "-m", "tars_edge.cli", "ask", "--json", "--tier", "core", "--max-tokens", "24",
                          "--bundle", str(bundle), "--state-dir", str(tmp_path / "state"),
                          "--socket", str(tmp_path / "none.sock"),
                          "explain how photosynthesis works"],
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-500:]
    result = json.loads(out.stdout)
    assert result["tier"] == "core" and 1 <= result["tokens"] <= 24
    assert "core_ttft_ms" in result["timings_ms"] and result["data"]["prompt_tokens"] > 0
