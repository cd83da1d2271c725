"""The HTML report opened in a real headless Chromium (Debian's, driven by Playwright): it loads
offline, holds a drill-down for every case, failing cases first, and opens one on a click."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.report.html import render_html
from tests.unit.test_reports import make_run

pytestmark = pytest.mark.e2e


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(offline=True)  # a standalone report needs nothing else
    yield context.new_page()
    context.close()


def test_the_report_opens_offline_and_drills_down_into_every_case(
    page,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    run = make_run()
    report = tmp_path / "report.html"
    report.write_text(render_html(run), encoding="utf-8")
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.on("pageerror", lambda error: failed.append(str(error)))
    page.on("dialog", lambda dialog: failed.append(f"a script ran: {dialog.message}"))

    page.goto(report.as_uri())

    assert run.run_id in page.title() or run.run_id in page.inner_text("body")
    ids = page.eval_on_selector_all("details[id^=case-]", "els => els.map(e => e.id)")
    assert sorted(ids) == sorted(f"case-{c.id}" for c in run.cases)
    assert page.locator("svg").count() >= 1  # the per-type chart
    first = page.locator("details[id^=case-]").first
    assert first.get_attribute("open") is None
    first.locator("summary").click()
    assert first.get_attribute("open") is not None
    assert first.inner_text().strip()
    assert failed == []
