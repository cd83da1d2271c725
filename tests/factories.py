"""Factories for test data: valid by default, override what the test is about."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

BODY = (
    "Use this when the bank feed stops importing transactions.\n\n"
    "## Check the connection\n\n"
    "1. Go to **Banking > Accounts** and find the account with the warning icon.\n"
    "2. Select **Reconnect** and sign in to your bank again.\n\n"
    "## If it still fails\n\n"
    "Send support the error code shown on the account card, such as BF-102.\n"
)


def make_article(**overrides: Any) -> dict[str, Any]:
    """Front matter plus `body` of a valid published customer article."""
    data: dict[str, Any] = {
        "id": "kb-9001",
        "title": "Bank feed stopped importing",
        "kind": "troubleshooting",
        "products": ["ledgerly"],
        "features": ["bank_sync"],
        "body": BODY,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def markdown(article: dict[str, Any]) -> str:
    """An article dict as Markdown with YAML front matter."""
    meta = {k: v for k, v in article.items() if k != "body"}
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    return f"---\n{front}---\n\n{article.get('body', '')}"


def write_article(folder: Path, **overrides: Any) -> Path:
    """Write a valid Markdown article (with overrides) into folder; returns its path."""
    article = make_article(**overrides)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{article['id']}.md"
    path.write_text(markdown(article), encoding="utf-8")
    return path


def make_plan(**overrides: Any) -> dict[str, Any]:
    """A valid success plan for a Ledgerly Pro account."""
    data: dict[str, Any] = {
        "account_id": "acct-9001",
        "name": "Test Traders",
        "segment": "b2b",
        "products": [
            {
                "product": "ledgerly",
                "plan": "pro",
                "since": "2026-03-01",
                "renewal": "2027-03-01",
                "seats": 10,
            }
        ],
        "entitlements": ["invoicing", "bank_sync", "auto_reconcile"],
        "adopted_features": ["invoicing"],
        "stage": "proficiency",
        "purchase_intent": "Replace spreadsheets for month-end close",
        "objectives": [
            {
                "id": "obj-1",
                "statement": "Close the books in 3 days",
                "kpi": "days_to_close",
                "target": 3,
                "status": "in_progress",
                "features": ["auto_reconcile"],
            }
        ],
        "milestones": [
            {"id": "ms-1", "name": "Connect all banks", "status": "done", "due": "2026-04-01"}
        ],
        "health": 70,
    }
    data.update(overrides)
    return data


def write_plan(folder: Path, **overrides: Any) -> Path:
    """Write a valid success plan YAML (with overrides) into folder; returns its path."""
    plan = make_plan(**overrides)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{plan['account_id']}.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    return path


def make_case(**overrides: Any) -> dict[str, Any]:
    """A live case as the helpdesk sends it."""
    data: dict[str, Any] = {
        "case_id": "c-9001",
        "account_id": "acct-9001",
        "product": "ledgerly",
        "subject": "Bank transactions not showing",
        "description": "Our bank feed has not imported anything since Monday.",
        "messages": [{"role": "customer", "text": "Nothing new from the bank since Monday."}],
        "channel": "email",
        "priority": "normal",
        "locale": "en",
        "agent_id": "a-1",
    }
    data.update(overrides)
    return data


def make_citation(article_id: str = "kb-0001", **overrides: Any) -> dict[str, Any]:
    """A citation of one chunk of an article."""
    data: dict[str, Any] = {
        "article_id": article_id,
        "chunk_id": f"{article_id}#0",
        "title": "Bank feed stopped importing",
        "url": f"https://help.example.com/{article_id}",
        "quote": "Select Reconnect and sign in to your bank again.",
    }
    data.update(overrides)
    return data


def make_value(**overrides: Any) -> dict[str, Any]:
    """A value suggestion of the achieve_goal type."""
    data: dict[str, Any] = {
        "id": "v-1",
        "type": "achieve_goal",
        "headline": "Close the books faster with auto-reconcile",
        "message": "You can let Ledgerly match bank lines to invoices for you.",
        "rationale": "Open objective: close the books in 3 days.",
        "citations": [make_citation("kb-0024", title="Set up auto-reconciliation")],
        "confidence": 0.8,
        "objective_id": "obj-1",
    }
    data.update(overrides)
    return data


def make_suggestion(**overrides: Any) -> dict[str, Any]:
    """A suggestion as the engine returns it: a grounded resolution and one value suggestion."""
    data: dict[str, Any] = {
        "suggestion_id": "sg-9001",
        "case_id": "c-9001",
        "resolution": {
            "summary": "Reconnect the bank feed.",
            "steps": [{"text": "Select Reconnect.", "citations": [make_citation()]}],
            "citations": [make_citation()],
            "confidence": 0.82,
        },
        "value_suggestions": [make_value()],
        "expansion_signals": [],
        "hold": None,
        "meta": {"mode": "extractive"},
    }
    data.update(overrides)
    return data
