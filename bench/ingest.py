"""Ingest throughput against the raw encoder, and the cost of re-ingesting an unchanged KB.

(a) first ingest of the KB into a fresh data dir with an already loaded embedder and chunker
    (model and tokenizer load are timed separately, not counted);
    chunks/s = chunks_embedded / IngestReport.timings_s["total"].
(b) the raw encoder alone on exactly the stored chunk texts (Chunk.embed_text of
    runtime.store.all_chunks()), same embedder and batch size: one embedder.embed(texts) call.
    Target: ingest chunks/s / raw chunks/s >= 0.8.
(c) re-ingest of the unchanged KB through a new Runtime on the same data dir with a new,
    never-loaded embedder. Targets: re-ingest / first ingest <= 0.05, 0 chunks embedded,
    embedder.loads == 0.
(a)+(b)+(c) run --repeat times, each on a fresh data dir; the tables give medians.

    python bench/ingest.py [--repeat 3] [--scale 1] [--knowledge knowledge]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    KNOWLEDGE,
    REPO_ROOT,
    CpuMonitor,
    build_runtime,
    environment,
    header,
    loaded_chunker,
    loaded_embedder,
    median,
    scaled_knowledge,
    set_threads,
    settings_for,
    table,
    write_json,
)
from copilot.embeddings import SentenceTransformerEmbedder

STAGES = ("load", "chunk", "embed", "index", "bm25")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Ingest throughput vs the raw encoder, and unchanged re-ingest cost.",
        epilog="Writes bench/results/ingest.json.",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of (a)+(b)+(c) (default 3)")
    parser.add_argument(
        "--scale",
        type=int,
        default=1,
        help="ingest N copies of the KB's articles with renamed ids (default 1)",
    )
    parser.add_argument(
        "--knowledge",
        type=Path,
        default=KNOWLEDGE,
        help="knowledge folder to ingest (default: the repo's knowledge/)",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)"
    )
    parser.add_argument(
        "--no-slices",
        action="store_true",
        help="skip the extra raw-encoder run in 256-text slices (diagnostic)",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.scale < 1:
        parser.error("--repeat and --scale must be >= 1")
    return args


def one_run(kb: Path, work: Path, embedder: Any, chunker: Any, slices: bool) -> dict[str, Any]:
    data_dir = work / "data"
    # (a) first ingest, model already loaded
    runtime = build_runtime(data_dir, embedder=embedder, chunker=chunker)
    loads_before = embedder.loads
    started, cpu = time.perf_counter(), time.process_time()
    report = runtime.ingestor().ingest_paths([kb])
    wall_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    if embedder.loads != loads_before:
        raise SystemExit("the embedder was loaded again during the timed ingest")
    for problem in report.errors[:5]:
        print(f"  ingest error: {problem.source}: {problem.message}")
    total_s = report.timings_s["total"]
    first = {
        "chunks_embedded": report.chunks_embedded,
        "articles_added": report.articles.added,
        "errors": len(report.errors),
        "total_s": total_s,
        "wall_s": wall_s,
        "cpu_s": cpu_s,
        "stages_s": {k: report.timings_s.get(k, 0.0) for k in STAGES},
        "chunks_per_s": report.chunks_embedded / total_s,
    }

    # (b) raw encoder on the same texts, same embedder, same batch size
    texts = [c.chunk.embed_text for c in runtime.store.all_chunks()]
    if len(texts) != report.chunks_embedded:
        raise SystemExit(
            f"store holds {len(texts)} chunks, ingest embedded {report.chunks_embedded}"
        )
    started, cpu = time.perf_counter(), time.process_time()
    vectors = embedder.embed(texts)
    raw_s, raw_cpu_s = time.perf_counter() - started, time.process_time() - cpu
    assert vectors.shape[0] == len(texts)
    raw = {
        "texts": len(texts),
        "batch_size": embedder.batch_size,
        "seconds": raw_s,
        "cpu_s": raw_cpu_s,
        "chunks_per_s": len(texts) / raw_s,
    }
    if slices:  # what Ingestor._embed does: embed() on consecutive slices of 256 texts
        ingest_order = texts  # store order = article id then ord, the same as ingest order
        started = time.perf_counter()
        for start in range(0, len(ingest_order), 256):
            embedder.embed(ingest_order[start : start + 256])
        raw["sliced_256_seconds"] = time.perf_counter() - started
        raw["sliced_256_chunks_per_s"] = len(texts) / raw["sliced_256_seconds"]

    # (c) re-ingest, unchanged KB, new runtime on the same data dir, new un-loaded embedder
    settings = settings_for(data_dir)
    fresh = SentenceTransformerEmbedder(settings.embedder_model, settings.embed_batch_size)
    started = time.perf_counter()
    runtime2 = build_runtime(data_dir, embedder=fresh)
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    report2 = runtime2.ingestor().ingest_paths([kb])
    re_wall_s = time.perf_counter() - started
    again = {
        "runtime_build_s": build_s,
        "total_s": report2.timings_s["total"],
        "wall_s": re_wall_s,
        "stages_s": dict(report2.timings_s),
        "chunks_embedded": report2.chunks_embedded,
        "articles_unchanged": report2.articles.unchanged,
        "embedder_loads": fresh.loads,
        "tokenizer_loaded": "tokenizer" in runtime2.chunker.__dict__,
        "errors": len(report2.errors),
    }
    return {
        "first": first,
        "raw": raw,
        "reingest": again,
        "ratio_ingest_vs_raw": first["chunks_per_s"] / raw["chunks_per_s"],
        "ratio_ingest_vs_raw_cpu": raw_cpu_s / cpu_s,
        "ratio_reingest_vs_first": re_wall_s / wall_s,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    header(
        "bench/ingest.py: ingest throughput vs the raw encoder; unchanged re-ingest",
        [
            f"KB: {args.knowledge} x{args.scale}; {args.repeat} run(s), medians reported; "
            "each run uses a fresh data dir in a tempdir.",
            "(a) first ingest with a pre-loaded embedder: chunks/s = chunks_embedded / total s",
            "(b) raw encoder: embedder.embed(stored Chunk.embed_text) alone, same batch size",
            "(c) re-ingest of the unchanged KB: new Runtime, same data dir, new un-loaded embedder",
        ],
    )
    set_threads(args.threads)
    monitor = CpuMonitor()
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        tmp_path = Path(tmp)
        kb = args.knowledge.resolve()
        if args.scale > 1:
            kb = scaled_knowledge(tmp_path / "scaled", args.scale, kb)
        settings = settings_for(tmp_path / "unused")
        embedder, load_s, warm_s = loaded_embedder(settings)
        chunker, tok_s = loaded_chunker(settings)
        print(
            f"model load {load_s:.2f} s, first encode call {warm_s:.2f} s, tokenizer load "
            f"{tok_s:.2f} s (all excluded from the timings below)\n"
        )
        runs = []
        for n in range(args.repeat):
            run = one_run(kb, tmp_path / f"run{n}", embedder, chunker, not args.no_slices)
            runs.append(run)
            f, r, c = run["first"], run["raw"], run["reingest"]
            print(
                f"run {n + 1}/{args.repeat}: ingest {f['total_s']:.2f} s "
                f"({f['chunks_per_s']:.1f} chunks/s), raw {r['seconds']:.2f} s "
                f"({r['chunks_per_s']:.1f} chunks/s), re-ingest {c['wall_s']:.3f} s",
                flush=True,
            )
            shutil.rmtree(tmp_path / f"run{n}", ignore_errors=True)
    cpu_use = monitor.stop()
    print(CpuMonitor.note(cpu_use))
    print()

    def med(get: Any) -> float:
        return median(get(run) for run in runs)

    def rng(get: Any) -> str:
        values = [get(run) for run in runs]
        return f"{min(values):.3g}..{max(values):.3g}"

    first_rows: list[tuple[str, Any, str]] = [
        ("chunks embedded", int(med(lambda r: r["first"]["chunks_embedded"])), ""),
        ("articles added", int(med(lambda r: r["first"]["articles_added"])), ""),
    ]
    for stage in STAGES:
        first_rows.append(
            (
                f"  stage {stage} (s)",
                med(lambda r, s=stage: r["first"]["stages_s"][s]),
                rng(lambda r, s=stage: r["first"]["stages_s"][s]),
            )
        )
    first_rows += [
        (
            "ingest total (s)",
            med(lambda r: r["first"]["total_s"]),
            rng(lambda r: r["first"]["total_s"]),
        ),
        (
            "ingest chunks/s",
            med(lambda r: r["first"]["chunks_per_s"]),
            rng(lambda r: r["first"]["chunks_per_s"]),
        ),
        ("raw encoder (s)", med(lambda r: r["raw"]["seconds"]), rng(lambda r: r["raw"]["seconds"])),
        (
            "raw encoder chunks/s",
            med(lambda r: r["raw"]["chunks_per_s"]),
            rng(lambda r: r["raw"]["chunks_per_s"]),
        ),
    ]
    if not args.no_slices:
        first_rows.append(
            (
                "raw, 256-text slices chunks/s",
                med(lambda r: r["raw"]["sliced_256_chunks_per_s"]),
                rng(lambda r: r["raw"]["sliced_256_chunks_per_s"]),
            )
        )
    ratio = med(lambda r: r["ratio_ingest_vs_raw"])
    first_rows.append(
        ("ratio ingest/raw (target >= 0.8)", ratio, rng(lambda r: r["ratio_ingest_vs_raw"]))
    )
    first_rows += [
        (
            "ingest CPU time (s)",
            med(lambda r: r["first"]["cpu_s"]),
            rng(lambda r: r["first"]["cpu_s"]),
        ),
        (
            "raw encoder CPU time (s)",
            med(lambda r: r["raw"]["cpu_s"]),
            rng(lambda r: r["raw"]["cpu_s"]),
        ),
        (
            "ratio on CPU time raw/ingest",
            med(lambda r: r["ratio_ingest_vs_raw_cpu"]),
            rng(lambda r: r["ratio_ingest_vs_raw_cpu"]),
        ),
    ]
    print(
        f"(a)+(b) first ingest vs raw encoder, batch size {embedder.batch_size}, "
        f"median of {len(runs)}"
    )
    table(["metric", "median", "range"], first_rows)

    re_ratio = med(lambda r: r["ratio_reingest_vs_first"])
    re_rows: list[tuple[str, Any, str]] = [
        (
            "new Runtime.build (s, not in ratio)",
            med(lambda r: r["reingest"]["runtime_build_s"]),
            rng(lambda r: r["reingest"]["runtime_build_s"]),
        ),
        (
            "re-ingest wall (s)",
            med(lambda r: r["reingest"]["wall_s"]),
            rng(lambda r: r["reingest"]["wall_s"]),
        ),
        (
            "first ingest wall (s)",
            med(lambda r: r["first"]["wall_s"]),
            rng(lambda r: r["first"]["wall_s"]),
        ),
        (
            "ratio re-ingest/first (target <= 0.05)",
            re_ratio,
            rng(lambda r: r["ratio_reingest_vs_first"]),
        ),
        ("chunks embedded (must be 0)", max(r["reingest"]["chunks_embedded"] for r in runs), ""),
        ("articles unchanged", int(med(lambda r: r["reingest"]["articles_unchanged"])), ""),
        ("embedder.loads (must be 0)", max(r["reingest"]["embedder_loads"] for r in runs), ""),
        ("tokenizer loaded", any(r["reingest"]["tokenizer_loaded"] for r in runs), ""),
    ]
    print(f"(c) re-ingest of the unchanged KB, median of {len(runs)}")
    table(["metric", "median", "range"], re_rows)

    ok_ratio = ratio >= 0.8
    ok_re = (
        re_ratio <= 0.05
        and all(r["reingest"]["chunks_embedded"] == 0 for r in runs)
        and all(r["reingest"]["embedder_loads"] == 0 for r in runs)
    )
    print(
        f"targets: ingest/raw >= 0.8: {'PASS' if ok_ratio else 'FAIL'} ({ratio:.2f}); "
        f"re-ingest <= 0.05 with 0 chunks, 0 loads: {'PASS' if ok_re else 'FAIL'} "
        f"({re_ratio:.4f})"
    )
    write_json(
        "ingest",
        {
            "measures": __doc__.split("\n\n")[0] if __doc__ else "",
            "environment": environment(),
            "knowledge": str(
                args.knowledge.resolve().relative_to(REPO_ROOT)
                if args.knowledge.resolve().is_relative_to(REPO_ROOT)
                else args.knowledge
            ),
            "scale": args.scale,
            "repeat": args.repeat,
            "cpu_use": cpu_use,
            "torch_threads_option": args.threads,
            "model_load_s": load_s,
            "first_encode_call_s": warm_s,
            "tokenizer_load_s": tok_s,
            "batch_size": embedder.batch_size,
            "median": {
                "chunks_embedded": med(lambda r: r["first"]["chunks_embedded"]),
                "ingest_total_s": med(lambda r: r["first"]["total_s"]),
                "ingest_stages_s": {
                    s: med(lambda r, s=s: r["first"]["stages_s"][s]) for s in STAGES
                },
                "ingest_chunks_per_s": med(lambda r: r["first"]["chunks_per_s"]),
                "raw_seconds": med(lambda r: r["raw"]["seconds"]),
                "raw_chunks_per_s": med(lambda r: r["raw"]["chunks_per_s"]),
                "ratio_ingest_vs_raw": ratio,
                "ratio_ingest_vs_raw_cpu": med(lambda r: r["ratio_ingest_vs_raw_cpu"]),
                "reingest_wall_s": med(lambda r: r["reingest"]["wall_s"]),
                "reingest_runtime_build_s": med(lambda r: r["reingest"]["runtime_build_s"]),
                "ratio_reingest_vs_first": re_ratio,
            },
            "targets": {
                "ratio_ingest_vs_raw_min": 0.8,
                "ratio_reingest_vs_first_max": 0.05,
                "pass_ingest_vs_raw": ok_ratio,
                "pass_reingest": ok_re,
            },
            "runs": runs,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
