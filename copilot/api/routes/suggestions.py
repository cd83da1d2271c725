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

from copilot.api.deps import HandoffNotifierDep, RuntimeDep
from copilot.domain import Case, Hold, Resolution, Suggestion, ValueSuggestion
from copilot.errors import NotFound, Problem, UpstreamUnavailable, ValidationError
from copilot.handoff import Handoff

router = APIRouter(prefix="/v1", tags=["suggestions"])


class FeedbackEvent(StrEnum):
    shown = "shown"
    inserted = "inserted"
    accepted = "accepted"
    edited = "edited"
    dismissed = "dismissed"
    thumbs_up = "thumbs_up"
    thumbs_down = "thumbs_down"
    copied = "copied"
    citation_clicked = "citation_clicked"
    show_anyway = "show_anyway"  # the agent revealed the suggestions of a held case
    handoff = "handoff"  # recorded by POST .../handoff, which also notifies the webhook


HOLD_ITEM = "hold"
EXPANSION_PREFIX = "expansion:"


class FeedbackIn(BaseModel):
    """One agent action on one item of a suggestion."""

    item_id: str = Field(
        description="a value suggestion's id, 'resolution', 'hold' (show_anyway) or "
        "'expansion:FEATURE'"
    )
    event: FeedbackEvent
    final_text: str | None = Field(None, description="the text the agent sent (edited)")
    reason: str | None = Field(None, description="why it was dismissed (dismissed)")
    url: str | None = Field(
        None, max_length=2000, description="the citation the agent opened (citation_clicked)"
    )
    agent_id: str | None = None
    at: dt.datetime | None = None

    @model_validator(mode="after")
    def _needs(self) -> Self:
        if self.event is FeedbackEvent.edited and not self.final_text:
            raise ValueError("an `edited` event needs `final_text`: the text the agent sent")
        if self.event is FeedbackEvent.dismissed and not self.reason:
            raise ValueError("a `dismissed` event needs a `reason`")
        if self.event is FeedbackEvent.citation_clicked and not (
            self.url and self.url.startswith(("https://", "http://"))
        ):
            raise ValueError("a `citation_clicked` event needs the http(s) `url` that was opened")
        if self.event is FeedbackEvent.show_anyway and self.item_id != HOLD_ITEM:
            raise ValueError(f"a `show_anyway` event is on item_id '{HOLD_ITEM}'")
        if self.event is FeedbackEvent.handoff:
            raise ValueError(
                "record a hand-off with POST /v1/suggestions/{id}/handoff, which also "
                "notifies the success manager"
            )
        return self


class HandoffIn(BaseModel):
    """The agent tells the account's success manager about an expansion signal."""

    feature: str = Field(min_length=1, description="the expansion signal's feature")
    agent_id: str | None = None


class HandoffOut(BaseModel):
    feedback_id: int
    suggestion_id: str
    feature: str
    delivered: bool | None = Field(
        description="the webhook took it (true), failed (false), or none is configured (null)"
    )
    error: str | None = None


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
    copied: int = 0
    citation_clicked: int = 0
    show_anyway: int = 0
    handoff: int = 0
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
    items = _items(suggestion)
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
        url=body.url,
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


def _items(suggestion: Suggestion) -> dict[str, str]:
    """The items of a suggestion that feedback may name, with their item type."""
    items = {v.id: v.type.value for v in suggestion.value_suggestions}
    items["resolution"] = "resolution"
    if suggestion.hold is not None:
        items[HOLD_ITEM] = HOLD_ITEM
    for signal in suggestion.expansion_signals:
        items[EXPANSION_PREFIX + signal.feature] = "expansion"
    return items


@router.post("/suggestions/{suggestion_id}/handoff", response_model=HandoffOut, status_code=201)
def handoff(
    suggestion_id: str, body: HandoffIn, runtime: RuntimeDep, notifier: HandoffNotifierDep
) -> HandoffOut:
    """Record that the agent passed an expansion signal to the success manager, and POST it
    to the hand-off webhook when one is configured (a failed delivery is reported, not raised)."""
    found = runtime.store.get_stored(suggestion_id)
    if found is None:
        raise NotFound(f"no suggestion with id '{suggestion_id}'")
    suggestion, case = found.suggestion, found.case
    signal = next((s for s in suggestion.expansion_signals if s.feature == body.feature), None)
    if signal is None:
        features = sorted(s.feature for s in suggestion.expansion_signals)
        raise ValidationError(
            [
                Problem(
                    "request",
                    f"suggestion {suggestion_id} has no expansion signal for '{body.feature}'",
                    "feature",
                    fix=f"use one of {features}" if features else "this suggestion has none",
                )
            ]
        )
    agent = body.agent_id or (case.agent_id if case else None)
    feedback_id = runtime.store.add_feedback(
        suggestion_id,
        EXPANSION_PREFIX + signal.feature,
        "expansion",
        FeedbackEvent.handoff.value,
        final_text=None,
        reason=signal.reason,
        agent_id=agent,
        product=case.product if case else None,
    )
    delivered: bool | None = None
    error: str | None = None
    if notifier is not None:
        try:
            notifier.notify(
                Handoff(
                    suggestion_id=suggestion_id,
                    case_id=suggestion.case_id,
                    account_id=case.account_id if case else None,
                    product=case.product if case else None,
                    feature=signal.feature,
                    reason=signal.reason,
                    article_id=signal.article_id,
                    agent_id=agent,
                )
            )
            delivered = True
        except UpstreamUnavailable as exc:
            delivered, error = False, str(exc)
    return HandoffOut(
        feedback_id=feedback_id,
        suggestion_id=suggestion_id,
        feature=signal.feature,
        delivered=delivered,
        error=error,
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
            copied=c.get("copied", 0),
            citation_clicked=c.get("citation_clicked", 0),
            show_anyway=c.get("show_anyway", 0),
            handoff=c.get("handoff", 0),
            acceptance_rate=rate("accepted"),
            edit_rate=rate("edited"),
            dismiss_rate=rate("dismissed"),
        )
    return AnalyticsOut(since=since, until=until, by=by, groups=groups)
