"""The quality gate (absolute and relative checks) and comparing runs (deltas, intervals and
each case's fate)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from copilot.domain import SuggestionType
from evals import scoring
from evals.compare import compare
from evals.gate import evaluate
from evals.records import (
    CaseRecord,
    CaseScores,
    CountsModel,
    Fingerprint,
    ProducedValue,
    RunResult,
    SuiteInfo,
)
from evals.suite import Expected, SuiteConfig
from tests.factories import make_case

T = SuggestionType


def record(
    case_id: str,
    *,
    produced: list[tuple[T, str]] = (),
    ranking: list[str] = ("kb-1",),
    gold_values: list[tuple[T, str]] = (),
    hold: bool = False,
    held: bool = False,
    forbidden: list[str] = (),
    error: str | None = None,
) -> CaseRecord:
    expected = Expected(
        resolution_articles=["kb-1"],
        value=[{"type": t, "articles": [a]} for t, a in gold_values],
        hold=hold,
    )
    rec = CaseRecord(
        id=case_id,
        case=make_case(case_id=case_id),
        expected=expected,
        resolution_ranking=list(ranking),
        grounded=bool(ranking),
        values=[ProducedValue(type=t, article_id=a) for t, a in produced],
        hold="frustrated" if held else None,
        error=error,
        latency_ms={"total": 50.0},
    )
    pairs = [(t.value, a) for t, a in produced]
    types, pair, per_type = scoring.value_counts(pairs, expected.value_now)
    ranks = scoring.ranking_scores(rec.resolution_ranking, expected.resolution_articles)
    rec.scores = CaseScores(
        **ranks,
        value_types=CountsModel.of(types),
        value_pairs=CountsModel.of(pair),
        per_type={t: CountsModel.of(c) for t, c in per_type.items()},
        hold_correct=held == hold,
        forbidden_citations=list(forbidden),
    )
    return rec


def run(run_id: str, records: list[CaseRecord]) -> RunResult:
    return RunResult(
        run_id=run_id,
        created_at=dt.datetime(2026, 11, 30, tzinfo=dt.UTC),
        suite=SuiteInfo(name="s", path="/s", hash="h", cases=len(records)),
        fingerprint=Fingerprint(suite_hash="h", knowledge_hash="k", mode="extractive"),
        metrics=scoring.aggregate(records),
        cases=records,
    )


def config(**thresholds: Any) -> SuiteConfig:
    return SuiteConfig.model_validate({"name": "s", "knowledge": "k", "thresholds": thresholds})


GOOD = [
    record(f"c{i}", produced=[(T.advise_new_use, "kb-9")], gold_values=[(T.advise_new_use, "kb-9")])
    for i in range(20)
]


def test_aggregate_scores_ranking_values_holds_and_safety() -> None:
    records = [
        record(
            "a", produced=[(T.advise_new_use, "kb-9")], gold_values=[(T.advise_new_use, "kb-9")]
        ),
        record("b", ranking=["kb-2", "kb-1"], produced=[(T.achieve_goal, "kb-3")]),
        record("c", ranking=[], hold=True, held=True, forbidden=["kb-84"]),
        record("d", error="UpstreamUnavailable: boom"),
    ]

    metrics = scoring.aggregate(records)

    assert metrics["resolution.hit@1"] == 1 / 3
    assert metrics["resolution.mrr@10"] == (1 + 0.5 + 0) / 3
    assert metrics["value.types.precision"] == 0.5 and metrics["value.types.recall"] == 1.0
    assert metrics["value.advise_new_use.f1"] == 1.0
    assert metrics["value.achieve_goal.precision"] == 0.0
    assert metrics["hold.accuracy"] == 1.0
    assert metrics["safety.forbidden_citation_rate"] == 1 / 3
    assert metrics["errors"] == 1.0
    assert metrics["latency.p95_ms"] == 50.0


def test_absolute_thresholds_pass_and_fail_in_the_metric_s_direction() -> None:
    metrics = {
        "value.types.f1": 0.79,
        "safety.forbidden_citation_rate": 0.0,
        "latency.p95_ms": 120.0,
    }
    gate = evaluate(
        config(
            **{"value.types.f1": 0.8, "safety.forbidden_citation_rate": 0, "latency.p95_ms": 150}
        ),
        metrics,
    )

    assert not gate.passed
    failed = [c for c in gate.checks if not c.passed]
    assert [c.metric for c in failed] == ["value.types.f1"]
    assert failed[0].message == "value.types.f1 0.79 < 0.8"
    assert all(c.kind == "absolute" for c in gate.checks)


def test_a_misspelt_threshold_fails_the_gate_instead_of_passing_silently() -> None:
    gate = evaluate(config(**{"value.type.f1": 0.8}), {"value.types.f1": 1.0})
    assert not gate.passed and gate.checks[0].kind == "missing"


def test_relative_checks_allow_the_tolerance_and_no_more() -> None:
    cfg = config(
        **{
            "value.types.f1": {"min": 0.5},
            "safety.ungrounded_citation_rate": {"max": 1, "max_regression": 0.0},
            "latency.p95_ms": 500,
        }
    )
    base = {"value.types.f1": 0.90, "safety.ungrounded_citation_rate": 0.0, "latency.p95_ms": 50.0}

    within = evaluate(
        cfg, {**base, "value.types.f1": 0.885, "latency.p95_ms": 400.0}, base, "baseline.json"
    )
    beyond = evaluate(
        cfg, {**base, "value.types.f1": 0.87, "safety.ungrounded_citation_rate": 0.01}, base
    )

    assert within.passed and within.baseline == "baseline.json"
    assert not any(
        c.metric.startswith("latency") and c.kind == "relative" for c in within.checks
    )  # latency is machine-dependent
    assert {c.metric for c in beyond.checks if not c.passed} == {
        "value.types.f1",
        "safety.ungrounded_citation_rate",
    }


def test_comparing_runs_marks_each_case_and_bounds_each_delta() -> None:
    worse = [
        record(f"c{i}", produced=[], gold_values=[(T.advise_new_use, "kb-9")]) if i < 10 else r
        for i, r in enumerate(GOOD)
    ]
    a = run("a", [*worse[1:], record("new")])
    b = run("b", GOOD)

    result = compare(a, b, samples=300)

    fates = result.fates()
    assert fates == {"degraded": 9, "unchanged": 10, "added": 1, "removed": 1}
    f1 = next(d for d in result.metrics if d.metric == "value.types.f1")
    assert f1.delta is not None and f1.delta < 0 and f1.better is False
    assert f1.low is not None and f1.high is not None and f1.low <= f1.delta <= f1.high
    assert f1.significant
    degraded = next(c for c in result.cases if c.fate == "degraded")
    assert degraded.detail == "values ['advise_new_use'] -> []"


def test_a_run_compared_with_itself_changes_nothing() -> None:
    b = run("b", GOOD)
    result = compare(b, b, samples=200)
    assert result.fates() == {"unchanged": 20}
    assert all(not d.significant and d.better is None for d in result.metrics)


def test_a_baseline_of_other_cases_or_knowledge_is_refused_unless_allowed() -> None:
    from evals.gate import baseline_differences

    base = run("b", GOOD)
    changed = run("a", GOOD)
    changed.fingerprint = changed.fingerprint.model_copy(
        update={"suite_hash": "h2", "knowledge_hash": "k2"}
    )
    cfg = config(**{"value.types.f1": 0.5})

    differences = baseline_differences(changed, base)
    refused = evaluate(cfg, changed.metrics, base.metrics, "baseline.json", differences=differences)
    allowed = evaluate(
        cfg,
        changed.metrics,
        base.metrics,
        "baseline.json",
        differences=differences,
        allow_differences=True,
    )

    assert len(differences) == 2 and "the suite changed" in differences[0]
    assert not refused.passed
    (check,) = [c for c in refused.checks if c.kind == "baseline"]
    assert "promote a run" in check.message.lower() and "--allow-changed-baseline" in check.message
    assert not any(c.kind == "relative" for c in refused.checks)
    assert allowed.passed and any(c.kind == "relative" for c in allowed.checks)
    assert baseline_differences(base, base) == []


def test_floors_sit_at_the_edge_of_the_noise_band_and_harms_get_no_tolerance() -> None:
    from evals.floors import propose, thresholds_yaml

    mixed = GOOD[:12] + [
        record(
            f"m{i}", produced=[(T.achieve_goal, "kb-3")], gold_values=[(T.advise_new_use, "kb-9")]
        )
        for i in range(8)
    ]
    result = run("b", mixed)

    bounds = {b.metric: b for b in propose(result, samples=300)}

    f1 = bounds["value.types.f1"]
    assert f1.low < f1.value < f1.high
    assert f1.bound <= f1.low and f1.low - f1.bound < 0.01  # rounded down, just outside
    assert f1.key == "min"
    block = thresholds_yaml(list(bounds.values()))
    assert "hold.miss_rate: {max_regression: 0}" in block
    assert "safety.forbidden_citation_rate: {max: 0}" in block
    assert f"value.types.f1: {{min: {f1.bound:g}}}" in block


def test_the_macro_average_counts_each_suite_once() -> None:
    from evals.collection import macro

    averaged = macro([{"value.types.f1": 0.9, "expansion.recall": None}, {"value.types.f1": 0.5}])

    assert averaged["value.types.f1"] == pytest.approx(0.7)
    assert averaged["expansion.recall"] is None
