"""Calibrating the resolution's confidence on labelled cases.

The engine's confidence is a logistic of two features of its best answer: the similarity to the
case and the margin over the runner-up (EngineConfig.confidence_weights). Fitting those weights
by logistic regression on cases whose correct article is known (was the top article a gold
one?) makes "0.8" mean right about four times in five. Fit on one split, report on another.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from copilot.errors import ConfigError
from evals import metrics as m
from evals.records import CaseRecord


@dataclass(frozen=True)
class Sample:
    """One grounded case with a gold resolution: its features and whether the top was right."""

    similarity: float
    margin: float
    correct: bool


@dataclass(frozen=True)
class Fit:
    weights: tuple[float, float, float]  # bias, similarity, margin
    samples: int
    positives: int


def samples(records: Sequence[CaseRecord]) -> list[Sample]:
    """The calibration samples of scored cases: grounded, with a gold resolution, no error."""
    out = []
    for r in records:
        if r.error or not r.grounded or not r.expected.resolution_articles:
            continue
        if len(r.resolution_features) != 2:
            continue  # a run saved before features were recorded
        out.append(
            Sample(r.resolution_features[0], r.resolution_features[1], bool(r.scores.hit_at_1))
        )
    return out


def fit(data: Sequence[Sample]) -> Fit:
    """Logistic-regression weights for P(top answer right | similarity, margin)."""
    from sklearn.linear_model import LogisticRegression

    if len(data) < 10 or len({s.correct for s in data}) < 2:
        raise ConfigError(
            f"calibration needs at least 10 grounded cases with both right and wrong top answers "
            f"(got {len(data)}, {sum(s.correct for s in data)} right)"
        )
    x = np.array([[s.similarity, s.margin] for s in data])
    y = np.array([s.correct for s in data])
    model = LogisticRegression(C=10.0).fit(x, y)  # light regularisation: few samples
    bias = float(model.intercept_[0])
    w_sim, w_margin = (float(w) for w in model.coef_[0])
    return Fit((round(bias, 3), round(w_sim, 3), round(w_margin, 3)), len(data), int(y.sum()))


def predict(weights: tuple[float, float, float], data: Sequence[Sample]) -> list[float]:
    """The confidence the engine would give each sample with these weights."""
    bias, w_sim, w_margin = weights
    return [
        float(1.0 / (1.0 + np.exp(-(bias + w_sim * s.similarity + w_margin * s.margin))))
        for s in data
    ]


def report(weights: tuple[float, float, float], data: Sequence[Sample]) -> dict[str, float | None]:
    """Brier score, calibration error and accuracy of the top answer for these weights."""
    return figures(predict(weights, data), [s.correct for s in data])


def figures(probabilities: Sequence[float], outcomes: Sequence[bool]) -> dict[str, float | None]:
    """How well these confidences predict these outcomes: count, accuracy, mean confidence,
    Brier score and expected calibration error."""
    return {
        "samples": float(len(outcomes)),
        "accuracy": m.rate(outcomes),
        "mean_confidence": m.mean(probabilities),
        "brier": m.brier(probabilities, outcomes),
        "ece": m.expected_calibration_error(probabilities, outcomes),
    }


# ---------------------------------------------------------------------- value suggestions
# A value suggestion's confidence is a logistic of its match score, per type
# (EngineConfig.value_weights). A suggestion is right when a reviewer labelled its type.

ValueWeights = tuple[tuple[str, float, float], ...]


@dataclass(frozen=True)
class ValueSample:
    """One produced value suggestion: its type, match score and whether its type is gold."""

    type: str
    score: float
    correct: bool


def value_samples(records: Sequence[CaseRecord]) -> list[ValueSample]:
    """The value suggestions of scored cases that recorded their match score."""
    out = []
    for r in records:
        if r.error:
            continue
        gold = {g.type for g in r.expected.value}
        for v in r.values:
            if v.score is not None:
                out.append(ValueSample(v.type.value, v.score, v.type in gold))
    return out


def fit_values(data: Sequence[ValueSample], current: ValueWeights = ()) -> ValueWeights:
    """Per type, logistic-regression weights for P(right | match score).

    A type with fewer than 10 samples, or only right or only wrong ones, keeps its current
    weights (or none)."""
    from sklearn.linear_model import LogisticRegression

    kept = {name: (bias, w) for name, bias, w in current}
    out = []
    for name in sorted({s.type for s in data} | set(kept)):
        rows = [s for s in data if s.type == name]
        if len(rows) < 10 or len({s.correct for s in rows}) < 2:
            if name in kept:
                out.append((name, *kept[name]))
            continue
        model = LogisticRegression(C=10.0).fit(
            np.array([[s.score] for s in rows]), np.array([s.correct for s in rows])
        )
        out.append((name, round(float(model.intercept_[0]), 3), round(float(model.coef_[0][0]), 3)))
    return tuple(out)


def report_values(weights: ValueWeights, data: Sequence[ValueSample]) -> dict[str, float | None]:
    """Brier score and calibration error of value confidences under these weights."""
    from copilot.domain import SuggestionType
    from copilot.engine.engine import value_confidence

    probabilities = [value_confidence(SuggestionType(s.type), s.score, weights) for s in data]
    return figures(probabilities, [s.correct for s in data])


# ------------------------------------------------------------------------------------ holds
# Whether value talk must wait is a logistic of the case's hold features
# (copilot.engine.analysis.HOLD_FEATURES; EngineConfig.hold_weights). A case is held when a
# reviewer labelled it held.


@dataclass(frozen=True)
class HoldSample:
    """One scored case: its hold features and whether the gold holds it."""

    features: tuple[float, ...]
    held: bool


def hold_samples(records: Sequence[CaseRecord]) -> list[HoldSample]:
    """The hold samples of scored cases that recorded their hold features."""
    from copilot.engine.analysis import HOLD_FEATURES

    return [
        HoldSample(tuple(r.hold_features), r.expected.hold)
        for r in records
        if not r.error and len(r.hold_features) == len(HOLD_FEATURES)
    ]


# A missed hold (value talk to an upset customer) costs twice a needless one; the weights are
# kept at zero or above, since every feature can only make a customer more upset, never less:
# a small suite cannot then teach that exclamation marks calm people down.
HOLD_MISS_COST = 2.0
HOLD_C = 10.0  # inverse L2 strength, chosen leaving each company's dev split out in turn


def fit_hold(data: Sequence[HoldSample]) -> tuple[float, ...]:
    """Weights (bias, one per feature, each >= 0) of a logistic regression for
    P(held | features), a missed hold weighted HOLD_MISS_COST times a needless one."""
    from scipy.optimize import minimize

    held = sum(s.held for s in data)
    if len(data) < 20 or held < 5 or held == len(data):
        raise ConfigError(
            f"fitting the hold model needs at least 20 cases with 5 or more held and some calm "
            f"(got {len(data)}, {held} held)"
        )
    x = np.array([s.features for s in data], dtype=float)
    y = np.array([s.held for s in data], dtype=float)
    weight = np.where(y > 0, HOLD_MISS_COST, 1.0)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        p = 1.0 / (1.0 + np.exp(-(w[0] + x @ w[1:])))
        eps = 1e-12
        ll = -np.sum(weight * (y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)))
        residual = weight * (p - y)
        grad = np.concatenate([[residual.sum()], x.T @ residual + w[1:] / HOLD_C])
        return float(ll + 0.5 / HOLD_C * np.sum(w[1:] ** 2)), grad

    bounds = [(None, None)] + [(0.0, None)] * x.shape[1]
    result = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B", bounds=bounds)
    return tuple(round(float(w), 3) for w in result.x)


def report_hold(weights: Sequence[float], data: Sequence[HoldSample]) -> dict[str, float | None]:
    """How the hold model under these weights does on these cases: accuracy, missed holds
    (of the held cases), false holds (of the calm ones), Brier score and calibration error."""
    from copilot.engine.analysis import hold_probability

    p = [hold_probability(s.features, weights) for s in data]
    held = [s.held for s in data]
    decided = [x >= 0.5 for x in p]
    misses = [not d for d, h in zip(decided, held, strict=True) if h]
    false = [d for d, h in zip(decided, held, strict=True) if not h]
    return {
        "samples": float(len(data)),
        "accuracy": m.rate([d == h for d, h in zip(decided, held, strict=True)]),
        "miss_rate": m.rate(misses),
        "false_hold_rate": m.rate(false),
        "brier": m.brier(p, held),
        "ece": m.expected_calibration_error(p, held),
    }


# -------------------------------------------------------------------------------- expansion
# Whether a capability beyond the plan is worth the success manager's time is a logistic of
# the candidate's features (copilot.engine.entitlement.EXPANSION_FEATURES;
# EngineConfig.expansion_weights), signalled above EngineConfig.expansion_threshold. A
# candidate is right when the case's gold `expansion` lists its feature.


@dataclass(frozen=True)
class ExpansionSample:
    """One case that labels expansion: its candidates (feature, features) and the gold."""

    candidates: tuple[tuple[str, tuple[float, ...]], ...]
    gold: frozenset[str]


def expansion_samples(records: Sequence[CaseRecord]) -> list[ExpansionSample]:
    """The expansion samples of scored cases that label expansion."""
    from copilot.engine.entitlement import EXPANSION_FEATURES

    return [
        ExpansionSample(
            tuple(
                (c.feature, tuple(c.features))
                for c in r.expansion_candidates
                if len(c.features) == len(EXPANSION_FEATURES)
            ),
            frozenset(r.expected.expansion or []),
        )
        for r in records
        if not r.error and r.expected.expansion is not None
    ]


def _expansion_f1(
    data: Sequence[ExpansionSample], weights: Sequence[float], threshold: float
) -> dict[str, float | None]:
    from copilot.engine.entitlement import expansion_probability

    tp = fp = fn = 0
    for s in data:
        chosen = {f for f, x in s.candidates if expansion_probability(x, weights) >= threshold}
        tp, fp, fn = tp + len(chosen & s.gold), fp + len(chosen - s.gold), fn + len(s.gold - chosen)
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
    return {"samples": float(len(data)), "precision": precision, "recall": recall, "f1": f1}


EXPANSION_F1_SLACK = 0.01


def fit_expansion(data: Sequence[ExpansionSample]) -> tuple[tuple[float, ...], float]:
    """Logistic-regression weights (bias, one per feature) for P(a reviewer would signal the
    feature | candidate), classes balanced, and the lowest threshold whose F1 on these cases
    is within EXPANSION_F1_SLACK of the best."""
    from sklearn.linear_model import LogisticRegression

    x = [features for s in data for _, features in s.candidates]
    y = [feature in s.gold for s in data for feature, _ in s.candidates]
    if len(x) < 20 or sum(y) < 5 or all(y):
        raise ConfigError(
            f"fitting the expansion model needs at least 20 candidates with 5 or more right "
            f"and some wrong (got {len(x)}, {sum(y)} right)"
        )
    model = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced").fit(
        np.array(x), np.array(y)
    )
    weights = (
        round(float(model.intercept_[0]), 3),
        *(round(float(w), 3) for w in model.coef_[0]),
    )
    grid = [round(0.3 + 0.05 * i, 2) for i in range(13)]  # 0.30 .. 0.90
    f1 = {t: _expansion_f1(data, weights, t)["f1"] or 0.0 for t in grid}
    # F1 is flat near its best; of the thresholds within EXPANSION_F1_SLACK of it, the lowest:
    # a success manager dismisses a needless signal in seconds, a missed ask is lost revenue.
    best = max(f1.values())
    return weights, min(t for t in grid if f1[t] >= best - EXPANSION_F1_SLACK)


def report_expansion(
    weights: Sequence[float], threshold: float, data: Sequence[ExpansionSample]
) -> dict[str, float | None]:
    """Precision, recall and F1 of the signals the model would raise on these cases."""
    return _expansion_f1(data, weights, threshold)
