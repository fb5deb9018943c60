"""The sentence embedder: all-MiniLM-L6-v2 through ONNX Runtime and `tokenizers`, no torch.

Mean pooling and L2 normalisation are inside the graph, so ``embed`` returns unit vectors and a
dot product is the cosine. The session loads on first use (DESIGN §3: heavy models are lazy)
and can be dropped again with :meth:`Embedder.unload`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tars_edge.bundle import Bundle, BundleError
from tars_edge.engine.sessions import open_session

MODEL = "embedder"  # the bundle's model name
TOKENIZER_VARIANT = "tokenizer"  # the tokenizer.json is listed beside the ONNX variants


class Embedder:
    """Text -> unit vectors of ``dim`` floats. ``id`` names the exact weights, so stored
    vectors made by another model or variant can be recognised and re-embedded."""

    def __init__(
        self,
        model_path: Path,
        tokenizer_path: Path,
        *,
        embedder_id: str,
        dim: int = 384,
        max_tokens: int = 256,
        threads: int | None = None,
    ):
        self.model_path = Path(model_path)
        self.tokenizer_path = Path(tokenizer_path)
        self.id = embedder_id
        self.dim = dim
        self.max_tokens = max_tokens
        self.threads = threads
        self._session = None
        self._tokenizer = None
        self._lock = threading.Lock()

    @classmethod
    def from_bundle(cls, bundle: Bundle, variant: str | None = None,
                    threads: int | None = None) -> Embedder:
        """The bundle's ``embedder`` model (its deployed variant unless ``variant`` says).
        Files are checked against the manifest here, before anything is loaded."""
        spec = bundle.model(MODEL)
        variant = variant or spec["deployed"]
        model_path = bundle.file(MODEL, variant)
        tokenizer_path = bundle.file(MODEL, TOKENIZER_VARIANT)
        config = spec.get("config", {})
        sha = spec["files"][variant]["sha256"]
        return cls(
            model_path,
            tokenizer_path,
            embedder_id=f"{config.get('name', MODEL)}:{variant}:{sha[:12]}",
            dim=int(config.get("dim", 384)),
            max_tokens=int(config.get("max_tokens", 256)),
            threads=threads,
        )

    @property
    def loaded(self) -> bool:
        return self._session is not None

    def load(self) -> None:
        """Open the tokenizer and the ORT session now (e.g. when the wake word fires)."""
        with self._lock:
            if self._session is not None:
                return
            from tokenizers import Tokenizer

            try:
                tokenizer = Tokenizer.from_file(str(self.tokenizer_path))
            except Exception as exc:  # tokenizers raises a bare Exception for bad JSON
                reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
                raise BundleError(
                    f"{self.tokenizer_path}: cannot read the embedder tokenizer ({reason}); "
                    "restore the bundle"
                ) from None
            tokenizer.no_padding()
            tokenizer.enable_truncation(self.max_tokens)
            self._tokenizer = tokenizer
            self._session = open_session(self.model_path, threads=self.threads)

    def unload(self) -> None:
        """Free the session (~25-90 MB); the next embed loads it again."""
        with self._lock:
            self._session = None
            self._tokenizer = None

    def _loaded(self):
        self.load()
        session, tokenizer = self._session, self._tokenizer
        if session is None:  # unloaded by another thread in between
            return self._loaded()
        return session, tokenizer

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        _, tokenizer = self._loaded()
        return [enc.ids for enc in tokenizer.encode_batch(list(texts))]

    def embed(self, texts: Sequence[str], batch_size: int = 16) -> np.ndarray:
        """``(len(texts), dim)`` float32 unit vectors. Texts are batched by length so that
        padding stays short; the order of the result is the order of ``texts``."""
        texts = list(texts)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        session, tokenizer = self._loaded()
        ids = [enc.ids for enc in tokenizer.encode_batch(texts)]
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            width = max(len(ids[i]) for i in chunk)
            input_ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.int64)
            for row, i in enumerate(chunk):
                input_ids[row, :len(ids[i])] = ids[i]
                mask[row, :len(ids[i])] = 1
            (vectors,) = session.run(
                ["embedding"], {"input_ids": input_ids, "attention_mask": mask}
            )
            out[chunk] = vectors
        return out

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]
