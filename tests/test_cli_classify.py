"""`tars-edge classify` end to end on the committed bundle: RU and EN, stdin mode, errors."""

import json
import subprocess
import sys

import pytest


def tars_edge(*args, stdin: str | None = None):
    return subprocess.run(
        [sys.executable, "-m", "tars_edge.cli", *args],
        input=stdin, capture_output=True, text=True, timeout=120,
    )


@pytest.mark.parametrize(
    "text, intent",
    [
        ("который час", "time"),
        ("what time is it", "time"),
        ("привет", "greeting"),
        ("good night, see you tomorrow", "farewell"),
        ("поставь таймер на пять минут", "quick_action"),
        ("how much free memory do you have", "status"),
        ("explain how photosynthesis works in plants", "complex"),
    ],
)
def test_classify_json_ru_en(text, intent):
    result = tars_edge("classify", "--json", text)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["intent"] == intent
    assert set(out) == {"intent", "confidence", "scores", "latency_ms"}
    assert abs(sum(out["scores"].values()) - 1) < 1e-3
    assert 0.0 <= out["confidence"] <= 1.0


def test_confidence_is_low_for_complex_and_gibberish():
    lines = ["почему небо голубое и как это связано с рассеянием света?",
             "xq zzkv plorf wqq jjk", "🙂🙂🙂 日本語のテキスト"]
    result = tars_edge("classify", "--json", "-", stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    outs = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(outs) == 3
    for out in outs:
        assert out["intent"] == "complex" or out["confidence"] < 0.85


def test_stdin_mode_prints_one_object_per_line():
    result = tars_edge("classify", "--json", "-", stdin="привет\n\nwhat day is it today\n")
    assert result.returncode == 0, result.stderr
    outs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o.get("intent") for o in outs] == ["greeting", None, "time"]
    assert outs[1] == {"error": "empty text: nothing to classify"}


def test_missing_bundle_is_one_clear_line(tmp_path):
    result = tars_edge("classify", "--bundle", str(tmp_path), "hello")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "manifest.json" in result.stderr
    assert "Traceback" not in result.stderr


def test_bench_reports_reflex_latency():
    result = tars_edge("bench", "--json", "--only", "reflex")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert 0 < out["reflex_p50_ms"] <= out["reflex_p99_ms"]
    assert out["reflex_calls"] >= 1000


def test_bench_unknown_group():
    result = tars_edge("bench", "--only", "nope")
    assert result.returncode == 2 and "unknown bench group" in result.stderr
