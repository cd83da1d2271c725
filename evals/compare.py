"""Comparing two runs: metric deltas with paired bootstrap intervals, and each case's fate.

A is the candidate, B the reference (usually the baseline): a delta is A - B. Cases are paired
by id; a case only in A is `added`, only in B `removed`. A common case is `improved` or
`degraded` when its outcome (evals.scoring.case_outcome) moved by more than a hair, `unchanged`
otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from evals import metrics as m
from evals import scoring
from evals.records import CaseRecord, RunResult
from evals.suite import Direction, metric_direction

if TYPE_CHECKING:
    from evals.judge import ReplyJudge

Fate = Literal["improved", "degraded", "unchanged", "added", "removed"]
_HAIR = 1e-6


class MetricDelta(BaseModel):
    metric: str
    a: float | None
    b: float | None
    delta: float | None
    low: float | None = None  # bootstrap interval of the delta over the common cases
    high: float | None = None
    significant: bool = False  # the interval excludes 0
    better: bool | None = None  # whether A is better than B on this metric (None: same)


class CaseChange(BaseModel):
    case_id: str
    fate: Fate
    a: float | None = None
    b: float | None = None
    detail: str = ""


class Comparison(BaseModel):
    a: str
    b: str
    common_cases: int
    metrics: list[MetricDelta]
    cases: list[CaseChange]
    warnings: list[str] = []
    judge: dict[str, Any] | None = None  # pairwise LLM-judge preferences, when asked for

    def fates(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in self.cases:
            out[c.fate] = out.get(c.fate, 0) + 1
        return out


def _describe(a: CaseRecord | None, b: CaseRecord | None) -> str:
    if a is None or b is None:
        return ""
    parts = []
    if a.produced_types != b.produced_types:
        parts.append(f"values {b.produced_types} -> {a.produced_types}")
    top_a = a.resolution_ranking[:1]
    top_b = b.resolution_ranking[:1]
    if top_a != top_b:
        parts.append(f"resolution {top_b or ['none']} -> {top_a or ['none']}")
    if (a.hold is None) != (b.hold is None):
        parts.append("now held" if a.hold else "no longer held")
    if a.scores.safe != b.scores.safe:
        parts.append("safety rule broken" if not a.scores.safe else "safety rule fixed")
    return "; ".join(parts)


def compare(a: RunResult, b: RunResult, *, samples: int = 1000, seed: int = 0) -> Comparison:
    """Metric deltas A - B with 95% paired bootstrap intervals, and per-case fates."""
    warnings = []
    if a.suite.name != b.suite.name:
        warnings.append(f"different suites: {a.suite.name} vs {b.suite.name}")
    elif a.suite.hash != b.suite.hash:
        warnings.append("the suite changed between the runs: only common case ids are paired")
    if a.fingerprint.knowledge_hash != b.fingerprint.knowledge_hash:
        warnings.append("the knowledge base differs between the runs")
    by_a = {c.id: c for c in a.cases}
    by_b = {c.id: c for c in b.cases}
    common = [cid for cid in by_a if cid in by_b]

    def metrics_of(
        records: dict[str, CaseRecord],
    ) -> Callable[[Sequence[str]], dict[str, float | None]]:
        def fn(keys: Sequence[str]) -> dict[str, float | None]:
            return scoring.aggregate([records[k] for k in keys])

        return fn

    intervals = m.paired_bootstrap(
        common, metrics_of(by_a), metrics_of(by_b), samples=samples, seed=seed
    )
    deltas = []
    for name in sorted(set(a.metrics) | set(b.metrics), key=_metric_order):
        va, vb = a.metrics.get(name), b.metrics.get(name)
        delta = None if va is None or vb is None else va - vb
        better = None
        if delta is not None and abs(delta) > _HAIR:
            better = (delta > 0) == (metric_direction(name) is Direction.maximize)
        iv = intervals.get(name)
        deltas.append(
            MetricDelta(
                metric=name,
                a=va,
                b=vb,
                delta=delta,
                low=iv.low if iv else None,
                high=iv.high if iv else None,
                significant=bool(iv and iv.excludes_zero),
                better=better,
            )
        )
    changes: list[CaseChange] = []
    for cid in [*by_a, *(c for c in by_b if c not in by_a)]:
        ra, rb = by_a.get(cid), by_b.get(cid)
        if rb is None:
            changes.append(
                CaseChange(case_id=cid, fate="added", a=scoring.case_outcome(ra) if ra else None)
            )
            continue
        if ra is None:
            changes.append(CaseChange(case_id=cid, fate="removed", b=scoring.case_outcome(rb)))
            continue
        oa, ob = scoring.case_outcome(ra), scoring.case_outcome(rb)
        fate: Fate = "unchanged"
        if oa is None and ob is not None:
            fate = "degraded"
        elif ob is None and oa is not None:
            fate = "improved"
        elif oa is not None and ob is not None and abs(oa - ob) > _HAIR:
            fate = "improved" if oa > ob else "degraded"
        changes.append(CaseChange(case_id=cid, fate=fate, a=oa, b=ob, detail=_describe(ra, rb)))
    return Comparison(
        a=a.run_id,
        b=b.run_id,
        common_cases=len(common),
        metrics=deltas,
        cases=changes,
        warnings=warnings,
    )


_ORDER = (
    "resolution.",
    "value.types",
    "value.pairs",
    "value.",
    "hold.",
    "safety.",
    "latency",
    "errors",
)


def _metric_order(name: str) -> tuple[int, str]:
    rank = next((i for i, p in enumerate(_ORDER) if name.startswith(p)), len(_ORDER))
    return rank, name


def judge_pairs(a: RunResult, b: RunResult, judge: ReplyJudge) -> dict[str, Any]:
    """The judge's preference between A's and B's reply to every common case that holds both
    replies, asked in both orders; only a win in both orders counts. A failed verdict is
    counted as an error, never as a preference."""
    from copilot.domain import Case
    from evals.judge import JudgeError

    by_b = {c.id: c for c in b.cases}
    tally = {"a": 0, "b": 0, "tie": 0, "inconsistent": 0, "errors": 0}
    cases: list[dict[str, Any]] = []
    for ra in a.cases:
        rb = by_b.get(ra.id)
        if rb is None or ra.suggestion is None or rb.suggestion is None:
            continue
        try:
            result = judge.prefer(Case.model_validate(ra.case), ra.suggestion, rb.suggestion)
        except JudgeError as exc:
            tally["errors"] += 1
            cases.append({"case_id": ra.id, "winner": None, "error": str(exc)})
            continue
        tally[result.winner] += 1
        cases.append({"case_id": ra.id, "winner": result.winner, "reasons": result.reasons})
    return {**tally, "judged": len(cases), "prompts": judge.prompt_versions, "cases": cases}
