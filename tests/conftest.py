"""Shared fixtures: every data folder under tmp_path; one real embedder per test session."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
KNOWLEDGE = REPO / "knowledge" / "fernhill"  # the Fernhill sample knowledge base
POSTGRES_URL = os.environ.get(
    "COPILOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's .env or writes outside its own tmp_path."""
    for key in list(os.environ):
        if key.startswith("COPILOT_") and key != "COPILOT_TEST_POSTGRES_URL":
            monkeypatch.delenv(key)
    monkeypatch.setenv("COPILOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COPILOT_KNOWLEDGE_PATHS", str(KNOWLEDGE))
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def embedder():  # type: ignore[no-untyped-def]
    """The real bundled all-MiniLM-L6-v2, loaded once for the whole session."""
    from copilot.embeddings import SentenceTransformerEmbedder

    model = SentenceTransformerEmbedder()
    model.embed(["warm up"])
    return model


@pytest.fixture(scope="session")
def chunker():  # type: ignore[no-untyped-def]
    """The real token-budget chunker with the embedder's tokenizer."""
    from copilot.embeddings import bundled_model_path
    from ingest.chunking import Chunker, load_tokenizer

    return Chunker(lambda: load_tokenizer(bundled_model_path()), 200, 32)


@pytest.fixture
def settings(tmp_path: Path):  # type: ignore[no-untyped-def]
    from copilot.config import Settings

    return Settings(data_dir=tmp_path / "data", knowledge_paths=[KNOWLEDGE])


@pytest.fixture
def runtime(settings, embedder, chunker):  # type: ignore[no-untyped-def]
    """A runtime on real Chroma and SQLite in tmp_path, sharing the session's model."""
    from copilot.runtime import Runtime

    return Runtime.build(settings, embedder=embedder, chunker=chunker)


@pytest.fixture(scope="session")
def kb_runtime(tmp_path_factory: pytest.TempPathFactory, embedder, chunker):  # type: ignore[no-untyped-def]
    """The sample knowledge base ingested once (read-only tests share it)."""
    from copilot.config import Settings
    from copilot.runtime import Runtime

    data = tmp_path_factory.mktemp("kb") / "data"
    runtime = Runtime.build(
        Settings(data_dir=data, knowledge_paths=[KNOWLEDGE]), embedder=embedder, chunker=chunker
    )
    report = runtime.ingestor().ingest_paths([KNOWLEDGE])
    assert report.ok, report.errors
    return runtime


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema in the PostgreSQL test database, dropped afterwards."""
    import sqlalchemy

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(POSTGRES_URL)
    try:
        with admin.begin() as conn:
            conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    except sqlalchemy.exc.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL at {POSTGRES_URL} is not reachable ({exc.orig}); start it or "
            "set COPILOT_TEST_POSTGRES_URL"
        )
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
