"""Running a suite: ingest its knowledge into a workspace of its own, run the engine on every
case, score each against its gold and the baselines, and assemble the run.

The workspace (`<data_dir>/evals/<suite>/index`) holds the suite's own Chroma index, BM25 index
and SQLite store, so a suite never touches the served knowledge base; it is kept between runs,
and an unchanged knowledge base is not embedded again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from copilot.config import ChromaMode, LLMMode, Settings
from copilot.domain import ArticleKind, Audience, Case, SuccessPlan, Suggestion, SuggestionType
from copilot.embeddings import SentenceTransformerEmbedder
from copilot.engine.analysis import Analysis, Phrases
from copilot.engine.engine import Engine, EngineConfig, Trace, confidence_features
from copilot.engine.fit import EngineFit
from copilot.errors import ConfigError, CopilotError
from copilot.llm.base import Generator
from copilot.llm.factory import build_generator
from copilot.retrieval.filters import SearchFilters
from copilot.retrieval.search import Retriever
from copilot.runtime import Runtime
from evals import scoring
from evals.records import (
    BaselineScores,
    CaseRecord,
    ExpansionCandidateRecord,
    Fingerprint,
    NaiveValue,
    RunResult,
    SuiteInfo,
)
from evals.suite import Suite, SuiteCase
from ingest.chunking import Chunker

REPO = Path(__file__).resolve().parents[1]
Progress = Callable[[str, int, int], None]
# The naive value baseline: the top retrieved article of a kind, offered as that kind's move.
NAIVE_KINDS = {
    ArticleKind.release_note: SuggestionType.advise_new_use,
    ArticleKind.best_practice: SuggestionType.educate_better_use,
}
BASELINE_MODES = {"bm25": "lexical", "dense": "dense", "hybrid": "hybrid"}


@dataclass
class Workspace:
    """A suite's knowledge, ingested into a folder of its own."""

    runtime: Runtime
    ingest: dict[str, Any]


def workspace_settings(suite: Suite, settings: Settings) -> Settings:
    """Settings of a suite's workspace: the configured models and chunking, its own folders."""
    data = settings.model_dump()
    data.update(
        data_dir=settings.data_dir / "evals" / suite.name / "index",
        database_url=None,  # the workspace's own SQLite; runs go to the configured store
        chroma_mode=ChromaMode.embedded,
        chroma_path=None,
        knowledge_paths=suite.knowledge_paths,
    )
    return Settings(**data)


def ingest_paths(suite: Suite) -> list[Path]:
    """Knowledge and plan folders, without folders already inside another one."""
    paths = [*suite.knowledge_paths, *suite.plan_paths]
    return [
        p for p in dict.fromkeys(paths) if not any(p != q and p.is_relative_to(q) for q in paths)
    ]


def prepare(
    suite: Suite,
    settings: Settings,
    *,
    embedder: SentenceTransformerEmbedder | None = None,
    chunker: Chunker | None = None,
    progress: Progress | None = None,
) -> Workspace:
    """Ingest the suite's knowledge and plans into its workspace (only what changed)."""
    runtime = Runtime.build(workspace_settings(suite, settings), embedder=embedder, chunker=chunker)
    report = runtime.ingestor().ingest_paths(ingest_paths(suite), prune=True, progress=progress)
    if not report.ok:
        problems = "; ".join(str(p) for p in report.errors[:5])
        raise ConfigError(f"the suite's knowledge does not ingest cleanly: {problems}")
    return Workspace(runtime, report.as_dict())


