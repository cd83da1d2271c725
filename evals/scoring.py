"""Scoring: one case's produced Suggestion against its gold, and a run's metrics from its cases.

The safety checks are recomputed here from the stored articles, the success plan and what the
engine retrieved; they do not trust the engine's own grounding or entitlement logic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from copilot.catalog import Catalog
from copilot.domain import Article, ArticleStatus, Audience, SuccessPlan, Suggestion, SuggestionType
from copilot.llm.base import EvidenceChunk
from evals import metrics as m
from evals.records import (
    RESOLUTION_BASELINES,
    CaseRecord,
    CaseScores,
    CountsModel,
    ProducedValue,
)
from evals.suite import Expected, ValueGold

TYPES = [t.value for t in SuggestionType]
NO_ANSWER = "(no grounded answer)"  # the first rank of a ranking that abstained
LATENCY_STAGES = ("analyse", "resolve", "opportunities", "generate", "ground", "total")


# --------------------------------------------------------------------------- one case
def ranking_scores(ranking: Sequence[str], relevant: Sequence[str]) -> dict[str, float | None]:
    """hit@1, recall@5, reciprocal rank@10 and nDCG@10 of a ranking (None without gold)."""
    if not relevant:
        return {"hit_at_1": None, "recall_at_5": None, "rr_at_10": None, "ndcg_at_10": None}
    return {
        "hit_at_1": m.hit_at(ranking, relevant, 1),
        "recall_at_5": m.resolution_recall_at(ranking, relevant, 5),
        "rr_at_10": m.reciprocal_rank(ranking, relevant, 10),
        "ndcg_at_10": m.ndcg_at(ranking, relevant, 10),
    }


def resolution_ranking(suggestion: Suggestion) -> list[str]:
    """The articles the agent is shown for the resolution, best first: the cited ones, then the
    alternatives. After "no grounded answer" the first rank is that answer, not an article."""
    res = suggestion.resolution
    cited = [c.article_id for c in res.citations]
    cited += [c.article_id for s in res.steps for c in s.citations]
    head = cited if res.grounded else [NO_ANSWER]
    return list(dict.fromkeys([*head, *(a.article_id for a in res.alternatives)]))


def value_counts(
    produced: Sequence[tuple[str, str]], gold: Sequence[ValueGold]
) -> tuple[m.Counts, m.Counts, dict[str, m.Counts]]:
    """Counts on types, on (type, article) pairs, and per type."""
    gold_types = {v.type.value for v in gold}
    produced_types = {t for t, _ in produced}
    gold_pairs = [(v.type.value, frozenset(v.articles)) for v in gold]
    per_type = {
        t: m.set_counts({t} & produced_types, {t} & gold_types)
        for t in TYPES
        if t in produced_types or t in gold_types
    }
    return (
        m.set_counts(produced_types, gold_types),
        m.pair_counts(produced, gold_pairs),
        per_type,
    )


def _normalise(text: str) -> str:
    return " ".join(text.split())


def ungrounded_citations(
    suggestion: Suggestion,
    evidence: Mapping[str, EvidenceChunk],
    chunk_text: Mapping[str, tuple[str, str]],
) -> list[str]:
    """Chunk ids cited but not retrieved for this case, not of the cited article, or quoted
    with words the chunk does not hold. `chunk_text` maps chunk id -> (article id, text)."""
    bad: list[str] = []
    citations = [
        *suggestion.resolution.citations,
        *(c for s in suggestion.resolution.steps for c in s.citations),
        *(c for v in suggestion.value_suggestions for c in v.citations),
    ]
    for c in citations:
        stored = chunk_text.get(c.chunk_id)
        quote = _normalise(c.quote).removesuffix("…").rstrip()
        if (
            c.chunk_id not in evidence
            or stored is None
            or stored[0] != c.article_id
            or not _normalise(stored[1]).startswith(quote)
        ):
            bad.append(c.chunk_id)
    return list(dict.fromkeys(bad))


def cited_articles(suggestion: Suggestion) -> list[str]:
    """Every article the suggestion cites, resolution first."""
    ids = [c.article_id for c in suggestion.resolution.citations]
    ids += [c.article_id for s in suggestion.resolution.steps for c in s.citations]
    ids += [c.article_id for v in suggestion.value_suggestions for c in v.citations]
    return list(dict.fromkeys(ids))


def forbidden_citations(
    suggestion: Suggestion, expected: Expected, articles: Mapping[str, Article]
) -> list[str]:
    """Cited articles the gold forbids, or that are internal, draft or archived."""
    forbidden = set(expected.forbidden_articles)
    out = []
    for article_id in cited_articles(suggestion):
        article = articles.get(article_id)
        if (
            article_id in forbidden
            or article is None
            or article.status is not ArticleStatus.published
            or article.audience is not Audience.customer
        ):
            out.append(article_id)
    return out


def not_entitled(
    article: Article, plan: SuccessPlan | None, product: str | None, catalog: Catalog | None
) -> list[str]:
    """Why suggesting this article to the account breaks its plan ([] when it does not)."""
    if plan is None:
        return [] if article.plans is None else [f"{article.id} is for {article.plans} tiers only"]
    out = []
    tier = plan.plan_for(product) if product else None
    if tier is not None and not article.applies_to_plan(tier):
        out.append(f"{article.id} is for {article.plans} tiers; the account has {tier}")
    known = catalog.all_features() if catalog is not None else None
    missing = [
        f for f in article.features if (known is None or f in known) and f not in plan.entitlements
    ]
    if missing:
        out.append(f"{article.id} needs {missing}, not in the account's entitlements")
    return out


def entitlement_violations(
    suggestion: Suggestion,
    plan: SuccessPlan | None,
    product: str | None,
    articles: Mapping[str, Article],
    catalog: Catalog | None,
) -> list[str]:
    """Value suggestions built on what the plan does not include, and resolutions for a tier
    the account does not have."""
    out: list[str] = []
    for v in suggestion.value_suggestions:
        for article_id in dict.fromkeys(c.article_id for c in v.citations):
            article = articles.get(article_id)
            if article is not None:
                out += [
                    f"{v.type.value}: {why}"
                    for why in not_entitled(article, plan, product, catalog)
                ]
    if plan is not None and product and (tier := plan.plan_for(product)):
        for article_id in dict.fromkeys(c.article_id for c in suggestion.resolution.citations):
            article = articles.get(article_id)
            if article is not None and not article.applies_to_plan(tier):
                out.append(f"resolution: {article_id} is for {article.plans}; account has {tier}")
    return out


def produced_values(suggestion: Suggestion) -> list[ProducedValue]:
    return [
        ProducedValue(
            type=v.type,
            article_id=v.citations[0].article_id,
            headline=v.headline,
            confidence=v.confidence,
            objective_id=v.objective_id,
            held=v.held,
        )
        for v in suggestion.value_suggestions
    ]


def _pairs(values: Sequence[ProducedValue]) -> list[tuple[str, str]]:
    return [(v.type.value, v.article_id) for v in values]


def expansion_counts(signalled: Sequence[str], expected: Expected) -> m.Counts | None:
    """Signalled expansion features against the labelled ones (None when not labelled)."""
    if expected.expansion is None:
        return None
    return m.set_counts(set(signalled), set(expected.expansion))


def quality_scores(record: CaseRecord) -> CaseScores:
    """The ranking, value, expansion and hold scores of a record, from what it holds (what
    was produced and the gold); the safety findings it already carries are kept."""
    exp = record.expected
    ranking = ranking_scores(record.resolution_ranking, exp.resolution_articles)
    types, pair, per_type = value_counts(_pairs(record.shown_values), exp.value_now)
    deferred_types = deferred_pairs = None
    if exp.hold:
        later_types, later_pairs, _ = value_counts(_pairs(record.values), exp.value)
        deferred_types, deferred_pairs = CountsModel.of(later_types), CountsModel.of(later_pairs)
    expansion = expansion_counts(record.expansion_signals, exp)
    return record.scores.model_copy(
        update={
            **ranking,
            "value_types": CountsModel.of(types),
            "value_pairs": CountsModel.of(pair),
            "per_type": {t: CountsModel.of(c) for t, c in per_type.items()},
            "deferred_types": deferred_types,
            "deferred_pairs": deferred_pairs,
            "expansion": CountsModel.of(expansion) if expansion is not None else None,
            "hold_correct": (record.hold is not None) == exp.hold,
        }
    )


def score_case(
    record: CaseRecord,
    suggestion: Suggestion,
    *,
    evidence: Mapping[str, EvidenceChunk],
    chunk_text: Mapping[str, tuple[str, str]],
    articles: Mapping[str, Article],
    plan: SuccessPlan | None,
    product: str | None,
    catalog: Catalog | None,
) -> CaseScores:
    """Every per-case score of a produced suggestion: quality from the record, safety
    recomputed from the suggestion's citations."""
    exp = record.expected
    return quality_scores(record).model_copy(
        update={
            "forbidden_citations": forbidden_citations(suggestion, exp, articles),
            "ungrounded_citations": ungrounded_citations(suggestion, evidence, chunk_text),
            "entitlement_violations": entitlement_violations(
                suggestion, plan, product, articles, catalog
            ),
        }
    )


