"""Scoring what the agent sees: the resolution ranking with its alternatives, value shown now
against value held for later, expansion signals, abstention and missed or false holds."""

from __future__ import annotations

from typing import Any

import pytest

from copilot.domain import (
    Alternative,
    Citation,
    Hold,
    Resolution,
    ResolutionStep,
    Suggestion,
    SuggestionMeta,
    SuggestionType,
    ValueSuggestion,
)
from evals import metrics as m
from evals import scoring
from evals.records import CaseRecord, ProducedValue
from evals.suite import Expected
from tests.factories import make_case

T = SuggestionType


def cite(article: str) -> Citation:
    return Citation(article_id=article, chunk_id=f"{article}-c0", title=article, quote="q")


def answer(
    cited: list[str], alternatives: list[str], *, held: bool = False, values: list[Any] = ()
) -> Suggestion:
    steps = [ResolutionStep(text="do it", citations=[cite(a)]) for a in cited]
    return Suggestion(
        suggestion_id="sg-1",
        case_id="c",
        resolution=Resolution(
            summary="s",
            steps=steps,
            citations=[cite(a) for a in cited],
            confidence=0.5,
            alternatives=[
                Alternative(article_id=a, title=a, passage="p", score=1.0 - i / 10)
                for i, a in enumerate(alternatives)
            ],
        ),
        value_suggestions=[
            ValueSuggestion(
                id=f"v{i}",
                type=t,
                headline="h",
                message="m",
                rationale="r",
                citations=[cite(a)],
                confidence=0.5,
                held=held,
            )
            for i, (t, a) in enumerate(values)
        ],
        hold=Hold(reason="upset") if held else None,
        meta=SuggestionMeta(mode="extractive"),
    )


def scored(suggestion: Suggestion, **gold: Any) -> CaseRecord:
    record = CaseRecord(id="c", case=make_case(), expected=Expected.model_validate(gold))
    record.grounded = suggestion.resolution.grounded
    record.resolution_ranking = scoring.resolution_ranking(suggestion)
    record.values = scoring.produced_values(suggestion)
    record.hold = suggestion.hold.reason if suggestion.hold else None
    record.expansion_signals = []
    record.scores = scoring.quality_scores(record)
    return record


def test_the_ranking_is_the_cited_answer_then_the_alternatives_shown() -> None:
    record = scored(answer(["kb-1"], ["kb-2", "kb-3"]), resolution_articles=["kb-3"])

    assert record.resolution_ranking == ["kb-1", "kb-2", "kb-3"]
    assert record.scores.hit_at_1 == 0.0 and record.scores.rr_at_10 == pytest.approx(1 / 3)
    assert record.scores.recall_at_5 == 1.0


def test_after_no_grounded_answer_the_first_rank_is_that_answer() -> None:
    record = scored(answer([], ["kb-3", "kb-2"]), resolution_articles=["kb-3"])

    assert not record.grounded
    assert record.resolution_ranking == [scoring.NO_ANSWER, "kb-3", "kb-2"]
    assert record.scores.hit_at_1 == 0.0 and record.scores.rr_at_10 == 0.5


def test_held_value_is_scored_apart_from_the_value_shown_now() -> None:
    held_right = scored(
        answer(["kb-1"], [], held=True, values=[(T.anticipate_needs, "kb-7")]),
        resolution_articles=["kb-1"],
        hold=True,
        value=[{"type": "anticipate_needs", "articles": ["kb-7"]}],
    )
    shown_while_held = scored(
        answer(["kb-1"], [], values=[(T.anticipate_needs, "kb-7")]),
        resolution_articles=["kb-1"],
        hold=True,
        value=[{"type": "anticipate_needs", "articles": ["kb-7"]}],
    )

    # held as the gold says: nothing shown now, nothing expected now; the held move is right
    assert held_right.scores.value_types.counts() == m.Counts(0, 0, 0)
    assert held_right.scores.deferred_pairs is not None
    assert held_right.scores.deferred_pairs.tp == 1 and held_right.scores.hold_correct
    # shown while it should wait: a false positive now, the hold missed
    assert shown_while_held.scores.value_types.fp == 1
    assert not shown_while_held.scores.hold_correct
    metrics = scoring.aggregate([held_right, shown_while_held])
    assert metrics["value.deferred.pairs.f1"] == 1.0
    assert metrics["hold.miss_rate"] == 0.5
    assert metrics["value.types.precision"] == 0.0


