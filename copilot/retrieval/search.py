"""Hybrid retrieval: dense + BM25 fused, filtered by metadata, returned per article."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from copilot.domain import Article, Chunk
from copilot.embeddings import Embedder, Vectors
from copilot.retrieval.filters import SearchFilters
from copilot.retrieval.fusion import DEFAULT_FUSION, FusionConfig, fuse
from copilot.retrieval.lexical import LexicalIndex
from copilot.retrieval.vector import VectorIndex
from copilot.store.sql import SqlStore, StoredChunk

INDEX_VERSION_KEY = "index_version"
# Unfiltered nearest-neighbour queries stay cheap up to about this many results; past it a
# selective filter is better served by the vector index's own (metadata-scanning) filter.
MAX_OVERSAMPLE = 1600
# A filter this selective is scored exactly in memory from cached vectors instead.
MAX_EXACT = 5000


@dataclass
class ArticleHit:
    """One article in a result list: its best chunk, that chunk's neighbours, and the scores."""

    article: Article
    score: float
    best_chunk: Chunk
    neighbours: list[Chunk]
    chunks: list[tuple[Chunk, float]] = field(default_factory=list)  # matched, best first
    dense_score: float | None = None
    lexical_score: float | None = None

    @property
    def passage(self) -> str:
        """The best chunk with its neighbours, in reading order."""
        ordered = sorted([self.best_chunk, *self.neighbours], key=lambda c: c.ord)
        return "\n\n".join(c.text for c in ordered)


@dataclass
class SearchResult:
    hits: list[ArticleHit]
    timings_ms: dict[str, float]
    index_version: str | None


Mode = str  # "hybrid" | "dense" | "lexical"