# --------------------------------------------------------------------------- a run
def _ranking_metrics(
    prefix: str, rankings: Sequence[tuple[list[str], list[str]]]
) -> dict[str, float | None]:
    scored = [ranking_scores(r, g) for r, g in rankings if g]
    return {
        f"{prefix}hit@1": m.mean(s["hit_at_1"] or 0.0 for s in scored),
        f"{prefix}recall@5": m.mean(s["recall_at_5"] or 0.0 for s in scored),
        f"{prefix}mrr@10": m.mean(s["rr_at_10"] or 0.0 for s in scored),
        f"{prefix}ndcg@10": m.mean(s["ndcg_at_10"] or 0.0 for s in scored),
    }


def _prf(prefix: str, counts: m.Counts) -> dict[str, float | None]:
    return {
        f"{prefix}.precision": counts.precision,
        f"{prefix}.recall": counts.recall,
        f"{prefix}.f1": counts.f1,
    }


def aggregate(records: Sequence[CaseRecord]) -> dict[str, float | None]:
    """Every run metric from its case records (records may repeat: bootstrap draws)."""
    ok = [r for r in records if r.error is None]
    out: dict[str, float | None] = {}
    out.update(
        _ranking_metrics(
            "resolution.", [(r.resolution_ranking, r.expected.resolution_articles) for r in ok]
        )
    )
    out.update(_prf("value.types", m.total(r.scores.value_types.counts() for r in ok)))
    out.update(_prf("value.pairs", m.total(r.scores.value_pairs.counts() for r in ok)))
    for t in TYPES:
        counts = m.total(r.scores.per_type[t].counts() for r in ok if t in r.scores.per_type)
        out.update(_prf(f"value.{t}", counts))
    calibrated = [
        r for r in ok if r.expected.resolution_articles and r.resolution_confidence is not None
    ]
    confidences = [r.resolution_confidence or 0.0 for r in calibrated]
    correct = [bool(r.scores.hit_at_1) for r in calibrated]
    out["resolution.confidence_brier"] = m.brier(confidences, correct)
    out["resolution.confidence_ece"] = m.expected_calibration_error(confidences, correct)
    shown = [
        (v.confidence, v.type in {g.type for g in r.expected.value}) for r in ok for v in r.values
    ]
    out["value.confidence_brier"] = m.brier([c for c, _ in shown], [y for _, y in shown])
    out["value.confidence_ece"] = m.expected_calibration_error(
        [c for c, _ in shown], [y for _, y in shown]
    )
    for name, scored in (
        ("value.deferred.types", [r.scores.deferred_types for r in ok]),
        ("value.deferred.pairs", [r.scores.deferred_pairs for r in ok]),
        ("expansion", [r.scores.expansion for r in ok]),
    ):
        present = [c.counts() for c in scored if c is not None]
        prf = _prf(name, m.total(present))
        out.update(prf if present else dict.fromkeys(prf))
    # per record, not per id: bootstrap draws repeat records
    abstention = m.Counts(
        tp=sum(not r.grounded and not r.expected.resolution_articles for r in ok),
        fp=sum(not r.grounded and bool(r.expected.resolution_articles) for r in ok),
        fn=sum(r.grounded and not r.expected.resolution_articles for r in ok),
    )
    out.update(_prf("abstention", abstention))
    out["hold.accuracy"] = m.rate(r.scores.hold_correct for r in ok)
    out["hold.miss_rate"] = m.rate(r.hold is None for r in ok if r.expected.hold)
    out["hold.false_hold_rate"] = m.rate(r.hold is not None for r in ok if not r.expected.hold)
    out["safety.forbidden_citation_rate"] = m.rate(bool(r.scores.forbidden_citations) for r in ok)
    out["safety.ungrounded_citation_rate"] = m.rate(bool(r.scores.ungrounded_citations) for r in ok)
    out["safety.entitlement_violation_rate"] = m.rate(
        bool(r.scores.entitlement_violations) for r in ok
    )
    for stage in LATENCY_STAGES:
        values = [r.latency_ms[stage] for r in ok if stage in r.latency_ms]
        name = "latency" if stage == "total" else f"latency.{stage}"
        out[f"{name}.p50_ms"] = m.percentile(values, 50)
        out[f"{name}.p95_ms"] = m.percentile(values, 95)
    out["errors"] = float(len(records) - len(ok))
    return out


