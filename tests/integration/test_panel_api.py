"""The routes the side panel and the consoles use: feedback actions, hand-offs, stored cases,
pages and their headers, the demo's cases, knowledge coverage and gaps, evaluation runs."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from copilot.api.app import create_app
from copilot.config import Settings
from copilot.domain import Case, Suggestion
from copilot.runtime import Runtime
from evals.store import RunStore
from tests.factories import make_case, make_suggestion, make_value, write_article
from tests.unit.test_reports import make_run

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def build(settings: Settings, embedder: Any, chunker: Any) -> tuple[Runtime, TestClient]:
    runtime = Runtime.build(settings, embedder=embedder, chunker=chunker)
    return runtime, TestClient(create_app(runtime))


@pytest.fixture
def app(runtime: Runtime) -> TestClient:
    return TestClient(create_app(runtime))


def store(runtime: Runtime, case: dict[str, Any] | None = None, **overrides: Any) -> Suggestion:
    """Keep a suggestion as if the engine had returned it for the case."""
    suggestion = Suggestion.model_validate(make_suggestion(**overrides))
    case_data = case or make_case(case_id=suggestion.case_id)
    runtime.store.put_suggestion(suggestion, Case.model_validate(case_data))
    return suggestion


# ------------------------------------------------------------------ feedback
def test_copy_citation_click_and_show_anyway_are_recorded_with_their_details(
    runtime: Runtime, app: TestClient
) -> None:
    s = store(runtime, hold={"reason": "The customer is frustrated"})
    url = f"/v1/suggestions/{s.suggestion_id}/feedback"
    for body in (
        {"item_id": "v-1", "event": "copied"},
        {"item_id": "resolution", "event": "citation_clicked", "url": "https://help.example.com/a"},
        {"item_id": "hold", "event": "show_anyway"},
    ):
        response = app.post(url, json=body)
        assert response.status_code == 201, response.json()
    events = runtime.store.feedback_for(s.suggestion_id)
    assert [(e.item_id, e.event, e.url) for e in events] == [
        ("v-1", "copied", None),
        ("resolution", "citation_clicked", "https://help.example.com/a"),
        ("hold", "show_anyway", None),
    ]
    counts = app.get("/v1/analytics/suggestions", params={"by": "type"}).json()["groups"]
    assert counts["achieve_goal"]["copied"] == 1
    assert counts["resolution"]["citation_clicked"] == 1


@pytest.mark.parametrize(
    ("body", "field_says"),
    [
        ({"item_id": "resolution", "event": "citation_clicked"}, "url"),
        (
            {"item_id": "resolution", "event": "citation_clicked", "url": "javascript:alert(1)"},
            "url",
        ),
        ({"item_id": "v-1", "event": "show_anyway"}, "hold"),
        ({"item_id": "v-1", "event": "handoff"}, "/handoff"),
    ],
)
def test_feedback_that_misses_what_its_event_needs_is_refused(
    runtime: Runtime, app: TestClient, body: dict[str, Any], field_says: str
) -> None:
    s = store(runtime)
    response = app.post(f"/v1/suggestions/{s.suggestion_id}/feedback", json=body)
    assert response.status_code == 422
    assert field_says in json.dumps(response.json()["detail"])


def test_show_anyway_needs_a_held_suggestion(runtime: Runtime, app: TestClient) -> None:
    s = store(runtime)
    body = {"item_id": "hold", "event": "show_anyway"}
    response = app.post(f"/v1/suggestions/{s.suggestion_id}/feedback", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "item_id"


# ------------------------------------------------------------------ hand-offs
class Webhook:
    """A local HTTP server standing in for a CRM's webhook."""

    def __init__(self, status: int = 200, delay_s: float = 0.0) -> None:
        self.received: list[dict[str, Any]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.received.append(json.loads(body))
                time.sleep(delay_s)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


SIGNAL = {"feature": "api_access", "reason": "Asked to connect their warehouse system",
          "article_id": "kb-0010"}


def test_a_handoff_is_recorded_and_posted_to_the_webhook(
    tmp_path: Path, embedder: Any, chunker: Any, webhook: Webhook
) -> None:
    settings = Settings(data_dir=tmp_path / "d", handoff_webhook_url=webhook.url)
    runtime, client = build(settings, embedder, chunker)
    s = store(runtime, expansion_signals=[SIGNAL])
    response = client.post(f"/v1/suggestions/{s.suggestion_id}/handoff",
                           json={"feature": "api_access"})
    assert response.status_code == 201
    assert response.json()["delivered"] is True and response.json()["error"] is None
    assert webhook.received[0]["feature"] == "api_access"
    assert webhook.received[0]["account_id"] == "acct-9001"
    assert webhook.received[0]["reason"] == SIGNAL["reason"]
    events = runtime.store.feedback_for(s.suggestion_id)
    assert [(e.item_id, e.event) for e in events] == [("expansion:api_access", "handoff")]


@pytest.mark.parametrize(("status", "delay_s", "says"), [(500, 0.0, "500"), (200, 2.0, "within")])
def test_a_failed_webhook_is_reported_and_the_handoff_still_recorded(
    tmp_path: Path, embedder: Any, chunker: Any, status: int, delay_s: float, says: str
) -> None:
    hook = Webhook(status=status, delay_s=delay_s)
    try:
        settings = Settings(
            data_dir=tmp_path / "d", handoff_webhook_url=hook.url, handoff_webhook_timeout_s=0.5
        )
        runtime, client = build(settings, embedder, chunker)
        s = store(runtime, expansion_signals=[SIGNAL])
        response = client.post(f"/v1/suggestions/{s.suggestion_id}/handoff",
                               json={"feature": "api_access"})
    finally:
        hook.close()
    assert response.status_code == 201
    assert response.json()["delivered"] is False and says in response.json()["error"]
    assert len(runtime.store.feedback_for(s.suggestion_id)) == 1


def test_a_handoff_without_a_webhook_is_recorded_only(runtime: Runtime, app: TestClient) -> None:
    s = store(runtime, expansion_signals=[SIGNAL])
    url = f"/v1/suggestions/{s.suggestion_id}/handoff"
    response = app.post(url, json={"feature": "api_access"})
    assert response.status_code == 201 and response.json()["delivered"] is None


def test_a_handoff_names_a_signal_of_the_suggestion(runtime: Runtime, app: TestClient) -> None:
    s = store(runtime, expansion_signals=[SIGNAL])
    response = app.post(f"/v1/suggestions/{s.suggestion_id}/handoff", json={"feature": "sso"})
    assert response.status_code == 422 and "api_access" in response.json()["detail"][0]["fix"]
    assert app.post("/v1/suggestions/sg-nope/handoff", json={"feature": "x"}).status_code == 404


# ------------------------------------------------------------------ stored cases
def test_a_stored_case_returns_its_newest_suggestion_and_the_feedback_so_far(
    runtime: Runtime, app: TestClient
) -> None:
    store(runtime, suggestion_id="sg-old")
    time.sleep(0.01)
    newest = store(runtime, suggestion_id="sg-new",
                   value_suggestions=[make_value(id="v-9", headline="Newer")])
    app.post("/v1/suggestions/sg-new/feedback",
             json={"item_id": "v-9", "event": "dismissed", "reason": "too_generic"})
    body = app.get("/v1/cases/c-9001").json()
    assert body["suggestion"]["suggestion_id"] == newest.suggestion_id
    assert body["case"]["subject"] == make_case()["subject"]
    assert [(f["item_id"], f["event"], f["reason"]) for f in body["feedback"]] == [
        ("v-9", "dismissed", "too_generic")
    ]
    missing = app.get("/v1/cases/c-unknown")
    assert missing.status_code == 404 and "POST the case" in missing.json()["detail"]


# ------------------------------------------------------------------ pages
PAGES = ["/", "/panel", "/console/knowledge", "/console/evals", "/tickets/demo-led-001"]


def test_every_page_carries_a_script_safe_csp_and_nosniff(
    tmp_path: Path, embedder: Any, chunker: Any
) -> None:
    settings = Settings(
        data_dir=tmp_path / "d",
        panel_allowed_origins="https://acme.zendesk.com,https://acme.freshdesk.com",  # type: ignore[arg-type]
        demo_cases=REPO / "examples" / "demo" / "cases.json",
    )
    _, client = build(settings, embedder, chunker)
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, path
        assert response.headers["x-content-type-options"] == "nosniff"
    panel = client.get("/panel")
    ancestors = panel.headers["content-security-policy"].split("frame-ancestors ")[1]
    assert ancestors == "'self' https://acme.zendesk.com https://acme.freshdesk.com"
    assert 'content="https://acme.zendesk.com https://acme.freshdesk.com"' in panel.text
    assert "frame-ancestors 'none'" in client.get("/console/knowledge").headers[
        "content-security-policy"
    ]
    assert client.get("/static/panel.js").headers["x-content-type-options"] == "nosniff"
    assert client.get("/tickets/no-such-ticket").status_code == 404


def test_the_demo_serves_its_cases_grouped_by_company(
    tmp_path: Path, embedder: Any, chunker: Any
) -> None:
    settings = Settings(data_dir=tmp_path / "d", demo_cases=REPO / "examples/demo/cases.json")
    _, client = build(settings, embedder, chunker)
    companies = client.get("/demo/cases.json").json()["companies"]
    assert companies and all(c["tickets"] for c in companies)
    missing = Settings(data_dir=tmp_path / "e", demo_cases=tmp_path / "none.json")
    _, client = build(missing, embedder, chunker)
    response = client.get("/demo/cases.json")
    assert response.status_code == 404 and "COPILOT_DEMO_CASES" in response.json()["detail"]


# ------------------------------------------------------------------ knowledge console
def test_articles_are_listed_by_status_kind_and_product(
    runtime: Runtime, app: TestClient, tmp_path: Path
) -> None:
    kb = tmp_path / "kb"
    write_article(kb, id="kb-a", kind="how_to", features=["bank_sync"])
    write_article(kb, id="kb-b", status="draft")
    write_article(kb, id="kb-c", products=["shiftwise"], features=["time_clock"])
    assert runtime.ingestor().ingest_paths([kb]).ok
    ids = lambda **q: [a["id"] for a in app.get("/v1/knowledge/articles", params=q).json()]  # noqa: E731
    assert ids() == ["kb-a", "kb-b", "kb-c"]
    assert ids(status="draft") == ["kb-b"]
    assert ids(kind="how_to") == ["kb-a"]
    assert ids(product="shiftwise") == ["kb-c"]
    bad = app.get("/v1/knowledge/articles", params={"kind": "novel"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "query.kind"


def test_coverage_names_the_features_without_a_how_to_best_practice_or_value_proof(
    runtime: Runtime, app: TestClient, tmp_path: Path
) -> None:
    kb = tmp_path / "kb"
    write_article(kb, id="kb-h", kind="how_to", features=["bank_sync"])
    write_article(kb, id="kb-p", kind="value_proof", features=["bank_sync"])
    write_article(kb, id="kb-d", kind="best_practice", features=["bank_sync"], status="draft",
                  workaround="typing lines in by hand")
    assert runtime.ingestor().ingest_paths([kb]).ok
    ledgerly = next(p for p in app.get("/v1/knowledge/coverage").json()
                    if p["product"] == "ledgerly")
    features = {f["feature"]: f for f in ledgerly["features"]}
    # a draft best practice does not count: only what is served covers a feature
    assert features["bank_sync"]["missing"] == ["best_practice"]
    assert features["bank_sync"]["articles"]["how_to"] == ["kb-h"]
    assert features["sso"]["missing"] == ["how_to", "best_practice", "value_proof"]
    assert features["sso"]["tier"] == "enterprise"
    assert ledgerly["by_value_type"]["achieve_goal"] == 1


def test_gaps_group_unanswered_and_unsure_cases_by_topic_with_a_draft(
    runtime: Runtime, app: TestClient
) -> None:
    no_answer = {"summary": "No grounded answer: nothing matches.", "steps": [], "citations": [],
                 "confidence": 0.0}
    payroll = "Payroll export to Gusto is missing overtime hours"
    store(runtime, make_case(case_id="c-1", subject=payroll, description="Overtime gone."),
          suggestion_id="sg-1", case_id="c-1", resolution=no_answer)
    store(runtime, make_case(case_id="c-2", subject="Gusto export drops overtime hours",
                             description="Overtime hours are not in the payroll export."),
          suggestion_id="sg-2", case_id="c-2",
          resolution={**make_suggestion()["resolution"], "confidence": 0.2})
    store(runtime, make_case(case_id="c-3", subject="Invoice logo looks blurry",
                             description="Our logo is pixelated on PDF invoices."),
          suggestion_id="sg-3", case_id="c-3", resolution=no_answer)
    store(runtime, make_case(case_id="c-4", subject="Fine case"), suggestion_id="sg-4",
          case_id="c-4")  # confident and grounded: not a gap
    topics = app.get("/v1/knowledge/gaps").json()
    assert [sorted(c["case_id"] for c in t["cases"]) for t in topics] == [["c-1", "c-2"], ["c-3"]]
    first = topics[0]
    assert (first["no_answer"], first["low_confidence"]) == (1, 1)
    assert first["draft"].startswith("---\nid: draft-")
    assert "status: draft" in first["draft"] and "products: [ledgerly]" in first["draft"]
    assert "Overtime gone." in first["draft"]


def test_an_upload_with_partial_answers_200_with_the_report(
    runtime: Runtime, app: TestClient
) -> None:
    good = ("good.md", b"---\nid: kb-up\ntitle: Up\nkind: faq\nproducts: [ledgerly]\n---\nBody.\n")
    bad = ("bad.md", b"---\nid: kb-bad\ntitle: Bad\nkind: faq\n---\nBody.\n")
    files = [("files", good), ("files", bad)]
    strict = app.post("/v1/knowledge/ingest", files=files)
    assert strict.status_code == 422
    report = app.post("/v1/knowledge/ingest", params={"partial": "true"}, files=files)
    assert report.status_code == 200 and report.json()["ok"] is False
    assert report.json()["errors"][0]["field"] == "products"


# ------------------------------------------------------------------ QA console
def test_runs_are_listed_compared_and_reported(runtime: Runtime, app: TestClient) -> None:
    runs = RunStore(runtime.store.engine)
    a = make_run()
    worse = {**a.metrics, "resolution.hit@1": 0.5}
    b = a.model_copy(update={"run_id": "smoke-b", "metrics": worse})
    runs.save(a)
    runs.save(b)
    listed = app.get("/v1/evals/runs").json()
    assert {r["run_id"] for r in listed} == {a.run_id, "smoke-b"}
    assert listed[0]["suite"] == "smoke" and listed[0]["metrics"]["resolution.hit@1"] is not None
    comparison = app.get("/v1/evals/compare", params={"a": a.run_id, "b": "smoke-b",
                                                      "samples": 100}).json()
    hit = next(m for m in comparison["metrics"] if m["metric"] == "resolution.hit@1")
    assert hit["delta"] == pytest.approx(0.117) and hit["better"] is True
    same = app.get("/v1/evals/compare", params={"a": a.run_id, "b": a.run_id})
    assert same.status_code == 422
    unknown = app.get("/v1/evals/compare", params={"a": a.run_id, "b": "nope"})
    assert unknown.status_code == 404 and a.run_id in unknown.json()["detail"]
    report = app.get(f"/console/evals/runs/{a.run_id}/report")
    assert report.status_code == 200 and a.run_id in report.text
    assert "script-src" not in report.headers["content-security-policy"]
    assert "default-src 'none'" in report.headers["content-security-policy"]