def git_state(folder: Path = REPO) -> tuple[str | None, bool | None]:
    """The commit the code is at, and whether the tree has uncommitted changes."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=folder, capture_output=True, text=True, check=True, timeout=10
        )
        return done.stdout.strip()

    try:
        sha = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None, None
    return sha or None, bool(dirty)


def knowledge_hash(runtime: Runtime) -> str:
    """Hash of every stored article and plan (content hashes, so the same knowledge in
    another folder hashes the same)."""
    digest = hashlib.sha256()
    for key, value in sorted(runtime.store.article_hashes().items()):
        digest.update(f"a:{key}:{value}\n".encode())
    for key, value in sorted(runtime.store.plan_hashes().items()):
        digest.update(f"p:{key}:{value}\n".encode())
    return digest.hexdigest()[:16]


def _product(case: Case, plan: SuccessPlan | None) -> str | None:
    if case.product is None and plan is not None and len(plan.products) == 1:
        return plan.products[0].product
    return case.product


class Harness:
    """Runs a suite's cases through one engine and scores them."""

    def __init__(
        self,
        suite: Suite,
        workspace: Workspace,
        generator: Generator,
        config: EngineConfig | None = None,
        *,
        with_baselines: bool = True,
    ) -> None:
        self.suite = suite
        self.with_baselines = with_baselines
        self.runtime = workspace.runtime
        self.workspace = workspace
        self.generator = generator
        self.config = config or EngineConfig(today=suite.config.today)
        rt = self.runtime
        self.engine = Engine(
            rt.retriever,
            rt.store,
            rt.embedder,
            generator,
            rt.catalog,
            self.config,
            Phrases.load(rt.settings.engine_phrases),
        )
        self.articles = {a.id: a for a in rt.store.list_articles()}
        self.plans = {p.account_id: p for p in rt.store.list_plans()}
        self.chunk_text = {
            c.chunk.chunk_id: (c.chunk.article_id, c.chunk.text) for c in rt.store.all_chunks()
        }

    @property
    def retriever(self) -> Retriever:
        return self.runtime.retriever

    def run_case(self, item: SuiteCase) -> CaseRecord:
        """The engine's answer to one case, scored; an exception becomes the record's error."""
        record = CaseRecord(
            id=item.id,
            split=item.split,
            tags=item.tags,
            note=item.note,
            case=item.case.model_dump(mode="json", exclude_none=True),
            expected=item.expected,
        )
        plan = self.plans.get(item.case.account_id) if item.case.account_id else None
        product = _product(item.case, plan)
        trace = Trace()
        try:
            produced = self.engine.suggest(item.case, trace)
        except CopilotError as exc:
            record.error = f"{type(exc).__name__}: {exc}"
            return record
        # Scored exactly as the API returns it: the contract's JSON, read back.
        suggestion = Suggestion.model_validate_json(produced.model_dump_json())
        record.grounded = suggestion.resolution.grounded
        record.resolution_ranking = scoring.resolution_ranking(suggestion)
        record.resolution_confidence = suggestion.resolution.confidence
        record.resolution_features = list(confidence_features(trace.resolution_hits))
        if trace.analysis is not None:
            record.hold_features = list(trace.analysis.hold_features)
        record.expansion_candidates = [
            ExpansionCandidateRecord(feature=c.feature, features=list(c.features))
            for c in trace.expansion_candidates
        ]
        record.values = scoring.produced_values(suggestion)
        scores = {c.type: c.score for c in trace.chosen}
        for value in record.values:
            value.score = scores.get(value.type)
        record.hold = suggestion.hold.reason if suggestion.hold else None
        record.expansion_signals = [s.feature for s in suggestion.expansion_signals]
        record.latency_ms = dict(suggestion.meta.latency_ms)
        record.notes = list(suggestion.meta.notes)
        record.suggestion = suggestion
        record.scores = scoring.score_case(
            record,
            suggestion,
            evidence=trace.evidence,
            chunk_text=self.chunk_text,
            articles=self.articles,
            plan=plan,
            product=product,
            catalog=self.runtime.catalog,
        )
        if self.with_baselines:
            assert trace.analysis is not None  # the engine analysed the case first
            record.baselines = self.baselines(trace.analysis, plan)
        return record

    def baselines(self, analysis: Analysis, plan: SuccessPlan | None) -> BaselineScores:
        """Resolution rankings by BM25 alone, dense alone and the fusion, on the engine's own
        query and filters; and the naive value pick."""
        vector = self.runtime.embedder.embed([analysis.query])[0]
        filters = SearchFilters(
            product=analysis.product,
            plan=analysis.plan_tier,
            kinds=self.config.resolution_kinds,
            audience=Audience.customer,
        )
        rankings = {
            name: [
                h.article.id
                for h in self.retriever.search(
                    analysis.query, filters, k=10, mode=mode, vector=vector, neighbours=0
                ).hits
            ]
            for name, mode in BASELINE_MODES.items()
        }
        naive: list[NaiveValue] = []
        for kind, move in NAIVE_KINDS.items():
            hits = self.retriever.search(
                analysis.query,
                SearchFilters(product=analysis.product, kinds=(kind,), audience=Audience.customer),
                k=1,
                vector=vector,
                neighbours=0,
            ).hits
            if hits:
                article = hits[0].article
                entitled = not scoring.not_entitled(
                    article, plan, analysis.product, self.runtime.catalog
                )
                naive.append(NaiveValue(type=move, article_id=article.id, entitled=entitled))
        return BaselineScores(rankings=rankings, naive_values=naive)


