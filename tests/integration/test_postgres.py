"""The same store code on the PostgreSQL server."""

from __future__ import annotations

from pathlib import Path

import pytest

from copilot.config import Settings
from copilot.domain import Article, Case, SuccessPlan
from copilot.runtime import Runtime
from copilot.store.sql import SqlStore
from tests.factories import make_article, make_plan, write_article, write_plan

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


def test_store_round_trips_articles_and_plans_on_postgres(postgres_url: str) -> None:
    store = SqlStore.from_url(postgres_url)
    store.ping()
    assert store.engine.dialect.name == "postgresql"
    article = Article.model_validate(make_article(id="kb-1"))
    store.replace_article(article, [], "h1")
    assert store.get_article("kb-1") == article
    assert store.article_hashes() == {"kb-1": "h1"}
    plan = SuccessPlan.model_validate(make_plan())
    store.put_plan(plan, "p1", "x.yaml")
    assert store.get_plan("acct-9001") == plan
    assert store.delete_article("kb-1") and store.get_article("kb-1") is None


def test_full_ingest_and_search_on_postgres(
    postgres_url: str,
    tmp_path: Path,
    embedder,
    chunker,  # type: ignore[no-untyped-def]
) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_url)
    runtime = Runtime.build(settings, embedder=embedder, chunker=chunker)
    src = tmp_path / "kb"
    write_article(src, id="kb-1")
    write_plan(src)
    first = runtime.ingestor().ingest_paths([src])
    assert first.ok and first.articles.added == 1 and first.plans.added == 1
    assert runtime.ingestor().ingest_paths([src]).chunks_embedded == 0
    hits = runtime.retriever.search("bank feed reconnect").hits
    assert [h.article.id for h in hits] == ["kb-1"]


def test_evaluation_runs_and_feedback_cases_round_trip_on_postgres(postgres_url: str) -> None:
    from evals.store import RunStore
    from tests.unit.test_reports import make_run

    runs = RunStore.from_url(postgres_url)
    run = make_run()
    runs.save(run, "/tmp/run.json")

    loaded = runs.load(run.run_id)
    assert loaded.model_dump(mode="json", exclude={"cases"}) == run.model_dump(
        mode="json", exclude={"cases"}
    )
    assert sorted(c.id for c in loaded.cases) == sorted(c.id for c in run.cases)
    assert runs.promote(run.run_id).is_baseline and runs.baseline(run.suite.name) == run.run_id
    assert [r.run_id for r in runs.list(run.suite.name)] == [run.run_id]

    store = SqlStore.from_url(postgres_url)
    store.create_schema()
    record = next(c for c in loaded.cases if c.suggestion is not None)
    suggestion, case = record.suggestion, record.case
    assert suggestion is not None

    store.put_suggestion(suggestion, Case.model_validate(case))
    store.add_feedback(
        suggestion.suggestion_id,
        "resolution",
        "resolution",
        "thumbs_up",
        final_text=None,
        reason=None,
        agent_id="a-1",
        product=None,
    )
    [(kept, kept_case, events)] = store.feedback_with_cases()
    assert kept == suggestion and kept_case is not None and kept_case.case_id == case["case_id"]
    assert [e.event for e in events] == ["thumbs_up"]
