"""The side panel in Debian's headless Chromium, embedded by a stand-in helpdesk on another
origin: what it shows, what it sends the host, what it records, and what it refuses."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import FrameLocator, Page, expect

from copilot.domain import Case, Suggestion
from tests.e2e.conftest import App, Console, Hosts, axe_violations, shoot
from tests.factories import make_suggestion, make_value

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
RECONCILE: dict[str, Any] = json.loads((REPO / "examples" / "case-reconcile.json").read_text())


def case(case_id: str, **overrides: Any) -> dict[str, Any]:
    return {**RECONCILE, "case_id": case_id, **overrides}


def demo_cases() -> list[dict[str, Any]]:
    tickets = json.loads((REPO / "examples" / "demo" / "cases.json").read_text())
    return [t["case"] for c in tickets["companies"] for t in c["tickets"]]


@pytest.fixture(scope="module")
def rich_case(app_server: App) -> dict[str, Any]:
    """The first demo case the engine answers with two or more value suggestions, not held."""
    for c in demo_cases():
        answer = httpx.post(f"{app_server.url}/v1/suggestions", json=c).json()
        if len(answer["value_suggestions"]) >= 2 and answer["hold"] is None:
            return c
    pytest.fail("no demo case has two value suggestions: the demo cases need a richer one")


def open_host(page: Page, app: App, hosts: Hosts, **query: str) -> FrameLocator:
    """The stand-in helpdesk with the panel in its frame, once the panel said it is ready."""
    extra = "".join(f"&{k}={v}" for k, v in query.items())
    page.goto(f"{hosts.allowed}/host.html?panel={app.url}{extra}")
    page.wait_for_function("() => window.host.received.some(m => m.type === 'ready')")
    return page.frame_locator("#panel")


def send_case(page: Page, data: dict[str, Any]) -> None:
    page.evaluate("c => window.host.sendCase(c)", data)


def done(panel: FrameLocator) -> None:
    expect(panel.locator("html")).to_have_attribute("data-state", "done", timeout=15000)


def feedback(app: App, case_id: str) -> list[tuple[str, str]]:
    body = httpx.get(f"{app.url}/v1/cases/{case_id}").json()
    return [(f["item_id"], f["event"]) for f in body["feedback"]]


def test_a_case_from_the_host_shows_the_resolution_then_the_value_cards(
    page: Page, app_server: App, hosts: Hosts
) -> None:
    panel = open_host(page, app_server, hosts)
    expect(panel.locator("#empty")).to_contain_text("Waiting for a case")
    send_case(page, case("e2e-render"))
    done(panel)

    expected = httpx.post(f"{app_server.url}/v1/suggestions", json=case("e2e-render-api")).json()
    resolution = panel.locator("#resolution")
    expect(resolution.locator(".summary")).to_have_text(expected["resolution"]["summary"])
    expect(resolution.locator(".steps li")).to_have_count(len(expected["resolution"]["steps"]))
    expect(resolution.locator(".confidence")).to_contain_text("confidence")
    first_citation = expected["resolution"]["citations"][0]
    link = resolution.locator(".citations a").first
    expect(link).to_have_text(first_citation["title"])
    expect(link).to_have_attribute("href", first_citation["url"])
    cards = panel.locator("#values .card")
    expect(cards).to_have_count(len(expected["value_suggestions"]))
    for card, value in zip(cards.all(), expected["value_suggestions"], strict=True):
        expect(card.locator("h3")).to_have_text(value["headline"])
        expect(card.locator(".message")).to_have_text(value["message"])
        expect(card.locator(".why")).to_contain_text(value["rationale"])
        expect(card).to_have_attribute("data-type", value["type"])
    # the resolution comes before the cards on the page
    order = page.frame_locator("#panel").locator("main > section:not([hidden])")
    ids = [s.get_attribute("id") for s in order.all()]
    assert ids.index("resolution") < ids.index("values")
    # every item shown was recorded once
    shown = [item for item, event in feedback(app_server, "e2e-render") if event == "shown"]
    assert sorted(shown) == sorted(["resolution", *(v["id"] for v in _values(app_server))])
    assert page.evaluate("() => window.host.received.some(m => m.type === 'resize')")
    shoot(page, "panel")


def _values(app: App) -> list[dict[str, Any]]:
    return httpx.get(f"{app.url}/v1/cases/e2e-render").json()["suggestion"]["value_suggestions"]


def test_insert_reaches_the_host_and_an_edit_is_recorded_with_its_text(
    page: Page, app_server: App, hosts: Hosts
) -> None:
    panel = open_host(page, app_server, hosts)
    send_case(page, case("e2e-insert"))
    done(panel)
    card = panel.locator("#values .card").first
    message = card.locator(".message").inner_text()
    card.get_by_role("button", name="Insert").click()
    expect(card.locator(".status")).to_have_text("Inserted into the reply.")
    assert page.evaluate("() => window.host.inserts") == [{"text": message, "mode": "append"}]

    card.get_by_role("button", name="Edit").click()
    card.get_by_role("textbox").fill("Happy to help: here is the quicker way.")
    card.get_by_role("button", name="Insert").click()
    expect(card.locator(".status")).to_have_text("Inserted into the reply.")
    assert page.evaluate("() => window.host.inserts[1].text") == (
        "Happy to help: here is the quicker way."
    )
    item = card.get_attribute("data-item-id")
    events = httpx.get(f"{app_server.url}/v1/cases/e2e-insert").json()["feedback"]
    mine = [(f["event"], f["final_text"]) for f in events if f["item_id"] == item]
    assert mine[1:] == [
        ("inserted", None),
        ("edited", "Happy to help: here is the quicker way."),
        ("inserted", None),
    ]

    page.evaluate("() => { window.host.insertAnswer = {ok: false, error: 'ticket is closed'}; }")
    card.get_by_role("button", name="Insert").click()
    expect(card.locator(".status")).to_contain_text("ticket is closed")


def test_feedback_persists_and_the_panel_shows_it_again_for_the_stored_case(
    page: Page, app_server: App, hosts: Hosts, context: Any, rich_case: dict[str, Any]
) -> None:
    panel = open_host(page, app_server, hosts)
    send_case(page, {**rich_case, "case_id": "e2e-feedback"})
    done(panel)
    cards = panel.locator("#values .card")
    first, last = cards.first, cards.last
    first_id, last_id = first.get_attribute("data-item-id"), last.get_attribute("data-item-id")
    first.get_by_role("button", name="Helpful", exact=True).click()
    expect(first.get_by_role("button", name="Helpful", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    first.get_by_role("button", name="Copy").click()
    expect(first.locator(".status")).to_have_text("Copied.")
    with context.expect_page() as opened:
        panel.locator("#resolution .citations a").first.click()
    opened.value.close()
    last.get_by_role("button", name="Dismiss").click()
    last.get_by_label("Too generic").check()
    last.get_by_role("button", name="Dismiss suggestion").click()
    expect(panel.locator(f'.card[data-item-id="{last_id}"]')).to_contain_text("Dismissed")

    def recorded() -> set[tuple[str, str]]:
        return set(feedback(app_server, "e2e-feedback"))

    expect_events = {
        (first_id, "thumbs_up"),
        (first_id, "copied"),
        ("resolution", "citation_clicked"),
        (last_id, "dismissed"),
    }
    page.wait_for_timeout(300)
    assert expect_events <= recorded()
    stored = httpx.get(f"{app_server.url}/v1/cases/e2e-feedback").json()["feedback"]
    assert {f["reason"] for f in stored if f["event"] == "dismissed"} == {"too_generic"}
    assert all(f["url"].startswith("https://") for f in stored if f["event"] == "citation_clicked")

    shown_before = [e for e in feedback(app_server, "e2e-feedback") if e[1] == "shown"]
    # reopened for the stored case: the same answer, with what the agent already did
    standalone = context.new_page()
    standalone.goto(f"{app_server.url}/panel?case_id=e2e-feedback")
    expect(standalone.locator("html")).to_have_attribute("data-state", "done")
    expect(standalone.locator(f'.card[data-item-id="{last_id}"]')).to_contain_text("Dismissed")
    expect(
        standalone.locator(f'.card[data-item-id="{first_id}"]').get_by_role(
            "button", name="Helpful", exact=True
        )
    ).to_have_attribute("aria-pressed", "true")
    standalone.wait_for_timeout(300)
    # what was shown before is not recorded as shown again
    assert [e for e in feedback(app_server, "e2e-feedback") if e[1] == "shown"] == shown_before
    shoot(standalone, "panel-stored-case")


def test_messages_from_a_foreign_origin_or_of_unknown_shape_are_ignored(
    page: Page, app_server: App, hosts: Hosts, console: Console
) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/v1/" in r.url else None)
    panel = open_host(page, app_server, hosts, intruder=hosts.foreign)
    page.frame_locator("iframe[title=intruder]").locator("p").wait_for()
    page.wait_for_timeout(600)  # the intruder posts every 100 ms
    for bad in (
        {"v": 1, "type": "context.steal", "id": "x", "reply_to": None, "ts": 1, "payload": {}},
        {"v": 2, "type": "context.update", "id": "x", "ts": 1, "payload": case("e2e-v2")},
        {"type": "context.update", "payload": case("e2e-no-envelope")},
        "context.update",
    ):
        page.evaluate("m => window.host.sendRaw(m)", bad)
    page.wait_for_timeout(300)
    expect(panel.locator("#empty")).to_contain_text("Waiting for a case")
    assert requests == []

    send_case(page, case("e2e-after-intruder"))
    done(panel)
    expect(panel.locator("#case-line")).to_contain_text("e2e-after-intruder")

    # a helpdesk on an origin that is not allowed cannot even frame the panel
    other = page.context.new_page()
    other.goto(f"{hosts.foreign}/host.html?panel={app_server.url}")
    other.wait_for_timeout(800)
    assert not other.evaluate("() => window.host.received.length")
    refused = [e for e in console.errors if "frame-ancestors" in e]
    assert refused, "the browser did not report the refused frame"
    console.errors[:] = [e for e in console.errors if e not in refused]


def _held_stream(suggestion: Suggestion) -> str:
    def event(name: str, data: Any) -> str:
        return f"event: {name}\ndata: {json.dumps(data)}\n\n"

    alternatives = [  # the coming `resolution.alternatives` contract
        {"article_id": "kb-0021", "title": "Connect a bank account",
         "url": "https://help.fernhill.example/articles/kb-0021",
         "passage": "Go to Banking <script>alert('passage')</script> and select Add.",
         "score": 0.61},
        {"article_id": "kb-0008", "title": "Duplicate transactions", "url": "javascript:alert(1)",
         "passage": "Merge duplicate accounts first.", "score": 0.55},
    ]
    resolution = {**suggestion.resolution.model_dump(mode="json"), "alternatives": alternatives}
    parts = [event("resolution", resolution)]
    parts += [
        event("value", {**v.model_dump(mode="json"), "held": True})
        for v in suggestion.value_suggestions
    ]
    parts.append(
        event(
            "done",
            {
                "suggestion_id": suggestion.suggestion_id,
                "hold": suggestion.hold.model_dump() if suggestion.hold else None,
                "expansion_signals": [s.model_dump() for s in suggestion.expansion_signals],
                "meta": suggestion.meta.model_dump(mode="json"),
            },
        )
    )
    return "".join(parts)


def test_a_held_case_shows_the_reason_first_and_the_suggestions_only_on_show_anyway(
    page: Page, app_server: App, hosts: Hosts
) -> None:
    # The contract for held cases (each held suggestion streamed as a `value` with held: true),
    # stored as the engine would store it, so feedback on it is accepted.
    held = Suggestion.model_validate(
        make_suggestion(
            suggestion_id="sg-e2e-held",
            case_id="e2e-held",
            hold={"reason": "The customer is frustrated: resolve the issue first."},
            value_suggestions=[
                make_value(id="v-held-1"),
                make_value(id="v-held-2", type="advise_new_use", headline="Card payments"),
            ],
            expansion_signals=[
                {"feature": "api_access", "reason": "Wants to connect a warehouse system",
                 "article_id": "kb-0010"}
            ],
        )
    )
    data = case("e2e-held")
    app_server.runtime.store.put_suggestion(held, Case.model_validate(data))
    page.context.route(
        f"{app_server.url}/v1/suggestions/stream",
        lambda route: route.fulfill(
            status=200, content_type="text/event-stream", body=_held_stream(held)
        ),
    )
    panel = open_host(page, app_server, hosts)
    send_case(page, data)
    done(panel)
    visible = panel.locator("main > section:not([hidden])")
    expect(visible.first).to_have_id("hold")
    expect(panel.locator("#hold .hold-reason")).to_have_text(held.hold.reason)  # type: ignore[union-attr]
    expect(panel.locator("#held-values")).to_be_hidden()
    others = panel.locator("#alternatives li")
    expect(others).to_have_count(2)
    expect(others.first.get_by_role("link")).to_have_attribute(
        "href", "https://help.fernhill.example/articles/kb-0021"
    )
    expect(others.first).to_contain_text("<script>")
    expect(others.last.get_by_role("link")).to_have_count(0)  # a javascript: URL is no link
    expect(panel.locator("#values .card")).to_have_count(0)
    shoot(page, "panel-held")
    page.wait_for_timeout(300)
    before = set(feedback(app_server, "e2e-held"))
    assert ("resolution", "shown") in before
    assert not {e for e in before if e[0].startswith("v-held")}, "held items recorded as shown"

    panel.get_by_role("button", name="Show anyway (2)").click()
    expect(panel.locator("#held-values .card")).to_have_count(2)
    signal = panel.locator("#expansion .signal")
    expect(signal).to_contain_text("Wants to connect a warehouse system")
    signal.get_by_role("button", name="Tell the success manager").click()
    expect(signal.locator(".status")).to_contain_text("Recorded for the success manager")
    page.wait_for_timeout(300)
    events = set(feedback(app_server, "e2e-held"))
    assert {("hold", "show_anyway"), ("v-held-1", "shown"), ("v-held-2", "shown"),
            ("expansion:api_access", "handoff")} <= events


def test_article_and_case_text_with_html_and_script_renders_inert(
    page: Page, app_server: App, hosts: Hosts
) -> None:
    payload = '<img src=x onerror="alert(\'img\')"><script>alert("script")</script>'
    article = {
        "id": "kb-xss-1",
        "title": f"Zorbulator quasar sync {payload}",
        "kind": "troubleshooting",
        "products": ["ledgerly"],
        "url": "https://help.fernhill.example/kb-xss-1",
        "body": (
            f"Use this when the zorbulator quasar sync fails. {payload}\n\n## Fix\n\n"
            f"1. Restart the zorbulator quasar {payload}\n2. Run the quasar sync again.\n"
        ),
    }
    ingested = httpx.post(f"{app_server.url}/v1/knowledge/ingest", json={"articles": [article]})
    assert ingested.status_code == 200, ingested.text
    panel = open_host(page, app_server, hosts)
    send_case(page, case("e2e-xss", subject=f"Zorbulator quasar sync fails {payload}",
                         description="The zorbulator quasar sync fails every night.",
                         messages=[]))
    done(panel)
    resolution = panel.locator("#resolution")
    expect(resolution.locator(".citations a").first).to_contain_text("<img src=x onerror=")
    expect(panel.locator("#case-line")).to_contain_text("<script>")
    assert panel.locator("img").count() == 0 and panel.locator("main script").count() == 0
    shoot(page, "panel-untrusted-text")


def test_a_failed_request_shows_an_error_that_names_the_field(
    page: Page, app_server: App, hosts: Hosts, console: Console
) -> None:
    panel = open_host(page, app_server, hosts)
    send_case(page, case("e2e-bad", priority="whenever"))
    expect(panel.locator("#error")).to_contain_text("priority")
    expect(panel.locator("#error").get_by_role("button", name="Try again")).to_be_visible()
    # the browser logs the refused request itself; that one error is the point of this test
    assert len(console.errors) == 1 and "422" in console.errors[0]
    console.errors.clear()


def test_a_case_with_no_grounded_answer_says_so(page: Page, app_server: App, hosts: Hosts) -> None:
    panel = open_host(page, app_server, hosts)
    send_case(page, case("e2e-none", account_id=None, subject="Quantum entanglement of cats",
                         description="Does your telescope focus on Jupiter's moons?",
                         messages=[]))
    done(panel)
    expect(panel.locator("#resolution")).to_contain_text("No grounded answer")
    expect(panel.locator("#resolution .steps")).to_have_count(0)
    shoot(page, "panel-no-answer")


def test_the_panel_has_no_serious_accessibility_violation_and_is_keyboard_operable(
    page: Page, app_server: App, hosts: Hosts
) -> None:
    panel_page = page
    panel_page.goto(f"{app_server.url}/panel")
    assert axe_violations(panel_page) == []
    open_host(panel_page, app_server, hosts)
    send_case(panel_page, case("e2e-a11y"))
    frame = panel_page.frame_locator("#panel")
    done(frame)
    inner = next(f for f in panel_page.frames if f.url.startswith(app_server.url))
    card = frame.locator("#values .card").first
    card.get_by_role("button", name="Dismiss").click()  # the open form is checked too
    assert axe_violations(inner) == []
    # keyboard: Tab reaches Insert of the first card, Enter inserts
    insert = card.get_by_role("button", name="Insert")
    insert.focus()
    panel_page.keyboard.press("Enter")
    expect(card.locator(".status")).to_have_text("Inserted into the reply.")


def test_latency_from_case_posted_to_resolution_and_first_card(
    page: Page, app_server: App, hosts: Hosts
) -> None:
    """Reported, not asserted: the figures are printed (README, "Measured")."""
    cases = demo_cases()[:20]
    panel = open_host(page, app_server, hosts)
    inner = next(f for f in page.frames if f.url.startswith(app_server.url))
    resolution, first_value = [], []
    for i, c in enumerate(cases):
        send_case(page, {**c, "case_id": f"{c['case_id']}-lat{i}"})
        done(panel)
        timings = inner.evaluate("() => ({...document.documentElement.dataset})")
        resolution.append(float(timings["resolutionMs"]))
        if "firstValueMs" in timings:
            first_value.append(float(timings["firstValueMs"]))
    print(
        f"\npanel latency over {len(cases)} sample cases: resolution visible "
        f"{_summary(resolution)}; first value card visible {_summary(first_value)} "
        f"({len(first_value)} cases had one)"
    )
    assert len(resolution) == len(cases)


def _summary(values: list[float]) -> str:
    if not values:
        return "n/a"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered):.0f} ms, p95 {p95:.0f} ms"

