"""The `memory` bench group runs end to end (small sizes here; `tars-edge bench --only memory`
measures 100K) and the memory command-line tools work on a real state directory."""

import json

from conftest import MODELS

from tars_edge.benchmarks import GROUPS
from tars_edge.benchmarks import memory as memory_bench
from tars_edge.bundle import Bundle
from tars_edge.memory import __main__ as memory_cli


def test_bench_group_reports_its_keys():
    assert GROUPS["memory"] == "memory"
    out = memory_bench.run(Bundle.load(MODELS), progress=False, sizes=(1_000,), queries=20,
                           embed_calls=10)
    for key in ("embed_ms", "recall_p50_ms_1k", "recall_p95_ms_1k", "recall_dense_p95_ms_1k",
                "bytes_per_memory", "index_bytes_per_memory", "memo_lookup_ms",
                "remember_commit_ms", "log_commit_ms"):
        assert isinstance(out[key], (int, float)) and out[key] >= 0, key
    assert out["embed_variant"] == Bundle.load(MODELS).model("embedder")["deployed"]
    assert out["memo_entries"] == 256
    json.dumps(out)


def test_cli_export_import_check(tmp_path, capsys):
    backup = tmp_path / "backup.jsonl"
    backup.write_text(
        json.dumps({"text": "Код от домофона в подъезде — 2580.", "tags": ["home"]},
                   ensure_ascii=False) + "\n"
        + json.dumps({"text": "The plumber's phone number is 555-0142."}) + "\n",
        encoding="utf-8")
    state = str(tmp_path / "state")
    assert memory_cli.main(["import", "--state-dir", state, "--bundle", str(MODELS),
                            str(backup)]) == 0
    assert memory_cli.main(["check", "--state-dir", state]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["integrity_check"] == "ok" and report["memories"] == 2
    out = tmp_path / "out.jsonl"
    assert memory_cli.main(["export", "--state-dir", state, str(out)]) == 0
    assert [json.loads(x)["text"] for x in out.read_text(encoding="utf-8").splitlines()] == [
        "Код от домофона в подъезде — 2580.", "The plumber's phone number is 555-0142."]
    assert memory_cli.main(["import", "--state-dir", state, "--bundle", str(MODELS),
                            str(tmp_path / "missing.jsonl")]) == 2
    assert "cannot read the backup" in capsys.readouterr().err
