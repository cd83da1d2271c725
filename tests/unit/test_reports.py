"""Run reports: the terminal summary, the standalone HTML file and the JUnit XML."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from typing import Any

from rich.console import Console

from copilot.domain import (
    Citation,
    Hold,
    Resolution,
    ResolutionStep,
    Suggestion,
    SuggestionMeta,
    SuggestionType,
    ValueSuggestion,
)
from evals import scoring
from evals.compare import CaseChange, Comparison, MetricDelta
from evals.records import (
    CaseRecord,
    CaseScores,
    CountsModel,
    Fingerprint,
    GateCheck,
    GateResult,
    ProducedValue,
    RunResult,
    SuiteInfo,
)
from evals.report.html import render_html
from evals.report.junit import render_junit
from evals.report.terminal import print_comparison, print_run
from evals.scoring import TYPES
from evals.suite import Expected, ValueGold
from tests.factories import make_case

SCRIPT = "<script>alert(1)</script>"
AMP_QUOTE = "Export & re-import the statement"
KB_URL = "https://help.example.com/kb-5"
JS_URL = "javascript:alert(2)"
ERROR = "UpstreamUnavailable: index down \x1b[31m(retry)\x1b[0m"


# --------------------------------------------------------------------------- helpers
def cite(article_id: str, quote: str = "Go to Banking.", url: str | None = None) -> Citation:
    return Citation(article_id=article_id, chunk_id=f"{article_id}#0", title=f"Title {article_id}",
                    url=url, quote=quote)


def suggestion(case_id: str, resolution: str, values: list[tuple[SuggestionType, Citation]],
               hold: str | None = None) -> Suggestion:
    return Suggestion(
        suggestion_id=f"s-{case_id}",
        case_id=case_id,
        resolution=Resolution(
            summary=f"Reconnect the feed ({case_id}).",
            steps=[ResolutionStep(text="Select Reconnect.", citations=[cite(resolution)])],
            citations=[cite(resolution)],
            confidence=0.8,
        ),
        value_suggestions=[
            ValueSuggestion(id=f"v{i}", type=t, headline=f"Headline {t.value}",
                            message=f"Message about {t.value}", rationale=f"Because {t.value}",
                            citations=[c], confidence=0.7)
            for i, (t, c) in enumerate(values)
        ],
        hold=Hold(reason=hold) if hold else None,
        meta=SuggestionMeta(mode="extractive"),
    )


def record(
    case_id: str,
    *,
    expected: Expected,
    ranking: list[str] | None = None,
    values: list[tuple[SuggestionType, Citation]] | None = None,
    hold: str | None = None,
    error: str | None = None,
    case: dict[str, Any] | None = None,
    **scores: Any,
) -> CaseRecord:
    values = values or []
    rec = CaseRecord(
        id=case_id,
        case=case or make_case(case_id=case_id),
        expected=expected,
        error=error,
    )
    if error is not None:
        return rec
    ranking = ranking or []
    produced = [(t.value, c.article_id) for t, c in values]
    types, pairs, per_type = scoring.value_counts(produced, expected.value_now)
    rec.resolution_ranking = ranking
    rec.values = [ProducedValue(type=t, article_id=c.article_id, headline=f"Headline {t.value}")
                  for t, c in values]
    rec.hold = hold
    rec.latency_ms = {"total": 1234.0}
    rec.suggestion = suggestion(case_id, ranking[0] if ranking else "kb-1", values, hold)
    rec.baselines.rankings = {"bm25": ["kb-2", "kb-1"], "dense": ["kb-1"], "hybrid": ["kb-1"]}
    rec.scores = CaseScores(
        **scoring.ranking_scores(ranking, expected.resolution_articles),
        hold_correct=(hold is not None) == expected.hold,
        value_types=CountsModel.of(types),
        value_pairs=CountsModel.of(pairs),
        per_type={t: CountsModel.of(c) for t, c in per_type.items()},
        **scores,
    )
    return rec


def gold(resolution: list[str] | None = None, value: dict[SuggestionType, list[str]] | None = None,
         **kw: Any) -> Expected:
    return Expected(
        resolution_articles=resolution or [],
        value=[ValueGold(type=t, articles=a) for t, a in (value or {}).items()],
        **kw,
    )


GOAL = SuggestionType.achieve_goal
NEW_USE = SuggestionType.advise_new_use


def make_records() -> list[CaseRecord]:
    """Suite order: a perfect case, an unsafe one, an errored one, a rightly held one, one
    with a script in its text, and one that should have been held."""
    return [
        record("c-perfect", expected=gold(["kb-1"], {GOAL: ["kb-5"]}), ranking=["kb-1", "kb-2"],
               values=[(GOAL, cite("kb-5", url=KB_URL))]),
        record("c-unsafe", expected=gold(["kb-1"], forbidden_articles=["kb-9"]),
               ranking=["kb-1", "kb-9"], forbidden_citations=["kb-9"]),
        record("c-errored", expected=gold(["kb-1"]), error=ERROR),
        record("c-held", expected=gold(hold=True), hold="customer is frustrated"),
        record("c-script",
               expected=gold(["kb-1"]),
               case=make_case(case_id="c-script", subject=f"Help {SCRIPT}",
                              description="Totals wrong <b>again</b>",
                              messages=[{"role": "customer", "text": f"still broken {SCRIPT}"}]),
               ranking=["kb-3", "kb-4"],
               values=[(NEW_USE, cite("kb-8", AMP_QUOTE, url=JS_URL))]),
        record("c-late-hold", expected=gold(hold=True), ranking=["kb-1"],
               values=[(GOAL, cite("kb-5"))]),
    ]


def make_run(records: list[CaseRecord] | None = None, gate: bool = True) -> RunResult:
    records = make_records() if records is None else records
    per_type: dict[str, dict[str, float | int | None]] = {
        t: {"precision": None, "recall": None, "f1": None, "pair_f1": None, "gold": 0,
            "produced": 0} for t in TYPES
    }
    per_type["achieve_goal"] = {"precision": 1.0, "recall": 0.5, "f1": 0.667, "pair_f1": 0.667,
                                "gold": 2, "produced": 1}
    checks = [
        GateCheck(metric="resolution.hit@1", kind="absolute", bound=0.8, value=0.617,
                  passed=False, message="resolution.hit@1 0.617 < 0.8"),
        GateCheck(metric="safety.forbidden_citation_rate", kind="absolute", bound=0.0,
                  value=0.2, passed=False, message="safety.forbidden_citation_rate 0.2 > 0"),
        GateCheck(metric="value.types.f1", kind="relative", bound=0.5, value=0.6, baseline=0.52,
                  passed=True, message="value.types.f1 0.52 -> 0.6 against the baseline"),
    ]
    return RunResult(
        run_id="smoke-20260101-120000-abc123",
        created_at=dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC),
        duration_s=9.5,
        suite=SuiteInfo(name="smoke", path="/suites/smoke", hash="feedbeef", cases=len(records)),
        fingerprint=Fingerprint(git_sha="0123456789abcdef", suite_hash="feedbeef",
                                knowledge_hash="cafe", mode="extractive", model="tiny-model"),
        metrics={
            "resolution.hit@1": 0.617, "resolution.recall@5": 0.833, "resolution.mrr@10": 0.701,
            "resolution.ndcg@10": 0.744, "value.types.precision": 0.5, "value.types.recall": 0.5,
            "value.types.f1": 0.6, "value.pairs.precision": 0.4, "value.pairs.recall": 0.4,
            "value.pairs.f1": 0.4, "hold.accuracy": 0.8, "safety.forbidden_citation_rate": 0.2,
            "safety.ungrounded_citation_rate": 0.0, "safety.entitlement_violation_rate": 0.0,
            "latency.p50_ms": 1234.0, "latency.p95_ms": 2345.0, "errors": 1.0,
        },
        per_type=per_type,
        baselines={
            "resolution.bm25": {"hit@1": 0.412, "recall@5": 0.5, "mrr@10": 0.45, "ndcg@10": 0.46},
            "resolution.dense": {"hit@1": 0.5, "recall@5": 0.6, "mrr@10": 0.55, "ndcg@10": 0.56},
            "resolution.hybrid": {"hit@1": 0.55, "recall@5": 0.7, "mrr@10": 0.6, "ndcg@10": 0.6},
            "resolution.engine": {"hit@1": 0.617, "recall@5": 0.833, "mrr@10": 0.701,
                                  "ndcg@10": 0.744},
            "value.naive": {"types.f1": 0.321, "pairs.f1": 0.2,
                            "entitlement_violation_rate": 0.25, "suggested_while_held_rate": 1.0},
            "value.engine": {"types.f1": 0.6, "pairs.f1": 0.4,
                             "entitlement_violation_rate": 0.0, "suggested_while_held_rate": 0.5},
        },
        gate=GateResult(passed=False, checks=checks) if gate else None,
        cases=records,
    )


class Elements(HTMLParser):
    """Every start tag with its attributes, the text, and the CSS of a page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.css: list[str] = []
        self._in_style = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        (self.css if self._in_style else self.text).append(data)

    def ids(self, tag: str) -> list[str]:
        return [a["id"] or "" for t, a in self.tags if t == tag and "id" in a]


