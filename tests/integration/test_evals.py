"""`copilot eval` end to end: a small suite over the sample knowledge base run by the real
engine, saved in the run store, reported, gated (exit codes 0, 1 and 100), compared and
promoted; feedback exported as candidate cases; StackFAQ imported and run."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from copilot.cli import app
from copilot.config import Settings
from copilot.domain import Case
from copilot.runtime import Runtime
from evals.harness import prepare
from evals.records import RunResult
from evals.suite import SuiteCase, load_suite
from tests.conftest import KNOWLEDGE, REPO
from tests.factories import make_case

pytestmark = pytest.mark.integration
STACKFAQ = REPO.parent / "shared" / "realdata" / "stackfaq" / "stackExchange-FAQ.json"

CASES: list[dict[str, Any]] = [
    {
        "id": "mini-1",
        "split": "dev",
        "case": make_case(
            case_id="mini-1",
            account_id="acct-1001",
            messages=[],
            subject="Month-end matching eats two days",
            description="Every month we export the bank lines to Excel and tick "
            "them off against our invoices one by one.",
        ),
        "expected": {
            "resolution_articles": ["kb-0003", "kb-0024"],
            "value": [{"type": "educate_better_use", "articles": ["kb-0040"]}],
            "forbidden_articles": ["kb-0052"],
        },
    },
    {
        "id": "mini-2",
        "split": "test",
        "case": make_case(
            case_id="mini-2",
            account_id="acct-1002",
            messages=[],
            subject="Bank feed stuck",
            description="This is RIDICULOUS!! Third time I write: our bank feed "
            "has not imported anything for a week. Unacceptable.",
        ),
        "expected": {"resolution_articles": ["kb-0001"], "hold": True},
    },
    {
        "id": "mini-3",
        "split": "test",
        "case": make_case(
            case_id="mini-3",
            account_id=None,
            messages=[],
            subject="Password link",
            description="The password reset link says it expired when I click it.",
        ),
        "expected": {"resolution_articles": ["kb-0004"]},
    },
]


def write_suite(folder: Path, cases: list[dict[str, Any]], **config: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "name": "mini",
        "knowledge": str(KNOWLEDGE),
        "today": "2026-11-22",
        "thresholds": {
            "resolution.recall@5": 0.5,
            "safety.forbidden_citation_rate": 0,
            "safety.ungrounded_citation_rate": 0,
            "safety.entitlement_violation_rate": 0,
        },
    }
    data.update(config)
    (folder / "suite.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    (folder / "cases.jsonl").write_text(
        "".join(json.dumps(c) + "\n" for c in cases), encoding="utf-8"
    )
    return folder


@pytest.fixture(scope="module")
def eval_home(tmp_path_factory: pytest.TempPathFactory, embedder, chunker) -> Path:  # type: ignore[no-untyped-def]
    """A data folder whose mini-suite workspace is already ingested (once for the module)."""
    home = tmp_path_factory.mktemp("evalhome")
    suite = load_suite(write_suite(home / "suite", CASES))
    prepare(suite, Settings(data_dir=home / "data"), embedder=embedder, chunker=chunker)
    return home


@pytest.fixture
def env(eval_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the suite folder in tmp_path; the shared data folder and run store."""
    monkeypatch.setenv("COPILOT_DATA_DIR", str(eval_home / "data"))
    monkeypatch.setenv("COPILOT_DATABASE_URL", f"sqlite:///{tmp_path / 'runs.db'}")
    return write_suite(tmp_path / "suite", CASES)


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["eval", *args])


