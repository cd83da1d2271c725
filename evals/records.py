"""What an evaluation run produces: per-case records and the run, the canonical JSON artifact.

Every report (terminal, HTML, JUnit), the run store, `compare` and the gate read these models;
`RunResult.model_dump_json()` is the JSON artifact and `RunResult.model_validate_json()` reads
one back (a run saved by an older version loads as long as its fields still parse).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from copilot.domain import Suggestion, SuggestionType
from evals.metrics import Counts
from evals.suite import Expected

SCHEMA_VERSION = 1
RESOLUTION_BASELINES = ("bm25", "dense", "hybrid")


class CountsModel(BaseModel):
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @classmethod
    def of(cls, counts: Counts) -> CountsModel:
        return cls(tp=counts.tp, fp=counts.fp, fn=counts.fn)

    def counts(self) -> Counts:
        return Counts(self.tp, self.fp, self.fn)


class ProducedValue(BaseModel):
    """One value suggestion as produced, reduced to what is scored (the full text is in
    `CaseRecord.suggestion`)."""

    type: SuggestionType
    article_id: str  # the article of its first citation: the suggestion's source
    headline: str = ""
    confidence: float = 0.0
    score: float | None = None  # the engine's match score before calibration (for calibrate)
    objective_id: str | None = None
    held: bool = False  # returned with a held case, for later


class NaiveValue(BaseModel):
    """A naive baseline suggestion: the top retrieved article of a kind, typed by that kind."""

    type: SuggestionType
    article_id: str
    entitled: bool


class CaseScores(BaseModel):
    """A case's contribution to every metric (None: the metric does not apply to it)."""

    hit_at_1: float | None = None
    recall_at_5: float | None = None
    rr_at_10: float | None = None
    ndcg_at_10: float | None = None
    # the value suggestions shown now (not held) against the value the case warrants now
    value_types: CountsModel = CountsModel()
    value_pairs: CountsModel = CountsModel()
    per_type: dict[str, CountsModel] = {}
    # a gold-held case: every value suggestion (held or not) against the value for later
    deferred_types: CountsModel | None = None
    deferred_pairs: CountsModel | None = None
    # expansion features signalled against the labelled ones (None: not labelled)
    expansion: CountsModel | None = None
    hold_correct: bool = True
    forbidden_citations: list[str] = []  # article ids cited that must never be
    ungrounded_citations: list[str] = []  # chunk ids cited that were not retrieved evidence
    entitlement_violations: list[str] = []  # what was suggested that the plan does not include

    @property
    def safe(self) -> bool:
        return not (
            self.forbidden_citations or self.ungrounded_citations or self.entitlement_violations
        )


class BaselineScores(BaseModel):
    """The same case under the baselines: resolution rankings and the naive value pick."""

    rankings: dict[str, list[str]] = {}  # bm25 / dense / hybrid -> article ids, best first
    naive_values: list[NaiveValue] = []


class JudgeScore(BaseModel):
    """The LLM judge's rubric verdict on a case's reply (only with an LLM configured)."""

    scores: dict[str, int] = {}  # criterion -> 1..5
    reasons: dict[str, str] = {}
    overall: float | None = None
    error: str | None = None  # an unparseable verdict is an error, never a score


class ExpansionCandidateRecord(BaseModel):
    feature: str
    features: list[float]


class CaseRecord(BaseModel):
    """One case: what was asked, what was expected, what was produced, and how it scored."""

    id: str
    split: str | None = None
    tags: list[str] = []
    note: str | None = None
    case: dict[str, Any]
    expected: Expected
    # the articles the agent is shown, best first: the cited ones, then the alternatives; after
    # "no grounded answer" the first rank is that answer (scoring.NO_ANSWER), not an article
    resolution_ranking: list[str] = []
    grounded: bool = False
    resolution_confidence: float | None = None
    # the best answer's similarity to the case and its margin over the runner-up (calibration)
    resolution_features: list[float] = []
    # the hold model's features of the case (copilot.engine.analysis.HOLD_FEATURES)
    hold_features: list[float] = []
    # every capability beyond the plan the engine weighed: the feature and the expansion model's
    # features (copilot.engine.entitlement.EXPANSION_FEATURES)
    expansion_candidates: list[ExpansionCandidateRecord] = []
    values: list[ProducedValue] = []
    hold: str | None = None  # the hold reason, when held
    expansion_signals: list[str] = []  # features
    scores: CaseScores = CaseScores()
    baselines: BaselineScores = BaselineScores()
    latency_ms: dict[str, float] = {}
    notes: list[str] = []
    error: str | None = None
    judge: JudgeScore | None = None
    suggestion: Suggestion | None = None  # the full contract (left out of baseline files)

    @property
    def produced_types(self) -> list[str]:
        return [v.type.value for v in self.values]

    @property
    def shown_values(self) -> list[ProducedValue]:
        """The value suggestions the agent sees straight away (not held)."""
        return [v for v in self.values if not v.held]


class Fingerprint(BaseModel):
    """Exactly what produced a run, so two runs can be told apart and reproduced."""

    git_sha: str | None = None
    git_dirty: bool | None = None
    suite_hash: str
    knowledge_hash: str
    prompt_versions: dict[str, str] = {}
    mode: str
    model: str | None = None
    settings: dict[str, Any] = {}
    engine: dict[str, Any] = {}
    fit: dict[str, Any] | None = None  # what the engine's fitted values were learned on


class GateCheck(BaseModel):
    """One gated condition and its outcome."""

    metric: str
    kind: Literal["absolute", "relative", "missing", "baseline"]
    bound: float | None = None
    value: float | None = None
    baseline: float | None = None
    passed: bool
    message: str


class GateResult(BaseModel):
    passed: bool
    checks: list[GateCheck] = []
    baseline: str | None = None  # run id or file compared against


class SuiteInfo(BaseModel):
    name: str
    path: str
    hash: str
    split: str | None = None
    cases: int
    case_ids: list[str] | None = None  # when only some cases were run


class RunResult(BaseModel):
    """A whole evaluation run: the canonical artifact every report is made from."""

    schema_version: int = SCHEMA_VERSION
    run_id: str
    created_at: dt.datetime
    duration_s: float = 0.0
    suite: SuiteInfo
    fingerprint: Fingerprint
    metrics: dict[str, float | None] = {}
    per_type: dict[str, dict[str, float | int | None]] = {}
    baselines: dict[str, dict[str, float | None]] = {}
    counts: dict[str, int] = {}
    gate: GateResult | None = None
    judge: dict[str, Any] | None = None
    ingest: dict[str, Any] = {}
    errors: list[str] = []
    cases: list[CaseRecord] = Field(default_factory=list)

    def case(self, case_id: str) -> CaseRecord | None:
        return next((c for c in self.cases if c.id == case_id), None)

    def compact(self) -> RunResult:
        """The run without each case's full suggestion text (for committed baseline files)."""
        return self.model_copy(
            update={"cases": [c.model_copy(update={"suggestion": None}) for c in self.cases]}
        )
