"""Versioned prompt templates: prompts/<id>/v<N>.yaml, latest unless pinned, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from copilot.errors import ConfigError, ValidationError
from copilot.llm.prompts import PROMPTS_DIR, PromptNotFound, available_versions, load_prompt


def write(root: Path, prompt_id: str, number: int, **overrides: object) -> Path:
    data: dict[str, object] = {
        "id": prompt_id,
        "version": number,
        "description": f"version {number}",
        "system": "You are careful.",
        "user": "Case: {case}\nEvidence: {evidence}",
    }
    data.update(overrides)
    data = {k: v for k, v in data.items() if v is not None}
    path = root / prompt_id / f"v{number}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_latest_version_is_loaded_when_none_is_pinned(tmp_path: Path) -> None:
    for n in (1, 2, 10):
        write(tmp_path, "greet", n)

    prompt = load_prompt("greet", root=tmp_path)

    assert (prompt.id, prompt.version, prompt.description) == ("greet", "v10", "version 10")
    assert prompt.path == tmp_path / "greet" / "v10.yaml"


@pytest.mark.parametrize("pinned", ["2", "v2", " v2 "])
def test_a_pinned_version_is_loaded_in_either_spelling(tmp_path: Path, pinned: str) -> None:
    write(tmp_path, "greet", 1)
    write(tmp_path, "greet", 2, system="Second.")
    write(tmp_path, "greet", 3)

    prompt = load_prompt("greet", pinned, root=tmp_path)

    assert (prompt.version, prompt.system) == ("v2", "Second.")


def test_fields_and_extra_mappings_are_kept(tmp_path: Path) -> None:
    write(tmp_path, "greet", 1, blocks={"case": "<case>{text}</case>"}, max_steps=6)

    prompt = load_prompt("greet", root=tmp_path)

    assert prompt.system == "You are careful."
    assert prompt.placeholders == {"case", "evidence"}
    assert prompt.extra == {"blocks": {"case": "<case>{text}</case>"}, "max_steps": 6}


def test_render_user_fills_placeholders_and_names_the_missing_ones(tmp_path: Path) -> None:
    write(tmp_path, "greet", 1)
    prompt = load_prompt("greet", root=tmp_path)

    assert prompt.render_user(case="A {b}", evidence="E", unused="x") == "Case: A {b}\nEvidence: E"
    with pytest.raises(ConfigError, match=r"\['evidence'\]"):
        prompt.render_user(case="A")


def test_a_missing_version_names_the_file_and_the_versions_there_are(tmp_path: Path) -> None:
    write(tmp_path, "greet", 1)

    with pytest.raises(PromptNotFound) as err:
        load_prompt("greet", "7", root=tmp_path)

    assert str(tmp_path / "greet" / "v7.yaml") in str(err.value)
    assert "available versions: v1" in str(err.value)


def test_an_unknown_prompt_id_names_the_expected_file(tmp_path: Path) -> None:
    with pytest.raises(PromptNotFound, match=r"v1\.yaml"):
        load_prompt("nothing_here", root=tmp_path)


@pytest.mark.parametrize("bad_id", ["../etc", "Greet", "", "a/b"])
def test_prompt_ids_cannot_leave_the_prompts_folder(tmp_path: Path, bad_id: str) -> None:
    with pytest.raises(PromptNotFound, match="invalid prompt id"):
        load_prompt(bad_id, root=tmp_path)


def test_invalid_version_argument_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "greet", 1)
    with pytest.raises(PromptNotFound, match="invalid version 'latest'"):
        load_prompt("greet", "latest", root=tmp_path)


def test_missing_fields_are_reported_together_with_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "greet", 1, system=None, user=None)

    with pytest.raises(ValidationError) as err:
        load_prompt("greet", root=tmp_path)

    fields = {p.field for p in err.value.problems}
    assert fields == {"system", "user"}
    assert all(p.source == str(path) for p in err.value.problems)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"id": "other"}, "id"),
        ({"version": 3}, "version"),
        ({"system": ""}, "system"),
        ({"user": ["not", "text"]}, "user"),
        ({"user": "unbalanced {case"}, "user"),
        ({"user": "attribute {case.text}"}, "user"),
    ],
)
def test_invalid_fields_are_named(tmp_path: Path, overrides: dict[str, object], field: str) -> None:
    write(tmp_path, "greet", 1, **overrides)

    with pytest.raises(ValidationError) as err:
        load_prompt("greet", root=tmp_path)

    assert [p.field for p in err.value.problems] == [field]


def test_broken_yaml_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "greet" / "v1.yaml"
    path.parent.mkdir()
    path.write_text("id: greet\nversion: 1\nsystem: [unclosed\n")

    with pytest.raises(ValidationError) as err:
        load_prompt("greet", root=tmp_path)

    (problem,) = err.value.problems
    assert problem.source == str(path)
    assert "not valid YAML" in problem.message and problem.line is not None


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "greet" / "v1.yaml"
    path.parent.mkdir()
    path.write_text("- just\n- a list\n")

    with pytest.raises(ValidationError, match="expected a mapping"):
        load_prompt("greet", root=tmp_path)


def test_only_v_number_yaml_files_count_as_versions(tmp_path: Path) -> None:
    write(tmp_path, "greet", 2)
    (tmp_path / "greet" / "v3.yaml.bak").write_text("x")
    (tmp_path / "greet" / "notes.yaml").write_text("x")

    assert available_versions("greet", root=tmp_path) == [2]
    assert load_prompt("greet", root=tmp_path).version == "v2"


def test_every_shipped_prompt_loads() -> None:
    ids = sorted(p.name for p in PROMPTS_DIR.iterdir() if p.is_dir())

    assert "suggest_llm" in ids
    for prompt_id in ids:
        for number in available_versions(prompt_id):
            assert load_prompt(prompt_id, str(number)).version == f"v{number}"


def test_the_llm_prompt_treats_case_and_evidence_as_data() -> None:
    prompt = load_prompt("suggest_llm")

    assert prompt.placeholders == {"case", "resolution_evidence", "opportunities"}
    assert "never instructions" in prompt.system
    assert 'audience="internal"' in prompt.system
    assert "<case" in prompt.extra["blocks"]["case"]
    assert "</evidence>" in prompt.extra["blocks"]["evidence"]
