"""Gate bounds set outside the noise band: a floor that a run falls below only when it is
worse than resampling its cases explains.

For each quality metric the bound is the edge of the baseline run's 95% bootstrap interval (the
lower end for a metric where higher is better, the upper end for a calibration error), rounded
outwards to two decimals. Harms are not noise: safety rates and errors stay at 0, and a missed
hold may not come back once fixed, so those get zero tolerance against the baseline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from evals import metrics as m
from evals.records import RunResult
from evals.scoring import TYPES, aggregate
from evals.suite import Direction, metric_direction

# Quality metrics that get a floor (or a ceiling) from the noise band.
BANDED = [
    "resolution.hit@1",
    "resolution.recall@5",
    "resolution.mrr@10",
    "resolution.confidence_ece",
    "value.types.f1",
    "value.pairs.f1",
    *(f"value.{t}.f1" for t in TYPES),
    "value.confidence_ece",
    "hold.accuracy",
    "expansion.recall",
    "abstention.precision",
    "abstention.recall",
]
# Harms: an absolute bound of 0, or no worse than the baseline at all.
ZERO = {
    "safety.forbidden_citation_rate": "max: 0",
    "safety.ungrounded_citation_rate": "max: 0",
    "safety.entitlement_violation_rate": "max: 0",
    "errors": "max: 0",
    "hold.miss_rate": "max_regression: 0",
    "hold.false_hold_rate": "max_regression: 0",
}


@dataclass(frozen=True)
class Bound:
    """A proposed gate bound for one metric, and the band it was read from."""

    metric: str
    value: float
    low: float
    high: float
    bound: float

    @property
    def key(self) -> str:
        return "min" if metric_direction(self.metric) is Direction.maximize else "max"


def propose(run: RunResult, *, samples: int = 1000, confidence: float = 0.95) -> list[Bound]:
    """Bounds for the banded metrics that the run defines, from its own bootstrap interval."""
    records = {r.id: r for r in run.cases}
    keys = sorted(records)
    intervals = m.bootstrap(
        keys,
        lambda ids: aggregate([records[i] for i in ids]),
        samples=samples,
        confidence=confidence,
    )
    out = []
    for metric in BANDED:
        band = intervals.get(metric)
        if band is None:
            continue
        if metric_direction(metric) is Direction.maximize:
            bound = math.floor(round(band.low * 100, 6)) / 100
        else:
            bound = math.ceil(round(band.high * 100, 6)) / 100
        out.append(Bound(metric, band.estimate, band.low, band.high, bound))
    return out


def thresholds_yaml(bounds: list[Bound], tolerance: float = 0.02) -> str:
    """The `thresholds:` block of a suite.yaml for these bounds and the zero-tolerance harms."""
    lines = ["thresholds:"]
    for b in bounds:
        lines.append(
            f"  {b.metric}: {{{b.key}: {b.bound:g}}}  "
            f"# {b.value:.3f}, 95% band {b.low:.3f}-{b.high:.3f}"
        )
    for metric, rule in ZERO.items():
        lines.append(f"  {metric}: {{{rule}}}")
    lines.append(f"baseline_tolerance: {tolerance:g}")
    return "\n".join(lines) + "\n"
