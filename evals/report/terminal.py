"""The terminal report of a run and of a comparison of two runs, drawn with rich.

Every string that comes from a run (case ids, error messages, gate messages) is passed as
`Text`, never as markup: a case id such as `[red]x` must print as written.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from evals.collection import COLUMNS, CollectionResult
from evals.compare import CaseChange, Comparison, MetricDelta
from evals.records import GateCheck, RunResult
from evals.report.junit import case_failures
from evals.scoring import TYPES

HEADLINE: list[tuple[str, list[str]]] = [
    (
        "resolution",
        [
            "resolution.hit@1",
            "resolution.recall@5",
            "resolution.mrr@10",
            "resolution.ndcg@10",
            "resolution.confidence_brier",
            "resolution.confidence_ece",
        ],
    ),
    (
        "value",
        [
            "value.types.precision",
            "value.types.recall",
            "value.types.f1",
            "value.pairs.precision",
            "value.pairs.recall",
            "value.pairs.f1",
            "value.confidence_brier",
            "value.confidence_ece",
            "value.deferred.types.f1",
            "value.deferred.pairs.f1",
        ],
    ),
    ("hold", ["hold.accuracy", "hold.miss_rate", "hold.false_hold_rate"]),
    ("expansion", ["expansion.precision", "expansion.recall", "expansion.f1"]),
    ("abstention", ["abstention.precision", "abstention.recall"]),
    (
        "safety",
        [
            "safety.forbidden_citation_rate",
            "safety.ungrounded_citation_rate",
            "safety.entitlement_violation_rate",
        ],
    ),
    ("latency", ["latency.p50_ms", "latency.p95_ms"]),
    ("errors", ["errors"]),
]
RESOLUTION_COLUMNS = [
    ("hit@1", "hit@1"),
    ("recall@5", "recall@5"),
    ("mrr@10", "MRR@10"),
    ("ndcg@10", "nDCG@10"),
]
VALUE_COLUMNS = [
    ("types.precision", "types P"),
    ("types.recall", "types R"),
    ("types.f1", "types F1"),
    ("pairs.precision", "pairs P"),
    ("pairs.recall", "pairs R"),
    ("pairs.f1", "pairs F1"),
    ("entitlement_violation_rate", "not entitled"),
    ("suggested_while_held_rate", "while held"),
]
MAX_FAILING = 15
MAX_CHANGES = 20
# Run text (exception messages above all) may carry escape sequences that would drive the
# reader's terminal, and newlines that would break a one-line-per-case list.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def _line(text: str, style: str = "") -> Text:
    """Run-sourced text as one inert line."""
    return Text(" ".join(_UNPRINTABLE.sub(" ", text).split()), style=style)


def fmt(name: str, value: float | None) -> str:
    """A metric value as a person reads it: n/a, milliseconds, a count or three decimals."""
    if value is None:
        return "n/a"
    if name.endswith("_ms"):
        return f"{value:,.0f} ms"
    if name in ("errors", "gold", "produced"):
        return f"{value:.0f}"
    return f"{value:.3f}"


def fmt_delta(name: str, value: float | None) -> str:
    """A signed difference of a metric, in the metric's own unit."""
    if value is None:
        return "n/a"
    if name.endswith("_ms"):
        return f"{value:+,.0f} ms"
    if name == "errors":
        return f"{value:+.0f}"
    return f"{value:+.3f}"


def _harmful(name: str, value: float | None) -> bool:
    """A safety rate or error count above zero: never acceptable, whatever the gate says."""
    return value is not None and value > 0 and (name.startswith("safety.") or name == "errors")


def _header(run: RunResult) -> Text:
    fp = run.fingerprint
    split = f" ({run.suite.split})" if run.suite.split else ""
    sha = (fp.git_sha or "unknown")[:10] + ("+dirty" if fp.git_dirty else "")
    mode = fp.mode + (f" / {fp.model}" if fp.model else "")
    text = Text()
    text.append(f"run {run.run_id}", style="bold")
    text.append(
        f"\nsuite {run.suite.name}{split} · {len(run.cases)} cases · "
        f"{run.created_at:%Y-%m-%d %H:%M} · {run.duration_s:.1f}s\n"
        f"mode {mode} · git {sha}"
    )
    return text


