"""Server mode: the same ingest and search against a real `chroma run` server over HTTP."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from copilot.config import Settings
from copilot.runtime import Runtime
from tests.factories import write_article

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[int]:
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = _free_port()
    proc = subprocess.Popen(
        [
            chroma,
            "run",
            "--path",
            str(tmp_path / "chroma-server"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        else:
            pytest.fail("chroma server did not start within 60 s")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_ingest_and_search_through_a_chroma_server(
    chroma_server: int,
    tmp_path: Path,
    embedder,
    chunker,  # type: ignore[no-untyped-def]
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        chroma_mode="server",  # type: ignore[arg-type]
        chroma_host="127.0.0.1",
        chroma_port=chroma_server,
    )
    runtime = Runtime.build(settings, embedder=embedder, chunker=chunker)
    write_article(tmp_path / "kb", id="kb-1")
    write_article(tmp_path / "kb", id="kb-2", products=["shiftwise"])
    assert runtime.ingestor().ingest_paths([tmp_path / "kb"]).ok
    assert not (tmp_path / "data" / "chroma").exists()  # nothing embedded locally
    runtime.vectors.ping()
    hits = runtime.retriever.search("bank feed reconnect").hits
    assert {h.article.id for h in hits} == {"kb-1", "kb-2"}
    again = Runtime.build(settings, embedder=embedder, chunker=chunker)
    assert again.ingestor().ingest_paths([tmp_path / "kb"]).chunks_embedded == 0


def test_an_unreachable_chroma_server_is_a_clear_error(tmp_path: Path) -> None:
    from copilot.errors import UpstreamUnavailable

    settings = Settings(
        data_dir=tmp_path / "data",
        chroma_mode="server",  # type: ignore[arg-type]
        chroma_port=_free_port(),
    )
    with pytest.raises(UpstreamUnavailable, match=r"Chroma server at 127\.0\.0\.1"):
        Runtime.build(settings)
