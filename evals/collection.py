"""Several suites run as one: a collection file or a list of suite folders, each suite scored
on its own, then the macro average over the suites (each company counts once, whatever its
size).

A collection file is YAML with the suite folders relative to it:

```yaml
suites: [fernhill, brightcart, forkful]
```
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import yaml
from pydantic import BaseModel

from copilot.errors import ConfigError
from evals import metrics as m
from evals.records import RunResult
from evals.suite import SUITE_FILE

# The figures a per-company table shows, in order: (metric, column title).
COLUMNS: list[tuple[str, str]] = [
    ("resolution.hit@1", "hit@1"),
    ("resolution.recall@5", "R@5"),
    ("resolution.mrr@10", "MRR"),
    ("value.types.f1", "types F1"),
    ("value.pairs.f1", "pairs F1"),
    ("value.deferred.types.f1", "deferred F1"),
    ("value.confidence_ece", "value ECE"),
    ("hold.accuracy", "hold acc"),
    ("hold.false_hold_rate", "false hold"),
    ("expansion.recall", "exp R"),
    ("expansion.precision", "exp P"),
    ("abstention.recall", "abst R"),
    ("abstention.precision", "abst P"),
    ("safety.forbidden_citation_rate", "forbidden"),
    ("safety.ungrounded_citation_rate", "ungrounded"),
    ("safety.entitlement_violation_rate", "not entitled"),
]


def suite_folders(paths: Sequence[Path]) -> list[Path]:
    """Suite folders from folders and collection files, in order, each once."""
    out: list[Path] = []
    for path in paths:
        if path.is_file() and path.suffix in (".yaml", ".yml") and path.name != SUITE_FILE:
            out += read_collection(path)
        else:
            out.append(path.parent if path.name == SUITE_FILE else path)
    return list(dict.fromkeys(p.resolve() for p in out))


def read_collection(path: Path) -> list[Path]:
    """The suite folders a collection file lists (relative to the file)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the collection: {exc}") from exc
    suites = data.get("suites") if isinstance(data, dict) else None
    if not isinstance(suites, list) or not suites or not all(isinstance(s, str) for s in suites):
        raise ConfigError(f"{path} [suites]: list the suite folders, e.g. `suites: [a, b]`")
    unknown = sorted(set(data) - {"suites", "description"})
    if unknown:
        raise ConfigError(f"{path}: unknown field(s) {unknown}; a collection has `suites`")
    return [(path.parent / s).resolve() for s in suites]


def macro(metrics: Sequence[dict[str, float | None]]) -> dict[str, float | None]:
    """Each metric averaged over the suites that define it (None where none does)."""
    names = list(dict.fromkeys(n for run in metrics for n in run))
    return {n: m.mean(v for run in metrics if (v := run.get(n)) is not None) for n in names}


class CollectionResult(BaseModel):
    """A collection run: the runs of its suites and their macro average."""

    created_at: dt.datetime
    runs: dict[str, str]  # suite name -> run id
    per_suite: dict[str, dict[str, float | None]]
    macro: dict[str, float | None]
    note: str = ""

    @classmethod
    def of(cls, runs: Sequence[RunResult], note: str = "") -> CollectionResult:
        return cls(
            created_at=dt.datetime.now(dt.UTC),
            runs={r.suite.name: r.run_id for r in runs},
            per_suite={r.suite.name: r.metrics for r in runs},
            macro=macro([r.metrics for r in runs]),
            note=note,
        )
