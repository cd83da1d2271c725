"""The ingest job: load → validate → chunk → embed → index, idempotent by content hash."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copilot.catalog import Catalog
from copilot.domain import Article, Chunk, SuccessPlan
from copilot.embeddings import Embedder
from copilot.errors import Problem
from copilot.retrieval.lexical import LexicalIndex
from copilot.retrieval.vector import VectorIndex
from copilot.store.sql import SqlStore, StoredChunk
from ingest.chunking import Chunker
from ingest.loaders import Loaded, load_paths, make_article, make_plan, map_export_record

INDEX_VERSION_KEY = "index_version"
Progress = Callable[[str, int, int], None]


@dataclass
class Counts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: int = 0


@dataclass
class IngestReport:
    """What one ingest did: counts, the problems that skipped items, timings per stage."""

    files: int = 0
    articles: Counts = field(default_factory=Counts)
    plans: Counts = field(default_factory=Counts)
    chunks_embedded: int = 0
    chunks_deleted: int = 0
    not_served: list[str] = field(default_factory=list)  # draft/archived ids: stored, never served
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)
    index_version: str | None = None

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.errors

    @property
    def skipped_files(self) -> list[str]:
        """Files that yielded nothing because of errors."""
        return sorted({p.source for p in self.errors})

    def as_dict(self) -> dict[str, Any]:
        """The JSON report."""
        return {
            "ok": self.ok,
            "files": self.files,
            "articles": vars(self.articles),
            "success_plans": vars(self.plans),
            "chunks_embedded": self.chunks_embedded,
            "chunks_deleted": self.chunks_deleted,
            "not_served": self.not_served,
            "skipped": self.skipped_files,
            "errors": [p.as_dict() for p in self.errors],
            "warnings": [p.as_dict() for p in self.warnings],
            "timings_s": {k: round(v, 4) for k, v in self.timings_s.items()},
            "index_version": self.index_version,
        }


def article_hash(article: Article, settings_key: str) -> str:
    """Hash of everything that decides an article's chunks and vectors."""
    data = article.model_dump(mode="json", exclude={"source"})
    blob = json.dumps([data, settings_key], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def plan_hash(plan: SuccessPlan) -> str:
    """Hash of a success plan's content."""
    blob = json.dumps(plan.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def index_version(chunk_ids: Iterable[str]) -> str:
    """Version of the whole index: chunk ids are content-addressed, so this names the content."""
    digest = hashlib.sha256("\n".join(sorted(chunk_ids)).encode("utf-8")).hexdigest()
    return digest[:16]


class Ingestor:
    """Keeps the store, the vector index and the BM25 index in step with the sources."""

    def __init__(
        self,
        store: SqlStore,
        vectors: VectorIndex,
        lexical: LexicalIndex,
        embedder: Embedder,
        chunker: Chunker,
        catalog: Catalog | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.on_change = on_change
        self.store = store
        self.vectors = vectors
        self.lexical = lexical
        self.embedder = embedder
        self.chunker = chunker
        self.catalog = catalog

    @property
    def settings_key(self) -> str:
        """Chunking and embedding settings that invalidate stored chunks when changed."""
        return f"{self.embedder.name}|{self.chunker.chunk_size}|{self.chunker.chunk_overlap}"

    # ------------------------------------------------------------------ entry points
    def ingest_paths(
        self,
        paths: Sequence[Path],
        *,
        prune: bool = False,
        progress: Progress | None = None,
        source_names: dict[str, str] | None = None,
    ) -> IngestReport:
        """Ingest every file under the paths; with prune, delete what they no longer hold.

        `source_names` renames file paths in the stored sources and the report (uploads).
        """
        started = time.perf_counter()
        loaded = load_paths(paths)
        if source_names:
            loaded.rename_sources(source_names)
        report = IngestReport(files=loaded.files)
        report.timings_s["load"] = time.perf_counter() - started
        roots = [p.resolve() for p in paths] if prune else None
        return self._apply(loaded, report, prune_roots=roots, progress=progress)

    def ingest_records(
        self,
        articles: Sequence[dict[str, Any]] = (),
        plans: Sequence[dict[str, Any]] = (),
        *,
        source: str = "api",
    ) -> IngestReport:
        """Ingest JSON records (articles in the export mapping, success plans as-is)."""
        loaded = Loaded()
        for index, record in enumerate(articles):
            meta, body, _ = map_export_record(record)
            make_article(meta, body, source, loaded, prefix=f"articles[{index}].")
        for index, record in enumerate(plans):
            make_plan(record, source, loaded, prefix=f"success_plans[{index}].")
        return self._apply(loaded, IngestReport(), prune_roots=None, progress=None)

    def delete_article(self, article_id: str) -> bool:
        """Delete one article from the store and both indexes."""
        old_ids = self.store.chunk_ids(article_id)
        if not self.store.delete_article(article_id):
            return False
        self.vectors.delete(old_ids)
        self.refresh_lexical()
        return True

    # ------------------------------------------------------------------ the job
    def _apply(
        self,
        loaded: Loaded,
        report: IngestReport,
        *,
        prune_roots: list[Path] | None,
        progress: Progress | None,
    ) -> IngestReport:
        report.errors += loaded.problems
        report.warnings += loaded.warnings
        articles = self._unique(loaded.articles, report)
        plans = self._check_plans(loaded.plans, report)
        self._warn_on_references(articles, report)
        report.articles.failed += loaded.failed_articles
        report.plans.failed += loaded.failed_plans

        changed = self._write_articles(articles, report, progress)
        changed |= self._write_plans(plans, report)
        if prune_roots is not None:
            changed |= self._prune(
                prune_roots,
                {a.id for a in articles},
                {p.account_id for p, _ in plans},
                loaded,
                report,
            )

        started = time.perf_counter()
        if (
            changed
            or self.lexical.version != self.store.get_state(INDEX_VERSION_KEY)
            or (self.lexical.version is None)
        ):
            self.refresh_lexical()
            report.timings_s["bm25"] = time.perf_counter() - started
        report.index_version = self.lexical.version
        report.timings_s["total"] = sum(report.timings_s.values())
        return report

    def refresh_lexical(self) -> str:
        """Rebuild BM25 from the store's chunks and record the index version."""
        chunks = self.store.all_chunks()
        version = index_version(c.chunk.chunk_id for c in chunks)
        self.lexical.rebuild(chunks, version)
        self.store.set_state(INDEX_VERSION_KEY, version)
        if self.on_change is not None:
            self.on_change()
        return version

    def _unique(self, articles: list[Article], report: IngestReport) -> list[Article]:
        first: dict[str, Article] = {}
        for article in articles:
            if article.id in first:
                report.errors.append(
                    Problem(
                        article.source or "?",
                        f"duplicate article id '{article.id}'",
                        "id",
                        fix=f"ids must be unique; '{article.id}' is already used by "
                        f"{first[article.id].source}",
                    )
                )
                report.articles.failed += 1
                continue
            first[article.id] = article
        return list(first.values())

    def _check_plans(
        self, plans: list[tuple[SuccessPlan, str]], report: IngestReport
    ) -> list[tuple[SuccessPlan, str]]:
        good: list[tuple[SuccessPlan, str]] = []
        seen: dict[str, str] = {}
        for plan, source in plans:
            if plan.account_id in seen:
                report.errors.append(
                    Problem(
                        source,
                        f"duplicate account_id '{plan.account_id}'",
                        "account_id",
                        fix=f"already in {seen[plan.account_id]}",
                    )
                )
                report.plans.failed += 1
                continue
            problems = self.catalog.check_plan(plan, source) if self.catalog else []
            if problems:
                report.errors += problems
                report.plans.failed += 1
                continue
            seen[plan.account_id] = source
            good.append((plan, source))
        return good

    def _warn_on_references(self, articles: list[Article], report: IngestReport) -> None:
        known = {a.id for a in articles} | set(self.store.article_hashes())
        features = self.catalog.all_features() if self.catalog else None
        for article in articles:
            missing = [r for r in article.related if r not in known]
            if missing:
                report.warnings.append(
                    Problem(
                        article.source or article.id,
                        f"related articles {missing} are not in the index",
                        "related",
                        fix="ingest them or fix the ids",
                    )
                )
            if features is not None and article.served:
                unknown = sorted(set(article.features) - features)
                if unknown:
                    report.warnings.append(
                        Problem(
                            article.source or article.id,
                            f"features {unknown} are not in the catalog",
                            "features",
                            fix="check the slugs",
                        )
                    )

    def _write_articles(
        self, articles: list[Article], report: IngestReport, progress: Progress | None
    ) -> bool:
        stored = self.store.article_hashes()
        todo: list[tuple[Article, str]] = []
        for article in articles:
            digest = article_hash(article, self.settings_key)
            if not article.served:
                report.not_served.append(article.id)
            if stored.get(article.id) == digest:
                report.articles.unchanged += 1
            else:
                todo.append((article, digest))
        if not todo:
            return False

        started = time.perf_counter()
        chunked = [(a, d, self.chunker.chunk(a)) for a, d in todo]
        report.timings_s["chunk"] = time.perf_counter() - started

        started = time.perf_counter()
        texts = [c.embed_text for _, _, chunks in chunked for c in chunks]
        vectors = self._embed(texts, progress)
        report.timings_s["embed"] = time.perf_counter() - started

        started = time.perf_counter()
        # Chunk ids are content-addressed, so new vectors never overwrite old ones and one
        # upsert can add every article's new vectors; readers only see a chunk once the
        # store transaction of its article commits (vectors not in the store are ignored).
        old_ids = {article.id: set(self.store.chunk_ids(article.id)) for article, _ in todo}
        rows = [(a, c) for a, _, chunks in chunked for c in chunks]
        fresh = [i for i, (a, c) in enumerate(rows) if c.chunk_id not in old_ids[a.id]]
        if fresh:
            self.vectors.upsert(
                [StoredChunk(rows[i][1], rows[i][0]) for i in fresh], vectors[fresh]
            )
        offset = 0
        stale: list[str] = []
        for article, digest, chunks in chunked:
            part = vectors[offset : offset + len(chunks)]
            offset += len(chunks)
            try:
                stale += self._commit(article, chunks, part, digest, old_ids[article.id])
            except Exception as exc:  # one article's failure must not lose the batch
                report.errors.append(
                    Problem(
                        article.source or article.id,
                        f"could not index article '{article.id}': {exc}",
                    )
                )
                report.articles.failed += 1
                continue
            report.chunks_embedded += len(chunks)
            if article.id in stored:
                report.articles.updated += 1
            else:
                report.articles.added += 1
        self.vectors.delete(sorted(stale))
        report.chunks_deleted += len(stale)
        report.timings_s["index"] = time.perf_counter() - started
        return True

    def _embed(self, texts: list[str], progress: Progress | None) -> Any:
        import numpy as np

        # Longest first across the whole job, so every model batch holds texts of similar
        # length (little padding) while progress is still reported batch by batch.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        vectors: Any = None
        batch = 256
        for start in range(0, len(order), batch):
            part = order[start : start + batch]
            embedded = self.embedder.embed([texts[i] for i in part])
            if vectors is None:
                vectors = np.zeros((len(texts), embedded.shape[1]), dtype=np.float32)
            vectors[part] = embedded
            if progress:
                progress("embed", min(start + batch, len(texts)), len(texts))
        return vectors if vectors is not None else np.zeros((0, 1), dtype=np.float32)

    def _commit(
        self, article: Article, chunks: list[Chunk], vectors: Any, digest: str, old: set[str]
    ) -> list[str]:
        """Swap an article's chunks in the store all-or-nothing; returns its stale chunk ids.

        Its new vectors are already in the index: on failure they are removed again, and the
        old chunks stay served.
        """
        try:
            self.store.replace_article(article, chunks, digest)
        except Exception:
            self.vectors.delete([c.chunk_id for c in chunks if c.chunk_id not in old])
            raise
        # Metadata such as status lives on every chunk vector: refresh the kept ones too.
        kept = [i for i, c in enumerate(chunks) if c.chunk_id in old]
        if kept:
            self.vectors.upsert([StoredChunk(chunks[i], article) for i in kept], vectors[kept])
        return sorted(old - {c.chunk_id for c in chunks})

    def _write_plans(self, plans: list[tuple[SuccessPlan, str]], report: IngestReport) -> bool:
        stored = self.store.plan_hashes()
        changed = False
        for plan, source in plans:
            digest = plan_hash(plan)
            if stored.get(plan.account_id) == digest:
                report.plans.unchanged += 1
                continue
            self.store.put_plan(plan, digest, source)
            if plan.account_id in stored:
                report.plans.updated += 1
            else:
                report.plans.added += 1
            changed = True
        return changed

    def _prune(
        self,
        roots: list[Path],
        seen_articles: set[str],
        seen_plans: set[str],
        loaded: Loaded,
        report: IngestReport,
    ) -> bool:
        def under_roots(source: str | None) -> bool:
            if not source or source in loaded.failed_files:
                return False  # a file that failed to load is kept, not deleted
            path = Path(source).resolve()
            return any(path == r or r in path.parents for r in roots)

        changed = False
        for article_id, source in self.store.article_sources().items():
            if article_id not in seen_articles and under_roots(source):
                old = self.store.chunk_ids(article_id)
                self.store.delete_article(article_id)
                self.vectors.delete(old)
                report.articles.deleted += 1
                report.chunks_deleted += len(old)
                changed = True
        for account_id, source in self.store.plan_sources().items():
            if account_id not in seen_plans and under_roots(source):
                self.store.delete_plan(account_id)
                report.plans.deleted += 1
                changed = True
        return changed