def test_held_value_on_a_calm_case_costs_recall_now() -> None:
    record = scored(
        answer(["kb-1"], [], held=True, values=[(T.educate_better_use, "kb-4")]),
        resolution_articles=["kb-1"],
        value=[{"type": "educate_better_use", "articles": ["kb-4"]}],
    )

    assert record.shown_values == [] and record.scores.value_types.fn == 1
    assert record.scores.deferred_types is None
    assert scoring.aggregate([record])["hold.false_hold_rate"] == 1.0


def test_expansion_is_scored_only_where_it_was_labelled() -> None:
    labelled = scored(answer(["kb-1"], []), resolution_articles=["kb-1"], expansion=["sso", "api"])
    labelled.expansion_signals = ["sso", "bulk_import"]
    labelled.scores = scoring.quality_scores(labelled)
    unlabelled = scored(answer(["kb-1"], []), resolution_articles=["kb-1"])
    unlabelled.expansion_signals = ["anything"]
    unlabelled.scores = scoring.quality_scores(unlabelled)

    metrics = scoring.aggregate([labelled, unlabelled])

    assert unlabelled.scores.expansion is None
    assert metrics["expansion.precision"] == 0.5 and metrics["expansion.recall"] == 0.5
    assert scoring.aggregate([unlabelled])["expansion.recall"] is None


def test_abstention_precision_and_recall() -> None:
    right_abstain = scored(answer([], ["kb-2"]), resolution_articles=[])
    wrong_abstain = scored(answer([], []), resolution_articles=["kb-1"])
    invented = scored(answer(["kb-9"], []), resolution_articles=[])
    answered = scored(answer(["kb-1"], []), resolution_articles=["kb-1"])

    metrics = scoring.aggregate([right_abstain, wrong_abstain, invented, answered])

    assert metrics["abstention.precision"] == 0.5  # 2 abstentions, 1 right
    assert metrics["abstention.recall"] == 0.5  # 2 unanswerable cases, 1 abstained on
    assert metrics["resolution.hit@1"] == 0.5  # over the 2 cases with a gold answer


def test_produced_values_keep_the_held_mark() -> None:
    values = scoring.produced_values(
        answer(["kb-1"], [], held=True, values=[(T.validate_purchase, "kb-70")])
    )
    assert values == [
        ProducedValue(
            type=T.validate_purchase, article_id="kb-70", headline="h", confidence=0.5, held=True
        )
    ]


def test_reports_name_deferred_value_expansion_and_answers_to_unanswerable_cases() -> None:
    from evals.report.junit import case_failures, expected_vs_produced

    record = scored(
        answer(["kb-1"], [], held=True, values=[(T.advise_new_use, "kb-9")]),
        resolution_articles=[],
        hold=True,
        value=[{"type": "anticipate_needs", "articles": ["kb-7"]}],
        expansion=["sso"],
    )

    failures = {(f.kind, f.message) for f in case_failures(record)}

    assert ("deferred", "missed anticipate_needs") in failures
    assert ("deferred", "invented advise_new_use") in failures
    assert ("expansion", "missed sso") in failures
    assert ("resolution", "answered, but the knowledge base does not answer the case") in failures
    assert not any(kind == "value" for kind, _ in failures)  # nothing was shown while held
    assert "advise_new_use (kb-9, held)" in expected_vs_produced(record)


def test_a_held_suggestion_used_later_becomes_value_for_once_resolved() -> None:
    import datetime as dt

    from copilot.domain import Case
    from copilot.store.sql import FeedbackEvent
    from evals.feedback import candidate

    held = answer(["kb-1"], [], held=True, values=[(T.anticipate_needs, "kb-7")])
    used = FeedbackEvent(
        item_id="v0",
        item_type="anticipate_needs",
        event="inserted",
        final_text=None,
        reason=None,
        agent_id="a-1",
        at=dt.datetime(2026, 11, 22, tzinfo=dt.UTC),
    )

    line = candidate(held, Case.model_validate(make_case()), [used])

    assert line is not None and line["expected"]["hold"] is True and "hold" in line["tags"]
    assert line["expected"]["value"] == [{"type": "anticipate_needs", "articles": ["kb-7"]}]
    Expected.model_validate(line["expected"])  # a valid label: held, with value for later
