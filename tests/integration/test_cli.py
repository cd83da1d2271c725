"""The `copilot` command line against the ingested sample knowledge base."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from copilot.cli import app
from copilot.runtime import Runtime
from tests.conftest import REPO

pytestmark = pytest.mark.integration
EXAMPLE = REPO / "examples" / "case-reconcile.json"


@pytest.fixture
def kb_env(kb_runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPILOT_DATA_DIR", str(kb_runtime.settings.data_dir))


def test_suggest_json_prints_the_suggestion_contract(kb_env: None) -> None:
    result = CliRunner().invoke(app, ["suggest", str(EXAMPLE), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["case_id"] == "c-1001"
    assert data["resolution"]["steps"]
    assert {v["type"] for v in data["value_suggestions"]} >= {"educate_better_use"}


def test_suggest_prints_the_panel_view(kb_env: None) -> None:
    result = CliRunner().invoke(app, ["suggest", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "Resolution" in result.output and "educate_better_use" in result.output
    assert "suggest_extractive" in result.output


def test_suggest_rejects_an_invalid_case_with_the_field(kb_env: None, tmp_path: Path) -> None:
    bad = tmp_path / "case.json"
    bad.write_text(json.dumps({"case_id": "c-1", "subject": "x", "priority": "asap"}))
    result = CliRunner().invoke(app, ["suggest", str(bad)])
    assert result.exit_code == 1
    assert "priority" in result.output


def test_search_prints_articles(kb_env: None) -> None:
    result = CliRunner().invoke(app, ["search", "bank feed stopped importing", "--json",
                                      "--product", "ledgerly", "--plan", "starter"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["article_id"] == "kb-0001"
