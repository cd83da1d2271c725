"""The quality gate: a run's metrics against the suite's thresholds and against a baseline.

Absolute checks hold a metric to its `min`/`max`. Relative checks refuse a metric that worsened
by more than its `max_regression` (or the suite's `baseline_tolerance`) against the baseline
run; latency is machine-dependent, so it is only compared to a baseline when its threshold sets
`max_regression` itself.
"""

from __future__ import annotations

from collections.abc import Mapping

from evals.records import GateCheck, GateResult, RunResult
from evals.suite import Direction, SuiteConfig, metric_direction

_EPS = 1e-9


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def baseline_differences(run: RunResult, baseline: RunResult) -> list[str]:
    """Why a baseline does not measure the same thing as the run: another suite, other cases
    or labels, or another knowledge base ([] when it does)."""
    out = []
    if baseline.suite.name != run.suite.name:
        out.append(f"it is a run of suite {baseline.suite.name!r}, not {run.suite.name!r}")
    if baseline.fingerprint.suite_hash != run.fingerprint.suite_hash:
        out.append(
            f"the suite changed since (hash {baseline.fingerprint.suite_hash} -> "
            f"{run.fingerprint.suite_hash}: cases, labels or thresholds)"
        )
    if baseline.fingerprint.knowledge_hash != run.fingerprint.knowledge_hash:
        out.append(
            f"the knowledge base changed since (hash {baseline.fingerprint.knowledge_hash} -> "
            f"{run.fingerprint.knowledge_hash})"
        )
    return out


def evaluate(
    config: SuiteConfig,
    metrics: Mapping[str, float | None],
    baseline: Mapping[str, float | None] | None = None,
    baseline_name: str | None = None,
    *,
    differences: list[str] | None = None,
    allow_differences: bool = False,
) -> GateResult:
    """Every gated check of the suite on these metrics; passed only if all pass.

    A baseline that `differences` says measures something else is refused (a failing check and
    no relative checks), unless `allow_differences`: then the relative checks run on the cases
    both share and a passing check records the warning."""
    checks: list[GateCheck] = []
    if baseline is not None and differences:
        why = "; ".join(differences)
        if allow_differences:
            message = f"compared anyway with a baseline that differs: {why}"
        else:
            message = (
                f"refusing to compare with the baseline {baseline_name}: {why}. Promote a run "
                "of this suite as the new baseline (`copilot eval baseline promote RUN`), or "
                "pass --allow-changed-baseline to compare on the cases both share"
            )
            baseline = None
        checks.append(
            GateCheck(metric="baseline", kind="baseline", passed=allow_differences, message=message)
        )
    for name, threshold in config.thresholds.items():
        value = metrics.get(name)
        if name not in metrics:
            checks.append(
                GateCheck(
                    metric=name,
                    kind="missing",
                    passed=False,
                    message=f"{name}: no such metric in the run (check the name in suite.yaml)",
                )
            )
            continue
        for bound, sign in ((threshold.min, 1.0), (threshold.max, -1.0)):
            if bound is None:
                continue
            # sign 1: at least the bound; sign -1: at most it
            ok = value is not None and sign * (value - bound) >= -_EPS
            held, broken = (">=", "<") if sign > 0 else ("<=", ">")
            checks.append(
                GateCheck(
                    metric=name,
                    kind="absolute",
                    bound=bound,
                    value=value,
                    passed=ok,
                    message=f"{name} {_fmt(value)} {held if ok else broken} {bound:g}",
                )
            )
        if baseline is None:
            continue
        tolerance = threshold.max_regression
        if tolerance is None:
            if name.startswith("latency"):
                continue
            tolerance = config.baseline_tolerance
        base = baseline.get(name)
        if base is None or value is None:
            continue
        if metric_direction(name) is Direction.maximize:
            bound = base - tolerance
            ok = value >= bound - _EPS
        else:
            bound = base + tolerance
            ok = value <= bound + _EPS
        checks.append(
            GateCheck(
                metric=name,
                kind="relative",
                bound=bound,
                value=value,
                baseline=base,
                passed=ok,
                message=f"{name} {_fmt(base)} -> {_fmt(value)} against the baseline "
                f"({'within' if ok else 'beyond'} the {tolerance:g} tolerance)",
            )
        )
    return GateResult(passed=all(c.passed for c in checks), checks=checks, baseline=baseline_name)
