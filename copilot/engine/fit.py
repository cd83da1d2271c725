"""Fitted engine numbers as data: a versioned file of EngineConfig values and what they were
fitted on (the suites, the one left out, the split, the commit).

`copilot eval calibrate --write` and `copilot eval tune --write` write it; the engine takes it
through `COPILOT_ENGINE_FIT` and evaluation runs through `--engine-fit`, so a company can refit
on its own labelled suite without touching code.

```yaml
kind: value-copilot/engine-fit
version: 1
fitted_on: {suites: [brightcart, forkful], excluded: fernhill, split: all, git_sha: 1a2b3c}
engine:
  confidence_weights: [-3.3, 7.2, 12.6]       # bias, similarity, margin
  value_weights: {achieve_goal: [-0.7, 3.6]}  # per type: bias, score
  goal_similarity: 0.45
  hold_weights: {bias: -3.1, frustration_phrases: 1.4, outage_phrases: 3.9, …}
  expansion_weights: {bias: -4.0, similarity: 3.1, …}
  expansion_threshold: 0.75
```
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from copilot.engine.analysis import HOLD_FEATURES
from copilot.engine.engine import EngineConfig
from copilot.engine.entitlement import EXPANSION_FEATURES
from copilot.errors import ConfigError

FIT_KIND = "value-copilot/engine-fit"
FIT_VERSION = 1
# Set by the suite or the deployment, never fitted.
NOT_FITTED = {"today", "resolution_kinds", "max_suggestions"}
FITTABLE = {f.name for f in fields(EngineConfig)} - NOT_FITTED
# Models written as a mapping of feature name to weight, so a person can read them.
NAMED_WEIGHTS = {"hold_weights": HOLD_FEATURES, "expansion_weights": EXPANSION_FEATURES}


@dataclass(frozen=True)
class EngineFit:
    """Engine values learned from labelled suites, and what they were learned on."""

    values: dict[str, Any]
    fitted_on: dict[str, Any] = field(default_factory=dict)

    def apply(self, config: EngineConfig) -> EngineConfig:
        """The configuration with these values in place of its own."""
        return replace(config, **self.values)

    def merged(self, other: EngineFit) -> EngineFit:
        """These values with another fit's on top (its provenance joins this one's)."""
        return EngineFit({**self.values, **other.values}, {**self.fitted_on, **other.fitted_on})


def _coerce(name: str, value: Any) -> Any:
    """A YAML value as the EngineConfig field expects it; ValueError says what is wrong."""
    if name == "confidence_weights":
        if not isinstance(value, list | tuple) or len(value) != 3:
            raise ValueError("give three numbers: bias, similarity, margin")
        return tuple(float(v) for v in value)
    if name == "value_weights":
        if not isinstance(value, dict):
            raise ValueError("give a mapping of value type to [bias, weight]")
        out = []
        for kind, pair in sorted(value.items()):
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                raise ValueError(f"{kind}: give two numbers, bias and weight")
            out.append((str(kind), float(pair[0]), float(pair[1])))
        return tuple(out)
    if name in NAMED_WEIGHTS:
        names = ("bias", *NAMED_WEIGHTS[name])
        if not isinstance(value, dict) or set(value) != set(names):
            raise ValueError(f"give a mapping with exactly these keys: {list(names)}")
        if not all(isinstance(value[k], int | float) for k in names):
            raise ValueError("every weight must be a number")
        return tuple(float(value[k]) for k in names)
    default = getattr(EngineConfig(), name)
    if isinstance(default, bool) or not isinstance(default, int | float):
        raise ValueError("this field cannot be fitted")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {value!r}")
    return int(value) if isinstance(default, int) else float(value)


def load_fit(path: Path) -> EngineFit:
    """Read and check a fit file; ConfigError names the file, the key and the fix."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the engine fit file: {exc}") from exc
    if not isinstance(data, dict) or data.get("kind") != FIT_KIND:
        raise ConfigError(f"{path}: not an engine fit file (expected `kind: {FIT_KIND}`)")
    if data.get("version") != FIT_VERSION:
        raise ConfigError(
            f"{path}: version {data.get('version')!r}; this release reads {FIT_VERSION}"
        )
    engine = data.get("engine") or {}
    if not isinstance(engine, dict):
        raise ConfigError(f"{path} [engine]: expected a mapping of engine values")
    values: dict[str, Any] = {}
    for name, value in engine.items():
        if name not in FITTABLE:
            raise ConfigError(
                f"{path} [engine.{name}]: not a fitted engine value; use one of {sorted(FITTABLE)}"
            )
        try:
            values[name] = _coerce(name, value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{path} [engine.{name}]: {exc}") from exc
    fitted_on = data.get("fitted_on") or {}
    return EngineFit(values, fitted_on if isinstance(fitted_on, dict) else {})


def _plain(name: str, value: Any) -> Any:
    if name == "value_weights":
        return {kind: [bias, weight] for kind, bias, weight in value}
    if name in NAMED_WEIGHTS:
        return dict(zip(("bias", *NAMED_WEIGHTS[name]), value, strict=True))
    if isinstance(value, tuple):
        return list(value)
    return value


def save_fit(path: Path, fit: EngineFit) -> None:
    """Write a fit file (with the time it was written)."""
    written = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    data = {
        "kind": FIT_KIND,
        "version": FIT_VERSION,
        "fitted_on": {**fit.fitted_on, "written": written},
        "engine": {name: _plain(name, value) for name, value in sorted(fit.values.items())},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def engine_config(today: dt.date | None = None, fit: Path | None = None) -> EngineConfig:
    """The engine's configuration: the shipped values, a fit file's on top, and today's date."""
    config = EngineConfig(today=today)
    return load_fit(fit).apply(config) if fit is not None else config
