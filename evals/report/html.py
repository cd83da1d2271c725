"""The HTML report of a run: one standalone file that opens offline, with a drill-down per case.

Case text is written by customers, so the template autoescapes everything; nothing is marked
safe. The file loads nothing: no scripts, fonts, images or stylesheets from anywhere. The only
outward links are citation URLs, and only when they are plain http(s) addresses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from evals.records import CaseRecord, RunResult
from evals.report.junit import CaseFailure, case_failures
from evals.report.terminal import HEADLINE, RESOLUTION_COLUMNS, VALUE_COLUMNS, fmt
from evals.scoring import TYPES

# A citation URL becomes a link only when it is this; anything else (javascript:, data:) is
# shown as text, since a link target is the one place autoescaping does not make text harmless.
_HTTP_URL = re.compile(r"^https?://[^\s\"'<>]+$")

CHART_WIDTH = 720
CHART_HEIGHT = 270
_MARGIN = {"left": 44, "right": 12, "top": 40, "bottom": 56}  # top: room for the legend
_BAR_WIDTH = 28
_BAR_GAP = 6
_SERIES = (
    ("precision", "precision", "bar-p"),
    ("recall", "recall", "bar-r"),
    ("f1", "F1", "bar-f"),
)


@dataclass(frozen=True)
class MetricRow:
    group: str
    name: str
    value: str
    status: str  # "" | "harm" (a safety rate or errors above zero) | "fail" | "pass" (gate)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    value: str
    title: str


@dataclass(frozen=True)
class BarGroup:
    type: str
    center: float
    caption: str
    bars: list[Bar]


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: float
    right: float
    base: float
    ticks: list[tuple[float, str]]
    groups: list[BarGroup]
    legend: list[tuple[str, str]]


@dataclass(frozen=True)
class MessageView:
    role: str
    text: str
    at: str


@dataclass
class CaseView:
    record: CaseRecord
    status: str  # "error" | "fail" | "pass"
    failures: list[CaseFailure]
    fields: dict[str, str]
    messages: list[MessageView]
    gold: set[str]  # every article a correct answer may cite
    forbidden: set[str]
    rankings: list[tuple[str, list[str]]] = field(default_factory=list)


def _http_url(url: object) -> bool:
    return isinstance(url, str) and bool(_HTTP_URL.match(url))


def _score(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("evals.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.tests["http_url"] = _http_url
    env.filters["score"] = _score
    return env


def _metric_rows(run: RunResult) -> list[MetricRow]:
    gate: dict[str, bool] = {}
    for check in run.gate.checks if run.gate else []:
        gate[check.metric] = gate.get(check.metric, True) and check.passed
    ordered = [(group, name) for group, names in HEADLINE for name in names]
    shown = {name for _, name in ordered}
    ordered += [(name.split(".", 1)[0], name) for name in sorted(run.metrics) if name not in shown]
    rows = []
    for group, name in ordered:
        if name not in run.metrics and name not in gate:
            continue
        value = run.metrics.get(name)
        status = ""
        if name in gate:
            status = "pass" if gate[name] else "fail"
        if value and (name.startswith("safety.") or name == "errors"):
            status = "harm"
        rows.append(MetricRow(group, name, fmt(name, value), status))
    return rows


def _types(run: RunResult) -> list[str]:
    """The five types in their canonical order, then any other a newer run reports."""
    return [*TYPES, *(t for t in run.per_type if t not in TYPES)]


def _chart(run: RunResult) -> Chart:
    left, top = _MARGIN["left"], _MARGIN["top"]
    right = CHART_WIDTH - _MARGIN["right"]
    base = CHART_HEIGHT - _MARGIN["bottom"]
    plot = base - top
    types = _types(run)
    width = (right - left) / max(len(types), 1)
    cluster = len(_SERIES) * _BAR_WIDTH + (len(_SERIES) - 1) * _BAR_GAP
    groups = []
    for i, t in enumerate(types):
        row = run.per_type.get(t, {})
        start = left + i * width + (width - cluster) / 2
        bars = []
        for j, (key, label, css) in enumerate(_SERIES):
            raw = row.get(key)
            value = None if raw is None else min(max(float(raw), 0.0), 1.0)
            height = 0.0 if value is None else value * plot
            bars.append(
                Bar(
                    x=round(start + j * (_BAR_WIDTH + _BAR_GAP), 1),
                    y=round(base - height, 1),
                    width=_BAR_WIDTH,
                    height=round(height, 1),
                    css=css,
                    value="n/a" if value is None else f"{value:.2f}",
                    title=f"{t} {label}: {_score(value)}",
                )
            )
        caption = f"gold {row.get('gold', 0)} · made {row.get('produced', 0)}"
        groups.append(BarGroup(t, round(left + (i + 0.5) * width, 1), caption, bars))
    ticks = [(round(base - f * plot, 1), f"{f:.2f}") for f in (0.0, 0.25, 0.5, 0.75, 1.0)]
    legend = [(css, label) for _, label, css in _SERIES]
    return Chart(CHART_WIDTH, CHART_HEIGHT, left, right, base, ticks, groups, legend)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _case_view(record: CaseRecord) -> CaseView:
    failures = case_failures(record)
    status = "pass"
    if failures:
        status = "error" if failures[0].kind == "error" else "fail"
    case = record.case
    fields = {
        key: _text(case.get(key))
        for key in ("subject", "description", "account_id", "product", "priority", "channel")
    }
    messages = [
        MessageView(_text(m.get("role", "customer")), _text(m.get("text")), _text(m.get("at")))
        if isinstance(m, dict)
        else MessageView("", _text(m), "")
        for m in case.get("messages") or []
    ]
    exp = record.expected
    gold = {*exp.resolution_articles, *(a for v in exp.value for a in v.articles)}
    rankings = [(name, ids[:10]) for name, ids in record.baselines.rankings.items()]
    rankings.append(("engine", record.resolution_ranking[:10]))
    return CaseView(
        record, status, failures, fields, messages, gold, set(exp.forbidden_articles), rankings
    )


def render_html(run: RunResult) -> str:
    """The run as one standalone HTML page (inline CSS and SVG, no scripts, opens offline)."""
    views = [_case_view(r) for r in run.cases]
    # Failing cases first, each group in suite order: the reader came for the failures.
    views.sort(key=lambda v: v.status == "pass")
    fp = run.fingerprint
    verdict = "not gated"
    if run.gate is not None:
        verdict = "passed" if run.gate.passed else "failed"
    template = _environment().get_template("report.html.j2")
    return template.render(
        run=run,
        created=f"{run.created_at:%Y-%m-%d %H:%M:%S %Z}".strip(),
        mode=fp.mode + (f" / {fp.model}" if fp.model else ""),
        sha=(fp.git_sha or "unknown") + (" (uncommitted changes)" if fp.git_dirty else ""),
        verdict=verdict,
        metrics=_metric_rows(run),
        per_type=[(t, run.per_type[t]) for t in _types(run) if t in run.per_type],
        resolution_columns=RESOLUTION_COLUMNS,
        value_columns=VALUE_COLUMNS,
        resolution_baselines=[
            (n, run.baselines[f"resolution.{n}"])
            for n in ("bm25", "dense", "hybrid", "engine")
            if f"resolution.{n}" in run.baselines
        ],
        value_baselines=[
            (n, run.baselines[f"value.{n}"])
            for n in ("naive", "engine")
            if f"value.{n}" in run.baselines
        ],
        chart=_chart(run),
        cases=views,
        failing=sum(v.status != "pass" for v in views),
        fmt=fmt,
    )
