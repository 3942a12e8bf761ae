"""A first classifier: drone / bird / aircraft / unknown from speed, altitude and radar cross-section.

Each scan, every track gets a log-likelihood per class from three features — speed (a soft box per
class: birds 5–20 m/s, drones 0–45 m/s, aircraft above ~35 m/s), altitude (a soft box) and the running
mean of its plots' RCS in dBsm (a Gaussian per class; Swerling-1 fluctuation biases the mean of the dB
values by about −2.5 dB, which the class means include, and spreads single values by 5.6 dB, which
widens each class by the uncertainty of a mean over the track's hits). No label is given before the
filter knows the speed: RCS alone does not tell a small drone from a large bird. The log-likelihoods accumulate with
forgetting, so a class needs several consistent scans to win and the label does not flicker.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit, log_softmax

CLASSES = ("drone", "bird", "aircraft")
UNKNOWN = "unknown"
#: Variance (dB²) of 10·log10 of an exponential variable: the Swerling-1 spread of one RCS sample.
SWERLING1_DB_VAR = (10.0 / np.log(10.0)) ** 2 * np.pi**2 / 6.0


@dataclass(frozen=True)
class ClassifierParams:
    """Class models and decision rules; speeds m/s, altitudes m above the site reference, RCS dBsm."""

    speed_box: tuple[tuple[float, float, float, float], ...] = (
        (-1.0, 0.5, 45.0, 4.0),  # drone: (low, low softness, high, high softness)
        (4.5, 1.0, 18.0, 1.5),  # bird: cannot hover, rarely faster than 18 m/s
        (35.0, 5.0, 350.0, 20.0),  # aircraft
    )
    altitude_box: tuple[tuple[float, float, float, float], ...] = (
        (-100.0, 20.0, 1500.0, 200.0),  # drones and birds share the low sky: altitude only
        (-100.0, 20.0, 1500.0, 200.0),  # tells them from aircraft
        (-100.0, 20.0, 13000.0, 500.0),
    )
    rcs_mean_dbsm: tuple[float, float, float] = (-12.0, -22.0, 8.0)
    rcs_std_db: tuple[float, float, float] = (6.0, 4.0, 8.0)
    log_prior: tuple[float, float, float] = (np.log(0.25), np.log(0.5), np.log(0.25))
    forgetting: float = 0.95
    temperature: float = 0.25  # weight of one scan's evidence: features are correlated scan to scan
    max_velocity_std_mps: float = 10.0  # speed is used only once the filter knows it this well
    min_hits: int = 8
    min_probability: float = 0.7


def _soft_box_logpdf(
    x: NDArray[np.float64], box: tuple[float, float, float, float], blur: NDArray[np.float64] | float = 0.0
) -> NDArray[np.float64]:
    """Log density of a box with logistic edges, widened by Gaussian noise of std ``blur`` on ``x``.

    A logistic edge of scale s is close to a Gaussian CDF of std 1.7 s, so the noise adds in quadrature.
    """
    lo, lo_soft, hi, hi_soft = box
    lo_s = np.sqrt(lo_soft**2 + (np.asarray(blur) / 1.7) ** 2)
    hi_s = np.sqrt(hi_soft**2 + (np.asarray(blur) / 1.7) ** 2)
    with np.errstate(divide="ignore"):
        return np.log(expit((x - lo) / lo_s)) + np.log(expit((hi - x) / hi_s)) - np.log(hi - lo)


def feature_loglik(
    speed_mps: NDArray[np.float64],
    altitude_m: NDArray[np.float64],
    rcs_dbsm: NDArray[np.float64],
    speed_std_mps: NDArray[np.float64],
    params: ClassifierParams,
    rcs_samples: NDArray[np.integer] | None = None,
) -> NDArray[np.float64]:
    """(N, 3) log-likelihood of each class for one scan's features; unknown features contribute 0.

    The speed term is blurred by the filter's speed uncertainty and dropped beyond
    ``max_velocity_std_mps``; ``rcs_samples`` is how many plots the RCS mean is over (default: many).
    """
    speed_known = speed_std_mps <= params.max_velocity_std_mps
    n = len(speed_mps)
    ll = np.zeros((n, len(CLASSES)))
    rcs_known = np.isfinite(rcs_dbsm)
    mean_var = 0.0 if rcs_samples is None else SWERLING1_DB_VAR / np.maximum(rcs_samples, 1)
    for c in range(len(CLASSES)):
        ll[:, c] += np.where(speed_known, _soft_box_logpdf(speed_mps, params.speed_box[c], speed_std_mps), 0.0)
        ll[:, c] += _soft_box_logpdf(altitude_m, params.altitude_box[c])
        std = np.sqrt(params.rcs_std_db[c] ** 2 + mean_var)
        z = (np.where(rcs_known, rcs_dbsm, 0.0) - params.rcs_mean_dbsm[c]) / std
        ll[:, c] += np.where(rcs_known, -0.5 * z * z - np.log(std), 0.0)
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
        n_hits: NDArray[np.integer],
    ) -> tuple[list[str], NDArray[np.float64]]:
        """Update with the current track table; returns (labels (N,), class probabilities (N, 3))."""
        p = self.params
        speed = np.linalg.norm(x[:, 3:6], axis=1)
        vel_std = np.sqrt(np.trace(P[:, 3:6, 3:6], axis1=1, axis2=2) / 3.0)
        ll = feature_loglik(speed, x[:, 2], rcs_dbsm, vel_std, p, n_hits)
        prev = np.array([self._evidence.get(i, np.zeros(len(CLASSES))) for i in ids]).reshape(len(ids), len(CLASSES))
        evidence = p.forgetting * prev + p.temperature * ll
        self._evidence = dict(zip(ids, evidence, strict=True))
        prob = np.exp(log_softmax(evidence + np.asarray(p.log_prior), axis=1))
        best = np.argmax(prob, axis=1) if len(ids) else np.zeros(0, int)
        sure = (prob[np.arange(len(ids)), best] >= p.min_probability) & (n_hits >= p.min_hits) & (vel_std <= p.max_velocity_std_mps)
        labels = [CLASSES[b] if s else UNKNOWN for b, s in zip(best, sure, strict=True)]
        return labels, prob