def fingerprint(
    harness: Harness,
    settings: Settings,
    records: Sequence[CaseRecord],
    fit: EngineFit | None = None,
) -> Fingerprint:
    """What produced the run: code, suite, knowledge, prompts, model, settings and the fit."""
    sha, dirty = git_state()
    prompts: dict[str, str] = {}
    for r in records:
        if r.suggestion is not None and r.suggestion.meta.prompt_id:
            prompts[r.suggestion.meta.prompt_id] = r.suggestion.meta.prompt_version or "?"
    models = sorted(
        {
            r.suggestion.meta.model
            for r in records
            if r.suggestion is not None and r.suggestion.meta.model
        }
    )
    mode = harness.generator.mode
    model = ", ".join(models) or (settings.llm_model if mode == LLMMode.openai.value else None)
    config = asdict(harness.config)
    config["resolution_kinds"] = [k.value for k in harness.config.resolution_kinds]
    config["today"] = harness.config.today.isoformat() if harness.config.today else None
    return Fingerprint(
        git_sha=sha,
        git_dirty=dirty,
        suite_hash=harness.suite.content_hash,
        knowledge_hash=knowledge_hash(harness.runtime),
        prompt_versions=prompts,
        mode=mode,
        model=model,
        settings={
            "embedder_model": settings.embedder_model or "all-MiniLM-L6-v2 (bundled)",
            "chunk_size": settings.chunk_size,
            "chunk_overlap": settings.chunk_overlap,
            "dense_candidates": settings.dense_candidates,
            "lexical_candidates": settings.lexical_candidates,
            "llm_mode": mode,
            "llm_base_url": settings.llm_base_url if mode == LLMMode.openai.value else None,
            "llm_timeout_s": settings.llm_timeout_s,
        },
        engine=config,
        fit=dict(fit.fitted_on) if fit is not None else None,
    )


def new_run_id(suite: str, now: dt.datetime) -> str:
    return f"{suite}-{now:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


def run_suite(
    suite: Suite,
    settings: Settings,
    *,
    mode: LLMMode | None = None,
    split: str | None = None,
    case_ids: list[str] | None = None,
    embedder: SentenceTransformerEmbedder | None = None,
    chunker: Chunker | None = None,
    generator: Generator | None = None,
    on_ingest: Progress | None = None,
    on_case: Callable[[CaseRecord], None] | None = None,
    fit: EngineFit | None = None,
) -> RunResult:
    """Run the suite's cases (one split, or some ids) and assemble the scored run, with the
    engine's shipped values or a fit's in their place."""
    started = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    cases = suite.select(split, case_ids)
    if not cases:
        raise ConfigError(f"no case of suite {suite.name} matches split={split!r} ids={case_ids!r}")
    run_settings = (
        settings if mode is None else Settings(**{**settings.model_dump(), "llm_mode": mode})
    )
    generator = generator or build_generator(run_settings)
    workspace = prepare(suite, run_settings, embedder=embedder, chunker=chunker, progress=on_ingest)
    generator.warm_up()
    config = EngineConfig(today=suite.config.today)
    harness = Harness(suite, workspace, generator, fit.apply(config) if fit else config)
    records: list[CaseRecord] = []
    for item in cases:
        record = harness.run_case(item)
        records.append(record)
        if on_case is not None:
            on_case(record)
    return RunResult(
        run_id=new_run_id(suite.name, now),
        created_at=now,
        duration_s=round(time.perf_counter() - started, 2),
        suite=SuiteInfo(
            name=suite.name,
            path=str(suite.path),
            hash=suite.content_hash,
            split=split,
            cases=len(records),
            case_ids=case_ids or None,
        ),
        fingerprint=fingerprint(harness, run_settings, records, fit),
        metrics=scoring.aggregate(records),
        per_type=scoring.per_type_table(records),
        baselines=scoring.baseline_metrics(records),
        counts=scoring.counts(records),
        ingest=workspace.ingest,
        errors=[f"{r.id}: {r.error}" for r in records if r.error],
        cases=records,
    )
