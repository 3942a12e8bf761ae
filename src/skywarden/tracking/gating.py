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
from scipy.stats import chi2

from skywarden.tracking.models import POS

Array = NDArray[np.float64]
Index = NDArray[np.intp]


@dataclass(frozen=True)
class Candidates:
    """Gated (track, plot) pairs of one scan, sorted by track then plot, with their fit.

    ``d2`` is the squared Mahalanobis distance of the innovation, ``log_det_s`` the log-determinant
    of its covariance ``S = H P Hᵀ + R``; ``gate_d2`` is the chi-square bound every pair passed.
    ``cost`` is the pair's association cost, −2 ln of its likelihood up to a constant: ``d2 + log_det_s``
    for a single filter, the mixture likelihood's for an IMM (:func:`with_imm_cost`).
    """

    track: Index
    plot: Index
    d2: Array
    log_det_s: Array
    gate_d2: float
    cost: Array

    def __len__(self) -> int:
        return len(self.track)

    def subset(self, keep: NDArray[np.bool_]) -> Candidates:
        """The pairs where ``keep`` is true."""
        return Candidates(self.track[keep], self.plot[keep], self.d2[keep], self.log_det_s[keep], self.gate_d2,
                          self.cost[keep])


def with_imm_cost(cand: Candidates, xm: Array, Pm: Array, mu: Array, z: Array, R: Array) -> Candidates:
    """The same pairs, costed by the IMM mixture likelihood ``−2 ln Σ_j mu_j N(z; H x_j, S_j)``.

    The moment-matched covariance used for gating is inflated by the spread between models; scoring
    each pair against every model's own prediction keeps a quiet target's tight prediction decisive.
    """
    if len(cand) == 0:
        return cand
    m = xm.shape[1]
    nu = z[cand.plot, None, :] - xm[cand.track][:, :, POS]  # (K, M, 3)
    S = Pm[cand.track][:, :, POS, POS] + R[cand.plot, None, :, :]
    L = np.linalg.cholesky(S)
    white = np.linalg.solve(L, nu[..., None])[..., 0]
    nll2 = np.einsum("kmi,kmi->km", white, white) + 2.0 * np.log(np.diagonal(L, axis1=2, axis2=3)).sum(axis=2)
    with np.errstate(divide="ignore"):
        log_w = np.log(mu[cand.track]) - 0.5 * nll2  # (K, M)
    top = log_w.max(axis=1)
    mix = top + np.log(np.exp(log_w - top[:, None]).sum(axis=1)) if m > 1 else top
    return replace(cand, cost=-2.0 * mix)


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
    track_var_max = np.linalg.eigvalsh(P_pos)[:, -1]
    plot_var_max = np.linalg.eigvalsh(R)[:, -1]
    # |nu|² <= lambda_max(S) d² and lambda_max(P + R) <= lambda_max(P) + lambda_max(R): a safe ball,
    # first with the largest plot variance (KD-tree query), then with each plot's own.
    radius = np.sqrt(gamma * (track_var_max + plot_var_max.max()))
    if max_travel_m is not None:
        radius = np.minimum(radius, max_travel_m + np.sqrt(2.0 * gamma * plot_var_max.max()))

    neighbours = cKDTree(z).query_ball_point(x_pred[:, POS], radius)
    counts = np.fromiter(map(len, neighbours), np.intp, n)
    track = np.repeat(np.arange(n, dtype=np.intp), counts)
    plot = np.fromiter(chain.from_iterable(neighbours), np.intp, int(counts.sum()))
    nu = z[plot] - x_pred[track, POS]
    near = np.einsum("ki,ki->k", nu, nu) <= gamma * (track_var_max[track] + plot_var_max[plot])
    track, plot, nu = track[near], plot[near], nu[near]

    L = np.linalg.cholesky(P_pos[track] + R[plot])
    white = np.linalg.solve(L, nu[:, :, None])[:, :, 0]
    d2 = np.einsum("ki,ki->k", white, white)
    log_det_s = 2.0 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1)

    keep = d2 <= gamma
    if max_travel_m is not None:
        travel_ok = np.linalg.norm(nu, axis=1) <= max_travel_m[track] + np.sqrt(2.0 * gamma * plot_var_max[plot])
        keep &= travel_ok
    order = np.lexsort((plot[keep], track[keep]))
    d2, log_det_s = d2[keep][order], log_det_s[keep][order]
    return Candidates(track[keep][order], plot[keep][order], d2, log_det_s, gamma, d2 + log_det_s)
