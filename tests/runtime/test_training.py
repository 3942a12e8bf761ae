"""Training: temperature calibration recovers a known temperature; a trained model is a valid shipped model."""

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.special import softmax

from skywarden.picture.classify import (
    CLASSES,
    ClassifierParams,
    class_probabilities,
    load_model,
    model_weights,
)
from skywarden.picture.features import FEATURE_NAMES
from skywarden.runtime.training import balanced, fit_temperature, train


def test_fit_temperature_recovers_the_temperature_of_overconfident_logits() -> None:
    rng = np.random.default_rng(3)
    true_logits = rng.normal(0.0, 2.0, (20000, 4))
    y = np.array([rng.choice(4, p=p) for p in softmax(true_logits, axis=1)])
    assert fit_temperature(3.0 * true_logits, y) == pytest.approx(3.0, rel=0.05)


def test_balanced_draws_the_same_number_of_every_class() -> None:
    x, y = np.arange(10.0)[:, None], np.array([0, 0, 0, 0, 0, 0, 0, 1, 1, 3])
    xb, yb = balanced(x, y, np.random.default_rng(0), 50)
    assert np.bincount(yb).tolist() == [50, 50, 0, 50]
    assert set(xb[yb == 3, 0]) == {9.0}


def synthetic(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows whose class shows in a few columns (speed, RCS, micro-Doppler spread)."""
    y = rng.integers(0, len(CLASSES), n)
    x = rng.normal(0.0, 1.0, (n, len(FEATURE_NAMES)))
    col = {name: i for i, name in enumerate(FEATURE_NAMES)}
    x[:, col["log_speed"]] += np.array([2.0, 2.3, 4.7, 2.5])[y]
    x[:, col["rcs_mean_dbsm"]] += np.array([-15.0, -22.0, 10.0, 8.0])[y]
    x[:, col["md_log_spread"]] += np.array([4.0, 1.5, 5.0, 2.5])[y]
    return x, y


def test_a_trained_model_loads_as_the_classifier_and_separates_what_it_was_shown(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    x, y = synthetic(4000, rng)
    x_cal, y_cal = synthetic(2000, rng)
    model = train(x, y, x_cal, y_cal, seed=0, per_class=1000)
    path = tmp_path / "model.json"
    path.write_text(json.dumps(model))
    loaded = load_model(path)
    params = ClassifierParams(**model_weights(loaded))
    x_test, y_test = synthetic(2000, rng)
    prob = class_probabilities(x_test, params)
    assert np.allclose(prob.sum(axis=1), 1.0)
    assert (prob.argmax(axis=1) == y_test).mean() > 0.9
    assert model["training"]["samples"] == np.bincount(y, minlength=4).tolist()


def test_training_refuses_scenes_without_a_class() -> None:
    x, y = synthetic(500, np.random.default_rng(2))
    keep = y != 3
    with pytest.raises(ValueError, match="vehicle"):
        train(x[keep], y[keep], x, y, seed=0, per_class=100)
