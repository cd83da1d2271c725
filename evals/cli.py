"""`copilot eval ...`: run suites, keep runs, compare them and gate releases on them.

Exit codes: 0 ok (and the gate passed), 1 an error of the harness or its input (the suite does
not validate, a case raised, a run or file cannot be found), 100 the quality gate failed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from copilot.config import LLMMode, Settings
from copilot.errors import CopilotError, NotFound, ValidationError
from copilot.terminal import progress_bar

if TYPE_CHECKING:
    from copilot.engine.fit import EngineFit
    from evals.judge import Judge
    from evals.records import CaseRecord, RunResult
    from evals.store import RunStore
    from evals.suite import Suite

app = typer.Typer(
    help="Evaluation suites: run, compare, gate and report on suggestion quality.",
    no_args_is_help=True,
)
baseline_app = typer.Typer(
    help="The baseline run a suite's gate compares against.", no_args_is_help=True
)
import_app = typer.Typer(help="Turn public data sets into evaluation suites.", no_args_is_help=True)
app.add_typer(baseline_app, name="baseline")
app.add_typer(import_app, name="import")
console = Console()
err = Console(stderr=True)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_GATE_FAILED = 100
BASELINE_FILE = "baseline.json"


def _settings() -> Settings:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        return Settings()
    except Exception as exc:  # pydantic explains which variable is wrong
        err.print(f"[red]invalid settings:[/red] {exc}")
        raise typer.Exit(EXIT_ERROR) from exc


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error[/red] {escape(message)}")
    return typer.Exit(EXIT_ERROR)


def _print_problems(exc: ValidationError) -> None:
    for problem in exc.problems:
        err.print(f"[red]error[/red] {escape(str(problem))}")


def _load_suite(path: Path) -> Suite:
    from evals.suite import load_suite

    try:
        return load_suite(path)
    except ValidationError as exc:
        _print_problems(exc)
        err.print(f"[red]{len(exc.problems)} problem(s); the suite cannot run[/red]")
        raise typer.Exit(EXIT_ERROR) from exc


def _store(settings: Settings) -> RunStore:
    from evals.store import RunStore

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return RunStore.from_url(settings.resolved_database_url)


def load_run(ref: str, store: RunStore) -> RunResult:
    """A run from a JSON artifact path or a run id in the store."""
    from evals.records import RunResult

    path = Path(ref)
    if path.is_dir() and (path / "run.json").is_file():
        path = path / "run.json"
    if path.suffix == ".json" or path.is_file():
        if not path.is_file():
            raise NotFound(f"no run file {path}")
        try:
            return RunResult.model_validate_json(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise NotFound(f"{path} is not a run artifact: {str(exc)[:300]}") from exc
    return store.load(ref)


@app.command()
def validate(
    suite: Annotated[Path, typer.Argument(help="A suite folder (suite.yaml + cases.jsonl).")],
) -> None:
    """Check a suite: every line parses, every article exists, every label fits its type."""
    from evals.suite import summary

    loaded = _load_suite(suite)
    for warning in loaded.warnings:
        console.print(f"[yellow]warning[/yellow] {escape(str(warning))}")
    counts = summary(loaded.cases)
    table = Table(title=f"suite {loaded.name}: {counts['cases']} cases")
    table.add_column("")
    table.add_column("cases", justify="right")
    for key, value in counts.items():
        if isinstance(value, dict):
            for sub, n in value.items():
                table.add_row(f"{key}: {sub}", str(n))
        elif key != "cases":
            table.add_row(key, str(value))
    console.print(table)


@app.command()
def run(
    suite_paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="SUITE...",
            help="Suite folders, or collection files listing them (YAML `suites: [...]`).",
        ),
    ],
    baseline: Annotated[
        str | None,
        typer.Option(
            help="Run id or run.json to gate against (one suite only; default: each suite's "
            f"promoted baseline, else its {BASELINE_FILE})."
        ),
    ] = None,
    mode: Annotated[
        LLMMode | None, typer.Option(help="Generation mode (default COPILOT_LLM_MODE).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Folder for run.json, report.html and junit.xml (with several suites, one "
            "subfolder each; default <data_dir>/evals/<suite>/runs/<run id>)."
        ),
    ] = None,
    split: Annotated[str | None, typer.Option(help="Only this split (dev or test).")] = None,
    case: Annotated[
        list[str] | None, typer.Option("--case", help="Only this case id (repeatable).")
    ] = None,
    engine_fit: Annotated[
        Path | None,
        typer.Option(
            help="An engine fit file (from `eval calibrate/tune --write`) in place of the "
            "shipped values (default COPILOT_ENGINE_FIT).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    judge: Annotated[
        bool,
        typer.Option(
            help="Score every reply with the LLM judge (needs COPILOT_LLM_BASE_URL or _API_KEY)."
        ),
    ] = False,
    gate: Annotated[bool, typer.Option(help="Apply the suite's thresholds.")] = True,
    allow_changed_baseline: Annotated[
        bool,
        typer.Option(
            help="Gate against a baseline whose suite or knowledge changed since, on the cases "
            "both share (refused by default)."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run JSON.")] = False,
) -> None:
    """Run the engine on every case of one or more suites, score them, save each run and apply
    each suite's gate; with several suites, also print each company's figures and their macro
    average.

    Exit 0 when every gate passes, 100 when one fails, 1 on an error of the harness.
    """
    from threadpoolctl import threadpool_limits

    from copilot.engine.fit import load_fit
    from evals.collection import CollectionResult, suite_folders

    # As when serving: small matrix products leave numpy's BLAS threads spinning, which slows
    # the next embedding; the latency figures should be the server's.
    threadpool_limits(1, user_api="blas")
    settings = _settings()
    try:
        folders = suite_folders(suite_paths)
        fit_path = engine_fit or settings.engine_fit
        fit = load_fit(fit_path) if fit_path is not None else None
    except CopilotError as exc:
        raise _fail(str(exc)) from exc
    suites = [_load_suite(folder) for folder in folders]
    if split is not None and split not in ("dev", "test"):
        raise _fail("--split must be dev or test")
    if baseline is not None and len(suites) > 1:
        raise _fail("--baseline names one run: give it with one suite only")
    store = _store(settings)
    results: list[RunResult] = []
    for suite in suites:
        folder = None
        if out is not None:
            folder = out if len(suites) == 1 else out / suite.name
        result = _run_one(
            suite,
            settings,
            store,
            baseline=baseline,
            mode=mode,
            folder=folder,
            split=split,
            case=case,
            fit=fit,
            judge=judge,
            gate=gate,
            allow_changed_baseline=allow_changed_baseline,
            as_json=as_json,
        )
        results.append(result)
    if len(results) > 1:
        from evals.report.terminal import print_collection

        collection = CollectionResult.of(
            results, note=f"split {split or 'all'}" + (f", fit {fit_path}" if fit_path else "")
        )
        target = (out or settings.data_dir / "evals" / "collections") / (
            f"collection-{collection.created_at:%Y%m%d-%H%M%S}.json"
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(collection.model_dump_json(indent=1), encoding="utf-8")
        if not as_json:
            print_collection(collection, console)
            console.print(f"collection summary in {target}")
    if any(r.errors for r in results):
        for r in results:
            for line in r.errors[:10]:
                err.print(f"[red]case error[/red] {escape(r.suite.name)}: {escape(line)}")
        raise typer.Exit(EXIT_ERROR)
    failed = [r.suite.name for r in results if r.gate is not None and not r.gate.passed]
    if failed:
        err.print(f"[red]quality gate failed[/red] for {', '.join(failed)}")
        raise typer.Exit(EXIT_GATE_FAILED)


def _run_one(
    suite: Suite,
    settings: Settings,
    store: RunStore,
    *,
    baseline: str | None,
    mode: LLMMode | None,
    folder: Path | None,
    split: str | None,
    case: list[str] | None,
    fit: EngineFit | None,
    judge: bool,
    gate: bool,
    allow_changed_baseline: bool,
    as_json: bool,
) -> RunResult:
    """One suite: run, judge, gate against its baseline, write the reports, save the run."""
    from evals import gate as gating
    from evals import harness
    from evals.report.html import render_html
    from evals.report.junit import render_junit
    from evals.report.terminal import print_run

    reference: RunResult | None = None
    reference_name: str | None = None
    try:
        ref = baseline or store.baseline(suite.name)
        if ref is None and (suite.path / BASELINE_FILE).is_file():
            ref = str(suite.path / BASELINE_FILE)
        if ref is not None:
            reference, reference_name = load_run(ref, store), ref
    except NotFound as exc:
        raise _fail(str(exc)) from exc
    scorer: Judge | None = None
    if judge:
        from evals.judge import Judge

        try:
            scorer = Judge(settings)
        except CopilotError as exc:
            raise _fail(f"--judge: {exc}") from exc

    with progress_bar(err, disable=as_json) as bar:
        ingest_task = bar.add_task(f"ingesting {suite.name}'s knowledge", total=None)
        case_task = bar.add_task(
            f"running {suite.name}", total=len(suite.select(split, case)), visible=False
        )

        def on_ingest(_: str, done: int, total: int) -> None:
            bar.update(ingest_task, completed=done, total=total)

        def on_case(record: CaseRecord) -> None:
            bar.update(ingest_task, visible=False)
            bar.update(case_task, advance=1, visible=True)

        try:
            result = harness.run_suite(
                suite,
                settings,
                mode=mode,
                split=split,
                case_ids=case,
                on_ingest=on_ingest,
                on_case=on_case,
                fit=fit,
            )
        except CopilotError as exc:
            raise _fail(str(exc)) from exc
        if scorer is not None:
            result = _judge_run(result, scorer, bar)
    if gate:
        base_metrics = None
        differences: list[str] = []
        if reference is not None:
            base_metrics = _reference_metrics(reference, result)
            differences = gating.baseline_differences(result, reference)
        result.gate = gating.evaluate(
            suite.config,
            result.metrics,
            base_metrics,
            reference_name,
            differences=differences,
            allow_differences=allow_changed_baseline,
        )
    folder = folder or settings.data_dir / "evals" / suite.name / "runs" / result.run_id
    folder.mkdir(parents=True, exist_ok=True)
    artifact = folder / "run.json"
    artifact.write_text(result.model_dump_json(indent=1), encoding="utf-8")
    (folder / "report.html").write_text(render_html(result), encoding="utf-8")
    (folder / "junit.xml").write_text(render_junit(result), encoding="utf-8")
    store.save(result, str(artifact))
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        print_run(result, console)
        console.print(f"run {result.run_id} · {result.duration_s:.1f} s · reports in {folder}")
        if reference is None and gate:
            console.print(
                "[dim]no baseline: only absolute thresholds were checked "
                "(promote one with `copilot eval baseline promote RUN`)[/dim]"
            )
    return result


def _reference_metrics(reference: RunResult, result: RunResult) -> dict[str, float | None]:
    """The baseline's metrics on the cases this run ran (another split or a changed suite must
    not be compared whole); its stored metrics when it holds no case records."""
    from evals.scoring import aggregate

    ids = {c.id for c in result.cases}
    common = [c for c in reference.cases if c.id in ids]
    return aggregate(common) if common else dict(reference.metrics)


def _judge_run(result: RunResult, scorer: Judge, bar: Progress) -> RunResult:
    """Every reply scored by the LLM judge; an unusable verdict is recorded as an error."""
    from copilot.domain import Case
    from evals.judge import JudgeError, summarise
    from evals.records import JudgeScore

    task = bar.add_task("judging replies", total=len(result.cases))
    scores = []
    for record in result.cases:
        if record.suggestion is not None:
            try:
                record.judge = scorer.score(Case.model_validate(record.case), record.suggestion)
            except JudgeError as exc:
                record.judge = JudgeScore(error=str(exc))
            scores.append(record.judge)
        bar.update(task, advance=1)
    result.judge = {**summarise(scores), "prompts": scorer.prompt_versions, "model": scorer.model}
    return result


@app.command("list")
def list_runs(
    suite: Annotated[str | None, typer.Option(help="Only this suite's runs.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many, newest first.")] = 20,
) -> None:
    """The saved runs, newest first, with their headline metrics."""
    settings = _settings()
    rows = _store(settings).list(suite, limit)
    if not rows:
        console.print("no runs yet: `copilot eval run SUITE`")
        return
    table = Table(title="evaluation runs")
    table.add_column("run", no_wrap=True)
    for col in (
        "suite",
        "when",
        "mode",
        "split",
        "recall@5",
        "value F1",
        "hold",
        "gate",
        "git",
    ):
        table.add_column(col)
    for row in rows:
        metrics = row.data.get("metrics", {})

        def fmt(name: str, metrics: dict[str, float | None] = metrics) -> str:
            value = metrics.get(name)
            return "–" if value is None else f"{value:.3f}"

        gate = {None: "–", True: "[green]pass[/green]", False: "[red]fail[/red]"}[row.passed]
        name = row.run_id + (" [cyan](baseline)[/cyan]" if row.is_baseline else "")
        table.add_row(
            name,
            row.suite,
            f"{row.created_at:%Y-%m-%d %H:%M}",
            row.mode,
            row.split or "all",
            fmt("resolution.recall@5"),
            fmt("value.types.f1"),
            fmt("hold.accuracy"),
            gate,
            (row.git_sha or "")[:8],
        )
    console.print(table)


@app.command()
def compare(
    a: Annotated[str, typer.Argument(help="Candidate run: id or run.json.")],
    b: Annotated[str, typer.Argument(help="Reference run (e.g. the baseline): id or run.json.")],
    samples: Annotated[int, typer.Option(min=100, help="Bootstrap samples.")] = 1000,
    judge: Annotated[
        bool,
        typer.Option(
            help="Also ask the LLM judge which reply is better, in both orders "
            "(needs COPILOT_LLM_BASE_URL or _API_KEY; runs must hold their replies)."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison JSON.")] = False,
) -> None:
    """Metric deltas A - B with 95% bootstrap intervals, and each case improved, degraded,
    unchanged, added or removed."""
    from evals.compare import compare as compare_runs
    from evals.report.terminal import print_comparison

    store = _store(_settings())
    try:
        run_a, run_b = load_run(a, store), load_run(b, store)
    except NotFound as exc:
        raise _fail(str(exc)) from exc
    result = compare_runs(run_a, run_b, samples=samples)
    if judge:
        from evals.compare import judge_pairs
        from evals.judge import Judge

        settings = _settings()
        try:
            result.judge = judge_pairs(run_a, run_b, Judge(settings))
        except CopilotError as exc:
            raise _fail(f"--judge: {exc}") from exc
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    print_comparison(result, console)
    if result.judge is not None:
        j = result.judge
        console.print(
            f"LLM judge over {j['judged']} case(s), both orders: A better {j['a']}, B better "
            f"{j['b']}, tie {j['tie']}, inconsistent (not counted) {j['inconsistent']}, "
            f"errors {j['errors']}"
        )


@app.command()
def report(
    ref: Annotated[str, typer.Argument(help="A run id or run.json.")],
    out: Annotated[Path, typer.Option(help="Folder to write report.html and junit.xml to.")] = Path(
        "."
    ),
) -> None:
    """Write the HTML and JUnit reports of a saved run again, and print its summary."""
    from evals.report.html import render_html
    from evals.report.junit import render_junit
    from evals.report.terminal import print_run

    store = _store(_settings())
    try:
        result = load_run(ref, store)
    except NotFound as exc:
        raise _fail(str(exc)) from exc
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.html").write_text(render_html(result), encoding="utf-8")
    (out / "junit.xml").write_text(render_junit(result), encoding="utf-8")
    print_run(result, console)
    console.print(f"reports in {out}")


@baseline_app.command("promote")
def promote(
    ref: Annotated[str, typer.Argument(metavar="RUN", help="The run id to promote.")],
    write: Annotated[
        bool,
        typer.Option(
            help=f"Also write it as the suite's {BASELINE_FILE} (commit it so CI gates on it)."
        ),
    ] = True,
) -> None:
    """Make a run its suite's baseline: later runs are gated against it."""
    store = _store(_settings())
    try:
        row = store.promote(ref)
        result = store.load(ref)
    except NotFound as exc:
        raise _fail(str(exc)) from exc
    console.print(f"{row.run_id} is now the baseline of suite {row.suite}")
    if write:
        folder = Path(result.suite.path)
        if not folder.is_dir():
            err.print(
                f"[yellow]the suite folder {folder} is gone; {BASELINE_FILE} not written[/yellow]"
            )
            return
        target = folder / BASELINE_FILE
        compact = result.compact().model_dump(mode="json")
        target.write_text(json.dumps(compact, indent=1) + "\n", encoding="utf-8")
        console.print(f"wrote {target}")


