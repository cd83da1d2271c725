"""Retrieval quality on the labelled queries over knowledge/ (evals/queries/knowledge.jsonl)."""

from __future__ import annotations

import json

import pytest

from copilot.retrieval.filters import SearchFilters
from copilot.runtime import Runtime
from tests.conftest import REPO

pytestmark = pytest.mark.integration
QUERIES = [
    json.loads(line) for line in (REPO / "evals/queries/knowledge.jsonl").open() if line.strip()
]


def _recall_at(runtime: Runtime, mode: str, k: int) -> tuple[float, float]:
    """(recall@k, hit@1) over the labelled queries: recall is the share of queries with any
    relevant article in the top k."""
    found = first = 0
    for q in QUERIES:
        filters = SearchFilters(product=q["product"], plan=q["plan"])
        ids = [
            h.article.id for h in runtime.retriever.search(q["query"], filters, k=k, mode=mode).hits
        ]
        found += any(i in q["relevant"] for i in ids)
        first += bool(ids) and ids[0] in q["relevant"]
    return found / len(QUERIES), first / len(QUERIES)


def test_the_query_set_is_large_and_labels_only_served_articles(kb_runtime: Runtime) -> None:
    assert len(QUERIES) >= 40
    for q in QUERIES:
        for article_id in q["relevant"]:
            article = kb_runtime.store.get_article(article_id)
            assert article is not None and article.served, (q["id"], article_id)
            assert q["product"] in article.products
            assert q["plan"] is None or article.applies_to_plan(q["plan"])


def test_fused_recall_at_5_and_no_worse_than_either_retriever(kb_runtime: Runtime) -> None:
    fused = _recall_at(kb_runtime, "hybrid", 5)
    dense = _recall_at(kb_runtime, "dense", 5)
    lexical = _recall_at(kb_runtime, "lexical", 5)
    print(
        f"\nknowledge/ queries (n={len(QUERIES)}) recall@5 / hit@1: hybrid {fused[0]:.3f} / "
        f"{fused[1]:.3f}, dense {dense[0]:.3f} / {dense[1]:.3f}, lexical {lexical[0]:.3f} / "
        f"{lexical[1]:.3f}"
    )
    assert fused[0] >= 0.9
    assert fused[0] >= max(dense[0], lexical[0])
    assert fused[1] >= max(dense[1], lexical[1])
