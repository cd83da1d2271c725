"""The harness scores exactly what the API returns: an independent re-scoring of a real
server's answers (scripts/rescore_api.py) gives the harness's figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.e2e

# held with value for later, expansion asks, unanswerable cases, plain value cases
CASES = ["fk-001", "fk-002", "fk-003", "fk-011", "fk-018", "fk-030", "fk-043", "fk-047"]


def test_an_independent_rescoring_of_the_api_agrees_with_the_harness(tmp_path: Path) -> None:
    env = {**os.environ, "COPILOT_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}
    env.pop("COPILOT_DATABASE_URL", None)
    suite = REPO / "evals" / "suites" / "forkful"
    selection = [arg for case in CASES for arg in ("--case", case)]
    harness = subprocess.run(
        [
            sys.executable,
            "-m",
            "copilot.cli",
            "eval",
            "run",
            str(suite),
            *selection,
            "--no-gate",
            "--out",
            str(tmp_path / "run"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert harness.returncode == 0, harness.stdout[-2000:] + harness.stderr[-2000:]

    rescored = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "rescore_api.py"),
            str(suite),
            str(tmp_path / "run" / "run.json"),
            "--json",
            str(tmp_path / "rescore.json"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )

    assert rescored.returncode == 0, rescored.stdout[-3000:] + rescored.stderr[-2000:]
    result = json.loads((tmp_path / "rescore.json").read_text())
    assert result["cases"] == len(CASES)
    compared = {row["metric"]: row for row in result["metrics"]}
    assert {
        "resolution.mrr@10",
        "value.pairs.f1",
        "value.deferred.pairs.f1",
        "expansion.recall",
        "abstention.recall",
        "hold.accuracy",
    } <= set(compared)
    assert all(row["diff"] is not None and row["diff"] <= 0.01 for row in compared.values())
