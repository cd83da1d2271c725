"""The Zendesk and Freshdesk adapters in the browser, with their platform SDKs stood in for:
the ticket reaches the panel as a valid Case, and Insert reaches the helpdesk's reply editor."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import App, Hosts

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
CANONICAL = REPO / "copilot" / "web" / "static" / "copilot-host.js"


@pytest.mark.parametrize(
    "copy",
    ["adapters/zendesk/assets/copilot-host.js", "adapters/freshdesk/app/scripts/copilot-host.js"],
)
def test_each_adapter_ships_the_current_host_bridge(copy: str) -> None:
    assert (REPO / copy).read_text() == CANONICAL.read_text(), (
        f"{copy} differs from {CANONICAL.relative_to(REPO)}: copy it again"
    )


@pytest.mark.parametrize(
    ("page_name", "calls", "expected_call", "case_id"),
    [
        ("zendesk.html", "zafCalls", "comment.appendText", "zendesk-4242"),
        ("freshdesk.html", "fdCalls", "setValue", "freshdesk-77"),
    ],
)
def test_the_adapter_sends_the_ticket_and_inserts_into_the_reply(
    page: Page, app_server: App, hosts: Hosts, page_name: str, calls: str, expected_call: str,
    case_id: str,
) -> None:
    page.goto(f"{hosts.allowed}/{page_name}?panel={app_server.url}")
    panel = page.frame_locator("#copilot iframe")
    expect(panel.locator("html")).to_have_attribute("data-state", "done", timeout=15000)
    expect(panel.locator("#case-line")).to_contain_text(case_id)
    expect(panel.locator("#resolution .summary")).not_to_be_empty()
    panel.get_by_role("button", name="Insert the resolution into the reply").click()
    expect(panel.locator("#resolution .status")).to_have_text("Inserted into the reply.")
    made = page.evaluate(f"() => window.{calls}")
    inserted = [c for c in made if c[0] == expected_call]
    summary = panel.locator("#resolution .summary").inner_text()
    assert inserted, made
    text = inserted[0][1] if expected_call == "comment.appendText" else inserted[0][1]["text"]
    assert text.startswith(summary)
