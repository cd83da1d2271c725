"""Domain models: the data contracts of DESIGN.md, validated. Everything imports them from here."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

SLUG_PATTERN = r"^[a-z0-9]+(?:[_-][a-z0-9]+)*$"
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"

Slug = Annotated[str, StringConstraints(strip_whitespace=True, pattern=SLUG_PATTERN)]
Identifier = Annotated[str, StringConstraints(strip_whitespace=True, pattern=ID_PATTERN)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def _unique(values: list[str]) -> list[str]:
    seen: set[str] = set()
    dupes = [v for v in values if v in seen or seen.add(v)]  # type: ignore[func-returns-value]
    if dupes:
        raise ValueError(f"duplicate values {sorted(set(dupes))}; list each once")
    return values


SlugList = Annotated[list[Slug], AfterValidator(_unique)]
IdList = Annotated[list[Identifier], AfterValidator(_unique)]


class Contract(BaseModel):
    """Base of the user-written contracts: unknown fields are mistakes, not extensions."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, use_enum_values=False)


# --------------------------------------------------------------------------- enums
class ArticleKind(StrEnum):
    troubleshooting = "troubleshooting"
    how_to = "how_to"
    best_practice = "best_practice"
    release_note = "release_note"
    value_proof = "value_proof"
    faq = "faq"
    policy = "policy"


class Audience(StrEnum):
    customer = "customer"
    internal = "internal"


class ArticleStatus(StrEnum):
    draft = "draft"
    published = "published"
    archived = "archived"


class SuggestionType(StrEnum):
    validate_purchase = "validate_purchase"
    anticipate_needs = "anticipate_needs"
    achieve_goal = "achieve_goal"
    educate_better_use = "educate_better_use"
    advise_new_use = "advise_new_use"


class Stage(StrEnum):
    onboarding = "onboarding"
    learning = "learning"
    understanding = "understanding"
    action = "action"
    proficiency = "proficiency"
    adoption = "adoption"


class Segment(StrEnum):
    b2b = "b2b"
    b2c = "b2c"


class ObjectiveStatus(StrEnum):
    not_started = "not_started"
    in_progress = "in_progress"
    achieved = "achieved"
    at_risk = "at_risk"


class MilestoneStatus(StrEnum):
    planned = "planned"
    in_progress = "in_progress"
    done = "done"
    missed = "missed"


