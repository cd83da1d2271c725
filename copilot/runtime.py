"""The composition root: builds the store, indexes, embedder, ingestor and retriever once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from copilot.catalog import Catalog, find_catalog
from copilot.config import ChromaMode, Settings
from copilot.embeddings import SentenceTransformerEmbedder, bundled_model_path
from copilot.engine.analysis import Phrases
from copilot.engine.engine import Engine
from copilot.engine.fit import engine_config
from copilot.handoff import HandoffNotifier, WebhookNotifier
from copilot.llm.base import Generator
from copilot.llm.factory import build_generator
from copilot.retrieval.lexical import BM25Index
from copilot.retrieval.search import Retriever
from copilot.retrieval.vector import ChromaVectorIndex, VectorIndex
from copilot.store.sql import SqlStore
from ingest.chunking import Chunker, load_tokenizer
from ingest.pipeline import Ingestor


@dataclass
class Runtime:
    """Everything a process needs, wired from one Settings object."""

    settings: Settings
    store: SqlStore
    vectors: VectorIndex
    lexical: BM25Index
    embedder: SentenceTransformerEmbedder
    catalog: Catalog | None

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        embedder: SentenceTransformerEmbedder | None = None,
        chunker: Chunker | None = None,
    ) -> Runtime:
        """Connect to the configured store and indexes (the embedder loads on first use).

        A ready embedder or chunker can be passed in to share one across runtimes.
        """
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        store = SqlStore.from_url(settings.resolved_database_url)
        vectors: VectorIndex
        if settings.chroma_mode is ChromaMode.server:
            vectors = ChromaVectorIndex.server(
                settings.chroma_host, settings.chroma_port, settings.chroma_collection
            )
        else:
            vectors = ChromaVectorIndex.embedded(
                settings.resolved_chroma_path, settings.chroma_collection
            )
        embedder = embedder or SentenceTransformerEmbedder(
            settings.embedder_model, settings.embed_batch_size
        )
        catalog = find_catalog(list(settings.knowledge_paths))
        runtime = cls(settings, store, vectors, BM25Index(settings.lexical_path), embedder, catalog)
        if chunker is not None:
            runtime.__dict__["chunker"] = chunker  # pre-fill the cached property
        return runtime

    @cached_property
    def chunker(self) -> Chunker:
        """Token-budget chunker using the embedder's own tokenizer."""
        path = Path(self.settings.embedder_model) if self.settings.embedder_model else None
        return Chunker(
            lambda: load_tokenizer(path or bundled_model_path()),
            self.settings.chunk_size,
            self.settings.chunk_overlap,
        )

    def ingestor(self, catalog: Catalog | None = None) -> Ingestor:
        """An ingestor writing to this runtime's store and indexes."""
        return Ingestor(
            self.store,
            self.vectors,
            self.lexical,
            self.embedder,
            self.chunker,
            catalog or self.catalog,
            on_change=self._content_changed,
        )

    def _content_changed(self) -> None:
        if "retriever" in self.__dict__:  # only if this process already serves searches
            self.retriever.refresh()

    @cached_property
    def generator(self) -> Generator:
        """The configured generator (extractive unless COPILOT_LLM_MODE says otherwise)."""
        return build_generator(self.settings)

    def warm_up(self) -> None:
        """Load the embedder and the generator's model now, not in the first request."""
        self.embedder.embed(["warm up"])
        self.generator.warm_up()

    @cached_property
    def handoff_notifier(self) -> HandoffNotifier | None:
        """Where expansion hand-offs are sent, if COPILOT_HANDOFF_WEBHOOK_URL is set."""
        url = self.settings.handoff_webhook_url
        return WebhookNotifier(url, self.settings.handoff_webhook_timeout_s) if url else None

    @cached_property
    def engine(self) -> Engine:
        """The suggestion engine (one per process)."""
        config = engine_config(self.settings.today, self.settings.engine_fit)
        return Engine(
            self.retriever,
            self.store,
            self.embedder,
            self.generator,
            self.catalog,
            config,
            Phrases.load(self.settings.engine_phrases),
        )

    @cached_property
    def retriever(self) -> Retriever:
        """The hybrid retriever (one per process)."""
        return Retriever(
            self.store,
            self.vectors,
            self.lexical,
            self.embedder,
            dense_candidates=self.settings.dense_candidates,
            lexical_candidates=self.settings.lexical_candidates,
            reload_lexical=self.lexical.load,
        )
