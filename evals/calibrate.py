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
    probabilities = predict(weights, data)
    outcomes = [s.correct for s in data]
    return {
        "samples": float(len(data)),
        "accuracy": m.rate(outcomes),
        "mean_confidence": m.mean(probabilities),
        "brier": m.brier(probabilities, outcomes),
        "ece": m.expected_calibration_error(probabilities, outcomes),
    }
