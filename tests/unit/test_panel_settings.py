"""Settings and data files of the side panel and the demo: origins, webhook, demo cases,
and an older database gaining the feedback URL column."""

from __future__ import annotations

import json
from pathlib import Path

import pydantic
import pytest
import sqlalchemy

from copilot.config import Settings
from copilot.demo import load_demo_cases
from copilot.errors import NotFound, ValidationError
from copilot.store.sql import SqlStore
from tests.factories import make_case

REPO = Path(__file__).resolve().parents[2]


def test_allowed_origins_come_from_a_comma_separated_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "COPILOT_PANEL_ALLOWED_ORIGINS", "https://Acme.zendesk.com, http://localhost:3000"
    )
    assert Settings().panel_allowed_origins == ["https://acme.zendesk.com", "http://localhost:3000"]


@pytest.mark.parametrize(
    "origin", ["*", "https://acme.zendesk.com/", "https://acme.zendesk.com/agent", "acme.com"]
)
def test_an_allowed_origin_must_be_a_bare_origin(origin: str) -> None:
    with pytest.raises(pydantic.ValidationError, match="scheme://host"):
        Settings(panel_allowed_origins=[origin])


def test_the_handoff_webhook_must_be_http() -> None:
    with pytest.raises(pydantic.ValidationError, match="http"):
        Settings(handoff_webhook_url="ftp://crm.example.com/hook")


def test_the_demo_cases_file_validates() -> None:
    cases = load_demo_cases(REPO / "examples" / "demo" / "cases.json")
    ids = [t.case.case_id for c in cases.companies for t in c.tickets]
    assert len(ids) >= 20 and len(set(ids)) == len(ids)


def test_a_bad_demo_file_names_the_field_and_a_missing_one_says_how_to_fix(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "cases.json"
    ticket = {"requester": "A", "case": make_case(priority="asap")}
    bad.write_text(json.dumps({"companies": [{"id": "x", "name": "X", "tickets": [ticket]}]}))
    with pytest.raises(ValidationError) as info:
        load_demo_cases(bad)
    assert info.value.problems[0].field == "companies.0.tickets.0.case.priority"
    twice = {"companies": [{"id": "x", "name": "X", "tickets": [ticket, ticket]}]}
    ticket["case"]["priority"] = "high"
    bad.write_text(json.dumps(twice))
    with pytest.raises(ValidationError, match="more than once"):
        load_demo_cases(bad)
    with pytest.raises(NotFound, match="COPILOT_DEMO_CASES"):
        load_demo_cases(tmp_path / "none.json")


def test_an_older_database_gains_the_feedback_url_column(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:  # the table as the first release created it
        conn.execute(sqlalchemy.text(
            "CREATE TABLE suggestion_feedback (id INTEGER PRIMARY KEY, suggestion_id VARCHAR(64),"
            " item_id VARCHAR(64), item_type VARCHAR(32), event VARCHAR(16), final_text TEXT,"
            " reason TEXT, agent_id VARCHAR(128), product VARCHAR(64), at DATETIME)"
        ))
    SqlStore.from_url(url)
    columns = {c["name"] for c in sqlalchemy.inspect(engine).get_columns("suggestion_feedback")}
    assert "url" in columns
    SqlStore.from_url(url)  # and again: nothing to add
