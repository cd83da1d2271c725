"""Where the knowledge base falls short: catalog features without the articles each value move
needs, and recent cases it could not answer well, grouped by topic with a draft to start from."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel

from copilot.catalog import Catalog
from copilot.domain import Article, ArticleKind, Audience, Suggestion, SuggestionType
from copilot.embeddings import Embedder
from copilot.store.sql import StoredSuggestion

# The article kind each value move draws its evidence from (DESIGN.md, "Why: value
# enhancement"); anticipate_needs follows `related` links, so any article with them counts.
MOVE_KINDS: dict[SuggestionType, ArticleKind | None] = {
    SuggestionType.validate_purchase: ArticleKind.value_proof,
    SuggestionType.achieve_goal: ArticleKind.how_to,
    SuggestionType.educate_better_use: ArticleKind.best_practice,
    SuggestionType.advise_new_use: ArticleKind.release_note,
    SuggestionType.anticipate_needs: None,
}
# What a feature needs to support the moves: a how-to, a best practice and a value proof.
NEEDED_KINDS = (ArticleKind.how_to, ArticleKind.best_practice, ArticleKind.value_proof)


class FeatureCoverage(BaseModel):
    feature: str
    tier: str | None  # the lowest tier that includes it (None: not in the catalog)
    articles: dict[str, list[str]]  # kind -> published customer article ids
    missing: list[str]  # needed kinds with no article


class ProductCoverage(BaseModel):
    product: str
    name: str
    articles: int
    by_value_type: dict[str, int]  # suggestion type -> articles that can support it
    features: list[FeatureCoverage]

    @property
    def gaps(self) -> int:
        return sum(1 for f in self.features if f.missing)


def _supports(article: Article, move: SuggestionType) -> bool:
    if move in article.value_types:
        return True
    kind = MOVE_KINDS[move]
    return bool(article.related) if kind is None else article.kind is kind


def coverage(catalog: Catalog | None, articles: Sequence[Article]) -> list[ProductCoverage]:
    """Per product: articles that can support each value move, and each catalog feature's
    how-to, best practice and value proof (published, customer-facing articles only)."""
    served = [a for a in articles if a.served and a.audience is Audience.customer]
    products = list(catalog.products) if catalog else []
    products += sorted({p for a in served for p in a.products} - set(products))
    out = []
    for product in products:
        info = catalog.products.get(product) if catalog else None
        own = [a for a in served if product in a.products]
        tiers: dict[str, str | None] = {}
        if info is not None:
            for tier_name, added in info.plans.items():
                for f in added:
                    tiers.setdefault(f, tier_name)
        for a in own:
            for f in a.features:
                tiers.setdefault(f, None)
        rows = []
        for feature, lowest in tiers.items():
            by_kind = {
                kind.value: sorted(a.id for a in own if a.kind is kind and feature in a.features)
                for kind in NEEDED_KINDS
            }
            rows.append(
                FeatureCoverage(
                    feature=feature,
                    tier=lowest,
                    articles=by_kind,
                    missing=[k for k, ids in by_kind.items() if not ids],
                )
            )
        out.append(
            ProductCoverage(
                product=product,
                name=info.name if info else product,
                articles=len(own),
                by_value_type={m.value: sum(_supports(a, m) for a in own) for m in MOVE_KINDS},
                features=rows,
            )
        )
    return out


class GapCase(BaseModel):
    case_id: str
    suggestion_id: str
    subject: str
    product: str | None
    confidence: float
    grounded: bool
    nearest_article: str | None  # the article the low-confidence answer cited
    at: dt.datetime


class GapTopic(BaseModel):
    topic: str
    product: str | None
    cases: list[GapCase]
    no_answer: int  # cases with no grounded answer
    low_confidence: int
    draft: str  # a Markdown article to start from


def grounded(suggestion: Suggestion) -> bool:
    """A resolution is grounded when it has steps or citations (otherwise 'No grounded answer')."""
    return bool(suggestion.resolution.steps or suggestion.resolution.citations)


def knowledge_gaps(
    stored: Sequence[StoredSuggestion],
    embedder: Embedder,
    *,
    threshold: float,
    similarity: float = 0.6,
) -> list[GapTopic]:
    """Recent cases with no grounded answer or a confidence under `threshold` (each case once,
    its newest answer), grouped by topic: cases whose text embeds within `similarity` of a
    group's first case join it. Biggest groups first."""
    latest: dict[str, StoredSuggestion] = {}
    for item in sorted(stored, key=lambda s: s.created_at, reverse=True):
        latest.setdefault(item.suggestion.case_id, item)
    gaps = [
        s
        for s in latest.values()
        if not grounded(s.suggestion) or s.suggestion.resolution.confidence < threshold
    ]
    if not gaps:
        return []
    texts = [_case_text(s) for s in gaps]
    vectors = np.asarray(embedder.embed(texts), dtype=np.float32)
    groups: list[list[int]] = []
    products = [s.case.product if s.case else None for s in gaps]
    for i, vec in enumerate(vectors):
        for members in groups:
            same_product = products[members[0]] == products[i]
            if same_product and float(vec @ vectors[members[0]]) >= similarity:
                members.append(i)
                break
        else:
            groups.append([i])
    topics = [_topic([gaps[i] for i in members]) for members in groups]
    return sorted(topics, key=lambda t: (-len(t.cases), t.topic))


