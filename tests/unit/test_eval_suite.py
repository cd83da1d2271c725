"""Suite loading and validation: every problem reported with its file, line and field; the
good lines of a suite still load; thresholds read the way QA writes them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from copilot.errors import ValidationError
from evals.suite import Direction, SuiteConfig, load_suite, metric_direction, summary
from tests.conftest import KNOWLEDGE
from tests.factories import make_case


def line(case_id: str, **expected: Any) -> dict[str, Any]:
    return {
        "id": case_id,
        "case": make_case(case_id=case_id, account_id="acct-1001"),
        "expected": {"resolution_articles": ["kb-0001"], **expected},
        "split": "dev",
    }


def write_suite(folder: Path, lines: list[Any], **config: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = {"name": "mini", "knowledge": str(KNOWLEDGE), "today": "2026-11-22", **config}
    (folder / "suite.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    text = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines)
    (folder / "cases.jsonl").write_text(text + "\n", encoding="utf-8")
    return folder


def problems(folder: Path) -> list[str]:
    with pytest.raises(ValidationError) as info:
        load_suite(folder)
    return [str(p) for p in info.value.problems]


def test_a_valid_suite_loads_from_any_working_folder(tmp_path: Path) -> None:
    folder = write_suite(
        tmp_path / "s",
        [
            line("c-1", value=[{"type": "anticipate_needs", "articles": ["kb-0021", "kb-0044"]}]),
            line("c-2", hold=True, forbidden_articles=["kb-0084"]),
        ],
        thresholds={"resolution.recall@5": 0.9, "safety.forbidden_citation_rate": 0},
    )

    suite = load_suite(folder)

    assert [c.id for c in suite.cases] == ["c-1", "c-2"]
    assert suite.config.thresholds["resolution.recall@5"].min == 0.9
    assert suite.config.thresholds["safety.forbidden_citation_rate"].max == 0.0
    assert suite.knowledge_paths == [KNOWLEDGE.resolve()]
    assert len(suite.content_hash) == 16
    counts = summary(suite.cases)
    assert counts["hold"] == 1 and counts["with_forbidden"] == 1
    assert counts["value_positive"]["anticipate_needs"] == 1


def test_every_bad_line_is_reported_with_line_and_field_at_once(tmp_path: Path) -> None:
    bad_type = line("c-2", value=[{"type": "advise", "articles": ["kb-0055"]}])
    typo = line("c-4")
    typo["case"]["titel"] = "x"
    folder = write_suite(
        tmp_path / "s",
        [
            line("c-1"),
            bad_type,
            "{not json",
            typo,
            line("c-1"),
            line("c-6", resolution_articles=["kb-9999"]),
            line("c-7", resolution_articles=["kb-0084"]),
        ],
    )

    found = problems(folder)

    cases = str(folder / "cases.jsonl")
    assert any(f"{cases}:2 [expected.value.0.type]" in p for p in found)
    assert any(f"{cases}:3" in p and "not valid JSON" in p for p in found)
    assert any(f"{cases}:4 [case.titel]" in p and "remove it" in p for p in found)
    assert any(f"{cases}:5 [id]" in p and "repeats line 1" in p for p in found)
    assert any(
        f"{cases}:6 [expected.resolution_articles[0]]" in p and "kb-9999" in p for p in found
    )
    assert any(f"{cases}:7" in p and "internal" in p and "forbidden_articles" in p for p in found)
    assert len(found) == 6


def test_a_held_case_may_list_the_value_for_once_the_resolution_lands(tmp_path: Path) -> None:
    folder = write_suite(
        tmp_path / "s",
        [line("c-1", hold=True, value=[{"type": "advise_new_use", "articles": ["kb-0055"]}])],
    )

    suite = load_suite(folder)

    (held,) = suite.cases
    assert held.expected.hold and [v.type.value for v in held.expected.value] == ["advise_new_use"]
    assert held.expected.value_now == []


def test_expansion_labels_must_be_catalog_features(tmp_path: Path) -> None:
    folder = write_suite(
        tmp_path / "s",
        [
            line("c-1", expansion=["approval_workflows"]),
            line("c-2", expansion=["approval_workflow"]),
            line("c-3", expansion=["sso", "sso"]),
        ],
    )

    found = " | ".join(problems(folder))

    assert "unknown feature 'approval_workflow'" in found and "[expected.expansion[0]]" in found
    assert "list each expansion feature once" in found
    assert "approval_workflows'" not in found


def test_contradictory_gold_is_refused(tmp_path: Path) -> None:
    folder = write_suite(
        tmp_path / "s",
        [
            line("c-2", forbidden_articles=["kb-0001"]),
            line(
                "c-3",
                value=[
                    {"type": "achieve_goal", "articles": ["kb-0024"]},
                    {"type": "achieve_goal", "articles": ["kb-0031"]},
                ],
            ),
        ],
    )

    found = " | ".join(problems(folder))

    assert "both expected and forbidden" in found
    assert "each value type may appear once" in found


def test_labels_that_do_not_fit_their_type_are_warnings(tmp_path: Path) -> None:
    folder = write_suite(
        tmp_path / "s",
        [
            line("c-1", value=[{"type": "advise_new_use", "articles": ["kb-0040"]}]),
            {**line("c-2"), "case": make_case(case_id="c-2", account_id="acct-7777")},
        ],
    )

    suite = load_suite(folder)

    warnings = [str(w) for w in suite.warnings]
    assert any(
        "kb-0040 is a best_practice; advise_new_use evidence is how_to, release_note" in w
        for w in warnings
    )
    assert any("acct-7777" in w and "unknown_account" in w for w in warnings)


def test_missing_files_and_folders_say_what_to_fix(tmp_path: Path) -> None:
    assert "no suite.yaml here" in problems(tmp_path)[0]
    folder = write_suite(tmp_path / "s", [line("c-1")], knowledge="../nowhere")
    assert any("does not exist" in p and "[knowledge]" in p for p in problems(folder))
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "suite.yaml").write_text("name: t\nknowledge: x\nthreshold: {}\n")
    assert any("[threshold]" in p for p in problems(tmp_path / "t"))


def test_a_plain_number_bound_is_a_minimum_for_quality_and_a_maximum_for_harm() -> None:
    config = SuiteConfig.model_validate(
        {
            "name": "s",
            "knowledge": "k",
            "thresholds": {
                "value.types.f1": 0.8,
                "latency.p95_ms": 150,
                "hold.accuracy": {"min": 0.95, "max_regression": 0.01},
            },
        }
    )
    assert config.thresholds["value.types.f1"].min == 0.8
    assert config.thresholds["latency.p95_ms"].max == 150
    assert config.thresholds["hold.accuracy"].max_regression == 0.01
    assert metric_direction("safety.forbidden_citation_rate") is Direction.minimize
    assert metric_direction("resolution.mrr@10") is Direction.maximize


@pytest.mark.parametrize(
    "name",
    ["value.confidence_ece", "resolution.confidence_brier", "hold.miss_rate", "errors"],
)
def test_calibration_errors_and_miss_rates_are_better_lower(name: str) -> None:
    config = SuiteConfig.model_validate({"name": "s", "knowledge": "k", "thresholds": {name: 0.1}})

    assert metric_direction(name) is Direction.minimize
    assert config.thresholds[name].max == 0.1 and config.thresholds[name].min is None