@import_app.command("stackfaq")
def import_stackfaq(
    source: Annotated[
        Path,
        typer.Argument(
            help="StackFAQ's stackExchange-FAQ.json (e.g. ../shared/realdata/stackfaq/).",
            exists=True,
            dir_okay=False,
        ),
    ],
    out: Annotated[Path, typer.Option(help="The suite folder to write.")] = Path(
        "evals/suites/stackfaq"
    ),
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N threads.")] = None,
) -> None:
    """Write a suite from StackFAQ: each thread an FAQ article, each paraphrase a case."""
    from evals.importers import import_stackfaq as run_import

    try:
        written = run_import(source, out, limit=limit)
    except ValidationError as exc:
        _print_problems(exc)
        raise typer.Exit(EXIT_ERROR) from exc
    console.print(
        f"wrote {written['threads']} articles and {written['cases']} cases "
        f"(dev {written['dev']}, test {written['test']}) to {out}; run it with "
        f"`copilot eval run {out}`"
    )


@app.command("export-feedback")
def export_feedback(
    out: Annotated[Path, typer.Option(help="JSONL file of candidate cases to write.")] = Path(
        "feedback-cases.jsonl"
    ),
    since: Annotated[datetime | None, typer.Option(help="Feedback from this time on.")] = None,
    until: Annotated[datetime | None, typer.Option(help="Feedback before this time.")] = None,
) -> None:
    """Turn agents' accepted and dismissed suggestions into candidate cases for review.

    Each line is a valid suite case tagged from_feedback and needs_review: check the labels
    against evals/README.md before adding it to a suite's cases.jsonl.
    """
    from copilot.store.sql import SqlStore
    from evals.feedback import export_feedback as export

    settings = _settings()
    store = SqlStore.from_url(settings.resolved_database_url)
    lines, missing = export(store.feedback_with_cases(_utc(since), _utc(until)))
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    console.print(f"wrote {len(lines)} candidate case(s) to {out}")
    if missing:
        console.print(
            f"[yellow]{missing} suggestion(s) with feedback were skipped: their case "
            "was not kept[/yellow]"
        )


