"""Suggestions over the API: create, fetch, stream, feedback and analytics."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from copilot.api.app import create_app
from copilot.runtime import Runtime
from tests.factories import make_case

pytestmark = pytest.mark.integration

RECONCILE = make_case(
    account_id="acct-1001",
    subject="Reconciliation takes two days",
    description="Every month we export the bank lines to Excel and tick "
    "them off against invoices one by one.",
    messages=[],
)


@pytest.fixture(scope="module")
def client(kb_runtime: Runtime) -> TestClient:
    return TestClient(create_app(kb_runtime))


def test_suggestion_is_returned_persisted_and_fetchable(client: TestClient) -> None:
    created = client.post("/v1/suggestions", json=RECONCILE)
    assert created.status_code == 200, created.json()
    body = created.json()
    assert body["case_id"] == RECONCILE["case_id"]
    assert body["resolution"]["steps"] and body["value_suggestions"]
    assert body["meta"]["mode"] == "extractive"
    assert body["meta"]["prompt_id"] == "suggest_extractive" and body["meta"]["prompt_version"]
    assert set(body["meta"]["latency_ms"]) >= {"analyse", "resolve", "generate", "total"}
    fetched = client.get(f"/v1/suggestions/{body['suggestion_id']}")
    assert fetched.json() == body
    assert client.get("/v1/suggestions/sg-nope").status_code == 404


def test_an_invalid_case_says_what_to_fix(client: TestClient) -> None:
    response = client.post("/v1/suggestions", json={"case_id": "c-1", "priority": "asap"})
    assert response.status_code == 422
    fields = {p["field"] for p in response.json()["detail"]}
    assert "priority" in fields


def test_stream_sends_the_resolution_first_then_each_value_suggestion(client: TestClient) -> None:
    with client.stream("POST", "/v1/suggestions/stream", json=RECONCILE) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = "".join(response.iter_text())
    events = [
        (
            block.split("\n")[0].removeprefix("event: "),
            json.loads(block.split("\n")[1].removeprefix("data: ")),
        )
        for block in raw.strip().split("\n\n")
    ]
    names = [name for name, _ in events]
    assert names[0] == "resolution" and names[-1] == "done"
    assert set(names[1:-1]) == {"value"} and len(names) >= 3
    stored = client.get(f"/v1/suggestions/{events[-1][1]['suggestion_id']}").json()
    assert stored["resolution"] == events[0][1]
    assert [v["id"] for v in stored["value_suggestions"]] == [
        d["id"] for n, d in events if n == "value"
    ]


def test_feedback_and_analytics_round_trip(client: TestClient) -> None:
    first = client.post("/v1/suggestions", json={**RECONCILE, "agent_id": "a-1"}).json()
    second = client.post(
        "/v1/suggestions", json={**RECONCILE, "case_id": "c-2", "agent_id": "a-2"}
    ).json()
    a, b = first["value_suggestions"][0], second["value_suggestions"][0]
    url = "/v1/suggestions/{}/feedback"
    for sid, item, event, extra in [
        (first["suggestion_id"], a["id"], "shown", {}),
        (first["suggestion_id"], a["id"], "accepted", {}),
        (first["suggestion_id"], a["id"], "thumbs_up", {}),
        (second["suggestion_id"], b["id"], "shown", {}),
        (second["suggestion_id"], b["id"], "edited", {"final_text": "Shorter wording."}),
        (second["suggestion_id"], b["id"], "dismissed", {"reason": "customer in a hurry"}),
    ]:
        r = client.post(url.format(sid), json={"item_id": item, "event": event, **extra})
        assert r.status_code == 201, r.json()
        assert r.json()["item_type"] == a["type"]

    by_type = client.get("/v1/analytics/suggestions", params={"by": "type"}).json()["groups"]
    rates = by_type[a["type"]]
    assert rates["shown"] >= 2 and rates["accepted"] >= 1
    assert rates["acceptance_rate"] == pytest.approx(rates["accepted"] / rates["shown"])
    by_agent = client.get("/v1/analytics/suggestions", params={"by": "agent"}).json()["groups"]
    assert by_agent["a-1"]["accepted"] == 1 and by_agent["a-2"]["dismissed"] == 1
    later = client.get("/v1/analytics/suggestions", params={"since": "2999-01-01T00:00:00Z"}).json()
    assert later["groups"] == {}


def test_feedback_validation(client: TestClient) -> None:
    sid = client.post("/v1/suggestions", json=RECONCILE).json()["suggestion_id"]
    url = f"/v1/suggestions/{sid}/feedback"
    edited = client.post(url, json={"item_id": "resolution", "event": "edited"})
    assert edited.status_code == 422 and "final_text" in json.dumps(edited.json())
    unknown = client.post(url, json={"item_id": "vs-nope", "event": "shown"})
    assert unknown.status_code == 422 and "resolution" in json.dumps(unknown.json())
    missing = client.post(
        "/v1/suggestions/sg-nope/feedback", json={"item_id": "resolution", "event": "shown"}
    )
    assert missing.status_code == 404
