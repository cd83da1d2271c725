"""Evaluation suites: a folder with `suite.yaml` and `cases.jsonl` (DESIGN.md), loaded and checked.

`suite.yaml` names the suite, the knowledge and success-plan folders to ingest (relative to the
suite folder), the date the engine takes as today, and the gate's thresholds. `cases.jsonl`
holds one labelled case a line: the case as the helpdesk sends it and the gold answer.

Loading never stops at the first problem: every malformed line, unknown field, unknown article
and bad type is reported with the file, line and field, and what to fix.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from copilot.domain import (
    Article,
    ArticleKind,
    ArticleStatus,
    Audience,
    Case,
    Identifier,
    Slug,
    SuccessPlan,
    SuggestionType,
)
from copilot.errors import Problem, ValidationError

SUITE_FILE = "suite.yaml"
CASES_FILE = "cases.jsonl"
# The article kinds the labelling guide (evals/README.md §4.3) names as each move's evidence; a
# label from another kind is usually a slip, so the validator warns.
VALUE_KINDS: dict[SuggestionType, set[ArticleKind]] = {
    SuggestionType.validate_purchase: {ArticleKind.value_proof},
    SuggestionType.anticipate_needs: {
        ArticleKind.how_to,
        ArticleKind.best_practice,
        ArticleKind.troubleshooting,
        ArticleKind.faq,
    },
    SuggestionType.achieve_goal: {
        ArticleKind.how_to,
        ArticleKind.best_practice,
        ArticleKind.release_note,
    },
    SuggestionType.educate_better_use: {ArticleKind.best_practice, ArticleKind.how_to},
    SuggestionType.advise_new_use: {ArticleKind.release_note, ArticleKind.how_to},
}


class Direction(StrEnum):
    maximize = "maximize"  # higher is better: the bound is a minimum
    minimize = "minimize"  # lower is better: the bound is a maximum


def metric_direction(name: str) -> Direction:
    """Whether a metric improves upwards (quality) or downwards (rates of harm, latency)."""
    if (
        name == "errors"
        or name.startswith(("safety.", "latency."))
        or name.endswith(("_rate", "_ms", ".errors", "_brier", "_ece"))
    ):
        return Direction.minimize
    return Direction.maximize


class Threshold(BaseModel):
    """A gate on one metric: absolute bounds, and how far it may fall behind the baseline."""

    model_config = ConfigDict(extra="forbid")

    min: float | None = None
    max: float | None = None
    max_regression: float | None = Field(
        default=None, ge=0, description="allowed worsening against the baseline"
    )


class SuiteConfig(BaseModel):
    """`suite.yaml`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Identifier
    description: str = ""
    knowledge: list[str] = Field(min_length=1)
    success_plans: list[str] = []
    today: dt.date | None = Field(
        default=None,
        description="the date the engine takes as today (release windows, renewals); "
        "pin it so a suite gives the same answers next year",
    )
    thresholds: dict[str, Threshold] = {}
    baseline_tolerance: float = Field(
        default=0.02, ge=0, description="default max_regression for every thresholded metric"
    )

    @field_validator("knowledge", "success_plans", mode="before")
    @classmethod
    def _as_list(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("thresholds", mode="before")
    @classmethod
    def _bounds(cls, value: object) -> object:
        """`metric: 0.9` is a minimum for a quality metric and a maximum for a rate or latency."""
        if not isinstance(value, dict):
            return value
        out: dict[str, object] = {}
        for name, bound in value.items():
            if isinstance(bound, int | float) and not isinstance(bound, bool):
                key = "min" if metric_direction(str(name)) is Direction.maximize else "max"
                out[str(name)] = {key: float(bound)}
            else:
                out[str(name)] = bound
        return out


class ValueGold(BaseModel):
    """One gold value opportunity: its type, and the articles any of which is a correct source."""

    model_config = ConfigDict(extra="forbid")

    type: SuggestionType
    articles: list[Identifier] = Field(min_length=1)


class Expected(BaseModel):
    """The gold answer of a case."""

    model_config = ConfigDict(extra="forbid")

    resolution_articles: list[Identifier] = []
    # On a held case: the value that would be right once the resolution lands (scored apart).
    value: list[ValueGold] = Field(default_factory=list, max_length=3)
    forbidden_articles: list[Identifier] = []
    hold: bool = False
    # Features the account's success manager should hear about; None: not labelled, so
    # expansion signals of the case are not scored.
    expansion: list[Slug] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Expected:
        types = [v.type for v in self.value]
        if len(types) != len(set(types)):
            raise ValueError("each value type may appear once; list every correct article in it")
        if self.expansion is not None and len(set(self.expansion)) != len(self.expansion):
            raise ValueError("list each expansion feature once")
        cited = set(self.resolution_articles) | {a for v in self.value for a in v.articles}
        clash = sorted(cited & set(self.forbidden_articles))
        if clash:
            raise ValueError(f"articles {clash} are both expected and forbidden")
        return self

    @property
    def value_types(self) -> set[SuggestionType]:
        return {v.type for v in self.value}

    @property
    def value_now(self) -> list[ValueGold]:
        """The value an agent should offer in this reply: none while the case is held."""
        return [] if self.hold else self.value


Split = Literal["dev", "test"]


class SuiteCase(BaseModel):
    """One line of `cases.jsonl`."""

    model_config = ConfigDict(extra="forbid")

    id: Identifier
    case: Case
    expected: Expected
    split: Split | None = None
    tags: list[str] = []
    note: str | None = None
    line: Annotated[int, Field(exclude=True)] = 0


@dataclass
class Suite:
    """A loaded suite: its folder, settings and cases."""

    path: Path
    config: SuiteConfig
    cases: list[SuiteCase]
    warnings: list[Problem] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def knowledge_paths(self) -> list[Path]:
        return [(self.path / p).resolve() for p in self.config.knowledge]

    @property
    def plan_paths(self) -> list[Path]:
        return [(self.path / p).resolve() for p in self.config.success_plans]

    def select(self, split: str | None = None, ids: list[str] | None = None) -> list[SuiteCase]:
        """The cases of one split (None: all), optionally only the given ids."""
        out = [c for c in self.cases if split is None or c.split == split]
        if ids:
            wanted = set(ids)
            out = [c for c in out if c.id in wanted]
        return out

    @property
    def content_hash(self) -> str:
        """Hash of suite.yaml and cases.jsonl: a run's record of exactly what was asked."""
        return suite_hash(self.path)


def suite_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for name in (SUITE_FILE, CASES_FILE):
        digest.update(name.encode())
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()[:16]


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(line)"


def _pydantic_problems(
    exc: pydantic.ValidationError, source: str, line: int | None, prefix: str = ""
) -> list[Problem]:
    problems = []
    for e in exc.errors():
        where = _where(tuple(e["loc"]))
        fix = None
        if e["type"] == "extra_forbidden":
            fix = "remove it, or check its spelling"
        elif e["type"] == "missing":
            fix = "add it"
        problems.append(
            Problem(
                source,
                e["msg"],
                f"{prefix}{where}" if where != "(line)" else prefix or None,
                line=line,
                fix=fix,
            )
        )
    return problems


def read_config(folder: Path) -> SuiteConfig:
    """`suite.yaml` of a suite folder, validated."""
    source = str(folder / SUITE_FILE)
    if not (folder / SUITE_FILE).is_file():
        raise ValidationError(
            [
                Problem(
                    source,
                    "no suite.yaml here",
                    fix="point at a suite folder (suite.yaml + cases.jsonl)",
                )
            ]
        )
    try:
        data = yaml.safe_load((folder / SUITE_FILE).read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ValidationError(
            [Problem(source, f"not valid YAML: {exc}", line=mark.line + 1 if mark else None)]
        ) from exc
    try:
        return SuiteConfig.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ValidationError(_pydantic_problems(exc, source, None)) from exc


def read_cases(folder: Path) -> tuple[list[SuiteCase], list[Problem]]:
    """Every valid case of `cases.jsonl`, and a problem for each bad line (the rest still load)."""
    path = folder / CASES_FILE
    source = str(path)
    if not path.is_file():
        return [], [Problem(source, "no cases.jsonl here", fix="one JSON case a line")]
    cases: list[SuiteCase] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.append(
                Problem(
                    source,
                    f"not valid JSON: {exc.msg} (column {exc.colno})",
                    line=n,
                    fix="one JSON object per line",
                )
            )
            continue
        if not isinstance(data, dict):
            problems.append(Problem(source, "a line must be a JSON object", line=n))
            continue
        try:
            case = SuiteCase.model_validate({**data, "line": n})
        except pydantic.ValidationError as exc:
            problems += _pydantic_problems(exc, source, n)
            continue
        if case.id in seen:
            problems.append(
                Problem(
                    source,
                    f"case id {case.id!r} repeats line {seen[case.id]}",
                    "id",
                    line=n,
                    fix="give every case a stable, unique id",
                )
            )
            continue
        seen[case.id] = n
        cases.append(case)
    return cases, problems


@dataclass
class KnowledgeView:
    """What a suite's references are checked against: articles and plans by id."""

    articles: dict[str, Article]
    plans: dict[str, SuccessPlan]
    problems: list[Problem] = field(default_factory=list)
    features: set[str] | None = None  # the catalog's feature slugs, when there is a catalog

    @classmethod
    def load(cls, paths: list[Path]) -> KnowledgeView:
        """Load (without embedding) every article and plan under the folders."""
        from copilot.catalog import find_catalog
        from ingest.loaders import load_paths

        loaded = load_paths(paths)
        catalog = find_catalog(paths)
        return cls(
            {a.id: a for a in loaded.articles},
            {p.account_id: p for p, _ in loaded.plans},
            loaded.problems,
            catalog.all_features() if catalog is not None else None,
        )


def check_references(
    cases: list[SuiteCase], knowledge: KnowledgeView, source: str
) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) for article ids, accounts and labels that do not fit the knowledge."""
    errors: list[Problem] = []
    warnings: list[Problem] = []
    articles = knowledge.articles
    for c in cases:
        exp = c.expected
        refs: list[tuple[str, str]] = [
            *(
                (f"expected.resolution_articles[{i}]", a)
                for i, a in enumerate(exp.resolution_articles)
            ),
            *(
                (f"expected.value[{i}].articles[{j}]", a)
                for i, v in enumerate(exp.value)
                for j, a in enumerate(v.articles)
            ),
            *(
                (f"expected.forbidden_articles[{i}]", a)
                for i, a in enumerate(exp.forbidden_articles)
            ),
        ]
        for where, article_id in refs:
            if article_id not in articles:
                errors.append(
                    Problem(
                        source,
                        f"unknown article {article_id!r} (case {c.id})",
                        where,
                        line=c.line,
                        fix="use an id from the suite's knowledge folders",
                    )
                )
        for where, article_id in refs:
            article = articles.get(article_id)
            if article is None or where.startswith("expected.forbidden"):
                continue
            if article.status is not ArticleStatus.published or (
                article.audience is not Audience.customer
            ):
                errors.append(
                    Problem(
                        source,
                        f"{article_id} is {article.status.value}/{article.audience.value}: it can "
                        f"never be cited to a customer (case {c.id})",
                        where,
                        line=c.line,
                        fix="list it under forbidden_articles instead",
                    )
                )
        for i, v in enumerate(exp.value):
            for j, a in enumerate(v.articles):
                article = articles.get(a)
                if article is not None and article.kind not in VALUE_KINDS[v.type]:
                    kinds = ", ".join(sorted(k.value for k in VALUE_KINDS[v.type]))
                    warnings.append(
                        Problem(
                            source,
                            f"{a} is a {article.kind.value}; {v.type.value} evidence is {kinds}",
                            f"expected.value[{i}].articles[{j}]",
                            line=c.line,
                        )
                    )
        for i, feature in enumerate(exp.expansion or []):
            if knowledge.features is not None and feature not in knowledge.features:
                errors.append(
                    Problem(
                        source,
                        f"unknown feature {feature!r} (case {c.id})",
                        f"expected.expansion[{i}]",
                        line=c.line,
                        fix="use a feature slug of the suite's catalog.yaml",
                    )
                )
        account = c.case.account_id
        quiet = {"unknown_account", "no_plan"} & set(c.tags)
        if account and account not in knowledge.plans and not quiet:
            warnings.append(
                Problem(
                    source,
                    f"account {account!r} has no success plan in the suite (case {c.id})",
                    "case.account_id",
                    line=c.line,
                    fix="tag the case unknown_account if that is the point",
                )
            )
    return errors, warnings


def load_suite(folder: Path | str, *, check_knowledge: bool = True) -> Suite:
    """Load and validate a suite folder; raises ValidationError listing every problem."""
    folder = Path(folder).resolve()
    if folder.is_file() and folder.name in (SUITE_FILE, CASES_FILE):
        folder = folder.parent
    config = read_config(folder)
    cases, problems = read_cases(folder)
    suite = Suite(folder, config, cases)
    missing = False
    for p in [*suite.knowledge_paths, *suite.plan_paths]:
        if not p.exists():
            missing = True
            problems.append(
                Problem(
                    str(folder / SUITE_FILE),
                    f"folder {p} does not exist",
                    "knowledge" if p in suite.knowledge_paths else "success_plans",
                    fix="paths are relative to the suite folder",
                )
            )
    if check_knowledge and not missing:
        knowledge = KnowledgeView.load([*suite.knowledge_paths, *suite.plan_paths])
        errors, warnings = check_references(cases, knowledge, str(folder / CASES_FILE))
        problems += errors
        suite.warnings = warnings
    if not cases and not problems:
        problems.append(Problem(str(folder / CASES_FILE), "the suite has no cases"))
    if problems:
        raise ValidationError(problems)
    return suite


def summary(cases: list[SuiteCase]) -> dict[str, Any]:
    """Counts QA looks at when growing a suite (per type, holds, forbidden, splits)."""
    per_type = Counter(v.type.value for c in cases for v in c.expected.value)
    return {
        "cases": len(cases),
        "splits": dict(Counter(c.split or "(none)" for c in cases)),
        "value_positive": {t.value: per_type.get(t.value, 0) for t in SuggestionType},
        "hold": sum(c.expected.hold for c in cases),
        "hold_with_deferred_value": sum(c.expected.hold and bool(c.expected.value) for c in cases),
        "expansion_labelled": sum(c.expected.expansion is not None for c in cases),
        "expansion_expected": sum(bool(c.expected.expansion) for c in cases),
        "with_forbidden": sum(bool(c.expected.forbidden_articles) for c in cases),
        "no_value_opportunity": sum(not c.expected.value for c in cases),
        "no_success_plan": sum(
            c.case.account_id is None or "unknown_account" in c.tags or "no_plan" in c.tags
            for c in cases
        ),
        "multi_message": sum(len(c.case.messages) >= 2 for c in cases),
        "no_resolution_expected": sum(not c.expected.resolution_articles for c in cases),
    }