# --------------------------------------------------------------------------- HTML
def test_html_has_a_details_element_per_case_failing_cases_first_in_suite_order() -> None:
    page = Elements(render_html(make_run()))
    assert page.ids("details") == [
        "case-c-unsafe", "case-c-errored", "case-c-script", "case-c-late-hold",
        "case-c-perfect", "case-c-held",
    ]


def test_html_header_shows_run_suite_mode_sha_and_gate_verdict() -> None:
    text = " ".join(" ".join(Elements(render_html(make_run())).text).split())
    for expected in ("smoke-20260101-120000-abc123", "extractive / tiny-model",
                     "0123456789abcdef", "gate failed", "2026-01-01 12:00:00"):
        assert expected in text
    ungated = " ".join(Elements(render_html(make_run(gate=False))).text)
    assert "not gated" in ungated


def test_html_loads_nothing_and_links_out_only_to_http_citation_urls() -> None:
    html = render_html(make_run())
    page = Elements(html)
    loading = {"script", "link", "iframe", "img", "object", "embed", "audio", "video", "source"}
    assert not [t for t, _ in page.tags if t in loading]
    assert not [a for _, a in page.tags if {"src", "srcset", "action", "poster"} & set(a)]
    hrefs = [a["href"] or "" for t, a in page.tags if "href" in a]
    assert KB_URL in hrefs
    assert all(h.startswith("#") or h == KB_URL for h in hrefs), hrefs
    css = "".join(page.css)
    assert "url(" not in css and "@import" not in css
    # A non-http citation URL is shown, but never becomes a link target.
    assert JS_URL in "".join(page.text)


