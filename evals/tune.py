"""Calibrating the engine's thresholds on a suite's dev split: one parameter at a time.

For each value of each parameter the dev cases are run with that value (the others at their
defaults) and the metrics it moves are printed side by side, so a threshold is chosen on data
that the reported figures (the test split) never saw.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields, replace

from copilot.config import Settings
from copilot.embeddings import SentenceTransformerEmbedder
from copilot.engine.engine import EngineConfig
from copilot.engine.fit import EngineFit
from copilot.errors import ConfigError
from copilot.llm.extractive import ExtractiveGenerator
from evals import scoring
from evals.collection import macro
from evals.harness import Harness, prepare
from evals.suite import Direction, Suite, metric_direction

TUNABLE = {
    f.name
    for f in fields(EngineConfig)
    if f.type in ("float", "int") and f.name not in ("max_suggestions",)
}


def parse_grid(specs: Sequence[str]) -> dict[str, list[float]]:
    """`name=v1,v2,...` specs as a grid; ConfigError names an unknown parameter."""
    grid: dict[str, list[float]] = {}
    for spec in specs:
        name, _, values = spec.partition("=")
        name = name.strip()
        if name not in TUNABLE:
            raise ConfigError(f"unknown engine parameter {name!r}: use one of {sorted(TUNABLE)}")
        try:
            grid[name] = [float(v) for v in values.split(",") if v.strip()]
        except ValueError as exc:
            raise ConfigError(f"{spec!r}: values must be numbers, comma-separated") from exc
        if not grid[name]:
            raise ConfigError(f"{spec!r}: give at least one value")
    return grid


def sweep(
    suite: Suite,
    settings: Settings,
    grid: dict[str, list[float]],
    *,
    split: str = "dev",
    embedder: SentenceTransformerEmbedder | None = None,
    on_point: Callable[[str, float, dict[str, float | None]], None] | None = None,
    fit: EngineFit | None = None,
) -> list[tuple[str, float, dict[str, float | None]]]:
    """Metrics of the split (dev, test or all) at every grid point (one parameter varied at a
    time, the others at their shipped values or a fit's)."""
    cases = suite.select(None if split == "all" else split)
    if not cases:
        raise ConfigError(f"suite {suite.name} has no {split} cases")
    workspace = prepare(suite, settings, embedder=embedder)
    base = EngineConfig(today=suite.config.today)
    base = fit.apply(base) if fit is not None else base
    out = []
    for name, values in grid.items():
        for value in values:
            config = replace(base, **typed({name: value}))  # type: ignore[arg-type]
            harness = Harness(suite, workspace, ExtractiveGenerator(), config, with_baselines=False)
            metrics = scoring.aggregate([harness.run_case(c) for c in cases])
            out.append((name, value, metrics))
            if on_point is not None:
                on_point(name, value, metrics)
    return out


Point = tuple[str, float, dict[str, float | None]]


def sweep_suites(
    suites: Sequence[Suite],
    settings: Settings,
    grid: dict[str, list[float]],
    *,
    split: str = "dev",
    fit: EngineFit | None = None,
    on_point: Callable[[str, float, dict[str, float | None]], None] | None = None,
) -> list[Point]:
    """The macro average over several suites (companies) of each grid point's metrics."""
    embedder = SentenceTransformerEmbedder(settings.embedder_model, settings.embed_batch_size)
    per_suite = [sweep(s, settings, grid, split=split, embedder=embedder, fit=fit) for s in suites]
    out: list[Point] = []
    for points in zip(*per_suite, strict=True):
        name, value, _ = points[0]
        averaged = macro([metrics for _, _, metrics in points])
        out.append((name, value, averaged))
        if on_point is not None:
            on_point(name, value, averaged)
    return out


def best_values(points: Sequence[Point], objective: str) -> dict[str, float]:
    """Per parameter, the value that scores best on the objective (the first of ties)."""
    best: dict[str, tuple[float, float]] = {}
    for name, value, metrics in points:
        score = metrics.get(objective)
        if score is None:
            continue
        if metric_direction(objective) is Direction.minimize:
            score = -score
        if name not in best or score > best[name][1]:
            best[name] = (value, score)
    return {name: value for name, (value, _) in best.items()}


def typed(values: dict[str, float]) -> dict[str, float | int]:
    """Grid values as the engine's fields take them (whole numbers for integer fields)."""
    defaults = EngineConfig()
    return {n: int(v) if isinstance(getattr(defaults, n), int) else v for n, v in values.items()}
