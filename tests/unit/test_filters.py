"""SearchFilters decide which articles a search may return, the same way in Python (lexical
index) and as a Chroma `where` clause over chunk metadata (vector index)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from copilot.domain import Article, ArticleKind, ArticleStatus, Audience
from copilot.retrieval.filters import ALL_PLANS, SearchFilters, chunk_metadata
from tests.factories import make_article


def article(**overrides: Any) -> Article:
    return Article.model_validate(make_article(**overrides))


def where_matches(where: dict[str, Any], metadata: dict[str, Any]) -> bool:
    """Evaluate the subset of Chroma's where-language that chroma_where emits."""
    if "$and" in where:
        return all(where_matches(clause, metadata) for clause in where["$and"])
    if "$or" in where:
        return any(where_matches(clause, metadata) for clause in where["$or"])
    [(key, condition)] = where.items()
    value = metadata[key]
    if isinstance(condition, dict):
        [(op, operand)] = condition.items()
        if op == "$contains":
            return operand in value
        if op == "$in":
            return value in operand
        raise AssertionError(f"operator {op} not handled by this test")
    return bool(value == condition)


# --------------------------------------------------------------------------- defaults
def test_default_filter_returns_published_articles_only() -> None:
    filters = SearchFilters()

    assert filters.status is ArticleStatus.published
    assert filters.matches(article())
    assert not filters.matches(article(status="draft"))
    assert not filters.matches(article(status="archived"))
    assert filters.chroma_where() == {"status": "published"}


def test_asking_for_drafts_returns_drafts_only() -> None:
    filters = SearchFilters(status=ArticleStatus.draft)

    assert filters.matches(article(status="draft"))
    assert not filters.matches(article())
    assert filters.chroma_where() == {"status": "draft"}


# --------------------------------------------------------------------------- product and plan
def test_product_filter_matches_articles_listing_that_product() -> None:
    filters = SearchFilters(product="shiftwise")

    assert filters.matches(article(products=["ledgerly", "shiftwise"]))
    assert not filters.matches(article(products=["ledgerly"]))
    assert filters.chroma_where() == {
        "$and": [{"status": "published"}, {"products": {"$contains": "shiftwise"}}]
    }


def test_article_without_plans_matches_every_tier() -> None:
    for tier in ("starter", "pro", "enterprise"):
        assert SearchFilters(plan=tier).matches(article())


def test_article_with_plans_matches_only_those_tiers() -> None:
    pro_up = article(plans=["pro", "enterprise"])

    assert SearchFilters(plan="pro").matches(pro_up)
    assert not SearchFilters(plan="starter").matches(pro_up)


def test_plan_clause_also_accepts_the_every_tier_marker() -> None:
    where = SearchFilters(plan="starter").chroma_where()

    assert where == {
        "$and": [
            {"status": "published"},
            {"$or": [{"plans": {"$contains": "starter"}}, {"plans": {"$contains": ALL_PLANS}}]},
        ]
    }
    assert chunk_metadata(article())["plans"] == [ALL_PLANS]
    assert chunk_metadata(article(plans=["pro"]))["plans"] == ["pro"]


# --------------------------------------------------------------- kinds, audience, locale
def test_kinds_filter_matches_any_listed_kind() -> None:
    filters = SearchFilters(kinds=(ArticleKind.how_to, ArticleKind.best_practice))

    assert filters.matches(article(kind="how_to"))
    assert filters.matches(article(kind="best_practice"))
    assert not filters.matches(article(kind="troubleshooting"))
    assert {"kind": {"$in": ["how_to", "best_practice"]}} in filters.chroma_where()["$and"]


def test_audience_filter_separates_customer_and_internal_articles() -> None:
    customer_only = SearchFilters(audience=Audience.customer)

    assert customer_only.matches(article())
    assert not customer_only.matches(article(audience="internal"))
    assert SearchFilters().matches(article(audience="internal"))  # unset does not filter
    assert {"audience": "customer"} in customer_only.chroma_where()["$and"]


def test_locale_filter_matches_exact_locale() -> None:
    filters = SearchFilters(locale="de")

    assert filters.matches(article(locale="de"))
    assert not filters.matches(article(locale="en"))
    assert not filters.matches(article(locale="de-AT"))
    assert {"locale": "de"} in filters.chroma_where()["$and"]


def test_every_set_filter_must_pass() -> None:
    filters = SearchFilters(
        product="ledgerly",
        plan="pro",
        kinds=(ArticleKind.faq,),
        audience=Audience.customer,
        locale="en",
    )

    assert filters.matches(article(kind="faq", plans=["pro"]))
    assert not filters.matches(article(kind="faq", plans=["starter"]))
    assert not filters.matches(article(kind="how_to", plans=["pro"]))
    assert len(filters.chroma_where()["$and"]) == 6


def test_filters_are_immutable_and_hashable() -> None:
    filters = SearchFilters(product="ledgerly")

    with pytest.raises(ValueError, match="frozen"):
        filters.product = "shiftwise"  # type: ignore[misc]
    assert hash(filters) == hash(SearchFilters(product="ledgerly"))


# --------------------------------------------------------------------------- both agree
articles = st.builds(
    lambda products, plans, kind, audience, status, locale: article(
        products=products,
        plans=plans,
        kind=kind,
        audience=audience,
        status=status,
        locale=locale,
        released="2026-01-01",
    ),
    products=st.lists(st.sampled_from(["ledgerly", "shiftwise"]), min_size=1, unique=True),
    plans=st.none()
    | st.lists(st.sampled_from(["starter", "pro", "enterprise"]), min_size=1, unique=True),
    kind=st.sampled_from([k.value for k in ArticleKind]),
    audience=st.sampled_from([a.value for a in Audience]),
    status=st.sampled_from([s.value for s in ArticleStatus]),
    locale=st.sampled_from(["en", "de"]),
)
filter_sets = st.builds(
    SearchFilters,
    product=st.none() | st.sampled_from(["ledgerly", "shiftwise"]),
    plan=st.none() | st.sampled_from(["starter", "pro", "enterprise"]),
    kinds=st.lists(st.sampled_from(list(ArticleKind)), max_size=3, unique=True).map(tuple),
    audience=st.none() | st.sampled_from(list(Audience)),
    status=st.sampled_from(list(ArticleStatus)),
    locale=st.none() | st.sampled_from(["en", "de"]),
)


@settings(max_examples=200, deadline=None)
@given(filters=filter_sets, doc=articles)
def test_chroma_where_selects_exactly_the_articles_matches_accepts(
    filters: SearchFilters, doc: Article
) -> None:
    assert where_matches(filters.chroma_where(), chunk_metadata(doc)) == filters.matches(doc)
