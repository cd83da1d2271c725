"""Fitting the resolution's and the value suggestions' confidences: the weights learn which way
each feature points, the fitted probabilities are calibrated on data drawn from a known curve,
and too little data is refused (or, for a value type, leaves its weights as they were)."""

from __future__ import annotations

import math
import random

import pytest

from copilot.domain import SuggestionType
from copilot.engine.analysis import HOLD_FEATURES
from copilot.engine.engine import value_confidence
from copilot.errors import ConfigError
from evals.calibrate import (
    HoldSample,
    Sample,
    ValueSample,
    fit,
    fit_hold,
    fit_values,
    predict,
    report,
    report_hold,
    report_values,
)


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


# ---------------------------------------------------------------------- value suggestions


def drawn_values(n: int, seed: int = 1) -> list[ValueSample]:
    """Suggestions right with probability sigmoid(-2 + 6*score) for achieve_goal and a flat
    0.9 for validate_purchase."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        score = rng.uniform(0.3, 0.9)
        p = 1 / (1 + math.exp(-(-2 + 6 * score)))
        out.append(ValueSample("achieve_goal", score, rng.random() < p))
        out.append(ValueSample("validate_purchase", score, rng.random() < 0.9))
    return out


def test_value_weights_are_fitted_per_type_and_calibrate_held_out_suggestions() -> None:
    fitted = dict((name, (bias, w)) for name, bias, w in fit_values(drawn_values(3000)))
    assert set(fitted) == {"achieve_goal", "validate_purchase"}
    assert fitted["achieve_goal"][1] > 3  # the score matters for achieve_goal
    assert abs(fitted["validate_purchase"][1]) < 1.5  # and hardly for validate_purchase
    weights = fit_values(drawn_values(3000))
    held_out = drawn_values(3000, seed=2)
    good, raw = report_values(weights, held_out), report_values((), held_out)
    assert good["ece"] is not None and good["ece"] < 0.05
    assert raw["ece"] is not None and raw["ece"] > 0.1  # the bare score is no probability


def test_value_confidence_ranks_a_reliable_type_above_a_higher_raw_score() -> None:
    weights = fit_values(drawn_values(2000))
    validate = value_confidence(SuggestionType.validate_purchase, 0.4, weights)
    achieve = value_confidence(SuggestionType.achieve_goal, 0.5, weights)
    assert validate > achieve  # 0.9 of such moves are right, against about 0.73
    # a type without weights keeps its score
    assert value_confidence(SuggestionType.advise_new_use, 0.42, weights) == 0.42


def test_a_type_with_too_few_or_one_sided_suggestions_keeps_its_current_weights() -> None:
    few = [ValueSample("advise_new_use", 0.5, True)] * 5 + [
        ValueSample("advise_new_use", 0.4, False)
    ]
    one_sided = [ValueSample("educate_better_use", 0.6, True)] * 30
    current = (("advise_new_use", 1.0, 0.5),)
    assert fit_values([*few, *one_sided], current) == current


def test_the_hold_model_learns_which_features_hold_and_keeps_every_weight_non_negative() -> None:
    rng = random.Random(7)
    n = len(HOLD_FEATURES)
    data = []
    for _ in range(300):
        phrases = rng.choice([0.0, 0.0, 0.0, 1.0, 2.0, 3.0])
        calming = rng.choice([0.0, 3.0])  # exclamations, here unrelated to the label
        urgent = float(rng.random() < 0.1)
        features = [0.0] * n
        features[HOLD_FEATURES.index("frustration_phrases")] = phrases
        features[HOLD_FEATURES.index("exclamations")] = calming
        features[HOLD_FEATURES.index("urgent_priority")] = urgent
        held = phrases >= 2 or urgent == 1.0
        data.append(HoldSample(tuple(features), held))
    weights = fit_hold(data)
    assert len(weights) == n + 1 and all(w >= 0 for w in weights[1:])
    assert weights[1 + HOLD_FEATURES.index("frustration_phrases")] > 1
    assert weights[1 + HOLD_FEATURES.index("urgent_priority")] > 1
    figures = report_hold(weights, data)
    assert figures["accuracy"] is not None and figures["accuracy"] > 0.9
    assert figures["miss_rate"] is not None and figures["miss_rate"] < 0.1


def test_the_hold_model_refuses_too_few_or_one_sided_cases() -> None:
    calm = HoldSample(tuple(0.0 for _ in HOLD_FEATURES), False)
    with pytest.raises(ConfigError, match="at least 20 cases"):
        fit_hold([calm] * 40)
