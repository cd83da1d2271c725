"""Warm latency of POST /v1/suggestions over loopback HTTP, extractive mode, per engine stage.

For each index (the sample KB, and the synthetic 20k-chunk index of bench/search.py with the 28
sample success plans ingested into its store): a working copy of the index folder is served by a
real `copilot serve --no-ingest` (uvicorn, one process, COPILOT_LLM_MODE=extractive) on a free
loopback port, started as a subprocess. After --warmup untimed requests, --requests timed POST
/v1/suggestions are sent one at a time with httpx (keep-alive) from this process, cycling through
the cases of bench/cases.jsonl (workarounds, troubleshooting symptoms, goals, new-feature
questions, frustrated/outage cases that must be held, some without an account) in a fixed
shuffled order. Reported: p50/p95/mean/max of Suggestion.meta.latency_ms per stage (analyse,
resolve, opportunities, generate, ground, total = server-side engine time; generate and ground
only when there is something to draft: a grounded resolution or chosen value suggestions) and of
the wall time of each request measured by the client (end to end: serialisation, HTTP, the
route's SQL write of the suggestion, parsing). Target: extractive end-to-end p95 <= 150 ms at 20k
chunks. --profile then shows where Engine.suggest spends its time (in-process, no HTTP).
`--cases bench/cases-long.jsonl` measures 24 long threads instead (8 to 10 messages, 2,200 to
3,100 characters each, over the same accounts); target p95 <= 250 ms at 20k chunks.

    python bench/suggest.py [--cases FILE] [--requests 300] [--warmup 20] [--profile]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    KNOWLEDGE,
    REPO_ROOT,
    RESULTS_DIR,
    CpuMonitor,
    ServedCpuMonitor,
    busiest_processes,
    busy_share,
    environment,
    free_port,
    git_revision,
    header,
    summary,
    table,
    write_json,
)

CASES = REPO_ROOT / "bench" / "cases.jsonl"
STAGES = ("analyse", "resolve", "opportunities", "generate", "ground", "total")
TARGET_P95_MS = 150.0
PLANS = KNOWLEDGE / "success_plans"
# working copies of the indexes served, per benchmark process (concurrent runs do not collide)
SERVE_DIR = RESULTS_DIR / "suggest-serve" / str(os.getpid())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Warm latency (p50/p95) of POST /v1/suggestions over loopback HTTP, extractive mode, "
            "per engine stage and end to end, on the sample KB and a synthetic 20k-chunk index."
        ),
        epilog="Writes bench/results/suggest.json (and the server logs next to it).",
    )
    parser.add_argument(
        "--requests", type=int, default=300, help="timed requests per index (default 300)"
    )
    parser.add_argument(
        "--warmup", type=int, default=20, help="untimed warm-up requests per index (default 20)"
    )
    parser.add_argument(
        "--cases", type=Path, default=CASES, help="cases, one JSON per line (bench/cases.jsonl)"
    )
    parser.add_argument(
        "--chunks", type=int, default=20_000, help="chunks in the synthetic index (default 20000)"
    )
    parser.add_argument(
        "--pool", type=int, default=2_000, help="synthetic index: model-embedded texts (2000)"
    )
    parser.add_argument("--seed", type=int, default=7, help="synthetic index / order seed (7)")
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
    parser.add_argument("--skip-kb", action="store_true", help="only the synthetic index")
    parser.add_argument("--skip-synthetic", action="store_true", help="only the sample KB")
    parser.add_argument(
        "--startup-timeout",
        type=float,
        default=180.0,
        help="seconds to wait for the server to answer /healthz (default 180)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="afterwards, cProfile Engine.suggest in-process on each index (no HTTP) and print "
        "where the time goes",
    )
    parser.add_argument(
        "--profile-top", type=int, default=25, help="functions listed by --profile (default 25)"
    )
    return parser.parse_args(argv)


# --------------------------------------------------------------------------- cases
def load_cases(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(kind, Case JSON) pairs; keys starting with '_' are benchmark annotations, not sent."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        kind = row.get("_kind", "other")
        case = {k: v for k, v in row.items() if not k.startswith("_")}
        if not case.get("case_id"):
            raise SystemExit(f"{path}:{n}: a case needs a case_id")
        out.append((kind, case))
    return out


# --------------------------------------------------------------------------- indexes
def prepare_indexes(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Make sure both cached indexes exist and hold the sample plans (run in a child process,
    so that every store and index is closed and flushed before a server opens a copy)."""
    from bench._common import loaded_chunker, settings_for
    from bench.search import kb_runtime, synthetic_runtime
    from copilot.embeddings import SentenceTransformerEmbedder

    settings = settings_for(args.kb_cache)
    # loads its weights only if something has to be embedded (a first build)
    embedder = SentenceTransformerEmbedder(settings.embedder_model, settings.embed_batch_size)
    chunker, _ = loaded_chunker(settings)
    kb = kb_runtime(args.kb_cache.resolve(), embedder, chunker, args.rebuild)
    out = []
    if not args.skip_kb:
        out.append(
            {
                "name": "sample KB",
                "data_dir": str(args.kb_cache.resolve()),
                "store_chunks": len(kb.store.all_chunks()),
                "vectors": kb.vectors.count(),
                "plans": len(kb.store.list_plans()),
                "articles": len(kb.store.list_articles()),
            }
        )
    if not args.skip_synthetic:
        synth, meta = synthetic_runtime(args, kb, embedder, chunker)
        report = synth.ingestor().ingest_paths([PLANS])
        print(
            f"  success plans in the synthetic index: {report.plans.added} added, "
            f"{report.plans.updated} updated, {report.plans.unchanged} unchanged, "
            f"{report.plans.failed} failed",
            flush=True,
        )
        if not report.ok:
            raise SystemExit(f"ingesting {PLANS} failed: {report.errors}")
        out.append(
            {
                "name": f"synthetic {args.chunks // 1000}k",
                "data_dir": str(args.cache.resolve()),
                "store_chunks": meta["opened_counts"]["store_chunks"],
                "vectors": meta["opened_counts"]["vectors"],
                "plans": len(synth.store.list_plans()),
                "articles": len(synth.store.list_articles()),
                "index_build_s": meta.get("build_s"),
            }
        )
    want_plans = len([p for p in PLANS.glob("*.y*ml")])
    for index in out:
        if index["plans"] != want_plans:
            raise SystemExit(f"{index['name']}: {index['plans']} plans, expected {want_plans}")
    return out


