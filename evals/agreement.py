"""Agreement between two reviewers who labelled the same cases blind to each other: the
ceiling an engine is measured against (an engine cannot be expected to agree with one reviewer
more than a second careful reviewer does).

Per value type, Cohen's kappa on "this type is warranted" (chance-corrected agreement over the
cases); for (type, article) pairs, the F1 of one reviewer's opportunities against the other's
(a pair matches when the type is the same and the article lists overlap; symmetric); Cohen's
kappa on the hold; and how often the resolution and expansion labels agree.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from copilot.domain import SuggestionType
from copilot.errors import ConfigError
from evals.suite import CASES_FILE, Expected

TYPES = [t.value for t in SuggestionType]


class TypeAgreement(BaseModel):
    type: str
    a: int  # cases where reviewer A labelled it
    b: int
    both: int
    observed: float  # share of cases where they agree (labelled by both or by neither)
    kappa: float | None  # None when undefined (neither reviewer ever labelled it)


class Agreement(BaseModel):
    cases: int
    types: list[TypeAgreement]
    types_kappa_mean: float | None  # over the types where kappa is defined
    types_f1: float  # value types, A against B, micro over cases
    pairs_f1: float  # (type, overlapping articles), A against B, micro over cases
    hold_kappa: float | None
    hold_observed: float
    resolution_same: float  # identical article sets
    resolution_overlap: float  # at least one article in common (both empty counts)
    expansion_same: float | None  # identical feature sets, over cases both labelled
    disagreements: list[dict[str, Any]]


def read_labels(path: Path) -> dict[str, Expected]:
    """Case id -> gold, from a cases.jsonl file or a suite folder."""
    file = path / CASES_FILE if path.is_dir() else path
    out: dict[str, Expected] = {}
    for n, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out[row["id"]] = Expected.model_validate(row["expected"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{file}:{n}: not a labelled case: {exc}") from exc
    return out


def _kappa(a: Sequence[bool], b: Sequence[bool]) -> float | None:
    from sklearn.metrics import cohen_kappa_score

    if len(set(a) | set(b)) < 2:
        return None  # one class only: chance agreement is total, kappa undefined
    value = float(cohen_kappa_score(a, b))
    return None if math.isnan(value) else round(value, 4)


def _f1(tp: int, fp: int, fn: int) -> float:
    return 1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)


def _pair_counts(a: Expected, b: Expected) -> tuple[int, int, int]:
    """B's opportunities matched against A's: same type and at least one article in common."""
    open_a = [(v.type, set(v.articles)) for v in a.value]
    tp = 0
    for v in b.value:
        match = next((g for g in open_a if g[0] == v.type and g[1] & set(v.articles)), None)
        if match is not None:
            tp += 1
            open_a.remove(match)
    return tp, len(b.value) - tp, len(open_a)


def agreement(a: dict[str, Expected], b: dict[str, Expected]) -> Agreement:
    """How two reviewers' labels of the same cases agree (over the ids both labelled)."""
    ids = sorted(set(a) & set(b))
    if not ids:
        raise ConfigError("the two label sets share no case id")
    types = []
    for t in TYPES:
        in_a = [t in {v.type.value for v in a[i].value} for i in ids]
        in_b = [t in {v.type.value for v in b[i].value} for i in ids]
        types.append(
            TypeAgreement(
                type=t,
                a=sum(in_a),
                b=sum(in_b),
                both=sum(x and y for x, y in zip(in_a, in_b, strict=True)),
                observed=round(sum(x == y for x, y in zip(in_a, in_b, strict=True)) / len(ids), 4),
                kappa=_kappa(in_a, in_b),
            )
        )
    defined = [t.kappa for t in types if t.kappa is not None]
    type_counts = [0, 0, 0]
    pair_counts = [0, 0, 0]
    for i in ids:
        ta, tb = a[i].value_types, b[i].value_types
        for k, n in enumerate((len(ta & tb), len(tb - ta), len(ta - tb))):
            type_counts[k] += n
        for k, n in enumerate(_pair_counts(a[i], b[i])):
            pair_counts[k] += n
    hold_a = [a[i].hold for i in ids]
    hold_b = [b[i].hold for i in ids]
    both_exp = [i for i in ids if a[i].expansion is not None and b[i].expansion is not None]
    disagreements = []
    for i in ids:
        diff: dict[str, Any] = {}
        if a[i].value_types != b[i].value_types:
            diff["value"] = {
                "a": sorted(t.value for t in a[i].value_types),
                "b": sorted(t.value for t in b[i].value_types),
            }
        if a[i].hold != b[i].hold:
            diff["hold"] = {"a": a[i].hold, "b": b[i].hold}
        if set(a[i].resolution_articles) != set(b[i].resolution_articles):
            diff["resolution"] = {"a": a[i].resolution_articles, "b": b[i].resolution_articles}
        if i in both_exp and set(a[i].expansion or []) != set(b[i].expansion or []):
            diff["expansion"] = {"a": a[i].expansion, "b": b[i].expansion}
        if diff:
            disagreements.append({"id": i, **diff})
    return Agreement(
        cases=len(ids),
        types=types,
        types_kappa_mean=round(sum(defined) / len(defined), 4) if defined else None,
        types_f1=round(_f1(*type_counts), 4),
        pairs_f1=round(_f1(*pair_counts), 4),
        hold_kappa=_kappa(hold_a, hold_b),
        hold_observed=round(sum(x == y for x, y in zip(hold_a, hold_b, strict=True)) / len(ids), 4),
        resolution_same=round(
            sum(set(a[i].resolution_articles) == set(b[i].resolution_articles) for i in ids)
            / len(ids),
            4,
        ),
        resolution_overlap=round(
            sum(
                bool(set(a[i].resolution_articles) & set(b[i].resolution_articles))
                or not (a[i].resolution_articles or b[i].resolution_articles)
                for i in ids
            )
            / len(ids),
            4,
        ),
        expansion_same=round(
            sum(set(a[i].expansion or []) == set(b[i].expansion or []) for i in both_exp)
            / len(both_exp),
            4,
        )
        if both_exp
        else None,
        disagreements=disagreements,
    )
