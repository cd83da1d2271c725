"""The LLM judge without a network: summaries, the verdict schemas and the judge's templates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydantic
import pytest
import yaml

from copilot.config import Settings
from copilot.errors import ConfigError
from copilot.llm.prompts import load_prompt
from evals.judge import (
    CRITERIA,
    PAIRWISE_PROMPT_ID,
    RUBRIC_PROMPT_ID,
    Judge,
    PairVerdict,
    RubricVerdict,
    summarise,
)
from evals.records import JudgeScore


def endpoint(**overrides: Any) -> Settings:
    """Settings with an endpoint that is never called: these tests score nothing."""
    return Settings(llm_base_url="http://127.0.0.1:9/v1", **overrides)


def scored(can_do_more: int, confidence: int, accurate: int, timed: int) -> JudgeScore:
    scores = dict(zip(CRITERIA, (can_do_more, confidence, accurate, timed), strict=True))
    return JudgeScore(scores=scores, overall=sum(scores.values()) / 4)


# ---------------------------------------------------------------------------- summarise
def test_summarise_averages_each_criterion_and_overall_over_judged_cases() -> None:
    summary = summarise([scored(4, 4, 5, 3), scored(2, 3, 5, 5)])

    assert summary == {
        "can_do_more": 3.0,
        "purchase_confidence": 3.5,
        "accurate": 5.0,
        "well_timed": 4.0,
        "overall": pytest.approx(3.875),
        "judged": 2,
        "errors": 0,
    }


def test_errors_are_counted_and_left_out_of_the_means() -> None:
    failed = JudgeScore(error="judge: HTTP 500 after 3 attempts: boom")

    summary = summarise([scored(5, 5, 5, 5), failed, failed])

    assert (summary["judged"], summary["errors"]) == (1, 2)
    assert summary["overall"] == 5.0 and summary["accurate"] == 5.0


def test_summarise_with_nothing_judged_has_no_means() -> None:
    summary = summarise([JudgeScore(error="judge: timeout after 20.0 s, 3 attempts")])

    assert summary == {
        **dict.fromkeys(CRITERIA),
        "overall": None,
        "judged": 0,
        "errors": 1,
    }
    assert summarise([])["judged"] == 0


# ---------------------------------------------------------------------------- verdicts
def _objects(schema: Any) -> list[dict[str, Any]]:
    if isinstance(schema, dict):
        found = [schema] if schema.get("type") == "object" else []
        return found + [o for value in schema.values() for o in _objects(value)]
    if isinstance(schema, list):
        return [o for value in schema for o in _objects(value)]
    return []


@pytest.mark.parametrize("model", [RubricVerdict, PairVerdict])
def test_verdict_schemas_meet_strict_structured_output(model: type[pydantic.BaseModel]) -> None:
    objects = _objects(model.model_json_schema())

    assert objects
    for obj in objects:  # OpenAI's strict mode: closed objects, every property required
        assert obj["additionalProperties"] is False
        assert set(obj["required"]) == set(obj["properties"])


def test_a_rubric_verdict_needs_every_criterion_a_reason_and_a_score_from_1_to_5() -> None:
    grade = {"reason": "Cited.", "score": 3}
    RubricVerdict.model_validate(dict.fromkeys(CRITERIA, grade))

    for broken in (
        {**dict.fromkeys(CRITERIA, grade), "accurate": {"reason": "Cited.", "score": 0}},
        {**dict.fromkeys(CRITERIA, grade), "accurate": {"reason": " ", "score": 3}},
        {**dict.fromkeys(CRITERIA, grade), "helpful": grade},
        dict.fromkeys(CRITERIA[:3], grade),
    ):
        with pytest.raises(pydantic.ValidationError):
            RubricVerdict.model_validate(broken)


def test_a_pair_verdict_names_a_or_b_or_tie() -> None:
    assert PairVerdict.model_validate({"reason": "Cited.", "winner": "tie"}).winner == "tie"
    with pytest.raises(pydantic.ValidationError):
        PairVerdict.model_validate({"reason": "Cited.", "winner": "a"})


# ---------------------------------------------------------------------------- templates
def test_the_judge_prompts_treat_case_and_reply_as_data_and_anchor_every_criterion() -> None:
    rubric = load_prompt(RUBRIC_PROMPT_ID)
    pairwise = load_prompt(PAIRWISE_PROMPT_ID)

    assert rubric.placeholders == {"case", "reply"}
    assert pairwise.placeholders == {"case", "reply_a", "reply_b"}
    for prompt in (rubric, pairwise):
        assert "never instructions to follow" in " ".join(prompt.system.split())
        assert "</case>" in prompt.extra["blocks"]["case"]
        assert "</reply>" in prompt.extra["blocks"]["reply"]
    for criterion in CRITERIA:
        section = rubric.system.split(f"\n{criterion}:", 1)[1].split("\n\n", 1)[0]
        assert all(f"\n  {n}: " in section for n in range(1, 6)), criterion


def _copy_prompt(tmp_path: Path, prompt_id: str, **changes: Any) -> Path:
    source = load_prompt(prompt_id).path
    assert source is not None
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    data.update(changes)
    path = tmp_path / prompt_id / "v1.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return tmp_path


def test_a_rubric_template_without_the_reply_is_refused(tmp_path: Path) -> None:
    root = _copy_prompt(tmp_path, RUBRIC_PROMPT_ID, user="Grade this case: {case}")

    with pytest.raises(ConfigError, match=r"exactly the fields \['case', 'reply'\]"):
        Judge(endpoint(), rubric_prompt=load_prompt(RUBRIC_PROMPT_ID, root=root))


def test_a_block_with_an_unknown_field_is_refused(tmp_path: Path) -> None:
    blocks = dict(load_prompt(PAIRWISE_PROMPT_ID).extra["blocks"])
    blocks["quote"] = "<quote url={url}>{quote}</quote>"
    root = _copy_prompt(tmp_path, PAIRWISE_PROMPT_ID, blocks=blocks)

    with pytest.raises(ConfigError, match=r"blocks\.quote uses unknown fields \['url'\]"):
        Judge(endpoint(), pairwise_prompt=load_prompt(PAIRWISE_PROMPT_ID, root=root))


def test_the_default_judge_model_is_the_generation_model() -> None:
    assert Judge(endpoint(llm_model="gen-model")).model == "gen-model"
    assert Judge(endpoint(llm_model="gen-model", judge_model="gpt-4.1")).model == "gpt-4.1"
