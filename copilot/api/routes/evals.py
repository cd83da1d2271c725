"""Evaluation runs for the QA console: the run store, a run's HTML report, comparisons.

The API is the one layer that may use the evals package; nothing below it does.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from copilot.api.deps import RunStoreDep
from copilot.errors import Problem, ValidationError
from evals.compare import Comparison, compare
from evals.report.html import render_html

router = APIRouter(prefix="/v1/evals", tags=["evals"])
report_router = APIRouter(include_in_schema=False)

# The report is one self-contained file with inline styles and no script.
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'self'"
)


class RunSummary(BaseModel):
    run_id: str
    suite: str
    created_at: dt.datetime
    mode: str
    git_sha: str | None
    split: str | None
    passed: bool | None
    is_baseline: bool
    duration_s: float
    cases: int
    metrics: dict[str, float | None]


@router.get("/runs", response_model=list[RunSummary])
def runs(
    store: RunStoreDep,
    suite: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[RunSummary]:
    """The newest evaluation runs first, of every suite or one."""
    out = []
    for row in store.list(suite, limit):
        data: dict[str, Any] = row.data
        out.append(
            RunSummary(
                run_id=row.run_id,
                suite=row.suite,
                created_at=row.created_at,
                mode=row.mode,
                git_sha=row.git_sha,
                split=row.split,
                passed=row.passed,
                is_baseline=row.is_baseline,
                duration_s=row.duration_s,
                cases=int(data.get("suite", {}).get("cases", 0)),
                metrics=data.get("metrics", {}),
            )
        )
    return out


@router.get("/compare", response_model=Comparison)
def compare_runs(
    store: RunStoreDep,
    a: Annotated[str, Query(description="the candidate run id")],
    b: Annotated[str, Query(description="the reference run id (usually the baseline)")],
    samples: Annotated[int, Query(ge=100, le=5000)] = 1000,
) -> Comparison:
    """Metric deltas A - B with 95% paired bootstrap intervals, and each case's fate."""
    if a == b:
        raise ValidationError(
            [Problem("request", "a run compared with itself shows nothing", "b",
                     fix="pick two different runs")]
        )
    return compare(store.load(a), store.load(b), samples=samples)


@report_router.get("/console/evals/runs/{run_id}/report", response_class=HTMLResponse)
def run_report(run_id: str, store: RunStoreDep) -> HTMLResponse:
    """A run's HTML report, as `copilot eval report` writes it."""
    return HTMLResponse(
        render_html(store.load(run_id)),
        headers={"Content-Security-Policy": REPORT_CSP, "Cache-Control": "no-store"},
    )