def test_html_renders_customer_markup_as_text() -> None:
    html = render_html(make_run())
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>again" not in html
    text = "".join(Elements(html).text)
    assert f"Help {SCRIPT}" in text and f"still broken {SCRIPT}" in text
    assert AMP_QUOTE in text and "Export &amp; re-import" in html


def test_html_chart_has_a_labelled_bar_group_per_type_scaled_to_the_value() -> None:
    html = render_html(make_run())
    page = Elements(html)
    groups = [a.get("data-type") for t, a in page.tags
              if t == "g" and a.get("class") == "bar-group"]
    assert groups == TYPES
    heights = {a["class"]: float(a["height"] or 0) for t, a in page.tags
               if t == "rect" and (a.get("class") or "").startswith("bar-")}
    # achieve_goal is the only type with figures: precision 1.0, recall 0.5.
    assert heights["bar-p"] == 2 * heights["bar-r"] > 0
    text = "".join(page.text)
    assert all(t in text for t in TYPES)


def test_html_of_a_compact_run_shows_the_scored_fields() -> None:
    run = make_run().compact()
    assert all(c.suggestion is None for c in run.cases)
    html = render_html(run)
    page = Elements(html)
    assert len(page.ids("details")) == len(run.cases)
    text = "".join(page.text)
    assert "Headline achieve_goal" in text  # ProducedValue.headline
    assert "Message about achieve_goal" not in text  # only in the full suggestion
    assert "kb-3" in text and "kb-4" in text  # c-script's resolution ranking


def test_html_shows_the_full_suggestion_when_kept() -> None:
    text = "".join(Elements(render_html(make_run())).text)
    for expected in ("Message about achieve_goal", "Because achieve_goal", "Title kb-5",
                     "Select Reconnect.", "customer is frustrated"):
        assert expected in text


# --------------------------------------------------------------------------- JUnit
def _suites(run: RunResult) -> dict[str, ET.Element]:
    root = ET.fromstring(render_junit(run))
    assert root.tag == "testsuites"
    return {s.get("name", ""): s for s in root.iter("testsuite")}


def test_junit_has_a_testcase_per_case_and_per_gate_check_with_right_counts() -> None:
    run = make_run()
    root = ET.fromstring(render_junit(run))
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    cases, gate = suites["smoke.cases"], suites["smoke.gate"]
    assert [t.get("name") for t in cases.iter("testcase")] == [c.id for c in run.cases]
    assert {t.get("classname") for t in cases.iter("testcase")} == {"smoke"}
    assert (cases.get("tests"), cases.get("failures"), cases.get("errors")) == ("6", "3", "1")
    assert len(list(gate.iter("testcase"))) == 3
    assert (gate.get("tests"), gate.get("failures"), gate.get("errors")) == ("3", "2", "0")
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("9", "5", "1")


