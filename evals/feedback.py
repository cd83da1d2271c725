"""Agents' feedback turned into candidate evaluation cases, for QA to review and add to a suite.

A value suggestion the agent accepted, inserted, edited or thumbed up becomes a gold value
opportunity (its type and cited article); one dismissed or thumbed down is left out of the gold,
with the agent's reason in the note. Feedback on the resolution decides its gold articles the
same way. Each candidate is a valid suite line tagged `from_feedback` and `needs_review`: the
feedback says what one agent did, not yet what the copilot should do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from copilot.domain import Case, Suggestion
from copilot.store.sql import FeedbackEvent

POSITIVE = {"accepted", "inserted", "edited", "thumbs_up"}
NEGATIVE = {"dismissed", "thumbs_down"}


def _verdict(events: Sequence[FeedbackEvent]) -> str | None:
    """positive, negative, conflicting, or None (only shown)."""
    kinds = {e.event for e in events}
    good, bad = bool(kinds & POSITIVE), bool(kinds & NEGATIVE)
    if good and bad:
        return "conflicting"
    return "positive" if good else ("negative" if bad else None)


def candidate(
    suggestion: Suggestion, case: Case, events: Sequence[FeedbackEvent]
) -> dict[str, Any] | None:
    """A suite line for one suggestion's feedback, or None when no item was judged."""
    by_item: dict[str, list[FeedbackEvent]] = {}
    for e in events:
        by_item.setdefault(e.item_id, []).append(e)
    notes: list[str] = []
    tags = ["from_feedback", "needs_review"]
    value: list[dict[str, Any]] = []
    judged = False
    for v in suggestion.value_suggestions:
        verdict = _verdict(by_item.get(v.id, []))
        article = v.citations[0].article_id
        if verdict is None:
            continue
        judged = True
        if verdict == "positive":
            value.append({"type": v.type.value, "articles": [article]})
            edited = [e for e in by_item[v.id] if e.event == "edited"]
            if edited:
                notes.append(f"{v.type.value} ({article}) edited by the agent")
            else:
                notes.append(f"{v.type.value} ({article}) used by the agent")
        elif verdict == "negative":
            reasons = "; ".join(e.reason for e in by_item[v.id] if e.reason) or "no reason"
            notes.append(f"{v.type.value} ({article}) dismissed: {reasons}")
        else:
            tags.append("conflicting_feedback")
            notes.append(f"{v.type.value} ({article}) both used and dismissed")
    resolution_articles: list[str] = []
    verdict = _verdict(by_item.get("resolution", []))
    cited = list(dict.fromkeys(c.article_id for c in suggestion.resolution.citations))
    if verdict is not None:
        judged = True
        if verdict == "positive" and cited:
            resolution_articles = cited
            notes.append(f"resolution {cited} confirmed")
        elif verdict == "negative":
            tags.append("resolution_unknown")
            notes.append(f"resolution {cited or 'none'} rejected: label the right article")
    elif cited:
        resolution_articles = cited
    if not judged:
        return None
    case_id = f"fb-{suggestion.suggestion_id.removeprefix('sg-')}"
    if suggestion.hold is not None:
        tags.append("hold")
    return {
        "id": case_id,
        "tags": tags,
        "note": "; ".join(notes),
        "case": {**case.model_dump(mode="json", exclude_none=True), "case_id": case.case_id},
        "expected": {
            "resolution_articles": resolution_articles,
            "value": value,  # on a held case: the value used once the resolution landed
            "forbidden_articles": [],
            "hold": suggestion.hold is not None,
        },
    }


def export_feedback(
    items: Sequence[tuple[Suggestion, Case | None, list[FeedbackEvent]]],
) -> tuple[list[dict[str, Any]], int]:
    """Candidate suite lines for every suggestion with judged items; and how many suggestions
    were skipped because their case was not kept."""
    lines: list[dict[str, Any]] = []
    missing = 0
    for suggestion, case, events in items:
        if case is None:
            missing += 1
            continue
        line = candidate(suggestion, case, events)
        if line is not None:
            lines.append(line)
    return lines, missing
