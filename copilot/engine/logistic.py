"""The engine's fitted models share one form: a logistic of named features under weights
(a bias, then one weight per feature) that `copilot eval calibrate` fits."""

from __future__ import annotations

import math
from collections.abc import Sequence

from copilot.errors import ConfigError


def logistic(
    features: Sequence[float], weights: Sequence[float], name: str, names: Sequence[str]
) -> float:
    """P = 1 / (1 + e^-(bias + w·x)); ConfigError names the weights and what they must hold."""
    if len(weights) != len(features) + 1:
        raise ConfigError(
            f"{name} has {len(weights)} numbers; give a bias and one weight for each of "
            f"{list(names)}"
        )
    z = weights[0] + sum(w * x for w, x in zip(weights[1:], features, strict=True))
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))