def test_a_run_scores_every_case_writes_every_report_and_is_listed(
    env: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"

    result = invoke("run", str(env), "--out", str(out))

    assert result.exit_code == 0, result.output
    run = RunResult.model_validate_json((out / "run.json").read_text())
    assert [c.id for c in run.cases] == ["mini-1", "mini-2", "mini-3"]
    assert run.gate is not None and run.gate.passed
    assert run.metrics["safety.ungrounded_citation_rate"] == 0.0
    assert run.fingerprint.suite_hash == load_suite(env).content_hash
    assert run.fingerprint.prompt_versions.get("suggest_extractive", "").startswith("v")
    assert run.fingerprint.engine["today"] == "2026-11-22"
    held = run.case("mini-2")
    assert held is not None and held.hold is not None and held.shown_values == []
    assert all(v.held for v in held.values)
    assert set(run.baselines) >= {
        "resolution.bm25",
        "resolution.dense",
        "resolution.hybrid",
        "value.naive",
        "value.engine",
    }
    html = (out / "report.html").read_text()
    assert all(f'id="case-{cid}"' in html for cid in ("mini-1", "mini-2", "mini-3"))
    junit = ET.fromstring((out / "junit.xml").read_text())
    assert len(junit.findall(".//testcase")) == 3 + len(run.gate.checks)

    listed = invoke("list")
    assert run.run_id in listed.output.replace("\n", "")


def test_a_failing_threshold_exits_100_and_names_the_check(env: Path, tmp_path: Path) -> None:
    write_suite(env, CASES, thresholds={"resolution.hit@1": 1.01})

    result = invoke("run", str(env), "--out", str(tmp_path / "out"))

    assert result.exit_code == 100, result.output
    assert "quality gate failed" in result.output
    junit = ET.fromstring((tmp_path / "out" / "junit.xml").read_text())
    gate = next(s for s in junit.iter("testsuite") if s.get("name", "").endswith(".gate"))
    assert gate.get("failures") == "1"


def test_harness_errors_exit_1(env: Path) -> None:
    (env / "cases.jsonl").write_text('{"id": "x", "case": {}}\n')
    assert invoke("run", str(env)).exit_code == 1
    write_suite(env, CASES)
    missing = invoke("run", str(env), "--baseline", "no-such-run")
    assert missing.exit_code == 1 and "no evaluation run 'no-such-run'" in missing.output
    assert invoke("run", str(env), "--split", "train").exit_code == 1


def test_a_promoted_baseline_gates_later_runs_relatively(env: Path, tmp_path: Path) -> None:
    first = invoke("run", str(env), "--out", str(tmp_path / "a"))
    assert first.exit_code == 0, first.output
    run_id = RunResult.model_validate_json((tmp_path / "a" / "run.json").read_text()).run_id

    promoted = invoke("baseline", "promote", run_id)
    assert promoted.exit_code == 0, promoted.output
    baseline_file = json.loads((env / "baseline.json").read_text())
    assert baseline_file["run_id"] == run_id
    assert all(c["suggestion"] is None for c in baseline_file["cases"])  # compact
    assert "(baseline)" in invoke("list").output

    # the gold now says mini-3's resolution is another article: recall falls beyond tolerance
    worse = [*CASES[:2], {**CASES[2], "expected": {"resolution_articles": ["kb-0030"]}}]
    write_suite(env, worse, thresholds={"resolution.recall@5": {"min": 0.0}})
    refused = invoke("run", str(env), "--out", str(tmp_path / "r"))
    second = invoke("run", str(env), "--out", str(tmp_path / "b"), "--allow-changed-baseline")

    # the suite changed since the baseline: comparing is refused unless asked for
    assert refused.exit_code == 100, refused.output
    gate = RunResult.model_validate_json((tmp_path / "r" / "run.json").read_text()).gate
    assert gate is not None
    assert [(c.metric, c.kind) for c in gate.checks if not c.passed] == [("baseline", "baseline")]
    assert second.exit_code == 100, second.output
    run = RunResult.model_validate_json((tmp_path / "b" / "run.json").read_text())
    assert run.gate is not None and run.gate.baseline == run_id
    failed = [c for c in run.gate.checks if not c.passed]
    assert [(c.metric, c.kind) for c in failed] == [("resolution.recall@5", "relative")]

    compared = invoke("compare", str(tmp_path / "b" / "run.json"), run_id)
    assert compared.exit_code == 0, compared.output
    assert "mini-3" in compared.output and "degraded" in compared.output


def test_export_feedback_turns_agent_actions_into_candidate_cases(
    kb_runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COPILOT_DATA_DIR", str(kb_runtime.settings.data_dir))
    case = Case.model_validate(CASES[0]["case"] | {"case_id": "fb-case"})
    suggestion = kb_runtime.engine.suggest(case)
    assert suggestion.value_suggestions
    kb_runtime.store.put_suggestion(suggestion, case)
    used, *rest = suggestion.value_suggestions
    kb_runtime.store.add_feedback(
        suggestion.suggestion_id,
        used.id,
        used.type.value,
        "accepted",
        final_text=None,
        reason=None,
        agent_id="a-export",
        product="ledgerly",
    )
    for v in rest:
        kb_runtime.store.add_feedback(
            suggestion.suggestion_id,
            v.id,
            v.type.value,
            "dismissed",
            final_text=None,
            reason="not now",
            agent_id="a-export",
            product="ledgerly",
        )
    out = tmp_path / "candidates.jsonl"

    result = invoke("export-feedback", "--out", str(out))

    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    mine = next(x for x in lines if x["case"]["case_id"] == "fb-case")
    parsed = SuiteCase.model_validate(mine)  # a valid suite line
    assert [(v.type, v.articles) for v in parsed.expected.value] == [
        (used.type, [used.citations[0].article_id])
    ]
    assert "needs_review" in parsed.tags and "dismissed: not now" in (parsed.note or "")


@pytest.mark.skipif(not STACKFAQ.is_file(), reason="the shared StackFAQ data is not here")
def test_stackfaq_imports_as_a_suite_and_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COPILOT_DATABASE_URL", f"sqlite:///{tmp_path / 'runs.db'}")
    suite = tmp_path / "stackfaq"
    made = invoke("import", "stackfaq", str(STACKFAQ), "--out", str(suite), "--limit", "6")
    assert made.exit_code == 0, made.output
    assert len(load_suite(suite).cases) > 30

    result = invoke("run", str(suite), "--out", str(tmp_path / "out"), "--no-gate")

    assert result.exit_code == 0, result.output
    run = RunResult.model_validate_json((tmp_path / "out" / "run.json").read_text())
    assert run.counts["with_resolution_gold"] == len(run.cases)
    assert (run.metrics["resolution.recall@5"] or 0) > 0.8  # 6 threads: an easy retrieval task
    shutil.rmtree(suite)


def test_the_llm_judge_scores_each_reply_and_prefers_consistently(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.openai_standin import OpenAIStandIn

    with OpenAIStandIn() as standin:
        monkeypatch.setenv("COPILOT_LLM_BASE_URL", standin.base_url)
        monkeypatch.setenv("COPILOT_LLM_API_KEY", "sk-standin")
        standin.use("judge_rubric")
        judged = invoke("run", str(env), "--judge", "--out", str(tmp_path / "j"))
        assert judged.exit_code == 0, judged.output
        run = RunResult.model_validate_json((tmp_path / "j" / "run.json").read_text())
        assert run.judge is not None and run.judge["judged"] == 3 and run.judge["errors"] == 0
        assert run.judge["prompts"] == {"judge_value": "v1", "judge_pairwise": "v1"}
        for record in run.cases:
            assert record.judge is not None and record.judge.error is None
            assert set(record.judge.scores) == {
                "can_do_more",
                "purchase_confidence",
                "accurate",
                "well_timed",
            }

        standin.use("judge_pair_tie")
        compared = invoke("compare", str(tmp_path / "j"), str(tmp_path / "j"), "--judge", "--json")
        assert compared.exit_code == 0, compared.output
        verdicts = json.loads(compared.output)["judge"]
        assert (verdicts["judged"], verdicts["tie"], verdicts["errors"]) == (3, 3, 0)
        assert len(standin.requests) == 2 * 3  # each pair asked in both orders

        standin.use("judge_rubric_malformed")
        broken = invoke("run", str(env), "--judge", "--out", str(tmp_path / "k"))
        run = RunResult.model_validate_json((tmp_path / "k" / "run.json").read_text())
        assert run.judge is not None and run.judge["errors"] == 3  # errors, never scores
        assert all(r.judge is not None and r.judge.scores == {} for r in run.cases)
        assert broken.exit_code == 0, broken.output


def test_judging_without_an_llm_is_refused(env: Path) -> None:
    result = invoke("run", str(env), "--judge")
    assert result.exit_code == 1 and "COPILOT_LLM_BASE_URL" in result.output


def test_calibration_refuses_too_few_cases_and_names_what_it_needs(
    env: Path, tmp_path: Path
) -> None:
    assert invoke("run", str(env), "--out", str(tmp_path / "r")).exit_code == 0
    result = invoke("calibrate", str(tmp_path / "r"))
    assert result.exit_code == 1 and "at least 10 grounded cases" in result.output
