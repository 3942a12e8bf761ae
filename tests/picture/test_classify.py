"""Classifier: the shipped model labels clear cases right, young or unsure tracks stay unknown, and a model
file or parameters that do not fit are refused by name."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from skywarden.picture.classify import (
    CLASSES,
    MODEL_PATH,
    Classifier,
    ClassifierParams,
    class_probabilities,
    load_model,
)
from skywarden.picture.features import FEATURE_NAMES, PlotObservation


def fly(speed: float, alt: float, rcs: float, md: tuple[float, float] | None, seconds: int = 40,
        climb: float = 0.0, turn_rps: float = 0.0, seed: int = 0) -> tuple[str, np.ndarray]:
    """One track flying for ``seconds`` with a plot each second (RCS in dBsm with Swerling-1 spread, micro-Doppler
    spread and rate when given); returns its last label and probabilities."""
    rng = np.random.default_rng(seed)
    c = Classifier()
    labels, prob = [], np.zeros((1, len(CLASSES)))
    for t in range(seconds):
        x = np.zeros((1, 6))
        heading = turn_rps * t
        x[0, 2], x[0, 3:6] = alt, (speed * np.sin(heading), speed * np.cos(heading), climb)
        obs = PlotObservation.none(1)
        obs.hit[0], obs.snr_db[0] = True, 25.0
        obs.rcs_dbsm[0] = rcs + 10 * np.log10(rng.standard_exponential())
        if md is not None:
            obs.md_spread_mps[0], obs.md_rate_hz[0] = md
        labels, prob = c.update(float(t), ["T1"], x, np.eye(6)[None] * 0.5, np.zeros(1), obs)
    return labels[0], prob[0]


def test_the_shipped_model_labels_clear_cases() -> None:
    assert fly(1.0, 80.0, -16.0, (70.0, 280.0))[0] == "drone"  # a hovering quadcopter, rotors measured
    assert fly(12.0, 100.0, -16.0, (70.0, 280.0))[0] == "drone"  # the same, flying
    assert fly(110.0, 2500.0, 12.0, (300.0, np.nan))[0] == "aircraft"
    assert fly(14.0, -20.0, 10.0, (14.0, 7.0))[0] == "vehicle"
    assert fly(11.0, 60.0, -22.0, (9.0, 5.0), turn_rps=0.1)[0] == "bird"  # a wing-beat at 5 Hz, circling


def test_young_tracks_are_unknown() -> None:
    label, _ = fly(12.0, 100.0, -16.0, (70.0, 280.0), seconds=2)
    assert label == "unknown"


def test_below_min_probability_is_unknown() -> None:
    c = Classifier(ClassifierParams(min_probability=1.0))
    x = np.zeros((1, 6))
    labels, prob = c.update(100.0, ["T1"], x, np.eye(6)[None], np.zeros(1), PlotObservation.none(1))
    assert labels == ["unknown"] and prob.shape == (1, len(CLASSES))


def test_probabilities_are_a_distribution() -> None:
    rng = np.random.default_rng(0)
    prob = class_probabilities(rng.normal(0, 3, (100, len(FEATURE_NAMES))), ClassifierParams())
    assert prob.shape == (100, len(CLASSES)) and np.allclose(prob.sum(axis=1), 1.0) and (prob >= 0).all()


def test_empty_table_gives_no_labels() -> None:
    labels, prob = Classifier().update(0.0, [], np.zeros((0, 6)), np.zeros((0, 6, 6)), np.zeros(0),
                                       PlotObservation.none(0))
    assert labels == [] and prob.shape == (0, len(CLASSES))


def test_parameters_of_the_wrong_shape_are_refused_by_name() -> None:
    p = ClassifierParams()
    with pytest.raises(ValueError, match="hidden_weights"):
        ClassifierParams(hidden_weights=p.hidden_weights[:-1])
    with pytest.raises(ValueError, match="output_bias"):
        ClassifierParams(output_bias=tuple((*b, 0.0) for b in p.output_bias))
    with pytest.raises(ValueError, match="output_weights"):
        ClassifierParams(output_weights=(*p.output_weights[:-1], ((0.0, 1.0),)))
    with pytest.raises(ValueError, match="temperature"):
        ClassifierParams(temperature=0.0)
    with pytest.raises(ValueError, match="min_probability"):
        ClassifierParams(min_probability=1.5)


def test_a_model_file_for_other_features_or_classes_is_refused(tmp_path: Path) -> None:
    model = json.loads(MODEL_PATH.read_text())
    for key, value in (("features", [*FEATURE_NAMES[:-1], "something-else"]), ("classes", ["drone", "bird"]),
                       ("format", "pickle")):
        path = tmp_path / f"{key}.json"
        path.write_text(json.dumps({**model, key: value}))
        with pytest.raises(ValueError, match=key):
            load_model(path)


def test_the_shipped_model_says_how_it_was_trained() -> None:
    training = load_model()["training"]
    assert training["script"] == "python -m skywarden.runtime.training"
    assert min(training["samples"]) > 1000 and isinstance(training["seed"], int)


def test_a_truncated_nested_or_missing_model_file_is_refused_by_name(tmp_path: Path) -> None:
    text = MODEL_PATH.read_text()
    for name, content in (("truncated.json", text[: len(text) // 2]), ("nested.json", "[" * 100_000 + "]" * 100_000),
                          ("array.json", "[1, 2]"), ("binary.json", b"\xff\xfe\x00".decode("latin-1"))):
        path = tmp_path / name
        path.write_text(content, encoding="latin-1")
        with pytest.raises(ValueError, match=re.escape(name)):
            load_model(path)
    with pytest.raises(ValueError, match=r"missing\.json"):
        load_model(tmp_path / "missing.json")
