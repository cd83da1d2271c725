"""The metric math: bounds, perfect and empty rankings, micro-averaged counts, percentiles and
the paired bootstrap (hypothesis properties where there is math)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evals import metrics as m

ids = st.sampled_from([f"kb-{i}" for i in range(12)])
rankings = st.lists(ids, max_size=12)
golds = st.sets(ids, max_size=4)
ks = st.integers(1, 12)


@given(rankings, golds, ks)
def test_every_ranking_metric_is_between_0_and_1(
    ranking: list[str], gold: set[str], k: int
) -> None:
    for value in (
        m.hit_at(ranking, gold, k),
        m.recall_at(ranking, gold, k),
        m.resolution_recall_at(ranking, gold, k),
        m.reciprocal_rank(ranking, gold, k),
        m.ndcg_at(ranking, gold, k),
    ):
        assert 0.0 <= value <= 1.0 + 1e-12


@given(st.lists(ids, min_size=1, max_size=6, unique=True), st.lists(ids, max_size=6), ks)
def test_a_ranking_that_starts_with_every_gold_item_is_perfect(
    gold: list[str], rest: list[str], k: int
) -> None:
    ranking = [*gold, *rest]
    assert m.hit_at(ranking, gold, k) == 1.0
    assert m.reciprocal_rank(ranking, gold, k) == 1.0
    assert m.resolution_recall_at(ranking, gold, k) == 1.0
    if k >= len(gold):
        assert m.recall_at(ranking, gold, k) == 1.0
        assert m.ndcg_at(ranking, gold, k) == pytest.approx(1.0)


@given(golds.filter(bool), ks)
def test_an_empty_ranking_scores_zero_against_any_gold(gold: set[str], k: int) -> None:
    assert m.hit_at([], gold, k) == 0.0
    assert m.recall_at([], gold, k) == 0.0
    assert m.reciprocal_rank([], gold, k) == 0.0
    assert m.ndcg_at([], gold, k) == 0.0


@given(rankings, golds.filter(bool), ks)
def test_more_depth_never_lowers_recall_or_hits(ranking: list[str], gold: set[str], k: int) -> None:
    assert m.recall_at(ranking, gold, k + 1) >= m.recall_at(ranking, gold, k)
    assert m.hit_at(ranking, gold, k + 1) >= m.hit_at(ranking, gold, k)


def test_rank_positions_give_the_textbook_values() -> None:
    ranking = ["a", "b", "c", "d"]
    assert m.reciprocal_rank(ranking, {"c"}, 10) == pytest.approx(1 / 3)
    assert m.reciprocal_rank(ranking, {"c"}, 2) == 0.0
    assert m.ndcg_at(ranking, {"b"}, 10) == pytest.approx(1 / math.log2(3))
    # two relevant at ranks 1 and 3: DCG = 1 + 1/2, ideal = 1 + 1/log2(3)
    assert m.ndcg_at(ranking, {"a", "c"}, 10) == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    assert m.recall_at(ranking, {"a", "d", "z"}, 3) == pytest.approx(1 / 3)
    assert m.resolution_recall_at(ranking, {"d", "z"}, 3) == 0.0
    assert m.resolution_recall_at(ranking, {"d", "z"}, 4) == 1.0


def test_repeated_ids_count_once_at_their_first_rank() -> None:
    assert m.reciprocal_rank(["a", "a", "a", "b"], {"b"}, 3) == pytest.approx(1 / 2)


counts = st.builds(m.Counts, st.integers(0, 50), st.integers(0, 50), st.integers(0, 50))


@given(counts)
def test_precision_recall_and_f1_are_bounded_and_f1_lies_between_them(c: m.Counts) -> None:
    for value in (c.precision, c.recall, c.f1):
        assert 0.0 <= value <= 1.0
    assert min(c.precision, c.recall) - 1e-12 <= c.f1 <= max(c.precision, c.recall) + 1e-12


def test_empty_predictions_and_empty_gold_are_perfect_but_a_miss_is_not() -> None:
    assert m.set_counts([], []).f1 == 1.0
    assert m.set_counts([], ["x"]) == m.Counts(0, 0, 1)
    assert m.set_counts([], ["x"]).f1 == 0.0
    assert m.set_counts(["x"], []).precision == 0.0


@given(st.sets(st.sampled_from("abcdef")), st.sets(st.sampled_from("abcdef")))
def test_set_counts_partition_the_union(pred: set[str], gold: set[str]) -> None:
    c = m.set_counts(pred, gold)
    assert c.tp + c.fp == len(pred) and c.tp + c.fn == len(gold)
    assert c.tp + c.fp + c.fn == len(pred | gold)


def test_pairs_match_any_listed_article_once_per_gold_opportunity() -> None:
    gold = [("educate", frozenset({"kb-1", "kb-2"})), ("advise", frozenset({"kb-9"}))]
    assert m.pair_counts([("educate", "kb-2")], gold) == m.Counts(1, 0, 1)
    assert m.pair_counts([("educate", "kb-9")], gold) == m.Counts(0, 1, 2)
    assert m.pair_counts([("advise", "kb-9"), ("educate", "kb-1")], gold) == m.Counts(2, 0, 0)


@given(st.lists(counts, max_size=10))
def test_micro_average_is_the_sum_of_counts(items: list[m.Counts]) -> None:
    total = m.total(items)
    assert total.tp == sum(c.tp for c in items)
    assert total.fp == sum(c.fp for c in items) and total.fn == sum(c.fn for c in items)


@given(st.lists(st.floats(0, 1000, allow_nan=False), min_size=1, max_size=50), st.floats(0, 100))
def test_percentiles_lie_within_the_data_and_grow_with_q(values: list[float], q: float) -> None:
    p = m.percentile(values, q)
    assert p is not None and min(values) - 1e-9 <= p <= max(values) + 1e-9
    assert m.percentile(values, 0) == min(values) and m.percentile(values, 100) == max(values)
    higher = m.percentile(values, min(100.0, q + 10))
    assert higher is not None and higher >= p - 1e-9


def test_percentile_interpolates_and_is_none_without_data() -> None:
    assert m.percentile([10, 20, 30, 40], 50) == pytest.approx(25)
    assert m.percentile([], 95) is None
    assert m.mean([]) is None and m.rate([]) is None


def test_the_bootstrap_interval_holds_the_point_delta_and_flags_a_real_difference() -> None:
    keys = [f"c{i}" for i in range(40)]
    better = {k: 1.0 for k in keys}
    worse = {k: (0.0 if i % 2 else 1.0) for i, k in enumerate(keys)}

    def of(values: dict[str, float]):  # type: ignore[no-untyped-def]
        return lambda ks: {"score": sum(values[k] for k in ks) / len(ks)}

    out = m.paired_bootstrap(keys, of(better), of(worse), samples=300)
    iv = out["score"]
    assert iv.estimate == pytest.approx(0.5)
    assert iv.low <= 0.5 <= iv.high and iv.excludes_zero

    same = m.paired_bootstrap(keys, of(worse), of(worse), samples=300)["score"]
    assert same.estimate == 0.0 and not same.excludes_zero
    assert m.paired_bootstrap([], of(better), of(worse)) == {}


probabilities = st.lists(st.tuples(st.floats(0, 1), st.booleans()), min_size=1, max_size=60)


@given(probabilities)
def test_brier_and_calibration_error_are_bounded(pairs: list[tuple[float, bool]]) -> None:
    ps, os_ = [p for p, _ in pairs], [o for _, o in pairs]
    brier, ece = m.brier(ps, os_), m.expected_calibration_error(ps, os_)
    assert brier is not None and 0.0 <= brier <= 1.0
    assert ece is not None and 0.0 <= ece <= 1.0 + 1e-12


def test_a_confident_right_answer_is_perfectly_calibrated_and_a_confident_wrong_one_is_not(
) -> None:
    assert m.brier([1.0, 0.0], [True, False]) == 0.0
    assert m.expected_calibration_error([1.0, 0.0], [True, False]) == 0.0
    assert m.brier([1.0, 1.0], [False, False]) == 1.0
    # 0.7 said ten times, right seven times: calibrated; said for ten wrong answers: off by 0.7
    assert m.expected_calibration_error([0.7] * 10, [True] * 7 + [False] * 3) == pytest.approx(0)
    assert m.expected_calibration_error([0.7] * 10, [False] * 10) == pytest.approx(0.7)
    assert m.brier([], []) is None and m.expected_calibration_error([], []) is None
