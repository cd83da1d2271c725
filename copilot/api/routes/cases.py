"""Cases the server already holds: the latest suggestion for a case, with its feedback."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from pydantic import BaseModel

from copilot.api.deps import RuntimeDep
from copilot.domain import Case, Suggestion
from copilot.errors import NotFound

router = APIRouter(prefix="/v1", tags=["suggestions"])


class FeedbackRecord(BaseModel):
    item_id: str
    event: str
    final_text: str | None = None
    reason: str | None = None
    url: str | None = None
    at: dt.datetime


class CaseOut(BaseModel):
    case: Case | None  # None for suggestions stored before cases were kept
    suggestion: Suggestion
    created_at: dt.datetime
    feedback: list[FeedbackRecord]


@router.get("/cases/{case_id}", response_model=CaseOut)
def get_case(case_id: str, runtime: RuntimeDep) -> CaseOut:
    """The newest suggestion returned for a case, the case itself, and the agents' feedback
    on it so far (what the side panel shows for `/panel?case_id=`)."""
    stored = runtime.store.latest_for_case(case_id)
    if stored is None:
        raise NotFound(
            f"no suggestion for case '{case_id}' yet: POST the case to /v1/suggestions first"
        )
    events = runtime.store.feedback_for(stored.suggestion.suggestion_id)
    return CaseOut(
        case=stored.case,
        suggestion=stored.suggestion,
        created_at=stored.created_at,
        feedback=[
            FeedbackRecord(
                item_id=e.item_id,
                event=e.event,
                final_text=e.final_text,
                reason=e.reason,
                url=e.url,
                at=e.at,
            )
            for e in events
        ],
    )
