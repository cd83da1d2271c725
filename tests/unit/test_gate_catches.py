"""Each shipped suite's gate, with its own thresholds and its committed baseline, catches real
regressions: a suggestion citing the wrong article of the right type, a reversed resolution
ranking, and one more missed hold. The baseline itself passes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from evals import scoring
from evals.gate import evaluate
from evals.records import CaseRecord, GateResult, RunResult
from evals.suite import read_config
from tests.conftest import REPO

SUITES = sorted(p.parent for p in (REPO / "evals" / "suites").glob("*/baseline.json"))


def gate_after(suite: Path, change: Callable[[list[CaseRecord]], None]) -> GateResult:
    """The suite's gate on its baseline's cases after `change`, against the baseline."""
    config = read_config(suite)
    baseline = RunResult.model_validate_json((suite / "baseline.json").read_text("utf-8"))
    records = [r.model_copy(deep=True) for r in baseline.cases]
    change(records)
    for r in records:
        r.scores = scoring.quality_scores(r)
    return evaluate(config, scoring.aggregate(records), baseline.metrics, "baseline.json")


def failed(gate: GateResult) -> set[str]:
    return {c.metric for c in gate.checks if not c.passed}


def test_every_shipped_suite_has_a_baseline() -> None:
    names = {p.name for p in SUITES}
    assert {"fernhill", "brightcart", "forkful"} <= names


@pytest.mark.parametrize("suite", SUITES, ids=lambda p: p.name)
def test_the_baseline_passes_its_own_gate(suite: Path) -> None:
    gate = gate_after(suite, lambda records: None)
    assert gate.passed, failed(gate)


@pytest.mark.parametrize("suite", SUITES, ids=lambda p: p.name)
def test_citing_the_wrong_article_of_the_right_type_fails(suite: Path) -> None:
    def wrong_articles(records: list[CaseRecord]) -> None:
        for r in records:
            for v in r.values:
                v.article_id = f"not-{v.article_id}"

    gate = gate_after(suite, wrong_articles)

    assert not gate.passed
    assert "value.pairs.f1" in failed(gate)
    assert "value.types.f1" not in failed(gate)  # the types were right: only the pairs catch it


@pytest.mark.parametrize("suite", SUITES, ids=lambda p: p.name)
def test_a_reversed_resolution_ranking_fails(suite: Path) -> None:
    def reverse(records: list[CaseRecord]) -> None:
        for r in records:
            r.resolution_ranking = list(reversed(r.resolution_ranking))

    gate = gate_after(suite, reverse)

    assert not gate.passed
    assert {"resolution.hit@1", "resolution.mrr@10"} <= failed(gate)


@pytest.mark.parametrize("suite", SUITES, ids=lambda p: p.name)
def test_one_more_missed_hold_fails(suite: Path) -> None:
    def miss_one(records: list[CaseRecord]) -> None:
        held = next(r for r in records if r.expected.hold and r.hold is not None and not r.error)
        held.hold = None
        for v in held.values:
            v.held = False  # not held: the values are shown to an upset customer

    gate = gate_after(suite, miss_one)

    assert not gate.passed
    assert "hold.miss_rate" in failed(gate)
