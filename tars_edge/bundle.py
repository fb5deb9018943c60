"""The model bundle: a directory with ``manifest.json`` and the model files it lists.

The manifest is the contract between the export side and the runtime (DESIGN §5)::

    {
      "format_version": 1,
      "tokenizer": {"name": "bytes-cp1251", "vocab_size": 256, "escape": 152, "special": {...}},
      "models": {
        "<model>": {
          "kind": "reflex-mingru",
          "deployed": "ternary",                    # the variant the runtime loads
          "files": {"<variant>": {"path": "...onnx", "sha256": "...", "bytes": 1234,
                                  "quantization": {...}}},
          "inputs":  [{"name": ..., "dtype": ..., "shape": [...]}],
          "outputs": [...],
          "states":  [{"name": ..., "dtype": ..., "shape": [...], "init": 0.0}],
          "labels": [...], "thresholds": {...}, "config": {...},
          "metrics": {"<variant>": {...}}
        }
      }
    }

Loading checks the format version and the tokenizer at once; a model file's size and sha256
are checked the first time that file is asked for, so a lazily loaded model costs nothing at
start-up. Every failure is a :class:`BundleError` whose message is one line naming the file.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from tars_edge import tokenizer

FORMAT_VERSION = 1
MANIFEST = "manifest.json"


class BundleError(RuntimeError):
    """A bundle that cannot be used; the message is one line that names the file."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def default_bundle_dir() -> Path:
    """Where the bundle is when nobody says: ``$TARS_EDGE_BUNDLE``, the checkout's ``models/``,
    then the system-wide ``/usr/share/tars-edge/models``."""
    env = os.environ.get("TARS_EDGE_BUNDLE")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parent.parent / "models"
    if (checkout / MANIFEST).exists():
        return checkout
    return Path("/usr/share/tars-edge/models")


@dataclass
class Bundle:
    root: Path
    manifest: dict
    id: str
    _verified: set[str] = field(default_factory=set, repr=False)

    @classmethod
    def load(cls, root: str | os.PathLike | None = None) -> Bundle:
        root = Path(root) if root is not None else default_bundle_dir()
        path = root / MANIFEST
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise BundleError(
                f"{path}: no model bundle here; pass --bundle DIR or run `tars-export build-default`"
            ) from None
        except OSError as exc:
            raise BundleError(f"{path}: cannot read the manifest: {exc.strerror}") from None
        try:
            manifest = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BundleError(f"{path}: the manifest is not valid JSON ({exc})") from None
        if not isinstance(manifest, dict):
            raise BundleError(f"{path}: the manifest must be a JSON object")
        version = manifest.get("format_version")
        if version != FORMAT_VERSION:
            raise BundleError(
                f"{path}: bundle format version {version!r}, this runtime reads {FORMAT_VERSION}; "
                "rebuild the bundle with a matching `tars-export`"
            )
        tok = manifest.get("tokenizer", {})
        if tok.get("name") != tokenizer.NAME or tok.get("vocab_size") != tokenizer.VOCAB_SIZE:
            raise BundleError(f"{path}: tokenizer {tok!r} is not {tokenizer.NAME}/256")
        if not isinstance(manifest.get("models"), dict):
            raise BundleError(f"{path}: the manifest has no 'models' object")
        return cls(root=root, manifest=manifest, id=hashlib.sha256(raw).hexdigest()[:16])

    @property
    def models(self) -> dict:
        return self.manifest["models"]

    def model(self, name: str) -> dict:
        try:
            return self.models[name]
        except KeyError:
            raise BundleError(
                f"{self.root / MANIFEST}: the bundle has no '{name}' model "
                f"(it has: {', '.join(sorted(self.models)) or 'none'})"
            ) from None

    def file(self, name: str, variant: str | None = None) -> Path:
        """Path to a model file, verified (size + sha256) the first time it is asked for."""
        spec = self.model(name)
        variant = variant or spec.get("deployed")
        entry = spec.get("files", {}).get(variant)
        if entry is None:
            raise BundleError(
                f"{self.root / MANIFEST}: model '{name}' has no '{variant}' file "
                f"(it has: {', '.join(sorted(spec.get('files', {})))})"
            )
        path = self.root / entry["path"]
        if str(path) in self._verified:
            return path
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise BundleError(f"{path}: model file is missing; restore the bundle") from None
        if size != entry["bytes"]:
            raise BundleError(
                f"{path}: model file is {size} bytes, manifest says {entry['bytes']}; "
                "the file is corrupt or from another build"
            )
        if sha256_file(path) != entry["sha256"]:
            raise BundleError(
                f"{path}: model file sha256 does not match the manifest; "
                "the file is corrupt or from another build"
            )
        self._verified.add(str(path))
        return path
