"""Warm search latency of Retriever.search on the sample KB and on a synthetic 20k-chunk index.

For each index and mode (hybrid, dense, lexical): --warmup queries first (not timed), then
--queries timed searches cycling through the `query` fields of evals/queries/knowledge.jsonl
with their product/plan filters. Reported: p50/p95/mean/max of SearchResult.timings_ms per stage
(embed, dense, lexical, fuse, total) and of the wall time of retriever.search measured outside.
Target: hybrid p95 <= 25 ms at 20k chunks.

The 20k index is the real KB (its real chunks and vectors) plus synthetic articles made by
recombining real sections and paragraphs of knowledge/ under new ids (so BM25 sees a realistic
vocabulary), chunked by the real chunker. Only a pool of --pool chunk texts is embedded by the
model (the real chunks plus a sample of synthetic ones); every other synthetic chunk gets a
normalised mix of the pool vectors of the real chunks its paragraphs come from, plus noise.
Everything is written through the real stores and cached in --cache for fast re-runs.

    python bench/search.py [--queries 300] [--chunks 20000] [--cache bench/results/index20k]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    KNOWLEDGE,
    QUERIES,
    REPO_ROOT,
    RESULTS_DIR,
    CpuMonitor,
    build_runtime,
    environment,
    header,
    load_queries,
    loaded_chunker,
    loaded_embedder,
    set_threads,
    settings_for,
    summary,
    table,
    tree_fingerprint,
    write_json,
)
from copilot.domain import Article, Chunk
from copilot.retrieval.filters import SearchFilters
from copilot.runtime import Runtime
from copilot.store.sql import StoredChunk
from ingest.loaders import load_paths
from ingest.pipeline import article_hash

GENERATOR_VERSION = 1
MODES = ("hybrid", "dense", "lexical")
STAGES = ("embed", "dense", "lexical", "fuse", "total")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Warm search latency (p50/p95) on the sample KB and a synthetic 20k index.",
        epilog="Writes bench/results/search.json.",
    )
    parser.add_argument(
        "--queries", type=int, default=300, help="timed searches per index and mode (default 300)"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=20,
        help="untimed warm-up searches per index and mode (default 20)",
    )
    parser.add_argument(
        "--chunks", type=int, default=20_000, help="chunks in the synthetic index (default 20000)"
    )
    parser.add_argument(
        "--pool",
        type=int,
        default=2_000,
        help="chunk texts embedded by the model for the synthetic index (default 2000)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=RESULTS_DIR / "index20k",
        help="folder caching the synthetic index (default bench/results/index20k)",
    )
    parser.add_argument(
        "--kb-cache",
        type=Path,
        default=RESULTS_DIR / "index_kb",
        help="data dir of the sample-KB index (default bench/results/index_kb)",
    )
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached indexes")
    parser.add_argument(
        "--modes",
        default=",".join(MODES),
        help="comma-separated modes (default hybrid,dense,lexical)",
    )
    parser.add_argument("--k", type=int, default=5, help="articles per search (default 5)")
    parser.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)"
    )
    parser.add_argument("--skip-kb", action="store_true", help="only the synthetic index")
    parser.add_argument("--skip-synthetic", action="store_true", help="only the sample KB")
    args = parser.parse_args(argv)
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if bad := [m for m in args.modes if m not in MODES]:
        parser.error(f"unknown modes {bad}")
    return args


# --------------------------------------------------------------------------- sample KB
def kb_runtime(data_dir: Path, embedder: Any, chunker: Any, rebuild: bool) -> Runtime:
    """The sample KB ingested into data_dir (idempotent: unchanged articles are not re-embedded)."""
    if rebuild:
        shutil.rmtree(data_dir, ignore_errors=True)
    runtime = build_runtime(data_dir, embedder=embedder, chunker=chunker)
    started = time.perf_counter()
    report = runtime.ingestor().ingest_paths([KNOWLEDGE], prune=True)
    where = data_dir.relative_to(REPO_ROOT) if data_dir.is_relative_to(REPO_ROOT) else data_dir
    print(
        f"sample KB index {where}: {report.articles.added} added, "
        f"{report.articles.updated} updated, "
        f"{report.articles.unchanged} unchanged, {report.chunks_embedded} chunks embedded "
        f"({time.perf_counter() - started:.1f} s)"
    )
    return runtime


# --------------------------------------------------------------------------- synthetic index
_HEADING = re.compile(r"^(#{1,4})\s+(.*)$")


def sections(article: Article) -> list[tuple[str, list[str]]]:
    """The article body as (heading, paragraphs) pairs; text before the first heading is ''."""
    out: list[tuple[str, list[str]]] = [("", [])]
    for block in re.split(r"\n\s*\n", article.body):
        block = block.strip()
        if not block:
            continue
        match = _HEADING.match(block.splitlines()[0])
        if match:
            out.append((match.group(2).strip(), []))
            rest = "\n".join(block.splitlines()[1:]).strip()
            if rest:
                out[-1][1].append(rest)
        else:
            out[-1][1].append(block)
    return [(h, ps) for h, ps in out if ps]


def synthetic_article(
    n: int, primary: Article, others: Sequence[Article], rng: random.Random
) -> tuple[Article, list[Article]]:
    """A new article recombining sections and paragraphs of a primary and 0-2 related articles."""
    sources = [primary, *rng.sample(list(others), k=min(len(others), rng.randint(0, 2)))]
    pool = [(src, heading, paras) for src in sources for heading, paras in sections(src)]
    headed = [p for p in pool if p[1]] or pool
    parts: list[str] = []
    intro = [p for p in pool if not p[1]]
    if intro and rng.random() < 0.8:
        parts.append(rng.choice(intro[0][2]))
    for _ in range(rng.randint(2, 4)):
        _, heading, paras = rng.choice(headed)
        parts.append(f"## {heading or 'Overview'}")
        for _ in range(rng.randint(1, 3)):
            # mostly paragraphs of the same section, sometimes one from elsewhere
            src_paras = paras if rng.random() < 0.75 else rng.choice(pool)[2]
            parts.append(rng.choice(src_paras))
    titles = [s.title for s in sources] + [h for _, h, _ in headed if h]
    title = rng.choice(titles)
    data = primary.model_dump(exclude={"id", "title", "body", "source", "related", "url"})
    article = Article(
        id=f"syn-{n:05d}",
        title=title,
        body="\n\n".join(parts),
        source="bench/synthetic",
        related=[],
        **data,
    )
    return article, sources


def build_synthetic(
    cache: Path, target: int, pool_size: int, seed: int, kb: Runtime, embedder: Any, chunker: Any
) -> dict[str, Any]:
    """Write the synthetic index into cache (via cache.tmp, renamed when complete)."""
    timings: dict[str, float] = {}
    rng = random.Random(seed)
    tmp = cache.with_name(cache.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)

    # real articles, chunks and vectors, from the sample-KB index (no re-embedding)
    started = time.perf_counter()
    real_articles = load_paths([KNOWLEDGE]).articles
    real_chunks = {a.id: chunker.chunk(a) for a in real_articles}
    ids = [c.chunk_id for a in real_articles for c in real_chunks[a.id]]
    got = kb.vectors.collection.get(ids=ids, include=["embeddings"])  # type: ignore[attr-defined]
    vec_by_id = {
        cid: np.asarray(v, dtype=np.float32)
        for cid, v in zip(got["ids"], got["embeddings"], strict=True)
    }
    missing = [cid for cid in ids if cid not in vec_by_id]
    if missing:
        raise SystemExit(
            f"{len(missing)} real chunks missing from the KB index; run with --rebuild"
        )
    timings["real_chunks_s"] = time.perf_counter() - started

    # which real chunk each real paragraph lives in (by a prefix of the paragraph)
    def key(text: str) -> str:
        return " ".join(text.split())[:60]

    para_home: dict[str, dict[str, list[str]]] = {}  # article id -> paragraph key -> chunks
    for article in real_articles:
        flat_chunks = [(c.chunk_id, " ".join(c.text.split())) for c in real_chunks[article.id]]
        homes = para_home.setdefault(article.id, {})
        for _, paras in sections(article):
            for para in paras:
                homes.setdefault(key(para), []).extend(
                    cid for cid, text in flat_chunks if key(para) in text
                )
    article_vecs = {a.id: [c.chunk_id for c in real_chunks[a.id]] for a in real_articles}

    # synthetic articles until the total reaches the target
    started = time.perf_counter()
    by_product: dict[str, list[Article]] = {}
    for article in real_articles:
        by_product.setdefault(article.products[0], []).append(article)
    total = sum(len(c) for c in real_chunks.values())
    synthetic: list[tuple[Article, list[Chunk], list[Article]]] = []
    n = 0
    while total < target:
        n += 1
        primary = rng.choice(real_articles)
        others = [a for a in by_product[primary.products[0]] if a.id != primary.id]
        article, sources = synthetic_article(n, primary, others, rng)
        chunks = chunker.chunk(article)[: target - total]
        synthetic.append((article, chunks, sources))
        total += len(chunks)
    timings["generate_and_chunk_s"] = time.perf_counter() - started
    print(
        f"  {len(synthetic)} synthetic articles, {total - len(ids)} synthetic chunks "
        f"({timings['generate_and_chunk_s']:.1f} s)",
        flush=True,
    )

    # the embedded pool: real chunk vectors + a sample of synthetic chunks embedded for real
    flat = [(a, c, s) for a, chunks, s in synthetic for c in chunks]
    sample = rng.sample(range(len(flat)), k=max(0, min(len(flat), pool_size - len(ids))))
    started = time.perf_counter()
    embedded = embedder.embed([flat[i][1].embed_text for i in sample]) if sample else []
    timings["embed_pool_s"] = time.perf_counter() - started
    exact = {flat[i][1].chunk_id: embedded[j] for j, i in enumerate(sample)}
    print(
        f"  embedded a pool of {len(ids)} real + {len(sample)} synthetic chunk texts "
        f"({timings['embed_pool_s']:.1f} s)",
        flush=True,
    )

    # a cheap vector for every other synthetic chunk
    started = time.perf_counter()
    np_rng = np.random.default_rng(seed)
    dim = len(next(iter(vec_by_id.values())))
    synth_vectors: list[np.ndarray] = []
    mixed = 0
    for _, chunk, sources in flat:
        if chunk.chunk_id in exact:
            synth_vectors.append(exact[chunk.chunk_id])
            continue
        flat_text = " ".join(chunk.text.split())
        homes = [
            cid
            for s in sources
            for k_, cids in para_home[s.id].items()
            if k_ and k_ in flat_text
            for cid in cids
        ]
        if not homes:
            homes = [cid for s in sources for cid in article_vecs[s.id]]
        picks = list(dict.fromkeys(homes))
        picks = [
            picks[i] for i in np_rng.choice(len(picks), size=min(3, len(picks)), replace=False)
        ]
        weights = np_rng.dirichlet(np.ones(len(picks)))
        vec = sum(w * vec_by_id[cid] for w, cid in zip(weights, picks, strict=True))
        vec = vec + np_rng.normal(0, 0.02, dim)
        synth_vectors.append((vec / np.linalg.norm(vec)).astype(np.float32))
        mixed += 1
    timings["mix_vectors_s"] = time.perf_counter() - started

    # write everything through the real stores
    started = time.perf_counter()
    runtime = build_runtime(tmp, embedder=embedder, chunker=chunker)
    ingestor = runtime.ingestor()
    stored: list[StoredChunk] = []
    vectors: list[np.ndarray] = []
    for art in real_articles:
        runtime.store.replace_article(
            art, real_chunks[art.id], article_hash(art, ingestor.settings_key)
        )
        stored += [StoredChunk(c, art) for c in real_chunks[art.id]]
        vectors += [vec_by_id[c.chunk_id] for c in real_chunks[art.id]]
    for art, chunks, _ in synthetic:
        runtime.store.replace_article(art, chunks, article_hash(art, ingestor.settings_key))
        stored += [StoredChunk(c, art) for c in chunks]
    vectors += synth_vectors
    timings["store_s"] = time.perf_counter() - started
    started = time.perf_counter()
    runtime.vectors.upsert(stored, np.stack(vectors).astype(np.float32))
    timings["vectors_s"] = time.perf_counter() - started
    started = time.perf_counter()
    version = ingestor.refresh_lexical()
    timings["bm25_s"] = time.perf_counter() - started
    counts = {
        "vectors": runtime.vectors.count(),
        "store_chunks": len(runtime.store.all_chunks()),
        "bm25": len(runtime.lexical.ids()),
        "articles": len(real_articles) + len(synthetic),
        "synthetic_articles": len(synthetic),
        "real_chunks": len(ids),
        "pool_embedded": len(ids) + len(sample),
        "mixed_vectors": mixed,
    }
    del runtime, ingestor
    return {"timings_s": timings, "counts": counts, "index_version": version, "tmp": tmp}


def synthetic_runtime(
    args: argparse.Namespace, kb: Runtime, embedder: Any, chunker: Any
) -> tuple[Runtime, dict[str, Any]]:
    """Open the cached synthetic index, building it first if missing or stale."""
    cache: Path = args.cache.resolve()
    want = {
        "generator": GENERATOR_VERSION,
        "chunks": args.chunks,
        "pool": args.pool,
        "seed": args.seed,
        "knowledge": tree_fingerprint(KNOWLEDGE),
    }
    manifest = cache / "bench-manifest.json"
    meta: dict[str, Any] | None = None
    if manifest.is_file() and not args.rebuild:
        meta = json.loads(manifest.read_text(encoding="utf-8"))
        if meta.get("params") != want:
            print(f"cached index {cache} is stale ({meta.get('params')} != {want}); rebuilding")
            meta = None
    if meta is None:
        print(f"building the synthetic {args.chunks}-chunk index in {cache} ...", flush=True)
        started = time.perf_counter()
        built = build_synthetic(cache, args.chunks, args.pool, args.seed, kb, embedder, chunker)
        tmp: Path = built.pop("tmp")
        shutil.rmtree(cache, ignore_errors=True)
        tmp.rename(cache)
        meta = {"params": want, **built, "build_s": time.perf_counter() - started}
        manifest.write_text(json.dumps(meta, indent=2), encoding="utf-8")
        print(f"  built in {meta['build_s']:.1f} s: {meta['counts']}", flush=True)
    else:
        print(f"using cached synthetic index {cache} (built in {meta['build_s']:.1f} s)")
    runtime = build_runtime(cache, embedder=embedder, chunker=chunker)
    counts = {"vectors": runtime.vectors.count(), "store_chunks": len(runtime.store.all_chunks())}
    print(f"  vectors.count() = {counts['vectors']}, store chunks = {counts['store_chunks']}")
    for name, value in counts.items():
        if abs(value - args.chunks) > 0.02 * args.chunks:
            raise SystemExit(f"{name} = {value}, expected about {args.chunks}")
    return runtime, {**meta, "opened_counts": counts}


# --------------------------------------------------------------------------- timing
def run_queries(
    runtime: Runtime, queries: list[dict[str, Any]], mode: str, n: int, warmup: int, k: int
) -> dict[str, Any]:
    retriever = runtime.retriever
    filters = [SearchFilters(product=q.get("product"), plan=q.get("plan")) for q in queries]
    texts = [q["query"] for q in queries]
    for i in range(warmup):
        j = i % len(texts)
        retriever.search(texts[j], filters[j], k=k, mode=mode)
    stages: dict[str, list[float]] = {s: [] for s in STAGES}
    wall: list[float] = []
    hits = judged = 0
    for i in range(n):
        j = i % len(texts)
        started = time.perf_counter()
        result = retriever.search(texts[j], filters[j], k=k, mode=mode)
        wall.append((time.perf_counter() - started) * 1000)
        for stage in STAGES:
            if stage in result.timings_ms:
                stages[stage].append(result.timings_ms[stage])
        if i < len(texts) and queries[j].get("relevant"):
            judged += 1
            found = {h.article.id for h in result.hits}
            hits += bool(found & set(queries[j]["relevant"]))
    return {
        "stages_ms": {s: summary(v) for s, v in stages.items() if v},
        "wall_ms": summary(wall),
        f"hit@{k}": hits / judged if judged else None,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    queries = load_queries(QUERIES)
    header(
        "bench/search.py: warm Retriever.search latency",
        [
            f"{len(queries)} queries from {QUERIES.relative_to(REPO_ROOT)} with their product/plan "
            f"filters, cycled for {args.queries} timed searches after {args.warmup} warm-up ones, "
            f"k={args.k}.",
            "Per stage: SearchResult.timings_ms; wall: retriever.search timed from outside.",
            f"Indexes: the sample KB, and a synthetic {args.chunks}-chunk index (real KB + "
            "recombined real paragraphs, cheap vectors). Target: hybrid p95 <= 25 ms at 20k.",
        ],
    )
    set_threads(args.threads)
    settings = settings_for(args.kb_cache)
    embedder, load_s, _ = loaded_embedder(settings)
    chunker, _ = loaded_chunker(settings)
    print(f"model loaded in {load_s:.2f} s (excluded)")
    kb = kb_runtime(args.kb_cache.resolve(), embedder, chunker, args.rebuild)

    indexes: list[tuple[str, Runtime, dict[str, Any]]] = []
    if not args.skip_kb:
        indexes.append(
            (
                "sample KB",
                kb,
                {"store_chunks": len(kb.store.all_chunks()), "vectors": kb.vectors.count()},
            )
        )
    if not args.skip_synthetic:
        synth, meta = synthetic_runtime(args, kb, embedder, chunker)
        indexes.append((f"synthetic {args.chunks // 1000}k", synth, meta))
    print()

    results: dict[str, Any] = {}
    rows: list[list[Any]] = []
    monitor = CpuMonitor()
    for name, runtime, meta in indexes:
        chunks = meta.get("opened_counts", meta).get("store_chunks")
        results[name] = {"chunks": chunks, "index": meta, "modes": {}}
        for mode in args.modes:
            started = time.perf_counter()
            got = run_queries(runtime, queries, mode, args.queries, args.warmup, args.k)
            results[name]["modes"][mode] = got
            print(
                f"{name} / {mode}: {args.queries} searches in "
                f"{time.perf_counter() - started:.1f} s",
                flush=True,
            )
            label = f"{name} ({chunks})"
            for stage, figures in [*got["stages_ms"].items(), ("wall", got["wall_ms"])]:
                rows.append(
                    [
                        label,
                        mode,
                        stage,
                        figures["p50"],
                        figures["p95"],
                        figures["mean"],
                        figures["max"],
                        f"{got[f'hit@{args.k}']:.2f}"
                        if stage == "wall" and got[f"hit@{args.k}"] is not None
                        else "",
                    ]
                )
    cpu_use = monitor.stop()
    print(CpuMonitor.note(cpu_use))
    print()
    print("latency in ms (stage rows from SearchResult.timings_ms; wall = measured outside)")
    table(["index (chunks)", "mode", "stage", "p50", "p95", "mean", "max", f"hit@{args.k}"], rows)

    verdict = None
    synth_name = f"synthetic {args.chunks // 1000}k"
    if synth_name in results and "hybrid" in results[synth_name]["modes"]:
        hybrid = results[synth_name]["modes"]["hybrid"]
        p95_total = hybrid["stages_ms"]["total"]["p95"]
        p95_wall = hybrid["wall_ms"]["p95"]
        verdict = p95_wall <= 25.0
        print(
            f"target hybrid p95 <= 25 ms at {args.chunks} chunks: "
            f"{'PASS' if verdict else 'FAIL'} (timings total p95 {p95_total:.1f} ms, "
            f"wall p95 {p95_wall:.1f} ms)"
        )
    write_json(
        "search",
        {
            "measures": __doc__.split("\n\n")[0] if __doc__ else "",
            "environment": environment(),
            "params": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "cpu_use": cpu_use,
            "model_load_s": load_s,
            "target": {"hybrid_p95_ms_max": 25.0, "chunks": args.chunks, "pass": verdict},
            "results": results,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
