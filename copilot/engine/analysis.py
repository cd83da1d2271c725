"""Case analysis: what the customer needs, how they feel, what habits and goals they mention.

No vocabulary of any company lives here: the phrases are data (phrases.yaml, which a company
extends), and whether value talk must wait is decided by a hold model fitted across companies
(EngineConfig.hold_weights) from features any case has: phrases, the customer's sentiment
(VADER), shouting, follow-ups and the priority.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from copilot.domain import Case, Priority, Role, SuccessPlan
from copilot.engine.logistic import logistic
from copilot.errors import ConfigError

# Text addressed to a model rather than to support: it is data, never instructions, and it
# must not steer retrieval either, so such sentences are set aside before analysis.
_INJECTION = re.compile(
    r"\b(ignore|disregard|override)\b[^.!?\n]{0,40}\b(instructions?|rules|prompts?|"
    r"guidelines)\b|\byou are now\b|\b(system|developer) prompt\b|\b(admin|developer|god|"
    r"jailbreak) mode\b|\bnew instructions\b|\bact as (?:an? )?(?:ai|assistant|model|"
    r"system)\b|<\s*/?\s*(system|instructions?)\s*>",
    re.IGNORECASE,
)
_PIECES = re.compile(r"(?<=[.!?])\s+|\n+")
_SENTENCE = _PIECES
# A word in capitals, four letters or more, not beside a number or a code (HTTP 429 THROTTLED,
# ERR-E31 are error messages quoted, not shouting).
_SHOUTING = re.compile(r"(?<![\w\-'\"])(?<!\d )[A-Z]{4,}(?![\w\-'\"])(?! \d)")

PHRASES_KIND = "value-copilot/phrases"
PHRASE_LISTS = ("frustration", "outage", "doubt", "goal", "habit")
SHIPPED_PHRASES = Path(__file__).with_name("phrases.yaml")

# The hold model's features, in the order of EngineConfig.hold_weights (after its bias). Each
# is read from the customer's own messages and the case's fields, whatever the company.
HOLD_FEATURES = (
    "frustration_phrases",  # frustration or escalation phrases (phrases.yaml), at most 3
    "outage_phrases",  # outage or data-loss phrases, at most 2
    "negativity",  # minus the most negative sentence's VADER compound score, 0..1
    "mean_negativity",  # minus the VADER compound score of the customer's text as a whole, 0..1
    "shouting",  # words in capitals (four letters or more), at most 3
    "exclamations",  # exclamation marks, at most 3
    "follow_ups",  # customer messages after the first, at most 4
    "high_priority",
    "urgent_priority",
)


@dataclass(frozen=True)
class Phrases:
    """The compiled phrase lists case analysis looks for (phrases.yaml, plus a company's)."""

    frustration: re.Pattern[str]
    outage: re.Pattern[str]
    doubt: re.Pattern[str]
    goal: re.Pattern[str]
    habit: re.Pattern[str]

    @classmethod
    def load(cls, extra: Path | None = None) -> Phrases:
        """The shipped phrases, extended by a company's file of the same shape; ConfigError
        names the file, the list and the fix."""
        lists: dict[str, list[str]] = {name: [] for name in PHRASE_LISTS}
        for path in (SHIPPED_PHRASES, *([extra] if extra is not None else [])):
            for name, fragments in _read_phrases(path).items():
                lists[name].extend(fragments)
        return cls(**{name: _union(fragments) for name, fragments in lists.items()})


def _read_phrases(path: Path) -> dict[str, list[str]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the phrase file: {exc}") from exc
    if not isinstance(data, dict) or data.get("kind") != PHRASES_KIND:
        raise ConfigError(f"{path}: not a phrase file (expected `kind: {PHRASES_KIND}`)")
    out: dict[str, list[str]] = {}
    for name, fragments in data.items():
        if name in ("kind", "version"):
            continue
        if name not in PHRASE_LISTS:
            raise ConfigError(f"{path} [{name}]: unknown list; use one of {list(PHRASE_LISTS)}")
        if not isinstance(fragments, list) or not all(isinstance(f, str) for f in fragments):
            raise ConfigError(f"{path} [{name}]: give a list of phrases (regular expressions)")
        for i, fragment in enumerate(fragments):
            try:
                re.compile(fragment)
            except re.error as exc:
                raise ConfigError(
                    f"{path} [{name}][{i}]: {fragment!r} is not a valid regular expression: {exc}"
                ) from exc
        out[name] = list(fragments)
    return out


def _union(fragments: list[str]) -> re.Pattern[str]:
    if not fragments:
        return re.compile(r"(?!x)x")  # matches nothing
    return re.compile(r"\b(?:" + "|".join(f"(?:{f})" for f in fragments) + r")\b", re.IGNORECASE)


@lru_cache(maxsize=1)
def shipped_phrases() -> Phrases:
    return Phrases.load()


@lru_cache(maxsize=1)
def _sentiment() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def hold_probability(features: Sequence[float], weights: Sequence[float]) -> float:
    """The hold model: a logistic of the features (HOLD_FEATURES) under (bias, *weights)."""
    return logistic(features, weights, "hold_weights", HOLD_FEATURES)


def set_aside_instructions(text: str) -> tuple[str, list[str]]:
    """The text without sentences that try to instruct a model, and those sentences."""
    kept: list[str] = []
    removed: list[str] = []
    for piece in _PIECES.split(text):
        (removed if _INJECTION.search(piece) else kept).append(piece)
    return " ".join(p for p in kept if p.strip()), [r.strip() for r in removed if r.strip()]


@dataclass
class Analysis:
    """What the engine knows about a case before retrieving anything."""

    query: str
    customer_text: str
    sentences: list[str]
    product: str | None
    plan_tier: str | None
    hold_features: tuple[float, ...] = ()
    frustration_signals: list[str] = field(default_factory=list)
    outage_signals: list[str] = field(default_factory=list)
    doubt: bool = False
    goal_sentences: list[str] = field(default_factory=list)
    habit_sentences: list[str] = field(default_factory=list)
    repeated_contacts: int = 0
    set_aside: list[str] = field(default_factory=list)

    def hold_reason(self, weights: Sequence[float], threshold: float = 0.5) -> str | None:
        """Why value suggestions must wait for the resolution (the hold model, under these
        weights, says so), or None."""
        if hold_probability(self.hold_features, weights) < threshold:
            return None
        if self.outage_signals:
            return (
                f"the case is about an outage or data loss ({self.outage_signals[0]!r}): "
                "resolve it before suggesting anything else"
            )
        shown = ", ".join(repr(s) for s in self.frustration_signals[:3]) or "its tone"
        return f"the customer is frustrated or escalating ({shown}): land the resolution first"


def analyse(case: Case, plan: SuccessPlan | None, phrases: Phrases | None = None) -> Analysis:
    """Build the retrieval query and read the case's signals."""
    phrases = phrases or shipped_phrases()
    set_aside: list[str] = []

    def clean(text: str) -> str:
        kept, removed = set_aside_instructions(text)
        set_aside.extend(removed)
        return kept

    subject, description = clean(case.subject), clean(case.description)
    customer = [clean(m.text) for m in case.messages if m.role is Role.customer]
    latest = customer[-3:]
    query = "\n".join(part for part in (subject, description, *latest) if part.strip())
    customer_text = "\n".join(part for part in (subject, description, *customer) if part)
    sentences = [s.strip() for s in _SENTENCE.split(customer_text) if len(s.strip()) > 12]

    product = case.product
    if product is None and plan is not None and len(plan.products) == 1:
        product = plan.products[0].product
    tier = plan.plan_for(product) if plan is not None and product else None

    frustration = [m.group(0) for m in phrases.frustration.finditer(customer_text)]
    outage = [m.group(0) for m in phrases.outage.finditer(customer_text)]
    sentiment = _sentiment()
    pieces = [s for s in (p.strip() for p in _SENTENCE.split(customer_text)) if s]
    compounds = [sentiment.polarity_scores(s)["compound"] for s in pieces] or [0.0]
    negativity = max(0.0, -min(compounds))
    overall = sentiment.polarity_scores(customer_text)["compound"] if pieces else 0.0
    mean_negativity = max(0.0, -overall)
    shouting = len(_SHOUTING.findall(customer_text))
    exclamations = customer_text.count("!")
    follow_ups = max(0, len(customer) - 1)
    signals = list(frustration)
    if negativity >= 0.5:
        signals.append("strongly negative wording")
    if shouting >= 2 or exclamations >= 2:
        signals.append("shouting")
    if len(customer) >= 4:
        signals.append(f"{len(customer)} customer messages")
    if case.priority in (Priority.high, Priority.urgent):
        signals.append(f"{case.priority.value} priority")
    features = (
        float(min(len(frustration), 3)),
        float(min(len(outage), 2)),
        round(negativity, 4),
        round(mean_negativity, 4),
        float(min(shouting, 3)),
        float(min(exclamations, 3)),
        float(min(follow_ups, 4)),
        float(case.priority is Priority.high),
        float(case.priority is Priority.urgent),
    )
    goals = [s for s in sentences if phrases.goal.search(s)]
    habits = [s for s in sentences if phrases.habit.search(s)]
    return Analysis(
        query=query,
        customer_text=customer_text,
        sentences=sentences,
        product=product,
        plan_tier=tier,
        hold_features=features,
        frustration_signals=signals,
        outage_signals=outage,
        doubt=bool(phrases.doubt.search(customer_text)),
        goal_sentences=goals,
        habit_sentences=habits,
        repeated_contacts=max(0, len(customer) - 2),
        set_aside=set_aside,
    )