def _gate_marks(checks: Sequence[GateCheck]) -> dict[str, bool]:
    marks: dict[str, bool] = {}
    for check in checks:
        marks[check.metric] = marks.get(check.metric, True) and check.passed
    return marks


def _metrics_table(run: RunResult) -> Table:
    marks = _gate_marks(run.gate.checks) if run.gate else {}
    table = Table(title="metrics", title_justify="left")
    table.add_column("group", style="dim")
    table.add_column("metric")
    table.add_column("value", justify="right")
    if marks:
        table.add_column("gate", justify="center")
    for group, names in HEADLINE:
        for i, name in enumerate(names):
            value = run.metrics.get(name)
            cell = Text(fmt(name, value), style="bold red" if _harmful(name, value) else "")
            row: list[Text | str] = [group if i == 0 else "", name.removeprefix(f"{group}."), cell]
            if marks:
                passed = marks.get(name)
                row.append(
                    Text(
                        "" if passed is None else "pass" if passed else "FAIL",
                        style="green" if passed else "bold red",
                    )
                )
            table.add_row(*row)
        table.add_section()
    return table


def _per_type_table(run: RunResult) -> Table:
    table = Table(title="value by type", title_justify="left")
    table.add_column("type")
    for label in ("precision", "recall", "F1", "pair F1", "gold", "produced"):
        table.add_column(label, justify="right")
    for t in [*TYPES, *(t for t in run.per_type if t not in TYPES)]:
        row = run.per_type.get(t)
        if row is None:
            continue
        table.add_row(
            t,
            *(
                fmt(key, _num(row.get(key)))
                for key in ("precision", "recall", "f1", "pair_f1", "gold", "produced")
            ),
        )
    return table


def _num(value: float | int | None) -> float | None:
    return None if value is None else float(value)


def _baseline_table(
    run: RunResult, kind: str, names: Sequence[str], columns: Sequence[tuple[str, str]]
) -> Table | None:
    rows = [(n, run.baselines[f"{kind}.{n}"]) for n in names if f"{kind}.{n}" in run.baselines]
    if not rows:
        return None
    table = Table(title=f"{kind} against baselines", title_justify="left")
    table.add_column("")
    for _, label in columns:
        table.add_column(label, justify="right")
    for name, values in rows:
        table.add_row(
            name,
            *(fmt(key, values.get(key)) for key, _ in columns),
            style="bold" if name == "engine" else "",
        )
    return table


def _gate_table(run: RunResult) -> Table | None:
    if run.gate is None:
        return None
    verdict = "PASSED" if run.gate.passed else "FAILED"
    against = f" against {run.gate.baseline}" if run.gate.baseline else ""
    table = Table(
        title=Text(
            f"gate {verdict}{against}", style="bold green" if run.gate.passed else "bold red"
        ),
        title_justify="left",
    )
    table.add_column("")
    table.add_column("metric")
    table.add_column("kind")
    table.add_column("message")
    for check in run.gate.checks:
        table.add_row(
            Text("pass", style="green") if check.passed else Text("FAIL", style="bold red"),
            _line(check.metric),
            check.kind,
            _line(check.message),
        )
    return table


def _print_failing(run: RunResult, console: Console) -> None:
    failing = [(r.id, f) for r in run.cases if (f := case_failures(r))]
    if not failing:
        console.print(Text(f"all {len(run.cases)} cases passed", style="green"))
        return
    console.print(Text(f"{len(failing)} of {len(run.cases)} cases failing", style="bold red"))
    shown = failing[:MAX_FAILING]
    # one line a case, laid out by hand: the id and the kind stay whole on a narrow terminal
    # and the message gives way
    id_width = max(len(case_id) for case_id, _ in shown)
    kinds = {case_id: ",".join(dict.fromkeys(f.kind for f in found)) for case_id, found in shown}
    kind_width = min(max(len(k) for k in kinds.values()), 20)
    for case_id, found in shown:
        kind = kinds[case_id]
        if len(kind) > kind_width:
            kind = kind[: kind_width - 1] + "…"
        line = _line(case_id, "red")
        line.pad_right(id_width - len(line))
        line.append("  " + kind.ljust(kind_width) + "  ", style="dim")
        line.append_text(_line("; ".join(f.message for f in found)))
        line.truncate(console.width, overflow="ellipsis")
        console.print(line, no_wrap=True, soft_wrap=False)
    if len(failing) > MAX_FAILING:
        console.print(Text(f"… and {len(failing) - MAX_FAILING} more failing cases"))


