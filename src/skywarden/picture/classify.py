"""Classifier: drone / bird / aircraft / vehicle (or unknown) from a track's windowed features.

The features (:mod:`.features`: speed, hover, straightness, heading rate, climb, altitude, RCS level and
fluctuation, micro-Doppler spread and rate, and how much of each the track has seen) go through a small
neural network (one tanh layer, softmax out) trained on simulated scenes only
(``python -m skywarden.runtime.training``) and calibrated by a temperature fitted on held-out scenes.
Its weights ship as ``models/classifier.json`` and are part of :class:`ClassifierParams`, so every run's
ledger config holds the model it ran and a re-run uses exactly that. Inference is two matrix products
over the whole track table. A track is labelled only after ``min_age_s`` and with a probability of at
least ``min_probability``; otherwise it is ``unknown`` (which the airspace rules treat as a possible drone).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import softmax

from skywarden.picture.features import FEATURE_NAMES, FeatureWindow, PlotObservation

CLASSES = ("drone", "bird", "aircraft", "vehicle")
UNKNOWN = "unknown"
MODEL_PATH = Path(__file__).with_name("models") / "classifier.json"
MODEL_FORMAT = "skywarden-mlp-1"

Floats = tuple[float, ...]


def load_model(path: Path = MODEL_PATH) -> dict[str, Any]:
    """The model file as a dict, checked for its format, classes and feature names."""
    model: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if model.get("format") != MODEL_FORMAT:
        raise ValueError(f"{path}: format: expected {MODEL_FORMAT!r} (got {model.get('format')!r})")
    for key, want in (("classes", CLASSES), ("features", FEATURE_NAMES)):
        if tuple(model.get(key, ())) != want:
            raise ValueError(f"{path}: {key}: the model was trained for {model.get(key)!r}, this version has {list(want)}")
    return model


@functools.cache
def _shipped(key: str) -> Any:
    """One weight field of the shipped model file, as (nested) tuples of floats."""
    def to_tuple(v: Any) -> Any:
        return tuple(to_tuple(x) for x in v) if isinstance(v, list) else float(v)
    return to_tuple(load_model()[key])


def _weights(key: str) -> Any:
    """The default factory of a weight field: the shipped model's."""
    return lambda: _shipped(key)


@dataclass(frozen=True)
class ClassifierParams:
    """The decision rules and the network's weights (defaults: the shipped model, ``models/classifier.json``)."""

    tau_s: float = 10.0  # time constant of the feature window
    smoothing_s: float = 4.0  # time constant of the mean of the network's probabilities over scans
    min_age_s: float = 4.0  # no label before the track has been seen this long
    min_probability: float = 0.6  # no label below this probability
    mean: Floats = field(default_factory=_weights("mean"))
    scale: Floats = field(default_factory=_weights("scale"))
    hidden_weights: tuple[Floats, ...] = field(default_factory=_weights("hidden_weights"))
    hidden_bias: Floats = field(default_factory=_weights("hidden_bias"))
    output_weights: tuple[Floats, ...] = field(default_factory=_weights("output_weights"))
    output_bias: Floats = field(default_factory=_weights("output_bias"))
    temperature: float = field(default_factory=_weights("temperature"))

    def __post_init__(self) -> None:
        f, h, c = len(FEATURE_NAMES), len(self.hidden_bias), len(CLASSES)
        shapes = {"mean": (len(self.mean),), "scale": (len(self.scale),), "output_bias": (len(self.output_bias),),
                  "hidden_weights": np.shape(self.hidden_weights), "output_weights": np.shape(self.output_weights)}
        want = {"mean": (f,), "scale": (f,), "output_bias": (c,), "hidden_weights": (f, h), "output_weights": (h, c)}
        for name, shape in shapes.items():
            if shape != want[name]:
                raise ValueError(f"ClassifierParams.{name}: expected shape {want[name]} (got {shape})")
        if not (self.temperature > 0 and min(self.scale) > 0):
            raise ValueError("ClassifierParams: temperature and scale must be positive")
        if not (0.0 <= self.min_probability <= 1.0 and self.min_age_s >= 0.0 and self.tau_s > 0.0
                and self.smoothing_s >= 0.0):
            raise ValueError(f"ClassifierParams: need 0 <= min_probability <= 1, min_age_s >= 0, tau_s > 0, "
                             f"smoothing_s >= 0 (got {self.min_probability}, {self.min_age_s}, {self.tau_s}, "
                             f"{self.smoothing_s})")


def class_probabilities(features: NDArray[np.float64], params: ClassifierParams) -> NDArray[np.float64]:
    """(N, C) class probabilities of N feature rows: the network's calibrated softmax."""
    z = (features - np.asarray(params.mean)) / np.asarray(params.scale)
    hidden = np.tanh(z @ np.asarray(params.hidden_weights) + np.asarray(params.hidden_bias))
    logits = hidden @ np.asarray(params.output_weights) + np.asarray(params.output_bias)
    return np.asarray(softmax(logits / params.temperature, axis=1), float)


class Classifier:
    """Keeps each track's feature window and labels every track each scan."""

    def __init__(self, params: ClassifierParams | None = None) -> None:
        self.params = params or ClassifierParams()
        self.window = FeatureWindow(self.params.tau_s)
        self.last_features = np.zeros((0, len(FEATURE_NAMES)))
        self._smooth: dict[str, tuple[float, NDArray[np.float64], float]] = {}  # id -> (t, weighted sum, weight)

    def update(self, t: float, ids: list[str], x: NDArray[np.float64], P: NDArray[np.float64],
               t_init: NDArray[np.float64], obs: PlotObservation) -> tuple[list[str], NDArray[np.float64]]:
        """Fold in one scan; returns (labels (N,), class probabilities (N, C))."""
        p = self.params
        self.last_features = self.window.update(t, ids, x, P, t_init, obs)
        prob = self._smoothed(t, ids, class_probabilities(self.last_features, p) if len(ids)
                              else np.zeros((0, len(CLASSES))))
        best = np.argmax(prob, axis=1)
        sure = (prob[np.arange(len(ids)), best] >= p.min_probability) & (t - np.asarray(t_init) >= p.min_age_s)
        labels = [CLASSES[b] if s else UNKNOWN for b, s in zip(best.tolist(), sure.tolist(), strict=True)]
        return labels, prob

    def _smoothed(self, t: float, ids: list[str], prob: NDArray[np.float64]) -> NDArray[np.float64]:
        """The exponentially weighted mean of each track's probabilities over scans (time constant ``smoothing_s``),
        so that one odd scan neither silences nor raises an alert."""
        tau = self.params.smoothing_s
        n = len(ids)
        last = np.array([self._smooth.get(i, (t, np.zeros(len(CLASSES)), 0.0))[0] for i in ids]).reshape(n)
        sums = np.array([self._smooth[i][1] if i in self._smooth else np.zeros(len(CLASSES)) for i in ids]).reshape(prob.shape)
        weights = np.array([self._smooth[i][2] if i in self._smooth else 0.0 for i in ids]).reshape(n)
        decay = np.exp(-(t - last) / tau) if tau > 0 else np.zeros(n)
        sums = sums * decay[:, None] + prob
        weights = weights * decay + 1.0
        self._smooth = {i: (t, s, w) for i, s, w in zip(ids, sums, weights.tolist(), strict=True)}
        return np.asarray(sums / weights[:, None], float)
