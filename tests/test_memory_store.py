"""Vector memory over the real SQLite store and the bundle's real embedder: CRUD, tags,
persistence, re-embedding, migrations, corruption, backup round trip, and kill -9 durability."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import MODELS, REPO

from tars_edge.bundle import Bundle
from tars_edge.memory import (
    ConversationLog,
    CorruptDatabaseError,
    Embedder,
    Memory,
    MemoryDisabledError,
    MemoryStore,
    SchemaTooNewError,
    VectorMemory,
)
from tars_edge.memory import __main__ as memory_cli
from tars_edge.memory.store import MIGRATIONS, SCHEMA_VERSION


@pytest.fixture(scope="module")
def embedder():
    return Embedder.from_bundle(Bundle.load(MODELS))


@pytest.fixture
def memory(tmp_path, embedder):
    store = MemoryStore.open(tmp_path / "state")
    yield VectorMemory(store, embedder)
    store.close()


FACTS = [
    ("The spare house key is hidden in the blue flowerpot by the porch.", ["home"]),
    ("Ключ от гаража лежит под ковриком у задней двери.", ["home"]),
    ("The printer uses HP 305 ink cartridges.", ["office"]),
    ("Встреча с бухгалтером перенесена на пятницу в 15:00.", ["office"]),
]


def test_store_is_wal_and_at_current_schema(tmp_path):
    store = MemoryStore.open(tmp_path)
    try:
        assert store.query("PRAGMA journal_mode")[0][0] == "wal"
        assert store.schema_version == SCHEMA_VERSION
        assert {"memories", "memo", "conversation", "memories_fts"} <= set(store.db.table_names())
    finally:
        store.close()


def test_remember_recall_forget(memory):
    ids = [memory.remember(text, tags) for text, tags in FACTS]
    assert ids == sorted(ids) and len(memory) == 4
    top = memory.recall("Where did I hide the extra house key?", k=2)
    assert top[0].id == ids[0] and top[0].tags == ("home",) and 0 < top[0].score <= 1
    assert memory.recall("Где ключ от гаража?", k=1)[0].id == ids[1]
    assert memory.recall("Which ink does the printer take?", k=1)[0].id == ids[2]
    assert memory.get(ids[3]).text == FACTS[3][0]

    assert memory.forget(ids[0]) is True
    assert memory.forget(ids[0]) is False
    assert all(r.id != ids[0] for r in memory.recall("spare key flowerpot", k=5))
    assert memory.get(ids[0]) is None
    new_id = memory.remember("The umbrella is in the boot of the car.")
    assert new_id > ids[-1]  # a forgotten id is never handed out again


def test_tags_are_namespaces(memory):
    ids = [memory.remember(text, tags) for text, tags in FACTS]
    office = memory.recall("Where is the spare key?", k=5, tags=["office"])
    assert {r.id for r in office} <= {ids[2], ids[3]}
    assert memory.recall("key", k=5, tags=["nonexistent"]) == []


def test_bad_input_is_one_clear_error(memory):
    for bad in ("", "   "):
        with pytest.raises(ValueError, match="empty text"):
            memory.remember(bad)
        with pytest.raises(ValueError, match="empty text"):
            memory.recall(bad)
    with pytest.raises(ValueError, match="tags"):
        memory.remember("fine text", tags=[3])


def test_memories_survive_reopen(tmp_path, embedder):
    store = MemoryStore.open(tmp_path)
    ids = [VectorMemory(store, embedder).remember(t, g) for t, g in FACTS]
    store.close()
    store = MemoryStore.open(tmp_path)
    again = VectorMemory(store, embedder)
    assert len(again) == 4
    assert again.recall("What cartridges should I buy for the printer?", k=1)[0].id == ids[2]
    store.close()


def test_changed_embedder_reembeds(tmp_path, embedder):
    store = MemoryStore.open(tmp_path)
    for text, tags in FACTS:
        VectorMemory(store, embedder).remember(text, tags)
    renamed = Embedder(embedder.model_path, embedder.tokenizer_path,
                       embedder_id="another-embedder", dim=embedder.dim)
    memory = VectorMemory(store, renamed)
    assert {r[0] for r in store.query("SELECT DISTINCT embedder FROM memories")} == {
        "another-embedder"}
    assert memory.recall("Where is the spare key?", k=1)[0].text == FACTS[0][0]
    store.close()


def test_migration_from_schema_1(tmp_path, embedder):
    old = MemoryStore.open(tmp_path, migrations=MIGRATIONS[:1])
    assert old.schema_version == 1
    assert "search_text" not in old.db["memories"].columns_dict
    old.execute("INSERT INTO memories(text, tags, created) VALUES (?, '[\"home\"]', 0)",
                ("Паспорт и остальные документы лежат в синей папке в шкафу.",))
    old.close()

    store = MemoryStore.open(tmp_path)
    assert store.schema_version == SCHEMA_VERSION
    assert store.query("SELECT search_text FROM memories")[0][0].startswith("паспорт")
    assert store.query("SELECT rowid FROM memories_fts WHERE memories_fts MATCH 'папк*'")
    memory = VectorMemory(store, embedder)  # the v1 row had no vector: embedded now
    assert memory.recall("Где мой паспорт?", k=1)[0].tags == ("home",)
    assert store.integrity_check() == "ok"
    store.close()


def test_newer_schema_is_refused(tmp_path):
    MemoryStore.open(tmp_path).close()
    with sqlite3.connect(tmp_path / "memory.db") as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(SchemaTooNewError) as err:
        MemoryStore.open(tmp_path)
    assert "upgrade tars-edge" in str(err.value) and "\n" not in str(err.value)


def _corrupt_middle(path: Path) -> None:
    """Overwrite pages past the schema with garbage, the way a bad SD card sector does."""
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(2 * page, len(data), page):
        data[offset + 16:offset + 400] = os.urandom(384)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["garbage", "pages"])
def test_corrupt_database_disables_memory_and_recovers(tmp_path, embedder, damage, capsys):
    state = tmp_path / "state"
    store = MemoryStore.open(state)
    memory = VectorMemory(store, embedder)
    vector = embedder.embed_one("shelf")
    for i in range(300):
        memory.remember(f"Fact number {i}: the box {i} is on shelf {i % 7}.", embedding=vector)
    store.checkpoint()
    store.close()
    db = state / "memory.db"
    if damage == "garbage":
        db.write_bytes(b"this is not a database, it was overwritten" * 100)
    else:
        _corrupt_middle(db)

    with pytest.raises(CorruptDatabaseError) as err:
        MemoryStore.open(state)
    message = str(err.value)
    assert "\n" not in message and str(db) in message and "recover" in message

    mem = Memory.open(state, embedder)  # what the daemon calls: no exception
    assert not mem.enabled and mem.problem == message
    assert mem.status() == {"enabled": False, "problem": message}
    with pytest.raises(MemoryDisabledError):
        mem.remember("anything")

    assert memory_cli.main(["recover", "--state-dir", str(state)]) == 0
    assert "moved the damaged file" in capsys.readouterr().err
    assert list(state.glob("memory.db.broken-*"))
    healed = Memory.open(state, embedder)
    assert healed.enabled
    assert healed.store.integrity_check() == "ok"
    healed.remember("The router admin password is on a sticker under the device.")
    assert healed.recall("Where is the router password?", k=1)[0].text.startswith("The router")
    healed.close()


def test_export_import_round_trip(tmp_path, embedder):
    src = MemoryStore.open(tmp_path / "a")
    memory = VectorMemory(src, embedder)
    for text, tags in FACTS:
        memory.remember(text, tags, source="user")
    backup = tmp_path / "backup.jsonl"
    assert memory.export_jsonl(backup) == 4
    src.close()
    lines = [json.loads(line) for line in backup.read_text(encoding="utf-8").splitlines()]
    assert [(d["text"], d["tags"]) for d in lines] == [(t, g) for t, g in FACTS]

    dest = MemoryStore.open(tmp_path / "b")
    restored = VectorMemory(dest, embedder)
    assert restored.import_jsonl(backup)["imported"] == 4
    assert restored.import_jsonl(backup) == {"imported": 0, "skipped": 4, "ids": []}
    assert restored.recall("Где ключ от гаража?", k=1)[0].text == FACTS[1][0]
    restored.export_jsonl(tmp_path / "again.jsonl")
    again = [json.loads(x) for x in (tmp_path / "again.jsonl").read_text().splitlines()]
    assert [(d["text"], d["tags"], d["created"]) for d in again] == [
        (d["text"], d["tags"], d["created"]) for d in lines]

    broken = tmp_path / "broken.jsonl"
    broken.write_text(backup.read_text() + '{"tags": ["x"]}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"broken.jsonl:5: not a memory"):
        restored.import_jsonl(broken)
    assert len(restored) == 4  # nothing of the bad file was written
    dest.close()


def test_conversation_log(tmp_path):
    store = MemoryStore.open(tmp_path)
    log = ConversationLog(store)
    log.append("s1", "user", "привет", tier="reflex", intent="greeting")
    log.append("s1", "assistant", "Привет!", tier="reflex")
    log.append("s2", "user", "other session")
    assert [t["text"] for t in log.history("s1")] == ["привет", "Привет!"]
    assert log.reset("s1") == 2 and log.history("s1") == []
    store.close()


CHILD = textwrap.dedent("""
    import sys
    from tars_edge.bundle import Bundle
    from tars_edge.memory import Embedder, MemoryStore, VectorMemory
    memory = VectorMemory(MemoryStore.open(sys.argv[1]),
                          Embedder.from_bundle(Bundle.load(sys.argv[2])))
    i = 0
    while True:
        memory_id = memory.remember(f"fact {i}: parcel {i} went to locker {i * 7 % 31}",
                                    tags=["stream"])
        print(f"ack {memory_id} {i}", flush=True)
        i += 1
""")


def test_kill_9_loses_no_acknowledged_memory(tmp_path):
    """A real process streams remember() calls and prints an ack after each returns; it is
    SIGKILLed mid-stream. Every acked id must be there, and the file must be intact."""
    state = tmp_path / "state"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    child = subprocess.Popen([sys.executable, str(script), str(state), str(MODELS)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             cwd=REPO)
    acked: dict[int, int] = {}
    try:
        for line in child.stdout:
            _, memory_id, i = line.split()
            acked[int(memory_id)] = int(i)
            if len(acked) == 60:
                break
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    assert len(acked) == 60, child.stderr.read()
    assert child.returncode == -signal.SIGKILL

    store = MemoryStore.open(state)
    rows = dict(store.query("SELECT id, text FROM memories"))
    for memory_id, i in acked.items():
        assert rows[memory_id].startswith(f"fact {i}:")
    assert store.integrity_check() == "ok"
    assert store.query("SELECT count(*) FROM memories_fts")[0][0] == len(rows)
    store.close()