class Retriever:
    """Searches chunks both ways, fuses per article, and keeps its view in step with ingests."""

    def __init__(
        self,
        store: SqlStore,
        vectors: VectorIndex,
        lexical: LexicalIndex,
        embedder: Embedder,
        *,
        fusion: FusionConfig = DEFAULT_FUSION,
        dense_candidates: int = 40,
        lexical_candidates: int = 40,
        reload_lexical: Callable[[], None] | None = None,
        staleness_check_s: float = 2.0,
    ) -> None:
        self.store = store
        self.vectors = vectors
        self.lexical = lexical
        self.embedder = embedder
        self.fusion = fusion
        self.dense_candidates = dense_candidates
        self.lexical_candidates = lexical_candidates
        self._reload_lexical = reload_lexical
        self._staleness_check_s = staleness_check_s
        self._lock = threading.Lock()
        self._chunks: dict[str, StoredChunk] = {}
        self._by_article: dict[str, list[Chunk]] = {}
        self._version: str | None = None
        self._allowed: dict[SearchFilters, tuple[frozenset[str], float]] = {}
        self._exact: dict[SearchFilters, tuple[list[str], Vectors]] = {}
        self._checked_at = 0.0
        self.refresh()

    @property
    def index_version(self) -> str | None:
        """Version of the content this retriever serves."""
        return self._version

    def refresh(self) -> None:
        """Reload chunk metadata from the store (after an ingest in this or another process)."""
        with self._lock:
            version = self.store.get_state(INDEX_VERSION_KEY)
            if version != self.lexical.version and self._reload_lexical is not None:
                self._reload_lexical()
            chunks = self.store.all_chunks()
            by_article: dict[str, list[Chunk]] = {}
            for stored in chunks:
                by_article.setdefault(stored.chunk.article_id, []).append(stored.chunk)
            self._chunks = {c.chunk.chunk_id: c for c in chunks}
            self._by_article = by_article
            self._allowed = {}
            self._exact = {}
            self._version = version
            self._checked_at = time.monotonic()

    def _maybe_refresh(self) -> None:
        if time.monotonic() - self._checked_at < self._staleness_check_s:
            return
        self._checked_at = time.monotonic()
        if self.store.get_state(INDEX_VERSION_KEY) != self._version:
            self.refresh()

    def article(self, article_id: str) -> Article | None:
        """An indexed article's metadata, from memory."""
        chunks = self._by_article.get(article_id)
        return self._chunks[chunks[0].chunk_id].article if chunks else None

    def article_chunks(self, article_id: str) -> list[Chunk]:
        """An indexed article's chunks in reading order."""
        return list(self._by_article.get(article_id, []))

    def chunk(self, chunk_id: str) -> StoredChunk | None:
        """A chunk currently served, with its article."""
        return self._chunks.get(chunk_id)

    def search(
        self,
        query: str,
        filters: SearchFilters | None = None,
        *,
        k: int = 5,
        mode: Mode = "hybrid",
        neighbours: int = 1,
        vector: Vectors | None = None,
    ) -> SearchResult:
        """The k best articles for the query under the filters.

        `vector` is the query's embedding when the caller already has it.
        """
        filters = filters or SearchFilters()
        self._maybe_refresh()
        timings: dict[str, float] = {}
        dense_chunks: dict[str, float] = {}
        lexical_chunks: dict[str, float] = {}
        if mode in ("hybrid", "dense"):
            if vector is None:
                started = time.perf_counter()
                vector = self.embedder.embed([query])[0]
                timings["embed"] = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            dense_chunks = self._dense(vector, filters)
            timings["dense"] = (time.perf_counter() - started) * 1000
        if mode in ("hybrid", "lexical"):
            started = time.perf_counter()
            lexical_chunks = self._known(
                self.lexical.query(query, self.lexical_candidates, filters)
            )
            timings["lexical"] = (time.perf_counter() - started) * 1000

        started = time.perf_counter()
        dense_articles = _best_per_article(dense_chunks, self._chunks)
        lexical_articles = _best_per_article(lexical_chunks, self._chunks)
        if mode == "dense":
            ranked = sorted(dense_articles.items(), key=lambda p: (-p[1], p[0]))
        elif mode == "lexical":
            ranked = sorted(lexical_articles.items(), key=lambda p: (-p[1], p[0]))
        else:
            ranked = fuse(dense_articles, lexical_articles, self.fusion)
        chunk_scores = (
            dict(fuse(dense_chunks, lexical_chunks, self.fusion))
            if mode == "hybrid"
            else (dense_chunks or lexical_chunks)
        )
        hits = [
            self._hit(
                article_id,
                score,
                chunk_scores,
                neighbours,
                dense_articles.get(article_id),
                lexical_articles.get(article_id),
            )
            for article_id, score in ranked[:k]
        ]
        timings["fuse"] = (time.perf_counter() - started) * 1000
        timings["total"] = sum(timings.values())
        return SearchResult(hits, timings, self._version)

    def _allowed_articles(self, filters: SearchFilters) -> tuple[frozenset[str], float]:
        """Articles passing the filters, and the share of all chunks they hold."""
        cached = self._allowed.get(filters)
        if cached is None:
            allowed = frozenset(
                article_id
                for article_id, chunks in self._by_article.items()
                if filters.matches(self._chunks[chunks[0].chunk_id].article)
            )
            held = sum(len(self._by_article[a]) for a in allowed)
            cached = (allowed, held / max(len(self._chunks), 1))
            if len(self._allowed) > 256:
                self._allowed.clear()
            self._allowed[filters] = cached
        return cached

    def _dense(self, vector: Vectors, filters: SearchFilters) -> dict[str, float]:
        """Dense candidates under the filters: unfiltered neighbours filtered here, sized by the
        filter's selectivity; the index's own filter only when too few pass."""
        k = self.dense_candidates
        allowed, share = self._allowed_articles(filters)
        if not allowed:
            return {}
        total = len(self._chunks)
        wanted = min(total, int(k / share * 1.5) + 10)
        if wanted <= MAX_OVERSAMPLE:
            found: dict[str, float] = {}
            for chunk_id, score in self.vectors.nearest(vector, wanted):
                stored = self._chunks.get(chunk_id)
                if stored is not None and stored.chunk.article_id in allowed:
                    found[chunk_id] = score
                    if len(found) == k:
                        return found
            if wanted >= total:
                return found  # every chunk was considered
        held = int(share * total)
        if held <= MAX_EXACT:
            return self._exact_scores(vector, filters, allowed, k)
        return self._known(self.vectors.query(vector, k, filters))

    def _exact_scores(
        self, vector: Vectors, filters: SearchFilters, allowed: frozenset[str], k: int
    ) -> dict[str, float]:
        """Exact cosine top-k over a small filtered set, its vectors cached per index version."""
        cached = self._exact.get(filters)
        if cached is None:
            ids = [c.chunk_id for a in sorted(allowed) for c in self._by_article[a]]
            found = self.vectors.get_vectors(ids)
            ids = [i for i in ids if i in found]
            matrix = (
                np.stack([found[i] for i in ids])
                if ids
                else np.zeros((0, len(vector)), dtype=np.float32)
            )
            cached = (ids, matrix)
            if len(self._exact) > 64:
                self._exact.clear()
            self._exact[filters] = cached
        ids, matrix = cached
        if not ids:
            return {}
        sims = matrix @ np.asarray(vector, dtype=np.float32)
        top = np.argsort(-sims, kind="stable")[:k]
        return {ids[i]: float(sims[i]) for i in top}

    def _known(self, scored: list[tuple[str, float]]) -> dict[str, float]:
        # A vector whose chunk is not in the store is mid-ingest or stale: never serve it.
        return {cid: score for cid, score in scored if cid in self._chunks}

    def _hit(
        self,
        article_id: str,
        score: float,
        chunk_scores: dict[str, float],
        neighbours: int,
        dense: float | None,
        lexical: float | None,
    ) -> ArticleHit:
        all_chunks = self._by_article[article_id]
        matched = sorted(
            ((c, chunk_scores[c.chunk_id]) for c in all_chunks if c.chunk_id in chunk_scores),
            key=lambda pair: (-pair[1], pair[0].ord),
        )
        best = matched[0][0] if matched else all_chunks[0]
        around = [c for c in all_chunks if c is not best and abs(c.ord - best.ord) <= neighbours]
        return ArticleHit(
            article=self._chunks[best.chunk_id].article,
            score=score,
            best_chunk=best,
            neighbours=around,
            chunks=matched,
            dense_score=dense,
            lexical_score=lexical,
        )


def _best_per_article(
    chunk_scores: dict[str, float], chunks: dict[str, StoredChunk]
) -> dict[str, float]:
    best: dict[str, float] = {}
    for chunk_id, score in chunk_scores.items():
        article_id = chunks[chunk_id].chunk.article_id
        if score > best.get(article_id, float("-inf")):
            best[article_id] = score
    return best
