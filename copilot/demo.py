"""The demo helpdesk's cases: a data file of sample tickets, grouped by company."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from copilot.domain import Case, Identifier, Text
from copilot.errors import NotFound, Problem, ValidationError


class DemoTicket(BaseModel):
    """One ticket of the demo helpdesk: who asks, and the case the panel receives."""

    model_config = ConfigDict(extra="forbid")

    requester: Text = Field(description="the name shown in the ticket list")
    case: Case


class DemoCompany(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Identifier
    name: Text
    tickets: list[DemoTicket] = Field(min_length=1)


class DemoCases(BaseModel):
    """The whole file: companies, each with its tickets (case ids unique across the file)."""

    model_config = ConfigDict(extra="forbid")

    companies: list[DemoCompany] = Field(min_length=1)


def load_demo_cases(path: Path) -> DemoCases:
    """Read and validate the demo's cases; problems name the file and the field to fix."""
    source = str(path)
    if not path.is_file():
        raise NotFound(
            f"no demo cases at {source}: create it (see examples/demo/README.md) or set "
            "COPILOT_DEMO_CASES"
        )
    try:
        data = DemoCases.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except json.JSONDecodeError as exc:
        raise ValidationError(
            [Problem(source, exc.msg, line=exc.lineno, fix="write valid JSON")]
        ) from exc
    except PydanticValidationError as exc:
        raise ValidationError(
            [
                Problem(source, e["msg"], ".".join(str(p) for p in e["loc"]))
                for e in exc.errors(include_url=False)
            ]
        ) from exc
    seen: set[str] = set()
    dupes = []
    for company in data.companies:
        for ticket in company.tickets:
            if ticket.case.case_id in seen:
                dupes.append(ticket.case.case_id)
            seen.add(ticket.case.case_id)
    if dupes:
        raise ValidationError(
            [Problem(source, f"case ids {sorted(dupes)} appear more than once", "case.case_id",
                     fix="give every ticket its own case_id")]
        )
    return data
