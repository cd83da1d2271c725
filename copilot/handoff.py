"""Hand-offs of expansion signals to the account's success manager, over a webhook."""

from __future__ import annotations

from typing import Protocol

import httpx
from pydantic import BaseModel

from copilot.errors import UpstreamUnavailable


class Handoff(BaseModel):
    """What the success manager hears: an account may want a feature it does not have."""

    suggestion_id: str
    case_id: str
    account_id: str | None
    product: str | None
    feature: str
    reason: str
    article_id: str | None
    agent_id: str | None


class HandoffNotifier(Protocol):
    def notify(self, handoff: Handoff) -> None:
        """Deliver one hand-off; raise UpstreamUnavailable when it could not be delivered."""


class WebhookNotifier:
    """POSTs each hand-off as JSON to a URL (a CRM, Slack workflow or Zapier hook)."""

    def __init__(self, url: str, timeout_s: float, client: httpx.Client | None = None) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self._client = client or httpx.Client(timeout=timeout_s)

    def notify(self, handoff: Handoff) -> None:
        """POST the hand-off; a timeout, network error or non-2xx is UpstreamUnavailable."""
        try:
            response = self._client.post(
                self.url, json={"event": "expansion_handoff", **handoff.model_dump()}
            )
        except httpx.TimeoutException as exc:
            raise UpstreamUnavailable(
                f"the hand-off webhook did not answer within {self.timeout_s:g} s"
            ) from exc
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable(f"the hand-off webhook is unreachable ({exc})") from exc
        if not response.is_success:
            raise UpstreamUnavailable(
                f"the hand-off webhook answered {response.status_code} {response.reason_phrase}"
            )