def _utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


TUNE_METRICS = [
    "resolution.recall@5",
    "resolution.hit@1",
    "value.types.f1",
    "value.pairs.f1",
    *(
        f"value.{t}.f1"
        for t in (
            "validate_purchase",
            "anticipate_needs",
            "achieve_goal",
            "educate_better_use",
            "advise_new_use",
        )
    ),
    "hold.accuracy",
]


@app.command()
def tune(
    suite_paths: Annotated[
        list[Path],
        typer.Argument(metavar="SUITE...", help="Suite folders or collection files."),
    ],
    param: Annotated[
        list[str],
        typer.Option(
            "--param", help="NAME=V1,V2,... an engine threshold and values to try (repeatable)."
        ),
    ],
    split: Annotated[
        str, typer.Option(help="The split to tune on: dev, test or all (never the reported one).")
    ] = "dev",
    exclude: Annotated[
        str | None,
        typer.Option(help="Leave this suite (company) out: tune on the others only."),
    ] = None,
    objective: Annotated[
        str, typer.Option(help="The metric that picks each parameter's best value.")
    ] = "value.types.f1",
    engine_fit: Annotated[
        Path | None,
        typer.Option(help="Start from this engine fit file's values.", exists=True, dir_okay=False),
    ] = None,
    write: Annotated[
        Path | None,
        typer.Option(help="Write the best values (with --engine-fit's) to this engine fit file."),
    ] = None,
) -> None:
    """Try engine thresholds one at a time and print the metrics each moves (the macro average
    over the suites, each company counting once); mark each parameter's best value."""
    from copilot.engine.fit import EngineFit, load_fit, save_fit
    from evals.collection import suite_folders
    from evals.harness import git_state
    from evals.tune import best_values, parse_grid, sweep_suites, typed

    settings = _settings()
    if split not in ("dev", "test", "all"):
        raise _fail("--split must be dev, test or all")
    try:
        grid = parse_grid(param)
        base_fit = load_fit(engine_fit) if engine_fit is not None else None
        folders = suite_folders(suite_paths)
    except CopilotError as exc:
        raise _fail(str(exc)) from exc
    suites = [_load_suite(f) for f in folders]
    if exclude is not None:
        if exclude not in {s.name for s in suites}:
            raise _fail(f"--exclude {exclude}: not one of {[s.name for s in suites]}")
        suites = [s for s in suites if s.name != exclude]
        if not suites:
            raise _fail("--exclude leaves no suite to tune on")
    names = list(dict.fromkeys([*TUNE_METRICS, objective]))
    title = ", ".join(s.name for s in suites) + f" · {split} split · one parameter at a time"
    table = Table(title=title + (" (macro average)" if len(suites) > 1 else ""))
    table.add_column("parameter")
    table.add_column("value", justify="right")
    for name in names:
        table.add_column(name.removeprefix("value.").removeprefix("resolution."), justify="right")

    try:
        points = sweep_suites(suites, settings, grid, split=split, fit=base_fit)
    except CopilotError as exc:
        raise _fail(str(exc)) from exc
    best = best_values(points, objective)
    for name, value, metrics in points:
        mark = " *" if best.get(name) == value else ""
        table.add_row(
            name,
            f"{value:g}{mark}",
            *("–" if metrics.get(n) is None else f"{metrics[n]:.3f}" for n in names),
        )
    console.print(table)
    console.print(f"* best by {objective}: " + ", ".join(f"{n}={v:g}" for n, v in best.items()))
    if write is not None:
        sha, _ = git_state()
        tuned = EngineFit(
            typed(best),
            {
                "suites": [s.name for s in suites],
                "excluded": exclude,
                "split": split,
                "objective": objective,
                "git_sha": sha,
                "by": "copilot eval tune",
            },
        )
        save_fit(write, base_fit.merged(tuned) if base_fit is not None else tuned)
        console.print(f"wrote {write}")


