"""Agreement between two blind reviewers: kappa per type, pairs, holds, resolutions."""

from __future__ import annotations

from typing import Any

import pytest

from evals.agreement import agreement
from evals.suite import Expected


def gold(*values: tuple[str, list[str]], hold: bool = False, **kw: Any) -> Expected:
    return Expected(
        resolution_articles=kw.pop("resolution", ["kb-1"]),
        value=[{"type": t, "articles": a} for t, a in values],
        hold=hold,
        **kw,
    )


def test_identical_labels_agree_perfectly() -> None:
    labels = {
        "c1": gold(("achieve_goal", ["kb-2"]), expansion=[]),
        "c2": gold(hold=True, expansion=["sso"]),
        "c3": gold(("educate_better_use", ["kb-4"])),
    }

    result = agreement(labels, labels)

    assert result.cases == 3 and result.pairs_f1 == 1.0 and result.types_f1 == 1.0
    assert result.hold_kappa == 1.0 and result.resolution_same == 1.0
    by_type = {t.type: t for t in result.types}
    assert by_type["achieve_goal"].kappa == 1.0
    assert by_type["advise_new_use"].kappa is None  # nobody labelled it: undefined
    assert result.expansion_same == 1.0 and result.disagreements == []


def test_kappa_corrects_for_chance_and_pairs_match_on_overlapping_articles() -> None:
    a = {
        "c1": gold(("achieve_goal", ["kb-2", "kb-3"])),
        "c2": gold(("achieve_goal", ["kb-2"])),
        "c3": gold(),
        "c4": gold(),
    }
    b = {
        "c1": gold(("achieve_goal", ["kb-3"])),  # overlapping article: the pair agrees
        "c2": gold(("achieve_goal", ["kb-9"])),  # same type, other article
        "c3": gold(("achieve_goal", ["kb-2"])),
        "c4": gold(),
        "c5": gold(),  # only B labelled it: not compared
    }

    result = agreement(a, b)

    goal = next(t for t in result.types if t.type == "achieve_goal")
    assert (goal.a, goal.b, goal.both) == (2, 3, 2)
    assert goal.observed == 0.75
    # p_o = 0.75, p_e = 0.5*0.75 + 0.5*0.25 = 0.5, kappa = 0.5
    assert goal.kappa == pytest.approx(0.5)
    assert result.pairs_f1 == pytest.approx(2 * 1 / (2 * 1 + 2 + 1))
    assert result.cases == 4
    assert [d["id"] for d in result.disagreements] == ["c3"]


def test_hold_and_resolution_disagreements_are_listed() -> None:
    a = {"c1": gold(hold=True), "c2": gold(resolution=["kb-1", "kb-5"]), "c3": gold()}
    b = {"c1": gold(), "c2": gold(resolution=["kb-5"]), "c3": gold(resolution=[])}

    result = agreement(a, b)

    assert result.hold_observed == pytest.approx(2 / 3, abs=1e-4)
    assert result.resolution_same == pytest.approx(1 / 3, abs=1e-4)
    assert result.resolution_overlap == pytest.approx(2 / 3, abs=1e-4)
    assert {d["id"] for d in result.disagreements} == {"c1", "c2", "c3"}
