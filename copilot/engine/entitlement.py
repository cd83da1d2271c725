"""Expansion signals: capabilities the case calls for that the account's plan does not include.

Every article retrieved for the case on the account's product, whatever its tier, is a
candidate when it works on a feature the plan lacks. Whether a success manager should hear of
it is decided by a model fitted on labelled cases across companies
(EngineConfig.expansion_weights and expansion_threshold, `copilot eval calibrate`), from
features any case and knowledge base have: how close the article is to the case (dense and
fused scores, its rank), how it compares with the closest article the account may use, whether
the customer's own words name the feature, how much of the article lies beyond the plan, and
the article's kind.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from copilot.domain import Article, ArticleKind
from copilot.engine.logistic import logistic
from copilot.retrieval.search import ArticleHit

KINDS = (
    ArticleKind.troubleshooting,
    ArticleKind.how_to,
    ArticleKind.faq,
    ArticleKind.best_practice,
    ArticleKind.release_note,
    ArticleKind.value_proof,
)
# The expansion model's features, in the order of EngineConfig.expansion_weights (after its bias).
EXPANSION_FEATURES = (
    "similarity",  # the article's dense similarity to the case
    "score",  # its fused (dense and lexical) retrieval score
    "margin",  # its similarity minus that of the closest article the account may use
    "named",  # share of the feature's words (from its slug) the customer wrote, 0..1
    "rank",  # 1 / (1 + its rank among the articles retrieved for the case)
    "share_missing",  # 1 / the number of the article's features the plan lacks
    *(f"kind_{k.value}" for k in KINDS),
)
CANDIDATES = 12  # articles retrieved for the case to look for capabilities beyond the plan


@dataclass(frozen=True)
class ExpansionCandidate:
    """A feature the plan lacks, the article that shows the case needs it, and the evidence."""

    feature: str
    article: Article
    features: tuple[float, ...]


def expansion_candidates(
    hits: Sequence[ArticleHit],
    missing: Callable[[Article], list[str]],
    customer_text: str,
) -> list[ExpansionCandidate]:
    """One candidate per feature the plan lacks, from the closest article that needs it."""
    entitled = [h.dense_score or 0.0 for h in hits if not missing(h.article)]
    best_entitled = max(entitled, default=0.0)
    words = set(re.findall(r"[a-z0-9]+", customer_text.lower()))
    best: dict[str, ExpansionCandidate] = {}
    for rank, hit in enumerate(hits):
        lacking = missing(hit.article)
        for feature in lacking:
            if feature.startswith("("):
                continue  # a tier, not a feature: nothing a success manager could sell
            parts = [w for w in feature.split("_") if len(w) > 2] or [feature]
            dense = hit.dense_score or 0.0
            features = (
                dense,
                hit.score,
                dense - best_entitled,
                sum(w in words for w in parts) / len(parts),
                1.0 / (1 + rank),
                1.0 / len(lacking),
                *(float(hit.article.kind is k) for k in KINDS),
            )
            if feature not in best or dense > best[feature].features[0]:
                best[feature] = ExpansionCandidate(feature, hit.article, features)
    return list(best.values())


def expansion_probability(features: Sequence[float], weights: Sequence[float]) -> float:
    """The expansion model: a logistic of EXPANSION_FEATURES under (bias, *weights)."""
    return logistic(features, weights, "expansion_weights", EXPANSION_FEATURES)