def print_run(run: RunResult, console: Console) -> None:
    """The run's headline metrics, per-type and baseline tables, gate checks and failing cases."""
    console.print(_header(run))
    console.print(_metrics_table(run))
    console.print(_per_type_table(run))
    for table in (
        _baseline_table(
            run, "resolution", ["bm25", "dense", "hybrid", "engine"], RESOLUTION_COLUMNS
        ),
        _baseline_table(run, "value", ["naive", "engine"], VALUE_COLUMNS),
        _gate_table(run),
    ):
        if table is not None:
            console.print(table)
    _print_failing(run, console)


def _interval(d: MetricDelta) -> str:
    if d.low is None or d.high is None:
        return ""
    return f"[{fmt_delta(d.metric, d.low)}, {fmt_delta(d.metric, d.high)}]"


def _verdict(d: MetricDelta) -> Text:
    if d.better is None:
        return Text("same", style="dim")
    word = "better" if d.better else "worse"
    if d.significant:
        return Text(f"{word} (significant)", style="bold green" if d.better else "bold red")
    return Text(word, style="green" if d.better else "red")


def _delta_table(cmp: Comparison) -> Table:
    table = Table(
        title=f"A {cmp.a} vs B {cmp.b} ({cmp.common_cases} common cases)", title_justify="left"
    )
    table.add_column("metric")
    table.add_column("A", justify="right")
    table.add_column("B", justify="right")
    table.add_column("Δ A-B", justify="right")
    table.add_column("95% interval", justify="right")
    table.add_column("")
    for d in cmp.metrics:
        verdict = _verdict(d)
        table.add_row(
            d.metric,
            fmt(d.metric, d.a),
            fmt(d.metric, d.b),
            Text(fmt_delta(d.metric, d.delta), style=verdict.style),
            _interval(d),
            verdict,
        )
    return table


def _print_changes(console: Console, title: str, changes: Sequence[CaseChange], style: str) -> None:
    if not changes:
        return
    console.print(Text(f"{title} ({len(changes)})", style=f"bold {style}"))
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    table.add_column()
    for c in changes[:MAX_CHANGES]:
        table.add_row(
            _line(c.case_id, style),
            f"{fmt('outcome', c.b)} → {fmt('outcome', c.a)}",
            _line(c.detail),
        )
    console.print(table)
    if len(changes) > MAX_CHANGES:
        console.print(Text(f"… and {len(changes) - MAX_CHANGES} more"))


def print_comparison(cmp: Comparison, console: Console) -> None:
    """Metric deltas with their intervals, then what happened to each case."""
    for warning in cmp.warnings:
        console.print(_line(f"warning: {warning}", "yellow"))
    console.print(_delta_table(cmp))
    fates = cmp.fates()
    console.print(
        Text(
            " · ".join(
                f"{fate} {fates.get(fate, 0)}"
                for fate in ("improved", "degraded", "unchanged", "added", "removed")
            )
        )
    )
    _print_changes(console, "degraded", [c for c in cmp.cases if c.fate == "degraded"], "red")
    _print_changes(console, "improved", [c for c in cmp.cases if c.fate == "improved"], "green")
    for fate in ("added", "removed"):
        ids = [c.case_id for c in cmp.cases if c.fate == fate]
        if ids:
            console.print(_line(f"{fate}: {', '.join(ids)}", "dim"))


def print_collection(collection: CollectionResult, console: Console) -> None:
    """Each suite's headline figures, a column a company, and their macro average."""
    table = Table(title=f"{len(collection.runs)} suites · {collection.note}")
    table.add_column("metric")
    columns = [*collection.per_suite.items(), ("macro", collection.macro)]
    for name, _ in columns:
        table.add_column(_line(name, "bold" if name == "macro" else ""), justify="right")
    for metric, title in COLUMNS:
        cells = []
        for _, metrics in columns:
            value = metrics.get(metric)
            cells.append(Text(fmt(metric, value), style="red" if _harmful(metric, value) else ""))
        table.add_row(f"{title} ({metric})", *cells)
    console.print(table)
