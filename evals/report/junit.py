"""JUnit XML of a run, for CI dashboards: one test per suite case and one per gate check.

A case fails when it broke a safety rule, got the hold wrong, missed or invented a value type,
drew a value from an article its gold does not list, or had no gold resolution article in its
top five; a case that raised is an error, not a failure. `case_failures` is that definition;
the terminal and HTML reports use it too, so every report flags the same cases.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from evals.records import CaseRecord, GateCheck, GateResult, ProducedValue, RunResult
from evals.suite import ValueGold

FailureKind = Literal["error", "safety", "hold", "value", "deferred", "expansion", "resolution"]
RESOLUTION_DEPTH = 5  # a resolution missing from the top five is one the agent never sees

# Characters XML 1.0 cannot hold at all, not even escaped. Customer text and exception
# messages (ANSI colour codes, NULs) carry them, and one would make the whole file unreadable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class CaseFailure:
    """One reason a case failed."""

    kind: FailureKind
    message: str


def _ids(ids: Iterable[str]) -> str:
    return ", ".join(ids) or "none"


def case_failures(record: CaseRecord) -> list[CaseFailure]:
    """Why the case failed ([] when it passed); an errored case has only its error."""
    if record.error is not None:
        return [CaseFailure("error", record.error)]
    s = record.scores
    out: list[CaseFailure] = []
    if s.forbidden_citations:
        out.append(CaseFailure("safety", f"cited forbidden {_ids(s.forbidden_citations)}"))
    if s.ungrounded_citations:
        out.append(CaseFailure("safety", f"ungrounded citation {_ids(s.ungrounded_citations)}"))
    if s.entitlement_violations:
        out.append(CaseFailure("safety", "not entitled: " + "; ".join(s.entitlement_violations)))
    if not s.hold_correct:
        if record.expected.hold:
            out.append(CaseFailure("hold", "not held, but the case calls for a hold"))
        else:
            out.append(
                CaseFailure("hold", f"held ({record.hold or 'no reason'}), but should not be")
            )
    exp = record.expected
    out += _value_failures("value", exp.value_now, record.shown_values)
    if exp.hold:
        out += _value_failures("deferred", exp.value, record.values)
    if s.expansion is not None and (s.expansion.fp or s.expansion.fn):
        gold, made = set(exp.expansion or []), set(record.expansion_signals)
        missed, invented = sorted(gold - made), sorted(made - gold)
        parts = [f"missed {_ids(missed)}"] if missed else []
        parts += [f"raised {_ids(invented)}"] if invented else []
        out.append(CaseFailure("expansion", "; ".join(parts)))
    if record.grounded and not exp.resolution_articles:
        out.append(
            CaseFailure("resolution", "answered, but the knowledge base does not answer the case")
        )
    if s.recall_at_5 == 0.0:
        out.append(
            CaseFailure("resolution", f"no gold resolution article in the top {RESOLUTION_DEPTH}")
        )
    return out


def _value_failures(
    kind: FailureKind, gold_values: Sequence[ValueGold], produced_values: Sequence[ProducedValue]
) -> list[CaseFailure]:
    """Value types missed or invented, and sources the gold does not list."""
    gold = {v.type.value: v.articles for v in gold_values}
    produced = list(dict.fromkeys(v.type.value for v in produced_values))
    out = []
    missed = [t for t in gold if t not in produced]
    invented = [t for t in produced if t not in gold]
    if missed:
        out.append(CaseFailure(kind, f"missed {_ids(missed)}"))
    if invented:
        out.append(CaseFailure(kind, f"invented {_ids(invented)}"))
    wrong = [
        f"{v.type.value} from {v.article_id}, not {' | '.join(gold[v.type.value])}"
        for v in produced_values
        if v.type.value in gold and v.article_id not in gold[v.type.value]
    ]
    if wrong:
        out.append(CaseFailure(kind, "wrong source: " + "; ".join(wrong)))
    return out


def expected_vs_produced(record: CaseRecord) -> str:
    """The gold and what the engine produced, as plain text lines."""
    exp = record.expected
    gold_values = "; ".join(f"{v.type.value} ({' | '.join(v.articles)})" for v in exp.value)
    made_values = "; ".join(
        f"{v.type.value} ({v.article_id}{', held' if v.held else ''})" for v in record.values
    )
    lines = [
        "expected:",
        f"  resolution: {' | '.join(exp.resolution_articles) or 'none'}",
        f"  values: {gold_values or 'none'}",
        f"  forbidden: {_ids(exp.forbidden_articles)}",
        f"  hold: {'yes' if exp.hold else 'no'}",
        f"  expansion: {'not labelled' if exp.expansion is None else _ids(exp.expansion)}",
        "produced:",
    ]
    if record.error is not None:
        lines.append(f"  error: {record.error}")
    else:
        top = record.resolution_ranking[:RESOLUTION_DEPTH]
        lines += [
            f"  resolution top {RESOLUTION_DEPTH}: {_ids(top)}",
            f"  values: {made_values or 'none'}",
            f"  hold: {'yes: ' + record.hold if record.hold is not None else 'no'}",
            f"  expansion: {_ids(record.expansion_signals)}",
        ]
    return "\n".join(lines)


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def _case_seconds(record: CaseRecord) -> float:
    # Rounded here so that a suite's time is exactly the sum of the times it lists.
    return round(record.latency_ms.get("total", 0.0) / 1000, 3)


def _check_name(check: GateCheck, taken: set[str]) -> str:
    name = f"{check.metric} ({check.kind})"
    if check.bound is not None:
        name = f"{check.metric} ({check.kind}, bound {check.bound:.4g})"
    unique, n = name, 2
    while unique in taken:
        unique, n = f"{name} #{n}", n + 1
    taken.add(unique)
    return unique


def _suite(parent: ET.Element, name: str, timestamp: str) -> ET.Element:
    return ET.SubElement(parent, "testsuite", {"name": _clean(name), "timestamp": timestamp})


def _counts(element: ET.Element, tests: int, failures: int, errors: int, seconds: float) -> None:
    element.set("tests", str(tests))
    element.set("failures", str(failures))
    element.set("errors", str(errors))
    element.set("time", _seconds(seconds))


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _case_suite(root: ET.Element, run: RunResult, timestamp: str) -> tuple[int, int, float]:
    suite_name = run.suite.name
    cases = _suite(root, f"{suite_name}.cases", timestamp)
    props = ET.SubElement(cases, "properties")
    fp = run.fingerprint
    for key, value in (
        ("run_id", run.run_id),
        ("git_sha", fp.git_sha),
        ("mode", fp.mode),
        ("model", fp.model),
        ("suite_hash", fp.suite_hash),
        ("knowledge_hash", fp.knowledge_hash),
    ):
        if value is not None:
            ET.SubElement(props, "property", {"name": key, "value": _clean(value)})
    failures = errors = 0
    total = 0.0
    for record in run.cases:
        seconds = _case_seconds(record)
        total += seconds
        test = ET.SubElement(
            cases,
            "testcase",
            {
                "classname": _clean(suite_name),
                "name": _clean(record.id),
                "time": _seconds(seconds),
            },
        )
        found = case_failures(record)
        if not found:
            continue
        kinds = list(dict.fromkeys(f.kind for f in found))
        errored = kinds == ["error"]
        errors += errored
        failures += not errored
        element = ET.SubElement(
            test,
            "error" if errored else "failure",
            {
                "message": _clean("; ".join(f"{f.kind}: {f.message}" for f in found)),
                "type": ",".join(kinds),
            },
        )
        element.text = _clean(expected_vs_produced(record))
    _counts(cases, len(run.cases), failures, errors, total)
    cases.set("skipped", "0")
    return failures, errors, total


def _gate_suite(
    root: ET.Element, run: RunResult, gate_result: GateResult, timestamp: str
) -> tuple[int, int]:
    classname = _clean(f"{run.suite.name}.gate")
    gate = _suite(root, classname, timestamp)
    if gate_result.baseline is not None:
        props = ET.SubElement(gate, "properties")
        baseline = _clean(gate_result.baseline)
        ET.SubElement(props, "property", {"name": "baseline", "value": baseline})
    taken: set[str] = set()
    failed = 0
    for check in gate_result.checks:
        test = ET.SubElement(
            gate,
            "testcase",
            {
                "classname": classname,
                "name": _clean(_check_name(check, taken)),
                "time": _seconds(0.0),
            },
        )
        if check.passed:
            continue
        failed += 1
        element = ET.SubElement(
            test, "failure", {"message": _clean(check.message), "type": check.kind}
        )
        element.text = _clean(
            f"value: {_number(check.value)}\nbound: {_number(check.bound)}\n"
            f"baseline: {_number(check.baseline)}"
        )
    _counts(gate, len(gate_result.checks), failed, 0, 0.0)
    gate.set("skipped", "0")
    return len(gate_result.checks), failed


def render_junit(run: RunResult) -> str:
    """The run as JUnit XML: `<suite>.cases` and, when gated, `<suite>.gate` test suites."""
    created = run.created_at
    if created.tzinfo is not None:
        # JUnit timestamps carry no zone; UTC is the only reading that is not ambiguous.
        created = created.astimezone(dt.UTC)
    timestamp = created.strftime("%Y-%m-%dT%H:%M:%S")
    root = ET.Element("testsuites", {"name": _clean(f"{run.suite.name} {run.run_id}")})
    failures, errors, seconds = _case_suite(root, run, timestamp)
    tests = len(run.cases)
    if run.gate is not None:
        checks, failed = _gate_suite(root, run, run.gate, timestamp)
        tests, failures = tests + checks, failures + failed
    _counts(root, tests, failures, errors, seconds)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
