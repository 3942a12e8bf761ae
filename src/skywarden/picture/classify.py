"""Classifier: drone / bird / aircraft / vehicle (or unknown) from a track's windowed features.

The features (:mod:`.features`: speed, hover, straightness, heading rate, climb, altitude, RCS level and
fluctuation, micro-Doppler spread and class, and how much of each the track has seen) go through a small
ensemble of neural networks (one tanh layer each, logits averaged, softmax out) trained on simulated scenes only
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

from skywarden.picture.features import FEATURE_NAMES, FeatureWindow, PlotObservation, TrackSums

CLASSES = ("drone", "bird", "aircraft", "vehicle")
UNKNOWN = "unknown"
MODEL_PATH = Path(__file__).with_name("models") / "classifier.json"
MODEL_FORMAT = "skywarden-mlp-1"

Floats = tuple[float, ...]


def load_model(path: Path = MODEL_PATH) -> dict[str, Any]:
    """The model file as a dict, checked for its format, classes and feature names."""
    try:
        model = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"{path}: cannot read the classifier's model: {exc}") from None
    if not isinstance(model, dict):
        raise ValueError(f"{path}: format: expected a JSON object (got {type(model).__name__})")
    if model.get("format") != MODEL_FORMAT:
        raise ValueError(f"{path}: format: expected {MODEL_FORMAT!r} (got {model.get('format')!r})")
    for key, want in (("classes", CLASSES), ("features", FEATURE_NAMES)):
        if tuple(model.get(key, ())) != want:
            raise ValueError(f"{path}: {key}: the model was trained for {model.get(key)!r}, this version has {list(want)}")
    return model


WEIGHT_FIELDS = ("mean", "scale", "hidden_weights", "hidden_bias", "output_weights", "output_bias", "temperature")


def model_weights(model: dict[str, Any]) -> dict[str, Any]:
    """A model's weight fields (those it has) as the nested tuples of floats :class:`ClassifierParams` holds."""
    def to_tuple(v: Any) -> Any:
        return tuple(to_tuple(x) for x in v) if isinstance(v, list) else float(v)
    return {k: to_tuple(model[k]) for k in WEIGHT_FIELDS if k in model}


@functools.cache
def _shipped() -> dict[str, Any]:
    """The shipped model file's weights, read once."""
    return model_weights(load_model())


def _weights(key: str) -> Any:
    """The default factory of a weight field: the shipped model's."""
    return lambda: _shipped()[key]


@dataclass(frozen=True)
class ClassifierParams:
    """The decision rules and the network's weights (defaults: the shipped model, ``models/classifier.json``)."""

    tau_s: float = 10.0  # time constant of the feature window
    smoothing_s: float = 4.0  # time constant of the mean of the network's probabilities over scans
    min_age_s: float = 4.0  # no label before the track has been seen this long
    min_probability: float = 0.6  # no label below this probability
    mean: Floats = field(default_factory=_weights("mean"))
    scale: Floats = field(default_factory=_weights("scale"))
    # an ensemble of E networks: hidden (E, F, H) and (E, H), output (E, H, C) and (E, C)
    hidden_weights: tuple[tuple[Floats, ...], ...] = field(default_factory=_weights("hidden_weights"))
    hidden_bias: tuple[Floats, ...] = field(default_factory=_weights("hidden_bias"))
    output_weights: tuple[tuple[Floats, ...], ...] = field(default_factory=_weights("output_weights"))
    output_bias: tuple[Floats, ...] = field(default_factory=_weights("output_bias"))
    temperature: float = field(default_factory=_weights("temperature"))

    def __post_init__(self) -> None:
        bias = _shape(self.hidden_bias)
        if len(bias) != 2:
            raise ValueError(f"ClassifierParams.hidden_bias: expected shape (members, hidden units) (got {bias})")
        (e, h), f, c = bias, len(FEATURE_NAMES), len(CLASSES)
        shapes = {name: _shape(getattr(self, name)) for name in
                  ("mean", "scale", "output_bias", "hidden_weights", "output_weights")}
        want = {"mean": (f,), "scale": (f,), "output_bias": (e, c), "hidden_weights": (e, f, h),
                "output_weights": (e, h, c)}
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


def _shape(value: Any) -> tuple[int, ...]:
    """The shape of nested tuples, or () when they are ragged or hold something else than numbers."""
    try:
        return tuple(np.asarray(value, float).shape)
    except (ValueError, TypeError):
        return ()


def class_logits(features: NDArray[np.float64], params: ClassifierParams) -> NDArray[np.float64]:
    """(N, C) logits of N feature rows: the mean of the ensemble's networks."""
    z = (features - np.asarray(params.mean)) / np.asarray(params.scale)
    hidden = np.tanh(np.einsum("nf,efh->enh", z, np.asarray(params.hidden_weights))
                     + np.asarray(params.hidden_bias)[:, None, :])
    logits = np.einsum("enh,ehc->enc", hidden, np.asarray(params.output_weights)) + np.asarray(params.output_bias)[:, None, :]
    return np.asarray(logits.mean(axis=0), float)


def class_probabilities(features: NDArray[np.float64], params: ClassifierParams) -> NDArray[np.float64]:
    """(N, C) class probabilities of N feature rows: the ensemble's calibrated softmax."""
    return np.asarray(softmax(class_logits(features, params) / params.temperature, axis=1), float)


class Classifier:
    """Keeps each track's feature window and labels every track each scan."""

    def __init__(self, params: ClassifierParams | None = None) -> None:
        self.params = params or ClassifierParams()
        self.window = FeatureWindow(self.params.tau_s)
        self.last_features = np.zeros((0, len(FEATURE_NAMES)))
        self._smooth = TrackSums(self.params.smoothing_s, len(CLASSES))

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
        sums, weights, _, _ = self._smooth.carry(t, ids)
        sums, weights = sums + prob, weights + 1.0
        self._smooth.keep(t, ids, sums, weights)
        return np.asarray(sums / weights, float)
