"""Metadata filters shared by the dense and lexical retrievers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from copilot.domain import Article, ArticleKind, ArticleStatus, Audience

ALL_PLANS = "*"


class SearchFilters(BaseModel):
    """Which articles a search may return. Unset fields do not filter."""

    model_config = ConfigDict(frozen=True)

    product: str | None = None
    plan: str | None = None
    kinds: tuple[ArticleKind, ...] = ()
    audience: Audience | None = None
    status: ArticleStatus = ArticleStatus.published
    locale: str | None = None

    def matches(self, article: Article) -> bool:
        """True when the article passes every set filter."""
        return (
            article.status is self.status
            and (self.product is None or self.product in article.products)
            and (self.plan is None or article.applies_to_plan(self.plan))
            and (not self.kinds or article.kind in self.kinds)
            and (self.audience is None or article.audience is self.audience)
            and (self.locale is None or article.locale == self.locale)
        )

    def chroma_where(self) -> dict[str, Any]:
        """The filter as a Chroma `where` clause over chunk metadata."""
        clauses: list[dict[str, Any]] = [{"status": self.status.value}]
        if self.product:
            clauses.append({"products": {"$contains": self.product}})
        if self.plan:
            clauses.append(
                {"$or": [{"plans": {"$contains": self.plan}}, {"plans": {"$contains": ALL_PLANS}}]}
            )
        if self.kinds:
            clauses.append({"kind": {"$in": [k.value for k in self.kinds]}})
        if self.audience:
            clauses.append({"audience": self.audience.value})
        if self.locale:
            clauses.append({"locale": self.locale})
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def chunk_metadata(article: Article) -> dict[str, Any]:
    """Per-chunk metadata the indexes filter on."""
    return {
        "article_id": article.id,
        "kind": article.kind.value,
        "audience": article.audience.value,
        "status": article.status.value,
        "locale": article.locale,
        "products": list(article.products),
        "plans": list(article.plans) if article.plans else [ALL_PLANS],
    }
