"""Expansion signals: candidates beyond the plan, their features, and the model that picks them."""

from __future__ import annotations

import random
from typing import Any

import pytest

from copilot.domain import Article, Chunk
from copilot.engine.entitlement import (
    EXPANSION_FEATURES,
    expansion_candidates,
    expansion_probability,
)
from copilot.errors import ConfigError
from copilot.retrieval.search import ArticleHit
from evals.calibrate import ExpansionSample, fit_expansion, report_expansion
from tests.factories import make_article


def hit(article_id: str, features: list[str], dense: float, kind: str = "how_to") -> ArticleHit:
    data: dict[str, Any] = make_article(id=article_id, features=features, kind=kind)
    if kind == "release_note":
        data["released"] = "2026-10-01"
    article = Article.model_validate(data)
    chunk = Chunk(
        chunk_id=f"{article_id}-0",
        article_id=article_id,
        ord=0,
        text="text",
        title="t",
        token_count=1,
    )
    return ArticleHit(article, dense, chunk, [], dense_score=dense)


def named(features: tuple[float, ...]) -> dict[str, float]:
    return dict(zip(EXPANSION_FEATURES, features, strict=True))


def test_one_candidate_per_missing_feature_from_its_closest_article() -> None:
    owned = {"invoicing"}
    hits = [
        hit("kb-1", ["invoicing"], 0.7),
        hit("kb-2", ["multi_currency"], 0.6, kind="release_note"),
        hit("kb-3", ["multi_currency", "budgets"], 0.5),
    ]
    out = expansion_candidates(
        hits,
        lambda a: [f for f in a.features if f not in owned],
        "We bill in euros, multi currency?",
    )
    by_feature = {c.feature: c for c in out}
    assert set(by_feature) == {"multi_currency", "budgets"}
    mc = named(by_feature["multi_currency"].features)
    assert by_feature["multi_currency"].article.id == "kb-2"
    assert mc["margin"] == pytest.approx(0.6 - 0.7)  # below the best article they may use
    assert mc["named"] == 1.0 and mc["rank"] == pytest.approx(1 / 2)
    assert mc["kind_release_note"] == 1.0 and mc["share_missing"] == 1.0
    budgets = named(by_feature["budgets"].features)
    assert budgets["named"] == 0.0 and budgets["share_missing"] == 0.5


def test_a_tier_without_features_is_no_candidate() -> None:
    hits = [hit("kb-9", [], 0.8)]
    assert expansion_candidates(hits, lambda a: ["(enterprise tier)"], "anything") == []


def test_the_model_checks_its_weights() -> None:
    features = tuple(0.0 for _ in EXPANSION_FEATURES)
    assert expansion_probability(features, (0.0, *features)) == 0.5
    with pytest.raises(ConfigError, match="expansion_weights has 2 numbers"):
        expansion_probability(features, (0.0, 1.0))


def test_fitting_learns_what_a_reviewer_signals_and_picks_a_threshold() -> None:
    rng = random.Random(3)
    n = len(EXPANSION_FEATURES)
    data = []
    for i in range(120):
        candidates = []
        gold = set()
        for j in range(3):
            x = [0.0] * n
            asked = rng.random() < 0.3
            x[EXPANSION_FEATURES.index("named")] = 1.0 if asked else 0.0
            x[EXPANSION_FEATURES.index("similarity")] = rng.uniform(0.2, 0.8)
            candidates.append((f"f{i}-{j}", tuple(x)))
            if asked:
                gold.add(f"f{i}-{j}")
        data.append(ExpansionSample(tuple(candidates), frozenset(gold)))
    weights, threshold = fit_expansion(data)
    assert weights[1 + EXPANSION_FEATURES.index("named")] > 1
    assert 0.3 <= threshold <= 0.9
    figures = report_expansion(weights, threshold, data)
    assert figures["precision"] == 1.0 and figures["recall"] == 1.0


def test_too_few_candidates_are_refused() -> None:
    x = tuple(0.0 for _ in EXPANSION_FEATURES)
    with pytest.raises(ConfigError, match="at least 20 candidates"):
        fit_expansion([ExpansionSample((("a", x),), frozenset({"a"}))] * 3)
