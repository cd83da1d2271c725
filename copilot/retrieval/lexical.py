"""Lexical BM25 index (bm25s) over the same chunks as the vector index, persisted to disk."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import bm25s
import numpy as np
import numpy.typing as npt

from copilot.retrieval.filters import ALL_PLANS, SearchFilters, chunk_metadata
from copilot.store.sql import StoredChunk

Mask = npt.NDArray[np.bool_]


class LexicalIndex(Protocol):
    """Keyword retrieval over chunks, filtered by the same metadata as the vector index."""

    version: str | None

    def rebuild(self, chunks: Sequence[StoredChunk], version: str) -> None: ...

    def query(self, text: str, k: int, filters: SearchFilters) -> list[tuple[str, float]]: ...

    def ids(self) -> list[str]: ...


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Lower-cased, English-stemmed word tokens without stop words."""
    tokens = bm25s.tokenize(
        list(texts), stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False
    )
    return [list(t) for t in tokens]


class BM25Index:
    """bm25s over chunk texts; rebuilt whole after a change, loaded from disk at start."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.version: str | None = None
        self._ids: list[str] = []
        self._meta: list[dict[str, Any]] = []
        self._model: bm25s.BM25 | None = None
        self._masks: dict[SearchFilters, Mask] = {}
        self.load()

    def load(self) -> None:
        """Read the persisted index if there is one."""
        manifest = self.path / "chunks.json"
        if not manifest.is_file():
            return
        data = json.loads(manifest.read_text(encoding="utf-8"))
        self._ids, self._meta, self.version = data["ids"], data["meta"], data["version"]
        self._model = bm25s.BM25.load(str(self.path / "model")) if self._ids else None
        self._masks.clear()

    def rebuild(self, chunks: Sequence[StoredChunk], version: str) -> None:
        """Index these chunks (replacing everything) and persist atomically."""
        ids = [c.chunk.chunk_id for c in chunks]
        meta = [chunk_metadata(c.article) for c in chunks]
        model: bm25s.BM25 | None = None
        tmp = self.path.with_name(self.path.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if ids:
            model = bm25s.BM25()
            model.index(
                bm25s.tokenize(
                    [c.chunk.embed_text for c in chunks],
                    stopwords="en",
                    stemmer=_stemmer(),
                    show_progress=False,
                ),
                show_progress=False,
            )
            model.save(str(tmp / "model"), show_progress=False)
        (tmp / "chunks.json").write_text(
            json.dumps({"version": version, "ids": ids, "meta": meta}), encoding="utf-8"
        )
        old = self.path.with_name(self.path.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if self.path.exists():
            self.path.rename(old)
        tmp.rename(self.path)
        shutil.rmtree(old, ignore_errors=True)
        self._ids, self._meta, self.version, self._model = ids, meta, version, model
        self._masks.clear()

    def ids(self) -> list[str]:
        """Chunk ids in index order."""
        return list(self._ids)

    def _mask(self, filters: SearchFilters) -> Mask:
        mask = self._masks.get(filters)
        if mask is None:
            mask = np.fromiter(
                (_meta_matches(m, filters) for m in self._meta),
                dtype=np.bool_,
                count=len(self._meta),
            )
            if len(self._masks) > 256:
                self._masks.clear()
            self._masks[filters] = mask
        return mask

    def query(self, text: str, k: int, filters: SearchFilters) -> list[tuple[str, float]]:
        """Best-scoring chunks as (chunk_id, BM25 score), best first; zero scores dropped."""
        if self._model is None or not text.strip():
            return []
        tokens = tokenize([text])[0]
        if not tokens:
            return []
        scores = np.asarray(self._model.get_scores(tokens), dtype=np.float32)
        scores = np.where(self._mask(filters), scores, 0.0)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self._ids[i], float(scores[i])) for i in top if scores[i] > 0]


def _meta_matches(meta: dict[str, Any], f: SearchFilters) -> bool:
    return (
        meta["status"] == f.status.value
        and (f.product is None or f.product in meta["products"])
        and (f.plan is None or f.plan in meta["plans"] or ALL_PLANS in meta["plans"])
        and (not f.kinds or meta["kind"] in {k.value for k in f.kinds})
        and (f.audience is None or meta["audience"] == f.audience.value)
        and (f.locale is None or meta["locale"] == f.locale)
    )