def _case_text(s: StoredSuggestion) -> str:
    case = s.case
    if case is None:
        return s.suggestion.case_id
    parts = [case.subject, case.description, *(m.text for m in case.messages[:1])]
    return "\n".join(p for p in parts if p.strip())


def _topic(members: list[StoredSuggestion]) -> GapTopic:
    cases = []
    for s in members:
        citations = s.suggestion.resolution.citations
        cases.append(
            GapCase(
                case_id=s.suggestion.case_id,
                suggestion_id=s.suggestion.suggestion_id,
                subject=(s.case.subject if s.case else "") or _case_text(s)[:80],
                product=s.case.product if s.case else None,
                confidence=s.suggestion.resolution.confidence,
                grounded=grounded(s.suggestion),
                nearest_article=citations[0].article_id if citations else None,
                at=s.created_at,
            )
        )
    topic = cases[0].subject
    return GapTopic(
        topic=topic,
        product=cases[0].product,
        cases=cases,
        no_answer=sum(not c.grounded for c in cases),
        low_confidence=sum(c.grounded for c in cases),
        draft=draft_article(topic, cases[0].product, members),
    )


def _slug(text: str) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", text.lower())[:6]) or "new-article"


def draft_article(topic: str, product: str | None, members: Sequence[StoredSuggestion]) -> str:
    """A Markdown article skeleton with its front matter filled in from the cases it answers."""
    today = dt.date.today().isoformat()
    title = topic.strip().rstrip("?.!") or "New article"
    quotes = []
    for s in members[:5]:
        text = _case_text(s).replace("\n", " ").strip()
        quotes.append(f"> {text[:240]}{'…' if len(text) > 240 else ''}")
    front = [
        "---",
        f"id: draft-{_slug(title)}",
        f"title: {_yaml_str(title)}",
        "kind: troubleshooting        # or how_to, faq, best_practice",
        f"products: [{product or 'PRODUCT'}]",
        "features: []                 # the catalog features it covers",
        "audience: customer",
        "status: draft",
        "locale: en",
        f"updated: {today}",
        "---",
    ]
    body = [
        "",
        f"Use this when {title[0].lower() + title[1:]}.",
        "",
        f"<!-- Written for {len(members)} case(s) the copilot could not answer well, such as: "
        f"{', '.join(s.suggestion.case_id for s in members[:5])} -->",
        "",
        "## What customers told us",
        "",
        *quotes,
        "",
        "## Cause",
        "",
        "Why this happens.",
        "",
        "## Fix",
        "",
        "1. First step.",
        "2. Second step.",
        "",
        "## If it still fails",
        "",
        "What to send support.",
        "",
    ]
    return "\n".join(front + body)


def _yaml_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