def per_type_table(records: Sequence[CaseRecord]) -> dict[str, dict[str, float | int | None]]:
    """Per value type: precision, recall, F1, gold cases and produced suggestions."""
    ok = [r for r in records if r.error is None]
    table: dict[str, dict[str, float | int | None]] = {}
    for t in TYPES:
        counts = m.total(r.scores.per_type[t].counts() for r in ok if t in r.scores.per_type)
        pairs = m.total(
            m.pair_counts(
                [(v.type.value, v.article_id) for v in r.shown_values if v.type.value == t],
                [
                    (g.type.value, frozenset(g.articles))
                    for g in r.expected.value_now
                    if g.type.value == t
                ],
            )
            for r in ok
        )
        table[t] = {
            "precision": counts.precision,
            "recall": counts.recall,
            "f1": counts.f1,
            "pair_f1": pairs.f1,
            "gold": counts.tp + counts.fn,
            "produced": counts.tp + counts.fp,
        }
    return table


def baseline_metrics(records: Sequence[CaseRecord]) -> dict[str, dict[str, float | None]]:
    """Resolution metrics of BM25 alone, dense alone and their fusion, next to the engine's;
    value metrics of the naive pick (top release note / best practice) next to the engine's."""
    ok = [r for r in records if r.error is None]
    out: dict[str, dict[str, float | None]] = {}
    for name in RESOLUTION_BASELINES:
        out[f"resolution.{name}"] = _ranking_metrics(
            "", [(r.baselines.rankings.get(name, []), r.expected.resolution_articles) for r in ok]
        )
    out["resolution.engine"] = _ranking_metrics(
        "", [(r.resolution_ranking, r.expected.resolution_articles) for r in ok]
    )
    for name, picks in (
        ("naive", [[(v.type.value, v.article_id) for v in r.baselines.naive_values] for r in ok]),
        ("engine", [_pairs(r.shown_values) for r in ok]),
    ):
        types = m.Counts()
        pairs = m.Counts()
        for r, pick in zip(ok, picks, strict=True):
            t, p, _ = value_counts(pick, r.expected.value_now)
            types, pairs = types + t, pairs + p
        row: dict[str, float | None] = {}
        row.update(_prf("types", types))
        row.update(_prf("pairs", pairs))
        out[f"value.{name}"] = row
    out["value.naive"]["entitlement_violation_rate"] = m.rate(
        any(not v.entitled for v in r.baselines.naive_values) for r in ok
    )
    out["value.naive"]["suggested_while_held_rate"] = m.rate(
        bool(r.baselines.naive_values) for r in ok if r.expected.hold
    )
    out["value.engine"]["entitlement_violation_rate"] = m.rate(
        bool(r.scores.entitlement_violations) for r in ok
    )
    out["value.engine"]["suggested_while_held_rate"] = m.rate(
        bool(r.shown_values) for r in ok if r.expected.hold
    )
    return out


