"""HTTP API round-trips (in-process ASGI client, real model, Chroma and SQLite)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from copilot.api.app import create_app
from copilot.config import Settings
from copilot.runtime import Runtime
from tests.factories import make_article, make_plan, markdown

pytestmark = pytest.mark.integration


@pytest.fixture
def client(runtime: Runtime) -> TestClient:
    return TestClient(create_app(runtime))


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    not_ready = client.get("/readyz")
    assert not_ready.status_code == 503
    assert "copilot ingest" in not_ready.json()["checks"]["index"]["hint"]
    client.put("/v1/knowledge/articles/kb-1", json=make_article(id="kb-1"))
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["index"]["in_step"] is True


def test_article_put_get_search_delete_round_trip(client: TestClient) -> None:
    created = client.put("/v1/knowledge/articles/kb-1", json=make_article(id="kb-1"))
    assert created.status_code == 201 and created.json()["articles"]["added"] == 1
    got = client.get("/v1/knowledge/articles/kb-1").json()
    assert got["title"] == "Bank feed stopped importing" and got["kind"] == "troubleshooting"

    found = client.get("/v1/knowledge/search", params={"q": "bank feed reconnect"}).json()
    assert [h["article_id"] for h in found["hits"]] == ["kb-1"]
    assert found["hits"][0]["best_chunk"]["chunk_id"].startswith("kb-1::")

    same = client.put("/v1/knowledge/articles/kb-1", json=make_article(id="kb-1"))
    assert same.status_code == 200 and same.json()["chunks_embedded"] == 0

    assert client.delete("/v1/knowledge/articles/kb-1").status_code == 204
    assert client.get("/v1/knowledge/articles/kb-1").status_code == 404
    assert client.get("/v1/knowledge/search", params={"q": "bank feed"}).json()["hits"] == []
    assert client.delete("/v1/knowledge/articles/kb-1").status_code == 404


def test_invalid_article_gets_422_naming_field_and_fix(client: TestClient) -> None:
    response = client.put("/v1/knowledge/articles/kb-1", json=make_article(id="kb-1", kind="guide"))
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "articles[0].kind" and "how_to" in error["fix"]


def test_body_id_must_match_path(client: TestClient) -> None:
    response = client.put("/v1/knowledge/articles/kb-1", json=make_article(id="kb-2"))
    assert response.status_code == 422 and "differs" in response.json()["detail"]


def test_multipart_ingest_reports_good_and_bad_files(client: TestClient) -> None:
    good = markdown(make_article(id="kb-1"))
    bad = markdown(make_article(id="kb-2", kind="nonsense"))
    files = [
        ("files", ("good.md", io.BytesIO(good.encode()), "text/markdown")),
        ("files", ("bad.md", io.BytesIO(bad.encode()), "text/markdown")),
    ]
    response = client.post("/v1/knowledge/ingest", files=files)
    assert response.status_code == 422
    report = response.json()
    assert report["articles"]["added"] == 1 and report["skipped"] == ["upload:bad.md"]
    assert client.get("/v1/knowledge/articles/kb-1").json()["source"] == "upload:good.md"


def test_json_ingest_of_articles_and_plans(client: TestClient) -> None:
    body = {"articles": [make_article(id="kb-1")], "success_plans": [make_plan()]}
    response = client.post("/v1/knowledge/ingest", json=body)
    assert response.status_code == 200, response.json()
    assert response.json()["articles"]["added"] == 1
    assert response.json()["success_plans"]["added"] == 1


def test_ingest_rejects_other_media_types(client: TestClient) -> None:
    response = client.post(
        "/v1/knowledge/ingest", content=b"x", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 415 and "multipart" in response.json()["detail"]


def test_success_plan_put_and_get(client: TestClient) -> None:
    assert client.get("/v1/success-plans/acct-9001").status_code == 404
    created = client.put("/v1/success-plans/acct-9001", json=make_plan())
    assert created.status_code == 201
    plan = client.get("/v1/success-plans/acct-9001").json()
    assert plan["stage"] == "proficiency" and plan["objectives"][0]["id"] == "obj-1"
    bad = client.put("/v1/success-plans/acct-9001", json=make_plan(health=140))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"].endswith("health")


def test_search_filters_and_bad_parameters(client: TestClient) -> None:
    client.post(
        "/v1/knowledge/ingest",
        json={
            "articles": [make_article(id="kb-l"), make_article(id="kb-s", products=["shiftwise"])]
        },
    )
    hits = client.get(
        "/v1/knowledge/search", params={"q": "bank feed", "product": "shiftwise"}
    ).json()["hits"]
    assert [h["article_id"] for h in hits] == ["kb-s"]
    bad = client.get("/v1/knowledge/search", params={"q": "x", "kind": "recipe"})
    assert bad.status_code == 422 and "how_to" in json.dumps(bad.json())
    assert client.get("/v1/knowledge/search").status_code == 422


def test_body_size_limit(settings: Settings, embedder, chunker) -> None:  # type: ignore[no-untyped-def]
    small = Settings(data_dir=settings.data_dir, max_body_bytes=2048)
    client = TestClient(create_app(Runtime.build(small, embedder=embedder, chunker=chunker)))
    response = client.post(
        "/v1/knowledge/ingest", json={"articles": [make_article(body="x " * 5000)]}
    )
    assert response.status_code == 413 and "COPILOT_MAX_BODY_BYTES" in response.json()["detail"]


def test_api_keys_are_required_when_configured(settings: Settings, embedder, chunker) -> None:  # type: ignore[no-untyped-def]
    keyed = Settings(data_dir=settings.data_dir, api_keys=["s3cret"])  # type: ignore[list-item]
    client = TestClient(create_app(Runtime.build(keyed, embedder=embedder, chunker=chunker)))
    assert client.get("/v1/knowledge/search", params={"q": "x"}).status_code == 401
    ok = client.get("/v1/knowledge/search", params={"q": "x"}, headers={"X-API-Key": "s3cret"})
    assert ok.status_code == 200
    assert client.get("/healthz").status_code == 200


def test_openapi_documents_every_route(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/healthz",
        "/readyz",
        "/v1/knowledge/ingest",
        "/v1/knowledge/search",
        "/v1/knowledge/articles/{article_id}",
        "/v1/success-plans/{account_id}",
    ):
        assert path in paths
    assert "multipart/form-data" in paths["/v1/knowledge/ingest"]["post"]["requestBody"]["content"]
    assert client.get("/docs").status_code == 200


def test_uploaded_article_keeps_no_temporary_path(client: TestClient, tmp_path: Path) -> None:
    files = [("files", ("kb.md", markdown(make_article(id="kb-1")).encode(), "text/markdown"))]
    client.post("/v1/knowledge/ingest", files=files)
    assert client.get("/v1/knowledge/articles/kb-1").json()["source"] == "upload:kb.md"
