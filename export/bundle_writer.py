"""Writes models into a bundle directory: copies the files in, records size and sha256 in the
manifest, and replaces the manifest atomically.

Each model builder calls :func:`put_model` once, after its export has been verified against
PyTorch; a builder whose verification fails raises before it gets here, so a failing export
never reaches the bundle. Models are updated one at a time so that one model can be rebuilt
without retraining the others (``tars-export build-default --only reflex``).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

from tars_edge import tokenizer
from tars_edge.bundle import FORMAT_VERSION, MANIFEST, sha256_file


def empty_manifest() -> dict:
    return {
        "format_version": FORMAT_VERSION,
        "tokenizer": {
            "name": tokenizer.NAME,
            "vocab_size": tokenizer.VOCAB_SIZE,
            "escape": tokenizer.ESCAPE,
            "special": dict(tokenizer.SPECIAL_TOKENS),
        },
        "models": {},
    }


@contextmanager
def _locked(bundle_dir: Path):
    """Two builders writing one bundle at once must not lose each other's entries."""
    bundle_dir.mkdir(parents=True, exist_ok=True)
    with open(bundle_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def put_model(
    bundle_dir: Path,
    name: str,
    entry: dict,
    files: dict[str, Path],
    quantization: dict[str, dict] | None = None,
) -> dict:
    """Install model ``name``: ``entry`` is its manifest object without ``files``; ``files``
    maps variant -> a verified file to copy in as ``<name>.<variant><suffix>``;
    ``quantization`` maps variant -> its scheme description, recorded beside the file.

    Files of this model that the new entry no longer lists are deleted. Returns the entry as
    written."""
    bundle_dir = Path(bundle_dir)
    with _locked(bundle_dir):
        manifest_path = bundle_dir / MANIFEST
        manifest = (
            json.loads(manifest_path.read_text()) if manifest_path.exists() else empty_manifest()
        )
        old_files = {f["path"] for f in manifest["models"].get(name, {}).get("files", {}).values()}
        entry = dict(entry)
        entry["files"] = {}
        for variant, src in sorted(files.items()):
            dest_name = f"{name}.{variant}{Path(src).suffix or '.onnx'}"
            dest = bundle_dir / dest_name
            if Path(src).resolve() != dest.resolve():
                tmp = dest.with_name(dest.name + ".tmp")
                shutil.copyfile(src, tmp)
                os.replace(tmp, dest)
            meta = (quantization or {}).get(variant)
            entry["files"][variant] = {
                "path": dest_name,
                "bytes": dest.stat().st_size,
                "sha256": sha256_file(dest),
                **({"quantization": meta} if meta else {}),
            }
        if entry.get("deployed") not in entry["files"]:
            raise ValueError(f"model {name}: deployed variant {entry.get('deployed')!r} has no file")
        for stale in old_files - {f["path"] for f in entry["files"].values()}:
            (bundle_dir / stale).unlink(missing_ok=True)
        manifest["models"][name] = entry
        _write_json_atomic(manifest_path, manifest)
        return entry
