"""The demo helpdesk and the two consoles in Debian's headless Chromium: the demo end to end,
uploads with per-file errors, coverage and gaps, runs, reports and comparisons."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from evals.store import RunStore
from tests.e2e.conftest import App, axe_violations, shoot
from tests.factories import make_article, markdown
from tests.unit.test_reports import make_run

pytestmark = pytest.mark.e2e


def test_the_demo_helpdesk_lists_tickets_by_company_and_insert_fills_the_reply(
    page: Page, app_server: App
) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(app_server.url)
    companies = httpx.get(f"{app_server.url}/demo/cases.json").json()["companies"]
    for company in companies:
        section = page.get_by_role("region", name=company["name"], exact=False)
        expect(section.locator(".tickets li")).to_have_count(len(company["tickets"]))
    assert axe_violations(page) == []
    shoot(page, "demo-list")

    first = companies[0]["tickets"][0]["case"]
    page.get_by_role("link", name=first["subject"]).click()
    expect(page).to_have_url(f"{app_server.url}/tickets/{first['case_id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(first["subject"])
    panel = page.frame_locator("#panel")
    expect(panel.locator("html")).to_have_attribute("data-state", "done", timeout=15000)
    summary = panel.locator("#resolution .summary").inner_text()
    panel.get_by_role("button", name="Insert the resolution into the reply").click()
    expect(panel.locator("#resolution .status")).to_have_text("Inserted into the reply.")
    reply = page.get_by_label("Reply to the customer").input_value()
    assert reply.startswith(summary)
    assert axe_violations(page) == []
    inner = next(f for f in page.frames if "/panel" in f.url)
    assert axe_violations(inner) == []
    shoot(page, "demo-ticket")


def test_upload_reports_the_bad_file_and_ingests_the_good_ones(
    page: Page, app_server: App, tmp_path: Path
) -> None:
    good = tmp_path / "kb-upload-good.md"
    good.write_text(markdown(make_article(id="kb-upload-good", title="Uploaded in the browser")))
    bad = tmp_path / "kb-upload-bad.md"
    bad.write_text(markdown(make_article(id="kb-upload-bad", kind="recipe")))
    # a case nothing answers, so the gaps section has a topic to draft from
    httpx.post(
        f"{app_server.url}/v1/suggestions",
        json={"case_id": "e2e-gap", "product": "ledgerly", "subject": "Telescope focus drifts",
              "description": "Our telescope loses focus on Jupiter's moons every night."},
    )
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{app_server.url}/console/knowledge")
    expect(page.locator("#coverage .product-coverage").first).to_be_visible()
    page.get_by_label("Files to ingest").set_input_files([str(good), str(bad)])
    page.get_by_role("button", name="Upload and ingest").click()
    expect(page.locator("#upload-status")).to_contain_text("some need fixing", timeout=30000)
    row = page.locator("#upload-report table.errors tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("kb-upload-bad.md")
    expect(row).to_contain_text("kind")
    expect(page.locator("#articles")).to_contain_text("kb-upload-good")
    expect(page.locator("#articles")).not_to_contain_text("kb-upload-bad")

    page.get_by_label("Status").select_option("draft")
    expect(page.locator("#articles tbody tr").first).to_contain_text("draft")
    expect(page.locator("#articles")).not_to_contain_text("published")

    topic = page.locator(".topic", has_text="Telescope focus drifts")
    topic.get_by_role("button", name="Draft an article").click()
    draft = topic.get_by_role("textbox")
    expect(draft).to_be_visible()
    assert "status: draft" in draft.input_value()
    assert axe_violations(page) == []
    shoot(page, "console-knowledge")


def test_the_qa_console_lists_runs_by_suite_shows_a_report_and_compares_two(
    page: Page, app_server: App
) -> None:
    runs = RunStore(app_server.runtime.store.engine)
    a = make_run()
    worse = {**a.metrics, "resolution.hit@1": 0.5}
    b = a.model_copy(update={"run_id": "smoke-older", "metrics": worse})
    other = a.model_copy(update={"run_id": "stackfaq-1", "suite": a.suite.model_copy(
        update={"name": "stackfaq"})})
    for run in (b, a, other):
        runs.save(run)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{app_server.url}/console/evals")
    expect(page.get_by_role("region", name="Suite smoke").locator("tbody tr")).to_have_count(2)
    expect(page.get_by_role("region", name="Suite stackfaq").locator("tbody tr")).to_have_count(1)

    page.get_by_label("Candidate (A)").select_option(a.run_id)
    page.get_by_label("Reference (B)").select_option("smoke-older")
    page.get_by_role("button", name="Compare").click()
    hit = page.locator("#comparison tr", has_text="resolution.hit@1")
    expect(hit).to_contain_text("+0.117")
    expect(hit).to_contain_text("better")

    page.get_by_role("button", name=f"View the report of {a.run_id}").click()
    report = page.frame_locator("#report")
    expect(report.locator("body")).to_contain_text(a.run_id)
    assert axe_violations(page) == []
    shoot(page, "console-evals")
