"""Leave-one-company-out: every fitted number learned without the company it is scored on.

For each suite (a company) in turn: its engine values are fitted on the other suites only (the
thresholds by a grid sweep when a grid is given, then the confidence weights by calibration),
and the held-out suite is run with them. The figures of the held-out runs, each company alone
and their macro average, are what the engine can be expected to do on a company it has never
seen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from copilot.config import Settings
from copilot.embeddings import SentenceTransformerEmbedder
from copilot.engine.engine import EngineConfig
from copilot.engine.fit import EngineFit
from copilot.errors import ConfigError
from evals import calibrate
from evals.harness import git_state, run_suite
from evals.records import CaseRecord, RunResult
from evals.suite import Suite
from evals.tune import best_values, sweep_suites, typed

Progress = Callable[[str], None]


@dataclass
class HeldOut:
    """One company left out: the values fitted without it, and its run with them."""

    suite: str
    fit: EngineFit
    run: RunResult


def fit_without(
    held_out: str,
    records: Sequence[tuple[str, CaseRecord]],
    tuned: EngineFit | None = None,
) -> EngineFit:
    """Confidence weights fitted on the cases of every suite but `held_out` (on top of any
    tuned thresholds)."""
    train = [r for suite, r in records if suite != held_out]
    resolution = calibrate.fit(calibrate.samples(train))
    values = calibrate.fit_values(calibrate.value_samples(train), EngineConfig().value_weights)
    hold = calibrate.fit_hold(calibrate.hold_samples(train))
    expansion, threshold = calibrate.fit_expansion(calibrate.expansion_samples(train))
    calibrated = EngineFit(
        {
            "confidence_weights": resolution.weights,
            "value_weights": values,
            "hold_weights": hold,
            "expansion_weights": expansion,
            "expansion_threshold": threshold,
        },
        {
            "suites": sorted({s for s, _ in records if s != held_out}),
            "excluded": held_out,
            "split": "all",
            "git_sha": git_state()[0],
            "by": "copilot eval loco",
        },
    )
    return tuned.merged(calibrated) if tuned is not None else calibrated


def leave_one_out(
    suites: Sequence[Suite],
    settings: Settings,
    *,
    split: str | None = None,
    grid: dict[str, list[float]] | None = None,
    objective: str = "value.types.f1",
    progress: Progress | None = None,
) -> tuple[list[RunResult], list[HeldOut]]:
    """The shipped engine's runs of every suite, and each suite's run with values fitted on
    the others (reported on `split`: None for every case)."""
    if len(suites) < 2:
        raise ConfigError("leave-one-company-out needs at least two suites")
    say = progress or (lambda _: None)
    embedder = SentenceTransformerEmbedder(settings.embedder_model, settings.embed_batch_size)
    shipped: list[RunResult] = []
    for suite in suites:
        say(f"running {suite.name} with the shipped values")
        shipped.append(run_suite(suite, settings, embedder=embedder))
    held: list[HeldOut] = []
    for suite in suites:
        others = [s for s in suites if s.name != suite.name]
        tuned = None
        runs = [r for r in shipped if r.suite.name != suite.name]
        if grid:
            say(f"tuning on {', '.join(s.name for s in others)} (without {suite.name})")
            points = sweep_suites(others, settings, grid, split="all")
            tuned = EngineFit(typed(best_values(points, objective)), {"objective": objective})
            runs = [run_suite(s, settings, embedder=embedder, fit=tuned) for s in others]
        records = [(r.suite.name, c) for r in runs for c in r.cases]
        fit = fit_without(suite.name, records, tuned)
        say(f"running {suite.name} with values fitted without it")
        run = run_suite(suite, settings, split=split, embedder=embedder, fit=fit)
        held.append(HeldOut(suite.name, fit, run))
    return shipped, held
