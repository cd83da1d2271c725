"""Properties and examples for dense + lexical score fusion."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from copilot.retrieval.fusion import (
    DEFAULT_FUSION,
    FusionConfig,
    fuse,
    reciprocal_rank_fusion,
)

IDS = [f"kb-{n:02d}" for n in range(12)]

# Scores on a 1/8 grid keep differences exact in float64, so the properties below
# test the fusion rule rather than last-bit rounding.
grid_scores = st.integers(min_value=-800, max_value=800).map(lambda n: n / 8)
any_scores = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
score_maps = st.dictionaries(st.sampled_from(IDS), grid_scores, max_size=len(IDS))
any_score_maps = st.dictionaries(st.sampled_from(IDS), any_scores, max_size=len(IDS))
configs = st.one_of(
    st.builds(
        FusionConfig,
        method=st.just("minmax"),
        dense_weight=st.floats(min_value=0.0, max_value=1.0),
    ),
    st.builds(
        FusionConfig,
        method=st.just("rrf"),
        dense_weight=st.floats(min_value=0.0, max_value=1.0),
        rrf_k=st.integers(min_value=0, max_value=100),
    ),
)
rankings = st.lists(st.lists(st.sampled_from(IDS), max_size=len(IDS)), max_size=4)


def best_first(scores: dict[str, float]) -> list[str]:
    """Ids by score descending, ties by id."""
    return sorted(scores, key=lambda item: (-scores[item], item))


def rank_of(item: str, fused: list[tuple[str, float]]) -> int:
    """0-based position of an id in a fused result."""
    return [i for i, _ in fused].index(item)


@given(any_score_maps, any_score_maps, configs)
def test_output_is_a_permutation_of_the_union_of_inputs(
    dense: dict[str, float], lexical: dict[str, float], config: FusionConfig
) -> None:
    ids = [item for item, _ in fuse(dense, lexical, config)]
    assert sorted(ids) == sorted(set(dense) | set(lexical))


@given(any_score_maps, any_score_maps, configs)
def test_fused_scores_are_sorted_descending(
    dense: dict[str, float], lexical: dict[str, float], config: FusionConfig
) -> None:
    scores = [score for _, score in fuse(dense, lexical, config)]
    assert scores == sorted(scores, reverse=True)


@given(any_score_maps, any_score_maps, st.floats(min_value=0.0, max_value=1.0))
def test_minmax_fused_scores_stay_within_zero_and_one(
    dense: dict[str, float], lexical: dict[str, float], weight: float
) -> None:
    config = FusionConfig(method="minmax", dense_weight=weight)
    for _, score in fuse(dense, lexical, config):
        assert -1e-12 <= score <= 1.0 + 1e-12


@given(any_score_maps, any_score_maps, configs)
def test_fusion_is_deterministic_and_ignores_insertion_order(
    dense: dict[str, float], lexical: dict[str, float], config: FusionConfig
) -> None:
    reversed_dense = dict(reversed(list(dense.items())))
    reversed_lexical = dict(reversed(list(lexical.items())))
    first = fuse(dense, lexical, config)
    assert fuse(dense, lexical, config) == first
    assert fuse(reversed_dense, reversed_lexical, config) == first


@given(score_maps, score_maps, configs, st.data())
def test_raising_a_score_never_lowers_the_items_fused_rank(
    dense: dict[str, float],
    lexical: dict[str, float],
    config: FusionConfig,
    data: st.DataObject,
) -> None:
    which = data.draw(st.sampled_from(["dense", "lexical"]))
    target = dense if which == "dense" else lexical
    if not target:
        return
    item = data.draw(st.sampled_from(sorted(target)))
    raised = dict(target)
    raised[item] += data.draw(st.integers(min_value=1, max_value=800)) / 8
    before = fuse(dense, lexical, config)
    after = fuse(raised, lexical, config) if which == "dense" else fuse(dense, raised, config)
    assert rank_of(item, after) <= rank_of(item, before)


@given(score_maps, configs)
def test_a_single_list_keeps_its_own_order(scores: dict[str, float], config: FusionConfig) -> None:
    assert [item for item, _ in fuse(scores, {}, config)] == best_first(scores)
    assert [item for item, _ in fuse({}, scores, config)] == best_first(scores)


@given(score_maps, score_maps, st.integers(min_value=-3, max_value=6), st.integers(-50, 50))
def test_minmax_order_ignores_the_scale_and_offset_of_lexical_scores(
    dense: dict[str, float], lexical: dict[str, float], exponent: int, offset: int
) -> None:
    # BM25 scores differ in scale between corpora; the default must not care.
    rescaled = {item: score * 2.0**exponent + offset for item, score in lexical.items()}
    order = [item for item, _ in fuse(dense, lexical)]
    assert [item for item, _ in fuse(dense, rescaled)] == order


@pytest.mark.parametrize("config", [DEFAULT_FUSION, FusionConfig(method="rrf")])
def test_empty_inputs_give_an_empty_result(config: FusionConfig) -> None:
    assert fuse({}, {}, config) == []


SEVENTY = FusionConfig(method="minmax", dense_weight=0.7)


def test_lexical_evidence_can_lift_a_close_dense_runner_up() -> None:
    dense = {"kb-a": 0.90, "kb-b": 0.85, "kb-c": 0.20}
    lexical = {"kb-b": 12.0, "kb-c": 3.0}
    fused = fuse(dense, lexical, SEVENTY)
    assert [item for item, _ in fused] == ["kb-b", "kb-a", "kb-c"]
    # kb-b: 0.7 * (0.65 / 0.70) + 0.3 * 1; kb-a: 0.7 * 1 + 0.3 * floor 0; kb-c at both floors.
    assert fused[0][1] == pytest.approx(0.7 * 0.65 / 0.70 + 0.3)
    assert fused[1][1] == pytest.approx(0.7)
    assert fused[2][1] == pytest.approx(0.0)


def test_weak_lexical_evidence_does_not_overturn_a_clear_dense_winner() -> None:
    dense = {"kb-a": 0.90, "kb-b": 0.50, "kb-c": 0.10}
    lexical = {"kb-b": 12.0, "kb-a": 11.0, "kb-c": 1.0}
    assert next(item for item, _ in fuse(dense, lexical)) == "kb-a"


def test_an_item_only_one_list_found_gets_the_other_lists_floor() -> None:
    fused = dict(fuse({"kb-a": 0.9, "kb-b": 0.5}, {"kb-c": 7.0, "kb-a": 2.0}, SEVENTY))
    assert fused["kb-c"] == pytest.approx(0.3)  # dense floor 0, lexical top 1
    assert fused["kb-b"] == pytest.approx(0.0)  # dense bottom 0, lexical floor 0


def test_a_list_of_equal_scores_still_outranks_items_it_lacks() -> None:
    fused = dict(fuse({"kb-a": 0.5, "kb-b": 0.5}, {"kb-b": 4.0}, SEVENTY))
    assert fused == pytest.approx({"kb-b": 1.0, "kb-a": 0.7})


def test_rrf_sums_weighted_reciprocal_ranks() -> None:
    fused = reciprocal_rank_fusion([["a", "b"], ["b", "c"]], k=60)
    assert [item for item, _ in fused] == ["b", "a", "c"]
    assert dict(fused) == pytest.approx({"a": 1 / 61, "b": 1 / 62 + 1 / 61, "c": 1 / 62})
    weighted = reciprocal_rank_fusion([["a", "b"], ["b", "c"]], k=1, weights=[4.0, 1.0])
    assert weighted == [
        ("a", 2.0),
        ("b", pytest.approx(4 / 3 + 1 / 2)),
        ("c", pytest.approx(1 / 3)),
    ]


def test_rrf_breaks_exact_ties_by_id() -> None:
    fused = reciprocal_rank_fusion([["b", "a"], ["a", "b"]])
    assert [item for item, _ in fused] == ["a", "b"]
    assert fused[0][1] == fused[1][1]


def test_rrf_method_settles_exact_ties_with_the_dense_score() -> None:
    config = FusionConfig(method="rrf", dense_weight=0.5)
    fused = fuse({"kb-b": 0.9, "kb-a": 0.8}, {"kb-a": 5.0, "kb-b": 4.0}, config)
    assert [item for item, _ in fused] == ["kb-b", "kb-a"]


@given(rankings, st.integers(min_value=0, max_value=100))
def test_rrf_covers_every_ranked_id_once_with_positive_scores(
    lists: list[list[str]], k: int
) -> None:
    fused = reciprocal_rank_fusion(lists, k=k)
    assert sorted(item for item, _ in fused) == sorted({item for r in lists for item in r})
    assert all(0.0 < score <= len(lists) / (k + 1) + 1e-12 for _, score in fused)


@given(st.lists(st.sampled_from(IDS), unique=True))
def test_rrf_of_one_ranking_keeps_its_order(ranking: list[str]) -> None:
    assert [item for item, _ in reciprocal_rank_fusion([ranking])] == ranking


def test_rrf_counts_a_repeated_id_once_at_its_best_rank() -> None:
    assert reciprocal_rank_fusion([["a", "a", "b"]], k=0) == [("a", 1.0), ("b", 0.5)]


@pytest.mark.parametrize(
    "kwargs",
    [{"dense_weight": 1.5}, {"dense_weight": -0.1}, {"dense_weight": math.nan}, {"rrf_k": -1}],
)
def test_config_rejects_out_of_range_values(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        FusionConfig(**kwargs)  # type: ignore[arg-type]


def test_config_rejects_an_unknown_method() -> None:
    with pytest.raises(ValueError):
        FusionConfig(method="zscore")  # type: ignore[arg-type]


def test_fuse_rejects_non_finite_scores() -> None:
    with pytest.raises(ValueError):
        fuse({"kb-a": math.nan}, {})
    with pytest.raises(ValueError):
        fuse({}, {"kb-a": math.inf})


def test_rrf_rejects_mismatched_or_negative_weights() -> None:
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([["a"], ["b"]], weights=[1.0])
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([["a"]], weights=[-1.0])