def test_junit_names_why_each_case_failed() -> None:
    cases = _suites(make_run())["smoke.cases"]
    by_name = {t.get("name"): t for t in cases.iter("testcase")}
    assert list(by_name["c-perfect"]) == [] and list(by_name["c-held"]) == []
    error = by_name["c-errored"].find("error")
    assert error is not None and "UpstreamUnavailable" in error.get("message", "")
    unsafe = by_name["c-unsafe"].find("failure")
    assert unsafe is not None and "safety" in unsafe.get("message", "")
    assert "kb-9" in unsafe.get("message", "")
    script = by_name["c-script"].find("failure")
    assert script is not None
    assert "invented advise_new_use" in script.get("message", "")
    assert "resolution" in script.get("message", "")
    assert "expected:" in (script.text or "") and "kb-3, kb-4" in (script.text or "")
    late = by_name["c-late-hold"].find("failure")
    assert late is not None and "hold: not held" in late.get("message", "")


def test_junit_fails_a_value_drawn_from_an_article_the_gold_does_not_list() -> None:
    off = record("c-off", expected=gold(["kb-1"], {GOAL: ["kb-5", "kb-6"]}), ranking=["kb-1"],
                 values=[(GOAL, cite("kb-7"))])
    failure = _suites(make_run([off]))["smoke.cases"].find("testcase/failure")
    assert failure is not None
    assert "wrong source: achieve_goal from kb-7, not kb-5 | kb-6" in failure.get("message", "")


def test_junit_times_add_up_and_control_characters_do_not_break_the_xml() -> None:
    cases = _suites(make_run())["smoke.cases"]
    times = [float(t.get("time", "nan")) for t in cases.iter("testcase")]
    assert times[0] == 1.234 and times[2] == 0.0  # the errored case has no latency
    assert float(cases.get("time", "nan")) == round(sum(times), 3)
    error = cases.find("testcase[@name='c-errored']/error")
    assert error is not None and "\x1b" not in error.get("message", "")


def test_junit_gate_failures_carry_the_check_message() -> None:
    gate = _suites(make_run())["smoke.gate"]
    messages = [f.get("message") for f in gate.iter("failure")]
    assert messages == ["resolution.hit@1 0.617 < 0.8", "safety.forbidden_citation_rate 0.2 > 0"]
    assert "smoke.gate" not in _suites(make_run(gate=False))


# --------------------------------------------------------------------------- terminal
def _printed(fn: Any, value: Any) -> str:
    console = Console(record=True, width=140)
    fn(value, console)
    return console.export_text()


def test_print_run_shows_key_figures_gate_and_failing_cases() -> None:
    text = _printed(print_run, make_run())
    for expected in ("smoke-20260101-120000-abc123", "0.617", "0.833", "2,345 ms", "0.412",
                     "0.321", "gate FAILED", "resolution.hit@1 0.617 < 0.8",
                     "4 of 6 cases failing"):
        assert expected in text
    for failing in ("c-unsafe", "c-errored", "c-script", "c-late-hold"):
        assert failing in text
    assert "c-perfect" not in text and "c-held" not in text
    assert "\x1b" not in text  # the errored case's ANSI codes do not reach the terminal


def test_print_run_caps_the_failing_list_and_prints_ids_as_written() -> None:
    records = [
        record(f"c-{i:02d}", expected=gold(["kb-1"]), ranking=["kb-7"]) for i in range(20)
    ]
    records[0].id = "[bold]c-markup"
    text = _printed(print_run, make_run(records, gate=False))
    assert "[bold]c-markup" in text
    assert "c-14" in text and "c-15" not in text
    assert "5 more failing cases" in text


def test_print_comparison_shows_deltas_intervals_and_case_fates() -> None:
    cmp = Comparison(
        a="run-a", b="run-b", common_cases=3,
        metrics=[
            MetricDelta(metric="resolution.hit@1", a=0.7, b=0.6, delta=0.1, low=0.02, high=0.18,
                        significant=True, better=True),
            MetricDelta(metric="latency.p95_ms", a=900.0, b=700.0, delta=200.0, low=-50.0,
                        high=400.0, significant=False, better=False),
        ],
        cases=[
            CaseChange(case_id="c-1", fate="improved", a=1.0, b=0.5, detail="now held"),
            CaseChange(case_id="c-2", fate="degraded", a=0.0, b=1.0,
                       detail="resolution ['kb-1'] -> ['kb-3']"),
            CaseChange(case_id="c-3", fate="unchanged", a=1.0, b=1.0),
        ],
        warnings=["the knowledge base differs between the runs"],
    )
    text = _printed(print_comparison, cmp)
    for expected in ("+0.100", "[+0.020, +0.180]", "better (significant)", "+200 ms",
                     "worse", "improved 1 · degraded 1 · unchanged 1",
                     "resolution ['kb-1'] -> ['kb-3']", "now held", "1.000 → 0.000",
                     "the knowledge base differs"):
        assert expected in text
    assert "c-3" not in text
