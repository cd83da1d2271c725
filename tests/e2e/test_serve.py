"""`copilot serve` as a user runs it: a real uvicorn process over loopback HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.factories import write_article, write_plan

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    kb = tmp_path / "kb"
    write_article(kb, id="kb-1")
    write_plan(kb)
    port = _free_port()
    env = {
        **os.environ,
        "COPILOT_DATA_DIR": str(tmp_path / "data"),
        "COPILOT_KNOWLEDGE_PATHS": str(kb),
        "COPILOT_PORT": str(port),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "copilot.cli", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"server exited early:\n{proc.stdout.read() if proc.stdout else ''}")
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("server did not become ready within 180 s")
        yield url
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
        assert f"serving at {url}" in output


def test_serve_ingests_the_knowledge_folder_and_answers_over_http(server: str) -> None:
    hits = httpx.get(f"{server}/v1/knowledge/search", params={"q": "bank feed reconnect"}).json()
    assert [h["article_id"] for h in hits["hits"]] == ["kb-1"]
    plan = httpx.get(f"{server}/v1/success-plans/acct-9001").json()
    assert plan["account_id"] == "acct-9001"
