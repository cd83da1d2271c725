"""Customer success plans."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import JSONResponse

from copilot.api.deps import RuntimeDep
from copilot.domain import SuccessPlan
from copilot.errors import NotFound

router = APIRouter(prefix="/v1/success-plans", tags=["success plans"])


@router.get("/{account_id}", response_model=SuccessPlan)
def get_plan(account_id: str, runtime: RuntimeDep) -> SuccessPlan:
    """An account's success plan."""
    plan = runtime.store.get_plan(account_id)
    if plan is None:
        raise NotFound(f"no success plan for account '{account_id}'")
    return plan


@router.put("/{account_id}", responses={422: {"description": "Invalid success plan"}})
def put_plan(account_id: str, payload: dict[str, Any], runtime: RuntimeDep) -> JSONResponse:
    """Create or replace an account's success plan (validated against the catalog)."""
    if payload.get("account_id", account_id) != account_id:
        raise HTTPException(
            422,
            f"body account_id '{payload['account_id']}' differs from the "
            f"path '{account_id}'; make them equal or omit it",
        )
    report = runtime.ingestor().ingest_records(plans=[{**payload, "account_id": account_id}])
    code = status.HTTP_200_OK
    if not report.ok:
        code = status.HTTP_422_UNPROCESSABLE_CONTENT
    elif report.plans.added:
        code = status.HTTP_201_CREATED
    return JSONResponse(report.as_dict(), status_code=code)
