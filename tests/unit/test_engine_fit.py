"""Fitted engine values as a file: read, checked, applied, written back."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from copilot.engine.analysis import HOLD_FEATURES
from copilot.engine.engine import EngineConfig
from copilot.engine.fit import FIT_KIND, EngineFit, engine_config, load_fit, save_fit
from copilot.errors import ConfigError


def write(tmp_path: Path, engine: object, **extra: object) -> Path:
    path = tmp_path / "fit.yaml"
    data = {"kind": FIT_KIND, "version": 1, "engine": engine, **extra}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_a_fit_file_replaces_the_shipped_values_it_names(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "confidence_weights": [-1, 2, 3],
            "value_weights": {"validate_purchase": [0.5, 1.5]},
            "goal_similarity": 0.5,
            "release_window_days": 180,
        },
        fitted_on={"suites": ["a", "b"], "excluded": "c"},
    )

    config = engine_config(dt.date(2026, 11, 22), path)

    assert config.confidence_weights == (-1.0, 2.0, 3.0)
    assert config.value_weights == (("validate_purchase", 0.5, 1.5),)
    assert config.goal_similarity == 0.5 and config.release_window_days == 180
    assert isinstance(config.release_window_days, int)
    assert config.habit_similarity == EngineConfig().habit_similarity  # not named: shipped
    assert config.today == dt.date(2026, 11, 22)
    assert load_fit(path).fitted_on["excluded"] == "c"


@pytest.mark.parametrize(
    ("engine", "message"),
    [
        ({"goal_similarty": 0.4}, "[engine.goal_similarty]: not a fitted engine value"),
        ({"today": "2026-01-01"}, "[engine.today]: not a fitted engine value"),
        ({"confidence_weights": [1, 2]}, "give three numbers"),
        ({"goal_similarity": "high"}, "expected a number"),
        ({"value_weights": {"achieve_goal": [1]}}, "achieve_goal: give two numbers"),
        ({"hold_weights": {"bias": -3}}, "give a mapping with exactly these keys"),
        ({"hold_weights": [1, 2]}, "give a mapping with exactly these keys"),
        ({"expansion_weights": {"bias": 1, "rank": 2}}, "give a mapping with exactly these keys"),
    ],
)
def test_a_bad_fit_file_names_the_key_and_the_fix(
    tmp_path: Path, engine: object, message: str
) -> None:
    with pytest.raises(ConfigError, match=r"fit\.yaml") as caught:
        load_fit(write(tmp_path, engine))
    assert message in str(caught.value)


def test_a_file_of_another_kind_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.yaml"
    path.write_text("engine: {}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not an engine fit file"):
        load_fit(path)


def test_a_written_fit_reads_back_the_same(tmp_path: Path) -> None:
    hold = tuple(float(i) for i in range(len(HOLD_FEATURES) + 1))
    fit = EngineFit(
        {
            "confidence_weights": (-3.3, 7.2, 12.6),
            "value_weights": (("achieve_goal", -0.7, 3.6),),
            "hold_weights": hold,
        },
        {"suites": ["brightcart"], "excluded": "fernhill"},
    )
    save_fit(tmp_path / "f.yaml", fit)

    again = load_fit(tmp_path / "f.yaml")

    assert again.values == fit.values
    written = yaml.safe_load((tmp_path / "f.yaml").read_text())["engine"]["hold_weights"]
    assert list(written) == ["bias", *HOLD_FEATURES]  # named, so a person can read it
    assert again.fitted_on["excluded"] == "fernhill" and "written" in again.fitted_on
    assert again.merged(EngineFit({"goal_similarity": 0.4})).values["goal_similarity"] == 0.4


def test_settings_refuse_a_fit_file_that_does_not_exist(tmp_path: Path) -> None:
    from copilot.config import Settings

    with pytest.raises(ValueError, match="COPILOT_ENGINE_FIT"):
        Settings(engine_fit=tmp_path / "missing.yaml")