class Priority(StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


class Role(StrEnum):
    customer = "customer"
    agent = "agent"
    system = "system"


# --------------------------------------------------------------------------- articles
class ArticleMeta(Contract):
    """Front matter of a knowledge article."""

    id: Identifier
    title: Text
    kind: ArticleKind
    products: Annotated[SlugList, Field(min_length=1)]
    plans: SlugList | None = None  # None: every tier
    features: SlugList = []
    value_types: list[SuggestionType] = []
    audience: Audience = Audience.customer
    status: ArticleStatus = ArticleStatus.published
    locale: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")] = "en"
    released: dt.date | None = None
    updated: dt.date | None = None
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")] | None = None
    related: IdList = []
    workaround: Text | None = None

    @field_validator("plans")
    @classmethod
    def _plans_not_empty(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("an empty plans list matches no tier; omit `plans` to mean every tier")
        return value

    @model_validator(mode="after")
    def _kind_rules(self) -> Self:
        if self.kind is ArticleKind.release_note and self.released is None:
            raise ValueError("release_note articles need `released: YYYY-MM-DD` (when it shipped)")
        if self.id in self.related:
            raise ValueError(f"`related` lists the article itself ({self.id}); remove it")
        return self

    @property
    def served(self) -> bool:
        """Only published articles are ever returned by search or quoted."""
        return self.status is ArticleStatus.published

    def applies_to_plan(self, plan: str) -> bool:
        """True when the article is for this tier (no `plans` means every tier)."""
        return self.plans is None or plan in self.plans


class Article(ArticleMeta):
    """A knowledge article: front matter plus its Markdown body."""

    body: Text
    source: str | None = Field(default=None, description="file the article was loaded from")


class Chunk(BaseModel):
    """A retrievable piece of an article, with the title and section path that frame it."""

    model_config = ConfigDict(frozen=True)

    chunk_id: str
    article_id: str
    ord: int = Field(ge=0)
    text: str
    title: str
    section: list[str] = []
    token_count: int = Field(ge=0)

    @property
    def embed_text(self) -> str:
        """Text that is embedded and indexed: the title and section path give context."""
        heading = " > ".join([self.title, *self.section])
        return f"{heading}\n\n{self.text}"


# --------------------------------------------------------------------------- success plans
class ProductPlan(Contract):
    product: Slug
    plan: Slug
    since: dt.date | None = None
    renewal: dt.date | None = None
    seats: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _dates(self) -> Self:
        if self.since and self.renewal and self.renewal <= self.since:
            raise ValueError(f"renewal {self.renewal} must be after since {self.since}")
        return self


class Objective(Contract):
    id: Identifier
    statement: Text
    kpi: str | None = None
    target: float | str | None = None
    status: ObjectiveStatus = ObjectiveStatus.not_started
    features: SlugList = []


class Milestone(Contract):
    id: Identifier
    name: Text
    status: MilestoneStatus = MilestoneStatus.planned
    due: dt.date | None = None


class SuccessPlan(Contract):
    """One account's success plan: what it owns, may use, uses, and wants to achieve."""

    account_id: Identifier
    name: Text
    segment: Segment
    products: Annotated[list[ProductPlan], Field(min_length=1)]
    entitlements: SlugList = []
    adopted_features: SlugList = []
    stage: Stage
    purchase_intent: str | None = None
    objectives: list[Objective] = []
    milestones: list[Milestone] = []
    health: int | None = Field(default=None, ge=0, le=100)
    csm: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        products = [p.product for p in self.products]
        if len(set(products)) != len(products):
            raise ValueError("each product may appear once in `products`")
        for name, ids in (
            ("objectives", [o.id for o in self.objectives]),
            ("milestones", [m.id for m in self.milestones]),
        ):
            if len(set(ids)) != len(ids):
                raise ValueError(f"{name} ids must be unique within the plan")
        stray = sorted(set(self.adopted_features) - set(self.entitlements))
        if stray:
            raise ValueError(
                f"adopted_features {stray} are not in entitlements; "
                "an account can only adopt features it is entitled to"
            )
        return self

    def plan_for(self, product: str) -> str | None:
        """The tier the account has for a product, or None if it does not own it."""
        return next((p.plan for p in self.products if p.product == product), None)

    def entitled(self, feature: str) -> bool:
        """True when the account may use the feature."""
        return feature in self.entitlements


# --------------------------------------------------------------------------- cases
class Message(Contract):
    role: Role = Role.customer
    text: Text
    at: dt.datetime | None = None


class Case(Contract):
    """A live case as the helpdesk sends it."""

    case_id: Identifier
    account_id: Identifier | None = None
    product: Slug | None = None
    subject: str = ""
    description: str = ""
    messages: list[Message] = []
    channel: str = "email"
    priority: Priority = Priority.normal
    locale: str = "en"
    agent_id: str | None = None

    @model_validator(mode="after")
    def _has_text(self) -> Self:
        if not (self.subject.strip() or self.description.strip() or self.messages):
            raise ValueError("a case needs a subject, a description or at least one message")
        return self


# --------------------------------------------------------------------------- suggestions
class Citation(BaseModel):
    article_id: str
    chunk_id: str
    title: str
    url: str | None = None
    quote: str


class Alternative(BaseModel):
    """Another article the agent may open: retrieved for the case, ranked below the answer."""

    article_id: str
    title: str
    url: str | None = None
    passage: str
    score: float


class Resolution(BaseModel):
    summary: str
    steps: list[ResolutionStep] = []
    citations: list[Citation] = []
    confidence: float = Field(ge=0.0, le=1.0)
    alternatives: list[Alternative] = Field(default_factory=list, max_length=4)

    @property
    def grounded(self) -> bool:
        """False for "no grounded answer": no step and no citation."""
        return bool(self.steps or self.citations)


class ResolutionStep(BaseModel):
    text: str
    citations: list[Citation] = []


class ValueSuggestion(BaseModel):
    id: str
    type: SuggestionType
    headline: str
    message: str
    rationale: str
    citations: list[Citation] = Field(min_length=1)
    confidence: float = Field(ge=0.0, le=1.0)
    objective_id: str | None = None
    # Held with the case (`Suggestion.hold`): computed and returned, for the agent to offer
    # once the resolution lands, or to show anyway.
    held: bool = False


class ExpansionSignal(BaseModel):
    feature: str
    reason: str
    article_id: str | None = None


class Hold(BaseModel):
    reason: str


class SuggestionMeta(BaseModel):
    mode: str
    model: str | None = None
    prompt_id: str | None = None
    prompt_version: str | None = None
    index_version: str | None = None
    latency_ms: dict[str, float] = {}
    notes: list[str] = []


class Suggestion(BaseModel):
    """What the copilot returns for a case."""

    suggestion_id: str
    case_id: str
    resolution: Resolution
    value_suggestions: list[ValueSuggestion] = Field(default_factory=list, max_length=3)
    expansion_signals: list[ExpansionSignal] = []
    hold: Hold | None = None
    meta: SuggestionMeta

    @model_validator(mode="after")
    def _distinct_types(self) -> Self:
        types = [s.type for s in self.value_suggestions]
        if len(set(types)) != len(types):
            raise ValueError("value suggestions must be of distinct types")
        return self


Resolution.model_rebuild()


def model_fields_of(model: type[BaseModel]) -> list[str]:
    """Field names of a contract, for error messages that list what is allowed."""
    return list(model.model_fields)


def dump(model: BaseModel) -> dict[str, Any]:
    """JSON-ready dict of a model."""
    return model.model_dump(mode="json")
