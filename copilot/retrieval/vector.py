"""Dense vector index behind a protocol; the default is Chroma (embedded or server)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from copilot.embeddings import Vectors
from copilot.errors import UpstreamUnavailable
from copilot.retrieval.filters import SearchFilters, chunk_metadata
from copilot.store.sql import StoredChunk

_UPSERT_BATCH = 1000


class VectorIndex(Protocol):
    """Stores chunk vectors and finds the nearest ones under metadata filters."""

    def upsert(self, chunks: Sequence[StoredChunk], vectors: Vectors) -> None: ...

    def delete(self, chunk_ids: Sequence[str]) -> None: ...

    def query(self, vector: Vectors, k: int, filters: SearchFilters) -> list[tuple[str, float]]: ...

    def nearest(self, vector: Vectors, n: int) -> list[tuple[str, float]]: ...

    def get_vectors(self, chunk_ids: Sequence[str]) -> dict[str, Vectors]: ...

    def ids(self) -> set[str]: ...

    def count(self) -> int: ...

    def ping(self) -> None: ...


class ChromaVectorIndex:
    """A Chroma collection with cosine distance; we always pass our own embeddings."""

    def __init__(self, client: Any, collection: str = "knowledge") -> None:
        self.client = client
        self.collection = client.get_or_create_collection(
            collection,
            embedding_function=None,  # never let Chroma download its own model
            configuration={"hnsw": {"space": "cosine", "ef_search": 64}},
        )

    @classmethod
    def embedded(cls, path: Path, collection: str = "knowledge") -> ChromaVectorIndex:
        """A PersistentClient in a local folder."""
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        path.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(
            path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
        )
        return cls(client, collection)

    @classmethod
    def server(cls, host: str, port: int, collection: str = "knowledge") -> ChromaVectorIndex:
        """An HttpClient to a running Chroma server (`chroma run`)."""
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        try:
            client = chromadb.HttpClient(
                host=host, port=port, settings=ChromaSettings(anonymized_telemetry=False)
            )
            client.heartbeat()
        except Exception as exc:
            raise UpstreamUnavailable(f"Chroma server at {host}:{port} unreachable: {exc}") from exc
        return cls(client, collection)

    def upsert(self, chunks: Sequence[StoredChunk], vectors: Vectors) -> None:
        """Add or replace chunk vectors with their filter metadata."""
        for start in range(0, len(chunks), _UPSERT_BATCH):
            part = chunks[start : start + _UPSERT_BATCH]
            self.collection.upsert(
                ids=[c.chunk.chunk_id for c in part],
                embeddings=vectors[start : start + _UPSERT_BATCH],
                metadatas=[chunk_metadata(c.article) for c in part],
            )

    def delete(self, chunk_ids: Sequence[str]) -> None:
        """Remove chunks by id (missing ids are ignored)."""
        ids = list(chunk_ids)
        for start in range(0, len(ids), _UPSERT_BATCH):
            self.collection.delete(ids=ids[start : start + _UPSERT_BATCH])

    def query(self, vector: Vectors, k: int, filters: SearchFilters) -> list[tuple[str, float]]:
        """Nearest chunks as (chunk_id, cosine similarity), best first."""
        result = self.collection.query(
            query_embeddings=np.atleast_2d(vector),
            n_results=k,
            where=filters.chroma_where(),
            include=["distances"],
        )
        ids = result["ids"][0]
        distances = (result.get("distances") or [[]])[0]
        return [(cid, 1.0 - float(d)) for cid, d in zip(ids, distances, strict=True)]

    def nearest(self, vector: Vectors, n: int) -> list[tuple[str, float]]:
        """The n nearest chunks with no filter, as (chunk_id, cosine similarity), best first.

        Far cheaper than `query` with a `where` clause, which makes Chroma scan metadata.
        """
        result = self.collection.query(
            query_embeddings=np.atleast_2d(vector), n_results=n, include=["distances"]
        )
        ids = result["ids"][0]
        distances = (result.get("distances") or [[]])[0]
        return [(cid, 1.0 - float(d)) for cid, d in zip(ids, distances, strict=True)]

    def get_vectors(self, chunk_ids: Sequence[str]) -> dict[str, Vectors]:
        """Stored vectors by chunk id (missing ids are left out)."""
        found: dict[str, Vectors] = {}
        ids = list(chunk_ids)
        for start in range(0, len(ids), _UPSERT_BATCH):
            got = self.collection.get(
                ids=ids[start : start + _UPSERT_BATCH], include=["embeddings"]
            )
            for cid, vec in zip(got["ids"], got["embeddings"], strict=True):
                found[cid] = np.asarray(vec, dtype=np.float32)
        return found

    def ids(self) -> set[str]:
        """Every chunk id in the collection."""
        found: set[str] = set()
        offset, page = 0, 5000
        while True:
            got = self.collection.get(include=[], limit=page, offset=offset)["ids"]
            found.update(got)
            if len(got) < page:
                return found
            offset += page

    def count(self) -> int:
        """Number of chunk vectors."""
        return int(self.collection.count())

    def ping(self) -> None:
        """Raise UpstreamUnavailable unless Chroma answers."""
        try:
            self.client.heartbeat()
            self.collection.count()
        except Exception as exc:
            raise UpstreamUnavailable(f"vector index unreachable: {exc}") from exc
