"""Suggestions for live cases, agents' feedback on them, and feedback analytics."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Self

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, model_validator

from copilot.api.deps import RuntimeDep
from copilot.domain import Case, Hold, Resolution, Suggestion, ValueSuggestion
from copilot.errors import NotFound, Problem, ValidationError

router = APIRouter(prefix="/v1", tags=["suggestions"])


class FeedbackEvent(StrEnum):
    shown = "shown"
    inserted = "inserted"
    accepted = "accepted"
    edited = "edited"
    dismissed = "dismissed"
    thumbs_up = "thumbs_up"
    thumbs_down = "thumbs_down"


class FeedbackIn(BaseModel):
    """One agent action on one item of a suggestion."""

    item_id: str = Field(description="a value suggestion's id, or 'resolution'")
    event: FeedbackEvent
    final_text: str | None = Field(None, description="the text the agent sent (edited)")
    reason: str | None = Field(None, description="why it was dismissed (dismissed)")
    agent_id: str | None = None
    at: dt.datetime | None = None

    @model_validator(mode="after")
    def _needs(self) -> Self:
        if self.event is FeedbackEvent.edited and not self.final_text:
            raise ValueError("an `edited` event needs `final_text`: the text the agent sent")
        if self.event is FeedbackEvent.dismissed and not self.reason:
            raise ValueError("a `dismissed` event needs a `reason`")
        return self


class FeedbackOut(BaseModel):
    feedback_id: int
    suggestion_id: str
    item_id: str
    item_type: str
    event: FeedbackEvent


class Rates(BaseModel):
    shown: int
    accepted: int
    inserted: int
    edited: int
    dismissed: int
    thumbs_up: int
    thumbs_down: int
    acceptance_rate: float | None
    edit_rate: float | None
    dismiss_rate: float | None


class AnalyticsOut(BaseModel):
    since: dt.datetime | None
    until: dt.datetime | None
    by: str
    groups: dict[str, Rates]


@router.post("/suggestions", response_model=Suggestion)
def suggest(case: Case, runtime: RuntimeDep) -> Suggestion:
    """The grounded resolution and up to three value suggestions for a live case."""
    suggestion = runtime.engine.suggest(case)
    runtime.store.put_suggestion(suggestion, case)
    return suggestion


@router.post(
    "/suggestions/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
def suggest_stream(case: Case, runtime: RuntimeDep) -> StreamingResponse:
    """Server-sent events: `resolution` as soon as it is drafted, `hold` when value talk must
    wait, then one `value` per suggestion (`held: true` on a held case), then `done` (hold,
    expansion signals, meta); the suggestion is then stored."""

    def event(name: str, data: object) -> str:
        return f"event: {name}\ndata: {json.dumps(data)}\n\n"

    def events() -> Iterator[str]:
        for item in runtime.engine.stream(case):
            if isinstance(item, Resolution):
                yield event("resolution", item.model_dump(mode="json"))
            elif isinstance(item, Hold):
                yield event("hold", item.model_dump(mode="json"))
            elif isinstance(item, ValueSuggestion):
                yield event("value", item.model_dump(mode="json"))
            else:
                runtime.store.put_suggestion(item, case)
                yield event(
                    "done",
                    {
                        "suggestion_id": item.suggestion_id,
                        "hold": item.hold.model_dump() if item.hold else None,
                        "expansion_signals": [s.model_dump() for s in item.expansion_signals],
                        "meta": item.meta.model_dump(mode="json"),
                    },
                )

    return StreamingResponse(events(), media_type="text/event-stream")


@router.get("/suggestions/{suggestion_id}", response_model=Suggestion)
def get_suggestion(suggestion_id: str, runtime: RuntimeDep) -> Suggestion:
    """A suggestion returned earlier."""
    found = runtime.store.get_suggestion(suggestion_id)
    if found is None:
        raise NotFound(f"no suggestion with id '{suggestion_id}'")
    return found[0]


@router.post("/suggestions/{suggestion_id}/feedback", response_model=FeedbackOut, status_code=201)
def feedback(suggestion_id: str, body: FeedbackIn, runtime: RuntimeDep) -> FeedbackOut:
    """Record what the agent did with one item of a suggestion."""
    found = runtime.store.get_suggestion(suggestion_id)
    if found is None:
        raise NotFound(f"no suggestion with id '{suggestion_id}'")
    suggestion, product, agent = found
    items = {v.id: v.type.value for v in suggestion.value_suggestions}
    items["resolution"] = "resolution"
    if body.item_id not in items:
        raise ValidationError(
            [
                Problem(
                    "request",
                    f"suggestion {suggestion_id} has no item '{body.item_id}'",
                    "item_id",
                    fix=f"use one of {sorted(items)}",
                )
            ]
        )
    feedback_id = runtime.store.add_feedback(
        suggestion_id,
        body.item_id,
        items[body.item_id],
        body.event.value,
        final_text=body.final_text,
        reason=body.reason,
        agent_id=body.agent_id or agent,
        product=product,
        at=body.at,
    )
    return FeedbackOut(
        feedback_id=feedback_id,
        suggestion_id=suggestion_id,
        item_id=body.item_id,
        item_type=items[body.item_id],
        event=body.event,
    )


@router.get("/analytics/suggestions", response_model=AnalyticsOut)
def analytics(
    runtime: RuntimeDep,
    by: Annotated[str, Query(pattern="^(type|product|agent)$")] = "type",
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> AnalyticsOut:
    """Acceptance, edit and dismiss rates (per item shown) by type, product or agent."""
    counts: dict[str, dict[str, int]] = {}
    for group, event, n in runtime.store.feedback_counts(by, since, until):
        counts.setdefault(group or "unknown", {})[event] = n
    groups = {}
    for group, c in sorted(counts.items()):
        shown = c.get("shown", 0)

        def rate(event: str, c: dict[str, int] = c, shown: int = shown) -> float | None:
            return round(c.get(event, 0) / shown, 4) if shown else None

        groups[group] = Rates(
            shown=shown,
            accepted=c.get("accepted", 0),
            inserted=c.get("inserted", 0),
            edited=c.get("edited", 0),
            dismissed=c.get("dismissed", 0),
            thumbs_up=c.get("thumbs_up", 0),
            thumbs_down=c.get("thumbs_down", 0),
            acceptance_rate=rate("accepted"),
            edit_rate=rate("edited"),
            dismiss_rate=rate("dismissed"),
        )
    return AnalyticsOut(since=since, until=until, by=by, groups=groups)
