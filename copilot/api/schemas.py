"""Request and response bodies of the HTTP API (the domain models are reused where they fit)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from copilot.domain import Article
from copilot.retrieval.search import ArticleHit


class IngestRequest(BaseModel):
    """JSON ingest: articles in the export mapping (see ingest.loaders), success plans as-is."""

    articles: list[dict[str, Any]] = Field(default_factory=list)
    success_plans: list[dict[str, Any]] = Field(default_factory=list)


class ChunkOut(BaseModel):
    chunk_id: str
    section: list[str]
    text: str


class SearchHitOut(BaseModel):
    article_id: str
    title: str
    kind: str
    audience: str
    url: str | None
    products: list[str]
    plans: list[str] | None
    score: float
    dense_score: float | None
    lexical_score: float | None
    best_chunk: ChunkOut
    passage: str

    @classmethod
    def of(cls, hit: ArticleHit) -> SearchHitOut:
        a: Article = hit.article
        c = hit.best_chunk
        return cls(
            article_id=a.id,
            title=a.title,
            kind=a.kind.value,
            audience=a.audience.value,
            url=a.url,
            products=list(a.products),
            plans=list(a.plans) if a.plans else None,
            score=round(hit.score, 6),
            dense_score=hit.dense_score,
            lexical_score=hit.lexical_score,
            best_chunk=ChunkOut(chunk_id=c.chunk_id, section=list(c.section), text=c.text),
            passage=hit.passage,
        )


class SearchOut(BaseModel):
    query: str
    index_version: str | None
    took_ms: float
    hits: list[SearchHitOut]
