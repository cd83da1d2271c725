"""Fitting the resolution confidence: the weights learn which way similarity and margin point,
the fitted probabilities are calibrated on data drawn from a known curve, and too little data is
refused."""

from __future__ import annotations

import math
import random

import pytest

from copilot.errors import ConfigError
from evals.calibrate import Sample, fit, predict, report


def drawn(n: int, seed: int = 1) -> list[Sample]:
    """Cases whose top answer is right with probability sigmoid(-3 + 6*sim + 8*margin)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        sim, margin = rng.uniform(0.2, 0.9), rng.uniform(0.0, 0.3)
        p = 1 / (1 + math.exp(-(-3 + 6 * sim + 8 * margin)))
        out.append(Sample(sim, margin, rng.random() < p))
    return out


def test_fitted_weights_point_the_right_way_and_calibrate_held_out_cases() -> None:
    fitted = fit(drawn(3000))
    bias, w_sim, w_margin = fitted.weights
    assert w_sim > 0 and w_margin > 0 and bias < 0
    held_out = drawn(3000, seed=2)
    good = report(fitted.weights, held_out)
    bad = report((0.0, 0.0, 0.0), held_out)  # always 0.5
    assert good["ece"] is not None and good["ece"] < 0.05
    assert bad["brier"] is not None and good["brier"] is not None
    assert good["brier"] < bad["brier"]


def test_more_similar_and_more_separated_answers_get_more_confidence() -> None:
    weights = fit(drawn(2000)).weights
    low, high, wide = predict(
        weights, [Sample(0.3, 0.0, True), Sample(0.8, 0.0, True), Sample(0.8, 0.25, True)]
    )
    assert low < high < wide


def test_too_few_cases_or_only_right_answers_are_refused() -> None:
    with pytest.raises(ConfigError, match="at least 10"):
        fit(drawn(5))
    with pytest.raises(ConfigError, match="both right and wrong"):
        fit([Sample(0.5, 0.1, True)] * 20)
