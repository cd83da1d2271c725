"""The data contracts refuse what DESIGN.md forbids and accept what it allows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pydantic
import pytest

from copilot.domain import (
    Article,
    ArticleKind,
    ArticleStatus,
    Audience,
    Case,
    Citation,
    Resolution,
    SuccessPlan,
    Suggestion,
    SuggestionMeta,
    SuggestionType,
    ValueSuggestion,
)
from tests.factories import make_article, make_case, make_plan


def refusal(model: type[pydantic.BaseModel], data: dict[str, Any]) -> list[dict[str, Any]]:
    """The errors a contract raises for data; fails the test if the data is accepted."""
    with pytest.raises(pydantic.ValidationError) as caught:
        model.model_validate(data)
    return caught.value.errors()


def locs(errors: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    return {tuple(e["loc"]) for e in errors}


def messages(errors: list[dict[str, Any]]) -> str:
    return " | ".join(str(e["msg"]) for e in errors)


# --------------------------------------------------------------------------- articles
def test_factory_article_is_valid_and_gets_contract_defaults() -> None:
    article = Article.model_validate(make_article())

    assert article.kind is ArticleKind.troubleshooting
    assert article.audience is Audience.customer
    assert article.status is ArticleStatus.published
    assert article.locale == "en"
    assert article.plans is None and article.applies_to_plan("starter")
    assert article.served


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "tutorial"),
        ("audience", "everyone"),
        ("status", "live"),
        ("value_types", ["upsell"]),
    ],
)
def test_article_enum_fields_refuse_values_outside_the_contract(field: str, value: Any) -> None:
    errors = refusal(Article, make_article(**{field: value}))

    assert {e["type"] for e in errors} == {"enum"}
    assert {loc[0] for loc in locs(errors)} == {field}


@pytest.mark.parametrize("field", ["id", "title", "kind", "products", "body"])
def test_article_required_fields_are_reported_missing(field: str) -> None:
    data = make_article()
    del data[field]

    errors = refusal(Article, data)

    assert (field,) in locs(errors)
    assert any(e["type"] == "missing" for e in errors if e["loc"] == (field,))


def test_article_needs_at_least_one_product() -> None:
    errors = refusal(Article, make_article(products=[]))

    assert locs(errors) == {("products",)}
    assert errors[0]["type"] == "too_short"


@pytest.mark.parametrize("blank", ["", "   "])
def test_article_title_and_body_may_not_be_blank(blank: str) -> None:
    errors = refusal(Article, make_article(title=blank, body=blank))

    assert locs(errors) == {("title",), ("body",)}


def test_unknown_article_field_is_refused_not_ignored() -> None:
    errors = refusal(Article, make_article(titel="Typo"))

    assert locs(errors) == {("titel",)}
    assert errors[0]["type"] == "extra_forbidden"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("products", ["Ledgerly"]),
        ("products", ["ledger ly"]),
        ("plans", ["pro!"]),
        ("features", ["bank-sync-"]),
        ("features", ["_bank"]),
    ],
)
def test_slugs_must_be_lowercase_words_joined_by_dash_or_underscore(
    field: str, value: list[str]
) -> None:
    errors = refusal(Article, make_article(**{field: value}))

    assert locs(errors) == {(field, 0)}
    assert errors[0]["type"] == "string_pattern_mismatch"


def test_slugs_accept_dashes_underscores_and_digits() -> None:
    article = Article.model_validate(
        make_article(products=["ledgerly-2"], features=["bank_sync", "api-v2"])
    )

    assert article.products == ["ledgerly-2"]
    assert article.features == ["bank_sync", "api-v2"]


@pytest.mark.parametrize("field", ["products", "plans", "features", "related"])
def test_list_fields_refuse_duplicate_values(field: str) -> None:
    value = ["kb-0001", "kb-0001"] if field == "related" else ["pro", "pro"]

    errors = refusal(Article, make_article(**{field: value}))

    assert locs(errors) == {(field,)}
    assert "duplicate values ['" in errors[0]["msg"]


def test_dates_parse_from_iso_text_and_refuse_impossible_dates() -> None:
    article = Article.model_validate(make_article(updated="2026-10-01"))
    assert article.updated == dt.date(2026, 10, 1)

    errors = refusal(Article, make_article(updated="2026-02-30"))
    assert locs(errors) == {("updated",)}
    assert errors[0]["type"].startswith("date")


def test_release_note_needs_released_date() -> None:
    errors = refusal(Article, make_article(kind="release_note"))

    assert "release_note articles need `released" in messages(errors)

    note = Article.model_validate(make_article(kind="release_note", released="2026-09-01"))
    assert note.released == dt.date(2026, 9, 1)


def test_related_may_not_list_the_article_itself() -> None:
    errors = refusal(Article, make_article(id="kb-9001", related=["kb-0002", "kb-9001"]))

    assert "`related` lists the article itself (kb-9001)" in messages(errors)


def test_empty_plans_list_is_refused_because_it_would_match_no_tier() -> None:
    errors = refusal(Article, make_article(plans=[]))

    assert locs(errors) == {("plans",)}
    assert "omit `plans` to mean every tier" in errors[0]["msg"]


def test_article_with_plans_applies_only_to_those_tiers() -> None:
    article = Article.model_validate(make_article(plans=["pro", "enterprise"]))

    assert article.applies_to_plan("pro")
    assert not article.applies_to_plan("starter")


@pytest.mark.parametrize(
    ("field", "value"),
    [("locale", "english"), ("locale", "en-us"), ("url", "help.example.com/kb")],
)
def test_locale_and_url_formats_are_checked(field: str, value: str) -> None:
    errors = refusal(Article, make_article(**{field: value}))

    assert locs(errors) == {(field,)}


@pytest.mark.parametrize("status", ["draft", "archived"])
def test_only_published_articles_are_served(status: str) -> None:
    assert not Article.model_validate(make_article(status=status)).served


# --------------------------------------------------------------------------- success plans
def test_factory_plan_is_valid() -> None:
    plan = SuccessPlan.model_validate(make_plan())

    assert plan.plan_for("ledgerly") == "pro"
    assert plan.plan_for("shiftwise") is None
    assert plan.entitled("auto_reconcile") and not plan.entitled("api_access")


@pytest.mark.parametrize(("field", "value"), [("segment", "enterprise"), ("stage", "churned")])
def test_plan_enum_fields_refuse_values_outside_the_contract(field: str, value: str) -> None:
    errors = refusal(SuccessPlan, make_plan(**{field: value}))

    assert locs(errors) == {(field,)}
    assert errors[0]["type"] == "enum"


def test_objective_and_milestone_statuses_are_enums() -> None:
    errors = refusal(
        SuccessPlan,
        make_plan(
            objectives=[{"id": "obj-1", "statement": "Close fast", "status": "done"}],
            milestones=[{"id": "ms-1", "name": "Connect", "status": "achieved"}],
        ),
    )

    assert locs(errors) == {("objectives", 0, "status"), ("milestones", 0, "status")}


@pytest.mark.parametrize("field", ["account_id", "name", "segment", "products", "stage"])
def test_plan_required_fields_are_reported_missing(field: str) -> None:
    data = make_plan()
    del data[field]

    assert (field,) in locs(refusal(SuccessPlan, data))


def test_plan_needs_at_least_one_product() -> None:
    errors = refusal(SuccessPlan, make_plan(products=[]))

    assert locs(errors) == {("products",)}


def test_adopted_features_must_be_entitlements() -> None:
    errors = refusal(
        SuccessPlan,
        make_plan(entitlements=["invoicing"], adopted_features=["invoicing", "api_access"]),
    )

    assert "adopted_features ['api_access'] are not in entitlements" in messages(errors)


def test_duplicate_objective_ids_are_refused() -> None:
    objective = {"id": "obj-1", "statement": "Close the books in 3 days"}

    errors = refusal(SuccessPlan, make_plan(objectives=[objective, dict(objective)]))

    assert "objectives ids must be unique" in messages(errors)


def test_duplicate_milestone_ids_are_refused() -> None:
    milestone = {"id": "ms-1", "name": "Connect all banks"}

    errors = refusal(SuccessPlan, make_plan(milestones=[milestone, dict(milestone)]))

    assert "milestones ids must be unique" in messages(errors)


def test_a_product_may_appear_once_in_a_plan() -> None:
    owned = {"product": "ledgerly", "plan": "pro"}

    errors = refusal(SuccessPlan, make_plan(products=[owned, {**owned, "plan": "starter"}]))

    assert "each product may appear once" in messages(errors)


@pytest.mark.parametrize("renewal", ["2026-03-01", "2026-02-01"])
def test_renewal_must_be_after_since(renewal: str) -> None:
    owned = {"product": "ledgerly", "plan": "pro", "since": "2026-03-01", "renewal": renewal}

    errors = refusal(SuccessPlan, make_plan(products=[owned]))

    assert locs(errors) == {("products", 0)}
    assert f"renewal {renewal} must be after since 2026-03-01" in messages(errors)


def test_health_is_a_score_from_0_to_100() -> None:
    assert SuccessPlan.model_validate(make_plan(health=0)).health == 0
    assert SuccessPlan.model_validate(make_plan(health=100)).health == 100
    assert locs(refusal(SuccessPlan, make_plan(health=101))) == {("health",)}
    assert locs(refusal(SuccessPlan, make_plan(health=-1))) == {("health",)}


def test_plan_entitlements_refuse_duplicates_and_bad_slugs() -> None:
    dupes = refusal(
        SuccessPlan, make_plan(entitlements=["invoicing", "invoicing"], adopted_features=[])
    )
    bad = refusal(SuccessPlan, make_plan(entitlements=["Bank Sync"], adopted_features=[]))

    assert locs(dupes) == {("entitlements",)}
    assert locs(bad) == {("entitlements", 0)}


# --------------------------------------------------------------------------- cases
def test_factory_case_is_valid() -> None:
    case = Case.model_validate(make_case())

    assert case.messages[0].text == "Nothing new from the bank since Monday."


@pytest.mark.parametrize(
    "text",
    [
        {"subject": "Bank feed broken"},
        {"description": "Nothing imported since Monday"},
        {"messages": [{"text": "Help"}]},
    ],
)
def test_a_case_with_any_one_kind_of_text_is_accepted(text: dict[str, Any]) -> None:
    data = make_case(subject="", description="", messages=[]) | text

    assert Case.model_validate(data).case_id == "c-9001"


def test_a_case_without_any_text_is_refused() -> None:
    errors = refusal(Case, make_case(subject="  ", description="", messages=[]))

    assert "a case needs a subject, a description or at least one message" in messages(errors)


def test_case_priority_and_message_role_are_enums() -> None:
    errors = refusal(Case, make_case(priority="critical", messages=[{"role": "bot", "text": "hi"}]))

    assert locs(errors) == {("priority",), ("messages", 0, "role")}


# --------------------------------------------------------------------------- suggestions
CITATION = Citation(article_id="kb-1", chunk_id="kb-1::000-abc", title="T", quote="q")


def value_suggestion(kind: SuggestionType, n: int = 0) -> ValueSuggestion:
    return ValueSuggestion(
        id=f"v-{n}",
        type=kind,
        headline="h",
        message="m",
        rationale="r",
        citations=[CITATION],
        confidence=0.5,
    )


def make_suggestion(values: list[ValueSuggestion]) -> dict[str, Any]:
    return {
        "suggestion_id": "s-1",
        "case_id": "c-1",
        "resolution": Resolution(summary="Reconnect", citations=[CITATION], confidence=0.8),
        "value_suggestions": values,
        "meta": SuggestionMeta(mode="extractive"),
    }


def test_three_suggestions_of_distinct_types_are_accepted() -> None:
    kinds = [
        SuggestionType.achieve_goal,
        SuggestionType.advise_new_use,
        SuggestionType.validate_purchase,
    ]

    suggestion = Suggestion.model_validate(
        make_suggestion([value_suggestion(k, n) for n, k in enumerate(kinds)])
    )

    assert [s.type for s in suggestion.value_suggestions] == kinds


def test_suggestion_forbids_two_value_suggestions_of_the_same_type() -> None:
    values = [value_suggestion(SuggestionType.achieve_goal, n) for n in range(2)]

    errors = refusal(Suggestion, make_suggestion(values))

    assert "value suggestions must be of distinct types" in messages(errors)


def test_suggestion_allows_at_most_three_value_suggestions() -> None:
    values = [value_suggestion(kind, n) for n, kind in enumerate(list(SuggestionType)[:4])]

    errors = refusal(Suggestion, make_suggestion(values))

    assert locs(errors) == {("value_suggestions",)}
    assert errors[0]["type"] == "too_long"


def test_value_suggestion_needs_a_citation_and_a_bounded_confidence() -> None:
    base = value_suggestion(SuggestionType.achieve_goal).model_dump()

    no_citation = refusal(ValueSuggestion, {**base, "citations": []})
    too_sure = refusal(ValueSuggestion, {**base, "confidence": 1.5})

    assert locs(no_citation) == {("citations",)}
    assert locs(too_sure) == {("confidence",)}
