"""Gating (Stone Soup's hypothesiser): which plots may belong to which track, and how well they fit.

A KD-tree over the plot positions finds, for each track, the plots within a ball that surely contains
its chi-square gate; only those pairs get the exact Mahalanobis test, so the cost grows with the
number of nearby pairs rather than tracks × plots.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from itertools import chain

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist
from scipy.stats import chi2

from skywarden.tracking.filters import inv_sym3
from skywarden.tracking.models import POS

Array = NDArray[np.float64]
Index = NDArray[np.intp]

_DENSE_PAIRS = 20_000  # below this many track-plot pairs, gate with a dense distance matrix


@dataclass(frozen=True)
class Candidates:
    """Gated (track, plot) pairs of one scan, sorted by track then plot, with their fit.

    ``d2`` is the squared Mahalanobis distance of the innovation, ``log_det_s`` the log-determinant
    of its covariance ``S = H P Hᵀ + R``; ``gate_d2`` is the chi-square bound every pair passed.
    ``cost`` is the pair's association cost, −2 ln of its likelihood up to a constant: ``d2 + log_det_s``
    for a single filter, the mixture likelihood's for an IMM (:func:`with_imm_cost`), which also keeps
    each model's ``S⁻¹`` and ``det S`` (``model_s_inv (K, M, 3, 3)``, ``model_det_s (K, M)``) for the update.
    """

    track: Index
    plot: Index
    d2: Array
    log_det_s: Array
    gate_d2: float
    cost: Array
    model_s_inv: Array | None = None
    model_det_s: Array | None = None

    def __len__(self) -> int:
        return len(self.track)

    def subset(self, keep: NDArray[np.bool_]) -> Candidates:
        """The pairs where ``keep`` is true."""
        per_model = (None, None) if self.model_s_inv is None or self.model_det_s is None else (
            self.model_s_inv[keep], self.model_det_s[keep])
        return Candidates(self.track[keep], self.plot[keep], self.d2[keep], self.log_det_s[keep], self.gate_d2,
                          self.cost[keep], *per_model)

    def pairs(self, track: Index, plot: Index) -> Index:
        """Indices of the given (track, plot) pairs, which must be among the candidates."""
        n_plots = int(self.plot.max(initial=-1)) + 1
        return np.searchsorted(self.track * n_plots + self.plot, track * n_plots + plot)


def with_imm_cost(cand: Candidates, xm: Array, Pm: Array, mu: Array, z: Array, R: Array) -> Candidates:
    """The same pairs, costed by the IMM mixture likelihood ``−2 ln Σ_j mu_j N(z; H x_j, S_j)``.

    The moment-matched covariance used for gating is inflated by the spread between models; scoring
    each pair against every model's own prediction keeps a quiet target's tight prediction decisive.
    """
    m = xm.shape[1]
    if len(cand) == 0:
        return replace(cand, model_s_inv=np.zeros((0, m, 3, 3)), model_det_s=np.zeros((0, m)))
    nu = z[cand.plot, None, :] - xm[:, :, POS][cand.track]  # (K, M, 3)
    S_inv, det = inv_sym3(Pm[:, :, POS, POS][cand.track] + R[cand.plot, None, :, :])
    nll2 = (nu[..., None, :] @ S_inv @ nu[..., None])[..., 0, 0] + np.log(det)
    log_w = np.log(np.maximum(mu[cand.track], 1e-300)) - 0.5 * nll2  # (K, M); a model at 0 adds nothing
    top = log_w.max(axis=1)
    mix = top + np.log(np.exp(log_w - top[:, None]).sum(axis=1)) if m > 1 else top
    return replace(cand, cost=-2.0 * mix, model_s_inv=S_inv, model_det_s=det)


def _pairs_within(centres: Array, points: Array, radius: Array) -> tuple[Index, Index]:
    """``(centre, point)`` index pairs with the point within the centre's ``radius``, sorted by centre then point.

    A KD-tree over the points answers the query; for small scans (up to ``_DENSE_PAIRS`` centre-point
    pairs) one dense distance matrix costs less than building and walking the tree.
    """
    if len(centres) * len(points) <= _DENSE_PAIRS:
        centre, point = np.nonzero(cdist(centres, points, "sqeuclidean") <= (radius * radius)[:, None])
        return centre, point
    neighbours = cKDTree(points).query_ball_point(centres, radius, return_sorted=True)
    counts = np.fromiter(map(len, neighbours), np.intp, len(centres))
    centre = np.repeat(np.arange(len(centres), dtype=np.intp), counts)
    return centre, np.fromiter(chain.from_iterable(neighbours), np.intp, int(counts.sum()))


def max_eigenvalue_bound(A: Array) -> Array:
    """Upper bound on the largest eigenvalue of each symmetric matrix ``A (N, k, k)``: its largest absolute row sum
    (Gershgorin), a fraction of the cost of the eigenvalues and tight for the nearly diagonal covariances here."""
    return np.abs(A).sum(axis=-1).max(axis=-1)


@functools.cache
def gate_threshold(gate_probability: float, dim: int = 3) -> float:
    """Chi-square bound on ``d²`` that a true plot passes with probability ``gate_probability``."""
    return float(chi2.ppf(gate_probability, dim))


def gate(
    x_pred: Array,
    P_pred: Array,
    z: Array,
    R: Array,
    gate_probability: float = 0.999,
    max_travel_m: Array | None = None,
) -> Candidates:
    """Gate all tracks against all plots of a scan: KD-tree pre-gate, then the chi-square test.

    ``max_travel_m (N,)`` optionally bounds how far each track's target can have moved from its
    predicted position (e.g. a speed limit × time for a track started from a single plot; ``inf`` for
    no bound); a pair is then also dropped when the plot lies further than that plus the chi-square
    radius of twice the plot's own noise (the noise of the plot that started the track and of this one).
    """
    gamma = gate_threshold(gate_probability)
    n, m = len(x_pred), len(z)
    if n == 0 or m == 0:
        empty = np.zeros(0, np.intp)
        return Candidates(empty, empty.copy(), np.zeros(0), np.zeros(0), gamma, np.zeros(0))

    P_pos = P_pred[:, POS, POS]
    track_var_max, plot_var_max = max_eigenvalue_bound(P_pos), max_eigenvalue_bound(R)
    # |nu|² <= lambda_max(S) d² and lambda_max(P + R) <= lambda_max(P) + lambda_max(R): a ball with the
    # largest plot variance surely holds the gate
    radius = np.sqrt(gamma * (track_var_max + plot_var_max.max()))
    if max_travel_m is not None:
        radius = np.minimum(radius, max_travel_m + np.sqrt(2.0 * gamma * plot_var_max.max()))

    track, plot = _pairs_within(x_pred[:, POS], z, radius)
    nu = z[plot] - x_pred[track, POS]

    S_inv, det = inv_sym3(P_pos[track] + R[plot])
    d2 = (nu[:, None, :] @ S_inv @ nu[:, :, None])[:, 0, 0]
    keep = d2 <= gamma
    if max_travel_m is not None:
        keep &= np.linalg.norm(nu, axis=1) <= max_travel_m[track] + np.sqrt(2.0 * gamma * plot_var_max[plot])
    d2, log_det_s = d2[keep], np.log(det[keep])
    return Candidates(track[keep], plot[keep], d2, log_det_s, gamma, d2 + log_det_s)