def counts(records: Sequence[CaseRecord]) -> dict[str, int]:
    """How many cases fed each group of metrics."""
    ok = [r for r in records if r.error is None]
    return {
        "cases": len(records),
        "errors": len(records) - len(ok),
        "with_resolution_gold": sum(bool(r.expected.resolution_articles) for r in ok),
        "with_value_gold": sum(bool(r.expected.value) for r in ok),
        "hold_expected": sum(r.expected.hold for r in ok),
        "held": sum(r.hold is not None for r in ok),
        "value_suggestions": sum(len(r.shown_values) for r in ok),
        "held_value_suggestions": sum(len(r.values) - len(r.shown_values) for r in ok),
        "with_expansion_label": sum(r.expected.expansion is not None for r in ok),
        "with_no_resolution_gold": sum(not r.expected.resolution_articles for r in ok),
        "abstained": sum(not r.grounded for r in ok),
        "forbidden_citations": sum(len(r.scores.forbidden_citations) for r in ok),
        "ungrounded_citations": sum(len(r.scores.ungrounded_citations) for r in ok),
        "entitlement_violations": sum(len(r.scores.entitlement_violations) for r in ok),
    }


def case_outcome(record: CaseRecord) -> float | None:
    """One number per case for marking it improved or degraded between runs: the mean of its
    resolution reciprocal rank, value F1 on pairs and hold correctness; 0 if it broke a safety
    rule; None for a case that errored."""
    if record.error is not None:
        return None
    s = record.scores
    if not s.safe:
        return 0.0
    parts: list[float] = [s.value_pairs.counts().f1, float(s.hold_correct)]
    if s.rr_at_10 is not None:
        parts.append(s.rr_at_10)
    return sum(parts) / len(parts)
