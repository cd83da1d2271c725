"""The metric math of evaluation runs: ranking, set and rate metrics, percentiles, bootstrap.

Pure functions on plain data, so they can be property-tested. Conventions: a ranking is a list of
article ids, best first (repeats count once, at their first rank); `relevant` is the set of ids any
of which is a correct answer. An empty prediction has precision 1 (it claimed nothing false) and
an empty gold set has recall 1 (nothing was missed).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass


def _dedupe(ranking: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(ranking))


def hit_at(ranking: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """1.0 when a relevant id is in the first k, else 0.0."""
    gold = set(relevant)
    return float(any(r in gold for r in _dedupe(ranking)[:k]))


def recall_at(ranking: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """Share of the relevant ids found in the first k.

    Gold resolution articles are alternatives ("any is correct"), so the resolution metrics use
    hit-style recall (`alternatives=True` semantics, see `resolution_recall_at`); this is the
    classic definition, kept for multi-answer gold sets.
    """
    gold = set(relevant)
    if not gold:
        return 1.0
    return len(gold & set(_dedupe(ranking)[:k])) / len(gold)


def resolution_recall_at(ranking: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """Recall@k when any one relevant article answers the case: whether one is in the first k."""
    gold = set(relevant)
    return 1.0 if not gold else hit_at(ranking, gold, k)


def reciprocal_rank(ranking: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """1 / rank of the first relevant id within the first k, else 0."""
    gold = set(relevant)
    for rank, item in enumerate(_dedupe(ranking)[:k], 1):
        if item in gold:
            return 1.0 / rank
    return 0.0


def ndcg_at(ranking: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """Normalised discounted cumulative gain with binary relevance, in [0, 1]."""
    gold = set(relevant)
    if not gold:
        return 1.0
    ranked = _dedupe(ranking)[:k]
    dcg = sum(1.0 / math.log2(i + 2) for i, item in enumerate(ranked) if item in gold)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(gold), k)))
    return dcg / ideal


@dataclass(frozen=True)
class Counts:
    """True positives, false positives and false negatives of a set prediction."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def precision(self) -> float:
        return 1.0 if self.tp + self.fp == 0 else self.tp / (self.tp + self.fp)

    @property
    def recall(self) -> float:
        return 1.0 if self.tp + self.fn == 0 else self.tp / (self.tp + self.fn)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def set_counts(predicted: Iterable[object], gold: Iterable[object]) -> Counts:
    """Counts of a predicted set against a gold set."""
    p, g = set(predicted), set(gold)
    return Counts(len(p & g), len(p - g), len(g - p))


def pair_counts(
    predicted: Iterable[tuple[str, str]], gold: Sequence[tuple[str, frozenset[str]]]
) -> Counts:
    """Counts of (type, article) predictions against gold opportunities, each a type and the
    articles any of which is correct. A prediction matches at most one unmatched opportunity."""
    open_gold = list(gold)
    tp = fp = 0
    for kind, article in dict.fromkeys(predicted):
        match = next((g for g in open_gold if g[0] == kind and article in g[1]), None)
        if match is None:
            fp += 1
        else:
            tp += 1
            open_gold.remove(match)
    return Counts(tp, fp, len(open_gold))


def total(counts: Iterable[Counts]) -> Counts:
    """Micro-average: the sum of per-case counts."""
    out = Counts()
    for c in counts:
        out = out + c
    return out


def mean(values: Iterable[float]) -> float | None:
    """Arithmetic mean, or None for no values."""
    items = list(values)
    return sum(items) / len(items) if items else None


def rate(flags: Iterable[bool]) -> float | None:
    """Share of true flags, or None for no flags."""
    items = list(flags)
    return sum(items) / len(items) if items else None


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation between closest ranks."""
    items = sorted(values)
    if not items:
        return None
    if len(items) == 1:
        return items[0]
    pos = (len(items) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(items) - 1)
    return items[lo] + (items[hi] - items[lo]) * (pos - lo)


def brier(probabilities: Sequence[float], outcomes: Sequence[bool]) -> float | None:
    """Mean squared difference between predicted probabilities and what happened (0 best)."""
    if not probabilities:
        return None
    return sum((p - float(o)) ** 2 for p, o in zip(probabilities, outcomes, strict=True)) / len(
        probabilities
    )


def expected_calibration_error(
    probabilities: Sequence[float], outcomes: Sequence[bool], bins: int = 10
) -> float | None:
    """Expected calibration error: in equal-width probability bins, the gap between the mean
    prediction and the observed rate, weighted by how many predictions fall in the bin."""
    if not probabilities:
        return None
    groups: dict[int, list[tuple[float, bool]]] = {}
    for p, o in zip(probabilities, outcomes, strict=True):
        groups.setdefault(min(int(p * bins), bins - 1), []).append((p, o))
    total = len(probabilities)
    return sum(
        len(g) / total * abs(sum(p for p, _ in g) / len(g) - sum(o for _, o in g) / len(g))
        for g in groups.values()
    )


@dataclass(frozen=True)
class Interval:
    """A point estimate with its bootstrap confidence interval."""

    estimate: float
    low: float
    high: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def paired_bootstrap(
    keys: Sequence[str],
    metrics_a: Callable[[Sequence[str]], dict[str, float | None]],
    metrics_b: Callable[[Sequence[str]], dict[str, float | None]],
    *,
    samples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Interval]:
    """Paired bootstrap of every metric's difference A - B over the common cases `keys`.

    Each sample draws len(keys) cases with replacement and recomputes both runs' metrics on the
    same draw, so variation common to both runs cancels. Metrics undefined in either run at the
    full set of keys are left out; a sample where one is undefined does not count for it.
    """
    if not keys:
        return {}
    point_a, point_b = metrics_a(keys), metrics_b(keys)
    names = [n for n in point_a if point_a[n] is not None and point_b.get(n) is not None]
    deltas: dict[str, list[float]] = {n: [] for n in names}
    rng = random.Random(seed)
    for _ in range(samples):
        draw = [keys[rng.randrange(len(keys))] for _ in keys]
        a, b = metrics_a(draw), metrics_b(draw)
        for n in names:
            va, vb = a.get(n), b.get(n)
            if va is not None and vb is not None:
                deltas[n].append(va - vb)
    tail = (1 - confidence) / 2 * 100
    out: dict[str, Interval] = {}
    for n in names:
        low, high = percentile(deltas[n], tail), percentile(deltas[n], 100 - tail)
        va, vb = point_a[n], point_b[n]
        assert va is not None and vb is not None
        if low is not None and high is not None:
            out[n] = Interval(va - vb, low, high)
    return out


def bootstrap(
    keys: Sequence[str],
    metrics: Callable[[Sequence[str]], dict[str, float | None]],
    *,
    samples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Interval]:
    """Bootstrap interval of every metric of one run over its cases `keys`: how much each
    figure would move if the suite had been another draw of cases like these."""
    if not keys:
        return {}
    point = metrics(keys)
    names = [n for n, v in point.items() if v is not None]
    draws: dict[str, list[float]] = {n: [] for n in names}
    rng = random.Random(seed)
    for _ in range(samples):
        values = metrics([keys[rng.randrange(len(keys))] for _ in keys])
        for n in names:
            v = values.get(n)
            if v is not None:
                draws[n].append(v)
    tail = (1 - confidence) / 2 * 100
    out: dict[str, Interval] = {}
    for n in names:
        low, high, estimate = percentile(draws[n], tail), percentile(draws[n], 100 - tail), point[n]
        if low is not None and high is not None and estimate is not None:
            out[n] = Interval(estimate, low, high)
    return out
