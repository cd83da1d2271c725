"""Ingestion on the real model, real Chroma and real SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from copilot.retrieval.filters import SearchFilters
from copilot.runtime import Runtime
from tests.factories import write_article, write_plan

pytestmark = pytest.mark.integration


def _ids(runtime: Runtime, query: str, **filters: object) -> list[str]:
    result = runtime.retriever.search(query, SearchFilters(**filters), k=10)  # type: ignore[arg-type]
    return [h.article.id for h in result.hits]


def test_second_ingest_of_unchanged_files_embeds_nothing(runtime: Runtime, tmp_path: Path) -> None:
    src = tmp_path / "kb"
    write_article(src, id="kb-1")
    write_article(
        src,
        id="kb-2",
        title="Invite users",
        kind="how_to",
        body="Go to **Settings > Users & roles** and select **Invite user** to add a colleague.",
    )
    write_plan(src)
    first = runtime.ingestor().ingest_paths([src])
    assert first.ok and first.articles.added == 2 and first.plans.added == 1
    assert first.chunks_embedded > 0

    second = runtime.ingestor().ingest_paths([src])
    assert second.chunks_embedded == 0
    assert second.articles.unchanged == 2 and second.plans.unchanged == 1
    assert second.index_version == first.index_version


def test_unchanged_reingest_in_a_new_process_never_loads_the_model(
    runtime: Runtime,
    settings,
    chunker,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    from copilot.embeddings import SentenceTransformerEmbedder

    src = tmp_path / "kb"
    write_article(src)
    assert runtime.ingestor().ingest_paths([src]).ok
    cold = SentenceTransformerEmbedder()
    again = Runtime.build(settings, embedder=cold, chunker=chunker)
    report = again.ingestor().ingest_paths([src])
    assert report.chunks_embedded == 0 and cold.loads == 0


def test_changed_article_replaces_all_its_chunks(runtime: Runtime, tmp_path: Path) -> None:
    src = tmp_path / "kb"
    path = write_article(src, id="kb-1")
    runtime.ingestor().ingest_paths([src])
    old_chunks = set(runtime.store.chunk_ids("kb-1"))

    write_article(
        src,
        id="kb-1",
        body="Payroll exports now go through **Time > Approvals** "
        "before they reach Gusto; approve each timesheet first.",
    )
    report = runtime.ingestor().ingest_paths([src])

    assert report.articles.updated == 1 and report.chunks_deleted == len(old_chunks)
    new_chunks = set(runtime.store.chunk_ids("kb-1"))
    assert new_chunks.isdisjoint(old_chunks)
    assert runtime.vectors.ids() == new_chunks
    assert set(runtime.lexical.ids()) == new_chunks
    assert _ids(runtime, "approve timesheets before the Gusto payroll export") == ["kb-1"]
    assert path.exists()


def test_failed_index_write_leaves_the_old_article_served(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "kb"
    write_article(src, id="kb-1")
    runtime.ingestor().ingest_paths([src])
    before = set(runtime.vectors.ids())

    write_article(src, id="kb-1", body="Completely different text about overtime alerts.")

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(runtime.store, "replace_article", broken)
    report = runtime.ingestor().ingest_paths([src])

    assert not report.ok and "disk full" in report.errors[0].message
    assert set(runtime.vectors.ids()) == before  # the new vectors were rolled back
    assert _ids(runtime, "bank feed reconnect BF-102") == ["kb-1"]


def test_prune_deletes_articles_and_plans_whose_files_are_gone(
    runtime: Runtime, tmp_path: Path
) -> None:
    src = tmp_path / "kb"
    keep = write_article(src, id="kb-1")
    gone = write_article(src, id="kb-2", title="Old article", body="Retired content about fax.")
    plan = write_plan(src)
    runtime.ingestor().ingest_paths([src])
    gone.unlink()
    plan.unlink()

    without_prune = runtime.ingestor().ingest_paths([src])
    assert without_prune.articles.deleted == 0
    assert runtime.store.get_article("kb-2") is not None

    pruned = runtime.ingestor().ingest_paths([src], prune=True)
    assert pruned.articles.deleted == 1 and pruned.plans.deleted == 1
    assert runtime.store.get_article("kb-2") is None
    assert runtime.store.get_plan("acct-9001") is None
    assert all(cid.startswith("kb-1::") for cid in runtime.vectors.ids())
    assert keep.exists()


def test_prune_keeps_an_article_whose_file_failed_to_load(runtime: Runtime, tmp_path: Path) -> None:
    src = tmp_path / "kb"
    path = write_article(src, id="kb-1")
    runtime.ingestor().ingest_paths([src])
    path.write_text(path.read_text().replace("kind: troubleshooting", "kind: troubleshootin"))

    report = runtime.ingestor().ingest_paths([src], prune=True)
    assert not report.ok and report.articles.deleted == 0
    assert runtime.store.get_article("kb-1") is not None


def test_bad_files_are_reported_and_good_ones_still_ingested(
    runtime: Runtime, tmp_path: Path
) -> None:
    src = tmp_path / "kb"
    write_article(src, id="kb-1")
    write_article(src, id="kb-2", kind="tutorial")
    write_article(src, id="kb-3", products=["Ledgerly!"])
    write_plan(src, account_id="acct-1", stage="expert")
    report = runtime.ingestor().ingest_paths([src])

    assert not report.ok
    assert report.articles.added == 1
    assert report.articles.failed == 2 and report.plans.failed == 1
    fields = {(Path(p.source).name, p.field) for p in report.errors}
    assert fields == {("kb-2.md", "kind"), ("kb-3.md", "products[0]"), ("acct-1.yaml", "stage")}
    assert all(p.fix for p in report.errors)


def test_duplicate_ids_keep_the_first_file_and_name_it(runtime: Runtime, tmp_path: Path) -> None:
    src = tmp_path / "kb"
    write_article(src / "a", id="kb-1")
    write_article(src / "b", id="kb-1", title="Other")
    report = runtime.ingestor().ingest_paths([src])
    assert report.articles.added == 1 and report.articles.failed == 1
    (problem,) = report.errors
    assert problem.field == "id" and "a/kb-1.md" in (problem.fix or "")


def test_plan_entitlements_are_checked_against_the_catalog(
    runtime: Runtime, tmp_path: Path
) -> None:
    src = tmp_path / "kb"
    write_plan(src, products=[{"product": "ledgerly", "plan": "platinum"}])
    report = runtime.ingestor().ingest_paths([src])
    (problem,) = report.errors
    assert "platinum" in problem.message and "starter" in (problem.fix or "")


def test_drafts_and_archived_articles_are_stored_but_never_served(
    runtime: Runtime, tmp_path: Path
) -> None:
    src = tmp_path / "kb"
    write_article(src, id="kb-pub")
    write_article(src, id="kb-draft", status="draft")
    write_article(src, id="kb-old", status="archived")
    report = runtime.ingestor().ingest_paths([src])
    assert sorted(report.not_served) == ["kb-draft", "kb-old"]
    assert runtime.store.get_article("kb-draft") is not None
    for mode in ("hybrid", "dense", "lexical"):
        result = runtime.retriever.search("bank feed reconnect", k=10, mode=mode)
        assert [h.article.id for h in result.hits] == ["kb-pub"], mode


def test_publishing_a_draft_makes_it_searchable(runtime: Runtime, tmp_path: Path) -> None:
    src = tmp_path / "kb"
    write_article(src, id="kb-1", status="draft")
    runtime.ingestor().ingest_paths([src])
    assert _ids(runtime, "bank feed reconnect") == []
    write_article(src, id="kb-1", status="published")
    report = runtime.ingestor().ingest_paths([src])
    assert report.chunks_embedded == 0 or report.articles.updated == 1
    assert _ids(runtime, "bank feed reconnect") == ["kb-1"]


@pytest.mark.parametrize(
    ("oversample", "exact"),
    [(1600, 5000), (0, 5000), (0, -1)],
    ids=["post-filtered", "exact-in-memory", "index-filtered"],
)
def test_filters_restrict_results_in_both_retrievers(
    runtime: Runtime,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    oversample: int,
    exact: int,
) -> None:
    import copilot.retrieval.search as search

    monkeypatch.setattr(search, "MAX_OVERSAMPLE", oversample)
    monkeypatch.setattr(search, "MAX_EXACT", exact)
    src = tmp_path / "kb"
    body = "Open **Banking > Bank rules** to categorize transactions automatically."
    write_article(src, id="kb-all", body=body)
    write_article(src, id="kb-pro", plans=["pro", "enterprise"], body=body)
    write_article(src, id="kb-sw", products=["shiftwise"], body=body)
    write_article(src, id="kb-int", audience="internal", body=body)
    write_article(src, id="kb-how", kind="how_to", body=body)
    write_article(src, id="kb-fr", locale="fr", body=body)
    runtime.ingestor().ingest_paths([src])

    q = "bank rules categorize transactions"
    for mode in ("dense", "lexical", "hybrid"):

        def ids(mode: str = mode, **f: object) -> set[str]:
            filters = SearchFilters(**f)  # type: ignore[arg-type]
            hits = runtime.retriever.search(q, filters, k=10, mode=mode).hits
            return {h.article.id for h in hits}

        assert ids(product="shiftwise") == {"kb-sw"}, mode
        assert "kb-pro" not in ids(plan="starter") and "kb-all" in ids(plan="starter"), mode
        assert "kb-pro" in ids(plan="pro"), mode
        assert ids(audience="internal") == {"kb-int"}, mode
        assert ids(kinds=("how_to",)) == {"kb-how"}, mode
        assert ids(locale="fr") == {"kb-fr"}, mode


def test_results_are_articles_with_best_chunk_and_neighbours(kb_runtime: Runtime) -> None:
    result = kb_runtime.retriever.search("bank feed stopped importing transactions", k=5)
    ids = [h.article.id for h in result.hits]
    assert len(ids) == len(set(ids))  # one entry per article
    top = result.hits[0]
    assert top.article.id == "kb-0001"
    assert top.best_chunk.article_id == "kb-0001"
    assert all(abs(n.ord - top.best_chunk.ord) == 1 for n in top.neighbours)
    assert top.best_chunk.text in top.passage


def test_a_second_process_sees_new_content_after_ingest(
    runtime: Runtime,
    settings,
    embedder,
    chunker,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    server = Runtime.build(settings, embedder=embedder, chunker=chunker)
    server.retriever._staleness_check_s = 0.0  # check on every search in this test
    assert server.retriever.search("bank feed").hits == []
    write_article(tmp_path / "kb", id="kb-1")
    runtime.ingestor().ingest_paths([tmp_path / "kb"])
    assert [h.article.id for h in server.retriever.search("bank feed").hits] == ["kb-1"]


def test_the_sample_knowledge_base_ingests_cleanly(kb_runtime: Runtime) -> None:
    articles = kb_runtime.store.list_articles()
    assert len(articles) >= 80
    assert len(kb_runtime.store.list_plans()) >= 25
    assert kb_runtime.vectors.count() == len(kb_runtime.lexical.ids())


def test_every_stored_vector_is_the_embedding_of_its_own_chunk(
    runtime: Runtime, tmp_path: Path
) -> None:
    import numpy as np

    from copilot.retrieval.vector import ChromaVectorIndex

    src = tmp_path / "kb"
    write_article(src, id="kb-short", body="Reset the password from **Settings**.")
    write_article(src, id="kb-long")
    write_article(src, id="kb-mid", body="Approve swaps on the **Swap board** before Friday. " * 3)
    runtime.ingestor().ingest_paths([src])
    assert isinstance(runtime.vectors, ChromaVectorIndex)
    chunks = {c.chunk.chunk_id: c.chunk for c in runtime.store.all_chunks()}
    got = runtime.vectors.collection.get(ids=list(chunks), include=["embeddings"])
    for chunk_id, stored in zip(got["ids"], got["embeddings"], strict=True):
        expected = runtime.embedder.embed([chunks[chunk_id].embed_text])[0]
        assert float(np.dot(stored, expected)) > 0.999, chunk_id
