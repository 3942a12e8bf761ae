"""A first classifier: drone / bird / aircraft / unknown from speed, altitude and radar cross-section.

Each scan, every track gets a log-likelihood per class from three features — speed (a soft box per
class: birds 5–20 m/s, drones 0–45 m/s, aircraft above ~35 m/s), altitude (a soft box) and the running
mean of its plots' RCS in dBsm (a Gaussian per class; Swerling-1 fluctuation biases the mean of the dB
values by about −2.5 dB, which the class means include). The log-likelihoods accumulate with
forgetting, so a class needs several consistent scans to win and the label does not flicker.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit, log_softmax

CLASSES = ("drone", "bird", "aircraft")
UNKNOWN = "unknown"


@dataclass(frozen=True)
class ClassifierParams:
    """Class models and decision rules; speeds m/s, altitudes m above the site reference, RCS dBsm."""

    speed_box: tuple[tuple[float, float, float, float], ...] = (
        (-1.0, 0.5, 45.0, 4.0),  # drone: (low, low softness, high, high softness)
        (4.5, 1.0, 21.0, 2.0),  # bird: cannot hover, rarely faster than 20 m/s
        (35.0, 5.0, 350.0, 20.0),  # aircraft
    )
    altitude_box: tuple[tuple[float, float, float, float], ...] = (
        (-100.0, 20.0, 800.0, 100.0),
        (-100.0, 20.0, 1500.0, 200.0),
        (-100.0, 20.0, 13000.0, 500.0),
    )
    rcs_mean_dbsm: tuple[float, float, float] = (-14.0, -26.0, 8.0)
    rcs_std_db: tuple[float, float, float] = (6.0, 5.0, 8.0)
    log_prior: tuple[float, float, float] = (np.log(0.25), np.log(0.5), np.log(0.25))
    forgetting: float = 0.95
    max_velocity_std_mps: float = 4.0  # speed is used only once the filter knows it this well
    min_hits: int = 5
    min_probability: float = 0.7


def _soft_box_logpdf(x: NDArray[np.float64], box: tuple[float, float, float, float]) -> NDArray[np.float64]:
    lo, lo_soft, hi, hi_soft = box
    with np.errstate(divide="ignore"):
        return (np.log(expit((x - lo) / lo_soft)) + np.log(expit((hi - x) / hi_soft)) - np.log(hi - lo))


def feature_loglik(
    speed_mps: NDArray[np.float64],
    altitude_m: NDArray[np.float64],
    rcs_dbsm: NDArray[np.float64],
    speed_known: NDArray[np.bool_],
    params: ClassifierParams,
) -> NDArray[np.float64]:
    """(N, 3) log-likelihood of each class for one scan's features; unknown features contribute 0."""
    n = len(speed_mps)
    ll = np.zeros((n, len(CLASSES)))
    rcs_known = np.isfinite(rcs_dbsm)
    for c in range(len(CLASSES)):
        ll[:, c] += np.where(speed_known, _soft_box_logpdf(speed_mps, params.speed_box[c]), 0.0)
        ll[:, c] += _soft_box_logpdf(altitude_m, params.altitude_box[c])
        z = (np.where(rcs_known, rcs_dbsm, 0.0) - params.rcs_mean_dbsm[c]) / params.rcs_std_db[c]
        ll[:, c] += np.where(rcs_known, -0.5 * z * z - np.log(params.rcs_std_db[c]), 0.0)
    return np.maximum(ll, -50.0)


class Classifier:
    """Keeps accumulated class evidence per track id and labels tracks each scan."""

    def __init__(self, params: ClassifierParams | None = None) -> None:
        self.params = params or ClassifierParams()
        self._evidence: dict[str, NDArray[np.float64]] = {}

    def update(
        self,
        ids: list[str],
        x: NDArray[np.float64],
        P: NDArray[np.float64],
        rcs_dbsm: NDArray[np.float64],
        n_hits: NDArray[np.int64],
    ) -> tuple[list[str], NDArray[np.float64]]:
        """Update with the current track table; returns (labels (N,), class probabilities (N, 3))."""
        p = self.params
        speed = np.linalg.norm(x[:, 3:6], axis=1)
        vel_std = np.sqrt(np.trace(P[:, 3:6, 3:6], axis1=1, axis2=2) / 3.0)
        ll = feature_loglik(speed, x[:, 2], rcs_dbsm, vel_std <= p.max_velocity_std_mps, p)
        prev = np.array([self._evidence.get(i, np.zeros(len(CLASSES))) for i in ids]).reshape(len(ids), -1)
        evidence = p.forgetting * prev + ll
        self._evidence = dict(zip(ids, evidence, strict=True))
        prob = np.exp(log_softmax(evidence + np.asarray(p.log_prior), axis=1))
        best = np.argmax(prob, axis=1) if len(ids) else np.zeros(0, int)
        sure = (prob[np.arange(len(ids)), best] >= p.min_probability) & (n_hits >= p.min_hits)
        labels = [CLASSES[b] if s else UNKNOWN for b, s in zip(best, sure, strict=True)]
        return labels, prob