def working_copy(source: Path, name: str) -> Path:
    """A fresh copy of an index folder for the server (its suggestion writes stay out of the
    cache)."""
    dest = SERVE_DIR / name.replace(" ", "-")
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns("reports", "bench-manifest.json"))
    return dest


# --------------------------------------------------------------------------- the server
class Server:
    """`python -m copilot.cli serve --no-ingest` on a data dir and a free loopback port."""

    def __init__(self, data_dir: Path, log_path: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.startup_s = float("nan")

    def start(self, timeout: float) -> None:
        import httpx

        env = {
            **os.environ,
            "COPILOT_DATA_DIR": str(self.data_dir),
            "COPILOT_KNOWLEDGE_PATHS": str(KNOWLEDGE),  # the catalog; nothing is ingested
            "COPILOT_LLM_MODE": "extractive",
            "COPILOT_ENV": "development",
            "COPILOT_API_KEYS": "",
            "COPILOT_HOST": "127.0.0.1",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "ANONYMIZED_TELEMETRY": "False",
            "TOKENIZERS_PARALLELISM": "false",
            "PYTHONUNBUFFERED": "1",
        }
        log = self.log_path.open("wb")
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "copilot.cli",
                "serve",
                "--no-ingest",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-3000:]
                raise SystemExit(f"the server exited with {self.proc.returncode}:\n{tail}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"the server did not answer within {timeout:.0f} s")
            time.sleep(0.25)
        self.startup_s = time.perf_counter() - started

    def ready(self) -> dict[str, Any]:
        import httpx

        resp = httpx.get(f"{self.url}/readyz", timeout=30)
        return {"status_code": resp.status_code, **resp.json()}

    def stop(self) -> int | None:
        """SIGTERM (uvicorn shuts down gracefully), SIGKILL after 15 s; only our own process."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)
        return self.proc.returncode


# --------------------------------------------------------------------------- timing
def run_requests(
    server: Server, cases: list[tuple[str, dict[str, Any]]], n: int, warmup: int, seed: int
) -> dict[str, Any]:
    import httpx

    order = list(range(len(cases)))
    random.Random(seed).shuffle(order)
    stages: dict[str, list[float]] = {s: [] for s in STAGES}
    wall: list[float] = []
    overhead: list[float] = []
    by_kind: dict[str, list[float]] = {}
    outcome: dict[str, dict[str, Any]] = {}
    errors: list[str] = []
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for i in range(warmup):
            _, case = cases[order[i % len(order)]]
            client.post("/v1/suggestions", json=case).raise_for_status()
        monitor = ServedCpuMonitor([server.proc.pid] if server.proc else [])
        for i in range(n):
            kind, case = cases[order[i % len(order)]]
            started = time.perf_counter()
            resp = client.post("/v1/suggestions", json=case)
            body = resp.content
            elapsed = (time.perf_counter() - started) * 1000
            if resp.status_code != 200:
                errors.append(f"{case['case_id']}: HTTP {resp.status_code} {body[:200]!r}")
                continue
            data = json.loads(body)
            latency = data["meta"]["latency_ms"]
            wall.append(elapsed)
            by_kind.setdefault(kind, []).append(elapsed)
            for stage in STAGES:
                if stage in latency:
                    stages[stage].append(latency[stage])
            overhead.append(elapsed - latency.get("total", 0.0))
            outcome.setdefault(
                case["case_id"],
                {
                    "kind": kind,
                    "account": case.get("account_id"),
                    "held": data["hold"] is not None,
                    "resolution_steps": len(data["resolution"]["steps"]),
                    "value_types": [v["type"] for v in data["value_suggestions"]],
                    "expansion_signals": len(data["expansion_signals"]),
                    "mode": data["meta"]["mode"],
                },
            )
        cpu_use = monitor.stop()
    return {
        "stages_ms": {s: summary(v) for s, v in stages.items() if v},
        "wall_ms": summary(wall),
        "http_overhead_ms": summary(overhead),
        "wall_by_kind_ms": {k: summary(v) for k, v in sorted(by_kind.items())},
        "cases": outcome,
        "errors": errors,
        "cpu_use": cpu_use,
    }


def describe_outcomes(outcome: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What the cases produced: holds per kind, grounded resolutions, suggestion types."""
    kinds: dict[str, dict[str, int]] = {}
    types: dict[str, int] = {}
    for row in outcome.values():
        k = kinds.setdefault(row["kind"], {"cases": 0, "held": 0, "grounded": 0, "values": 0})
        k["cases"] += 1
        k["held"] += row["held"]
        k["grounded"] += row["resolution_steps"] > 0
        k["values"] += len(row["value_types"])
        for t in row["value_types"]:
            types[t] = types.get(t, 0) + 1
    modes = sorted({row["mode"] for row in outcome.values()})
    return {"by_kind": kinds, "value_types": types, "modes": modes}


# --------------------------------------------------------------------------- profiling
def profile_engine(
    data_dir: Path, cases: list[tuple[str, dict[str, Any]]], rounds: int, top: int
) -> dict[str, Any]:
    """Where Engine.suggest spends its time, in this (child) process, after a warm-up round.

    First an instrumented pass: every Retriever.search by calling engine method (with its
    timings_ms), every Chroma call (unfiltered `nearest` vs `query` with a where clause), every
    embed call (texts, tokens) and every garbage-collector pause. Methods are wrapped in this
    process only; no project code changes. Then a plain cProfile pass, top functions by
    cumulative and own time.
    """
    import cProfile
    import gc
    import io
    import pstats

    from bench._common import build_runtime
    from copilot.domain import Case
    from copilot.retrieval.search import Retriever
    from copilot.retrieval.vector import ChromaVectorIndex

    runtime = build_runtime(data_dir)
    runtime.embedder.embed(["warm up"])
    engine = runtime.engine
    parsed = [Case.model_validate(c) for _, c in cases]
    for case in parsed:
        engine.suggest(case)
    calls = rounds * len(parsed)
    monitor = CpuMonitor()

    # instrumented pass
    samples: dict[str, list[float]] = {}

    def note(key: str, value: float) -> None:
        samples.setdefault(key, []).append(value)

    search, embed = Retriever.search, type(runtime.embedder).embed
    chroma = {m: getattr(ChromaVectorIndex, m) for m in ("query", "nearest")}

    def timed_search(self: Retriever, *args: Any, **kwargs: Any) -> Any:
        caller = sys._getframe(1).f_code.co_name  # the engine method searching
        result = search(self, *args, **kwargs)
        for stage, ms in result.timings_ms.items():
            note(f"search from {caller}: {stage}", ms)
        return result

    def timed_chroma(method: str) -> Any:
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            result = chroma[method](self, *args, **kwargs)
            note(f"chroma {method}", (time.perf_counter() - started) * 1000)
            return result

        return wrapper

    def timed_embed(self: Any, texts: Any) -> Any:
        started = time.perf_counter()
        result = embed(self, texts)
        note("embed", (time.perf_counter() - started) * 1000)
        ids = self.tokenizer(list(texts))["input_ids"]
        note("embed: texts per call", len(ids))
        note("embed: longest text, tokens", max(len(i) for i in ids))
        note("embed: tokens per call", sum(len(i) for i in ids))
        return result

    gc_started: list[float] = []

    def gc_pause(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            gc_started[:] = [time.perf_counter()]
        elif gc_started:
            note(
                f"gc pause, generation {info['generation']}",
                (time.perf_counter() - gc_started[0]) * 1000,
            )

    stages: dict[str, list[float]] = {}
    gc.callbacks.append(gc_pause)
    Retriever.search = timed_search  # type: ignore[method-assign]
    type(runtime.embedder).embed = timed_embed  # type: ignore[method-assign]
    for method in chroma:
        setattr(ChromaVectorIndex, method, timed_chroma(method))
    try:
        for _ in range(rounds):
            for case in parsed:
                for stage, ms in engine.suggest(case).meta.latency_ms.items():
                    stages.setdefault(stage, []).append(ms)
    finally:
        gc.callbacks.remove(gc_pause)
        Retriever.search = search  # type: ignore[method-assign]
        type(runtime.embedder).embed = embed  # type: ignore[method-assign]
        for method, original in chroma.items():
            setattr(ChromaVectorIndex, method, original)
    instrumented = {
        key: {**summary(values), "per_suggest": sum(values) / calls}
        for key, values in sorted(samples.items())
    }

    # cProfile pass
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(rounds):
        for case in parsed:
            engine.suggest(case)
    profiler.disable()
    per_call = (time.perf_counter() - started) * 1000 / calls
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return {
        "calls": calls,
        "cpu_use": monitor.stop(),
        "stages_ms": {k: summary(v) for k, v in stages.items()},
        "instrumented": instrumented,
        "ms_per_call_profiled": per_call,
        "text": stream.getvalue(),
    }


# --------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.cases = args.cases.resolve()
    cases = load_cases(args.cases)
    kinds: dict[str, int] = {}
    for kind, _ in cases:
        kinds[kind] = kinds.get(kind, 0) + 1
    no_account = sum(1 for _, c in cases if not c.get("account_id"))
    header(
        "bench/suggest.py: warm POST /v1/suggestions latency over loopback HTTP (extractive)",
        [
            f"{len(cases)} cases from {args.cases.relative_to(REPO_ROOT)} "
            f"({', '.join(f'{v} {k}' for k, v in sorted(kinds.items()))}; {no_account} without "
            f"account), shuffled and cycled for {args.requests} timed requests after "
            f"{args.warmup} warm-up ones, sent one at a time by httpx (keep-alive).",
            "Server: `python -m copilot.cli serve --no-ingest` (uvicorn, 1 process) on a copy "
            "of the index folder, a free 127.0.0.1 port, COPILOT_LLM_MODE=extractive.",
            "Stage rows: Suggestion.meta.latency_ms (server side; total = Engine.suggest); "
            "http e2e: wall time of each request in the client; overhead = e2e - total.",
            f"Indexes: the sample KB, and the synthetic {args.chunks}-chunk index of "
            "bench/search.py with knowledge/success_plans ingested. Target: e2e p95 <= "
            f"{TARGET_P95_MS:.0f} ms at {args.chunks} chunks.",
        ],
    )
    revision = git_revision()
    print(f"project revision {revision}")
    share = busy_share(3.0)
    print(f"CPU busy before starting: {share:.0%} of {os.cpu_count()} CPUs over 3 s")
    if share > 0.10:
        print("  WARNING: the machine is not quiet; the busiest processes (ps, lifetime %CPU):")
        for line in busiest_processes():
            print(f"    {line}")
    print("preparing the indexes (child process) ...", flush=True)
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        indexes = pool.submit(prepare_indexes, args).result()
    for index in indexes:
        print(
            f"  {index['name']}: {index['store_chunks']} chunks, {index['vectors']} vectors, "
            f"{index['articles']} articles, {index['plans']} success plans"
        )
    print()

    results: dict[str, Any] = {}
    rows: list[list[Any]] = []
    outcome_rows: list[list[Any]] = []
    notes: list[str] = []
    for index in indexes:
        name = index["name"]
        data_dir = working_copy(Path(index["data_dir"]), name)
        log_path = RESULTS_DIR / f"suggest-server-{name.replace(' ', '-')}.log"
        server = Server(data_dir, log_path)
        try:
            server.start(args.startup_timeout)
            ready = server.ready()
            print(
                f"{name}: server pid {server.proc.pid if server.proc else '?'} ready at "
                f"{server.url} in {server.startup_s:.1f} s (readyz {ready.get('status_code')})",
                flush=True,
            )
            started = time.perf_counter()
            got = run_requests(server, cases, args.requests, args.warmup, args.seed)
            print(
                f"{name}: {args.warmup} + {args.requests} requests in "
                f"{time.perf_counter() - started:.1f} s; {CpuMonitor.note(got['cpu_use'])}; "
                f"server used {got['cpu_use']['server_cpu_s']:.1f} CPU-s",
                flush=True,
            )
        finally:
            code = server.stop()
            print(f"{name}: server stopped (exit code {code})", flush=True)
        shutil.rmtree(data_dir, ignore_errors=True)
        if got["errors"]:
            print(f"  {len(got['errors'])} failed requests, e.g. {got['errors'][0]}")
        got["outcomes"] = describe_outcomes(got["cases"])
        results[name] = {**index, "startup_s": server.startup_s, "readyz": ready, **got}
        label = f"{name} ({index['store_chunks']})"
        for stage, figures in [
            *got["stages_ms"].items(),
            ("http overhead", got["http_overhead_ms"]),
            ("http e2e (client)", got["wall_ms"]),
        ]:
            rows.append(
                [
                    label,
                    stage,
                    figures["n"],
                    figures["p50"],
                    figures["p95"],
                    figures["mean"],
                    figures["max"],
                ]
            )
        for kind, k in sorted(got["outcomes"]["by_kind"].items()):
            outcome_rows.append(
                [
                    label,
                    kind,
                    k["cases"],
                    k["grounded"],
                    k["held"],
                    k["values"],
                    got["wall_by_kind_ms"][kind]["p50"],
                    got["wall_by_kind_ms"][kind]["p95"],
                ]
            )
        notes.append(
            f"{name}: modes {got['outcomes']['modes']}, value suggestions by type "
            f"{got['outcomes']['value_types']}"
        )
    print()
    print("latency in ms (stages: meta.latency_ms on the server; http e2e: measured by the client)")
    table(["index (chunks)", "stage", "n", "p50", "p95", "mean", "max"], rows)
    print("what the cases produced (first response per case) and e2e latency by kind, ms")
    table(
        ["index (chunks)", "kind", "cases", "grounded", "held", "values", "e2e p50", "e2e p95"],
        outcome_rows,
    )
    for note in notes:
        print(note)
    for name, got in results.items():
        print(f"{name}: {CpuMonitor.note(got['cpu_use'])}")

    verdict = None
    synth_name = f"synthetic {args.chunks // 1000}k"
    if synth_name in results:
        p95 = results[synth_name]["wall_ms"]["p95"]
        verdict = p95 <= TARGET_P95_MS
        print(
            f"target extractive e2e p95 <= {TARGET_P95_MS:.0f} ms at {args.chunks} chunks: "
            f"{'PASS' if verdict else 'FAIL'} (e2e p95 {p95:.1f} ms, server total p95 "
            f"{results[synth_name]['stages_ms']['total']['p95']:.1f} ms)"
        )

    profiles: dict[str, Any] = {}
    if args.profile:
        for index in indexes:
            name = index["name"]
            data_dir = working_copy(Path(index["data_dir"]), name)
            rounds = max(1, args.requests // len(cases))
            print(f"\n== cProfile of Engine.suggest in-process on {name}, {rounds} rounds")
            with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
                prof = pool.submit(
                    profile_engine, data_dir, cases, rounds, args.profile_top
                ).result()
            shutil.rmtree(data_dir, ignore_errors=True)
            print(CpuMonitor.note(prof["cpu_use"]))
            print(f"instrumented pass: {prof['calls']} Engine.suggest calls; ms unless noted")
            table(
                ["measure", "n", "p50", "p95", "max", "sum per suggest"],
                [
                    [
                        f"stage {k}",
                        v["n"],
                        v["p50"],
                        v["p95"],
                        v["max"],
                        v["mean"] * v["n"] / prof["calls"],
                    ]
                    for k, v in prof["stages_ms"].items()
                ]
                + [
                    [k, v["n"], v["p50"], v["p95"], v["max"], v["per_suggest"]]
                    for k, v in prof["instrumented"].items()
                ],
            )
            print(
                f"cProfile pass: {prof['calls']} calls, {prof['ms_per_call_profiled']:.1f} ms per "
                "call under the profiler"
            )
            print(prof["text"])
            profiles[name] = prof
    shutil.rmtree(SERVE_DIR, ignore_errors=True)

    write_json(
        "suggest",
        {
            "measures": __doc__.split("\n\n")[0] if __doc__ else "",
            "environment": environment(),
            "revision": revision,
            "params": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "busy_before": share,
            "target": {
                "e2e_p95_ms_max": TARGET_P95_MS,
                "chunks": args.chunks,
                "pass": verdict,
            },
            "results": results,
            "profiles": profiles,
        },
    )
    return 0 if all(not r["errors"] for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