@app.command()
def loco(
    suite_paths: Annotated[
        list[Path],
        typer.Argument(metavar="SUITE...", help="Suite folders or collection files (2 or more)."),
    ],
    split: Annotated[
        str | None, typer.Option(help="Report the held-out suite on this split only (dev, test).")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            help="NAME=V1,V2,... also tune this threshold on the other suites (repeatable).",
        ),
    ] = None,
    objective: Annotated[
        str, typer.Option(help="The metric that picks each tuned parameter's value.")
    ] = "value.types.f1",
    out: Annotated[
        Path | None,
        typer.Option(
            help="Folder for the fit files and the summary (default <data_dir>/evals/loco)."
        ),
    ] = None,
) -> None:
    """Leave one company out: for each suite, fit the engine's values on the other suites only
    and run it with them; print each company's held-out figures and their macro average, next
    to the shipped engine's."""
    from threadpoolctl import threadpool_limits

    from copilot.engine.fit import save_fit
    from evals.collection import CollectionResult, suite_folders
    from evals.loco import leave_one_out
    from evals.report.terminal import print_collection
    from evals.tune import parse_grid

    threadpool_limits(1, user_api="blas")
    settings = _settings()
    if split is not None and split not in ("dev", "test"):
        raise _fail("--split must be dev or test")
    try:
        suites = [_load_suite(f) for f in suite_folders(suite_paths)]
        grid = parse_grid(param) if param else None
        store = _store(settings)
        shipped, held = leave_one_out(
            suites,
            settings,
            split=split,
            grid=grid,
            objective=objective,
            progress=lambda text: err.print(f"[dim]{escape(text)}[/dim]"),
        )
    except CopilotError as exc:
        raise _fail(str(exc)) from exc
    folder = out or settings.data_dir / "evals" / "loco"
    folder.mkdir(parents=True, exist_ok=True)
    for item in held:
        save_fit(folder / f"fit-without-{item.suite}.yaml", item.fit)
        run_folder = folder / item.run.run_id
        run_folder.mkdir(parents=True, exist_ok=True)
        artifact = run_folder / "run.json"
        artifact.write_text(item.run.model_dump_json(indent=1), encoding="utf-8")
        store.save(item.run, str(artifact))
    which = f"split {split or 'all'}"
    shipped_summary = CollectionResult.of(shipped, note="shipped values · all cases")
    held_summary = CollectionResult.of(
        [h.run for h in held], note=f"held out: fitted without the company · {which}"
    )
    (folder / "loco.json").write_text(
        json.dumps(
            {
                "held_out": held_summary.model_dump(mode="json"),
                "shipped": shipped_summary.model_dump(mode="json"),
                "fits": {h.suite: h.fit.fitted_on for h in held},
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    print_collection(shipped_summary, console)
    print_collection(held_summary, console)
    console.print(f"fit files and held-out runs in {folder}")
    errors = [f"{r.suite.name}: {e}" for r in [*shipped, *(h.run for h in held)] for e in r.errors]
    if errors:
        for line in errors[:10]:
            err.print(f"[red]case error[/red] {escape(line)}")
        raise typer.Exit(EXIT_ERROR)


@app.command()
def floors(
    ref: Annotated[str, typer.Argument(metavar="RUN", help="The baseline run: id or run.json.")],
    samples: Annotated[int, typer.Option(min=100, help="Bootstrap samples.")] = 1000,
) -> None:
    """Propose a suite's gate bounds from a baseline run: each quality metric's floor at the
    edge of its 95% bootstrap band, harms at zero tolerance; paste the block into suite.yaml."""
    from evals.floors import propose, thresholds_yaml

    store = _store(_settings())
    try:
        run = load_run(ref, store)
    except NotFound as exc:
        raise _fail(str(exc)) from exc
    bounds = propose(run, samples=samples)
    table = Table(title=f"{run.suite.name}: bounds outside the noise band of {run.run_id}")
    for col in ("metric", "value", "95% band", "bound"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for b in bounds:
        table.add_row(
            b.metric, f"{b.value:.3f}", f"{b.low:.3f}–{b.high:.3f}", f"{b.key} {b.bound:g}"
        )
    console.print(table)
    typer.echo(thresholds_yaml(bounds))


@app.command()
def agreement(
    first: Annotated[
        Path, typer.Argument(help="Reviewer A's labels: a cases.jsonl or suite folder.")
    ],
    second: Annotated[Path, typer.Argument(help="Reviewer B's labels of the same case ids.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the agreement JSON.")] = False,
) -> None:
    """How two reviewers who labelled the same cases blind to each other agree: Cohen's kappa
    per value type and on the hold, pair F1, resolution and expansion agreement, and every
    disagreement (the human ceiling an engine is measured against)."""
    from evals.agreement import agreement as measure
    from evals.agreement import read_labels

    try:
        result = measure(read_labels(first), read_labels(second))
    except (CopilotError, OSError) as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    table = Table(title=f"agreement over {result.cases} cases labelled by both")
    for col in ("value type", "A", "B", "both", "observed", "Cohen's kappa"):
        table.add_column(col, justify="left" if col == "value type" else "right")
    for t in result.types:
        kappa = "undefined" if t.kappa is None else f"{t.kappa:.3f}"
        table.add_row(t.type, str(t.a), str(t.b), str(t.both), f"{t.observed:.3f}", kappa)
    console.print(table)

    def show(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    console.print(
        f"types: mean kappa {show(result.types_kappa_mean)}, F1 {result.types_f1:.3f} · "
        f"pairs F1 {result.pairs_f1:.3f} · hold: kappa {show(result.hold_kappa)}, "
        f"observed {result.hold_observed:.3f} · resolution: same {result.resolution_same:.3f}, "
        f"overlap {result.resolution_overlap:.3f} · expansion same {show(result.expansion_same)}"
    )
    console.print(f"{len(result.disagreements)} case(s) with a disagreement (--json lists them)")


@app.command()
def calibrate(
    runs: Annotated[
        list[str],
        typer.Argument(
            help="Runs (ids or run.json) whose cases to learn from; their suites' splits apply."
        ),
    ],
    fit_split: Annotated[
        str, typer.Option("--fit", help="Split to fit the weights on: dev, test or all.")
    ] = "dev",
    check_split: Annotated[
        str, typer.Option("--check", help="Split to report them on: dev, test or all.")
    ] = "test",
    exclude: Annotated[
        str | None,
        typer.Option(
            help="Leave this suite (company) out: fit on the other runs' cases and report on "
            "its own (with --fit all --check all for leave-one-company-out)."
        ),
    ] = None,
    write: Annotated[
        Path | None,
        typer.Option(help="Write the fitted weights to this engine fit file (see --engine-fit)."),
    ] = None,
) -> None:
    """Fit the confidence weights on one set of cases and report calibration on another.

    Prints the fitted EngineConfig.confidence_weights (the resolution's) and
    EngineConfig.value_weights (each value type's), with the Brier score and expected
    calibration error of the current and the fitted weights on both sets.
    """
    from copilot.engine.engine import EngineConfig
    from copilot.engine.fit import EngineFit, save_fit
    from evals.calibrate import (
        expansion_samples,
        fit,
        fit_expansion,
        fit_hold,
        fit_values,
        hold_samples,
        report,
        report_expansion,
        report_hold,
        report_values,
        samples,
        value_samples,
    )
    from evals.harness import git_state

    for name, value in (("--fit", fit_split), ("--check", check_split)):
        if value not in ("dev", "test", "all"):
            raise _fail(f"{name} must be dev, test or all")
    store = _store(_settings())
    try:
        loaded = [load_run(ref, store) for ref in runs]
    except NotFound as exc:
        raise _fail(str(exc)) from exc
    suites = sorted({r.suite.name for r in loaded})
    if exclude is not None and exclude not in suites:
        raise _fail(f"--exclude {exclude}: none of the runs is of that suite (runs of {suites})")
    if exclude is not None and len(suites) < 2:
        raise _fail("--exclude needs runs of at least two suites: one to leave out, one to fit on")

    def cases(split: str, held_out: bool) -> list[CaseRecord]:
        return [
            c
            for run in loaded
            if exclude is None or (run.suite.name == exclude) == held_out
            for c in run.cases
            if split == "all" or c.split == split
        ]

    fit_name = f"{fit_split}" + (f" without {exclude}" if exclude else "")
    check_name = f"{check_split}" + (f" of {exclude}" if exclude else "")
    records = {fit_name: cases(fit_split, False), check_name: cases(check_split, True)}
    by_split = {name: samples(rs) for name, rs in records.items()}
    values_by_split = {name: value_samples(rs) for name, rs in records.items()}
    try:
        fitted = fit(by_split[fit_name])
    except CopilotError as exc:
        raise _fail(str(exc)) from exc
    config = EngineConfig()
    fitted_values = fit_values(values_by_split[fit_name], config.value_weights)
    _figures_table(
        f"resolution confidence: fitted on {fit_name} "
        f"({fitted.samples} cases, {fitted.positives} right at rank 1)",
        {
            f"{name} {w}": {split: report(w, data) for split, data in by_split.items()}
            for name, w in (("current", config.confidence_weights), ("fitted", fitted.weights))
        },
    )
    _figures_table(
        f"value confidence: fitted on {fit_name} ({len(values_by_split[fit_name])} suggestions)",
        {
            name: {split: report_values(w, data) for split, data in values_by_split.items()}
            for name, w in (("current", config.value_weights), ("fitted", fitted_values))
        },
    )
    holds_by_split = {name: hold_samples(rs) for name, rs in records.items()}
    try:
        fitted_hold: tuple[float, ...] | None = fit_hold(holds_by_split[fit_name])
    except CopilotError as exc:
        console.print(f"hold model not fitted: {exc}")
        fitted_hold = None
    if fitted_hold is not None:
        _figures_table(
            f"hold model: fitted on {fit_name} ({len(holds_by_split[fit_name])} cases)",
            {
                name: {split: report_hold(w, data) for split, data in holds_by_split.items()}
                for name, w in (("current", config.hold_weights), ("fitted", fitted_hold))
            },
            (
                ("accuracy", "accuracy"),
                ("missed", "miss_rate"),
                ("false holds", "false_hold_rate"),
                ("Brier", "brier"),
                ("ECE", "ece"),
            ),
        )
    expansion_by_split = {name: expansion_samples(rs) for name, rs in records.items()}
    try:
        fitted_expansion: tuple[tuple[float, ...], float] | None = fit_expansion(
            expansion_by_split[fit_name]
        )
    except CopilotError as exc:
        console.print(f"expansion model not fitted: {exc}")
        fitted_expansion = None
    if fitted_expansion is not None:
        current = (config.expansion_weights, config.expansion_threshold)
        _figures_table(
            f"expansion model: fitted on {fit_name}",
            {
                f"{label} (threshold {threshold:.2f})": {
                    split: report_expansion(w, threshold, data)
                    for split, data in expansion_by_split.items()
                }
                for label, (w, threshold) in (("current", current), ("fitted", fitted_expansion))
            },
            (("precision", "precision"), ("recall", "recall"), ("F1", "f1")),
        )
    console.print(f"EngineConfig.confidence_weights = {fitted.weights}")
    console.print(f"EngineConfig.value_weights = {fitted_values}")
    if fitted_hold is not None:
        console.print(f"EngineConfig.hold_weights = {fitted_hold}")
    if fitted_expansion is not None:
        console.print(f"EngineConfig.expansion_weights = {fitted_expansion[0]}")
        console.print(f"EngineConfig.expansion_threshold = {fitted_expansion[1]}")
    if write is not None:
        sha, _ = git_state()
        provenance = {
            "suites": [s for s in suites if s != exclude],
            "excluded": exclude,
            "split": fit_split,
            "runs": [r.run_id for r in loaded if r.suite.name != exclude],
            "git_sha": sha,
            "by": "copilot eval calibrate",
        }
        values: dict[str, object] = {
            "confidence_weights": fitted.weights,
            "value_weights": fitted_values,
        }
        if fitted_hold is not None:
            values["hold_weights"] = fitted_hold
        if fitted_expansion is not None:
            values["expansion_weights"], values["expansion_threshold"] = fitted_expansion
        save_fit(write, EngineFit(values, provenance))
        console.print(f"wrote {write}")


def _figures_table(
    title: str,
    rows: dict[str, dict[str, dict[str, float | None]]],
    columns: Sequence[tuple[str, str]] = (
        ("right", "accuracy"),
        ("mean confidence", "mean_confidence"),
        ("Brier", "brier"),
        ("ECE", "ece"),
    ),
) -> None:
    """Figures of each set of weights on each split (evals.calibrate's reports): one row per
    weights and split, one column per (header, key) after the count of samples; by default
    the calibration figures."""
    table = Table(title=title)
    for col in ("weights", "split", "n", *(header for header, _ in columns)):
        table.add_column(col, justify="left" if col in ("weights", "split") else "right")
    for label, per_split in rows.items():
        for split, r in per_split.items():
            table.add_row(
                label,
                split,
                f"{r['samples']:.0f}",
                *(f"{r[k]:.3f}" if r[k] is not None else "–" for _, k in columns),
            )
    console.print(table)
