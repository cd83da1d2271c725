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
from copilot.errors import ConfigError
from copilot.llm.extractive import ExtractiveGenerator
from evals import scoring
from evals.harness import Harness, prepare
from evals.suite import Suite

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
) -> list[tuple[str, float, dict[str, float | None]]]:
    """Metrics of the split at every grid point (one parameter varied at a time)."""
    cases = suite.select(split)
    if not cases:
        raise ConfigError(f"suite {suite.name} has no {split} cases")
    workspace = prepare(suite, settings, embedder=embedder)
    base = EngineConfig(today=suite.config.today)
    out = []
    for name, values in grid.items():
        for value in values:
            typed: float = int(value) if isinstance(getattr(base, name), int) else value
            config = replace(base, **{name: typed})  # type: ignore[arg-type]
            harness = Harness(suite, workspace, ExtractiveGenerator(), config, with_baselines=False)
            metrics = scoring.aggregate([harness.run_case(c) for c in cases])
            out.append((name, value, metrics))
            if on_point is not None:
                on_point(name, value, metrics)
    return out
