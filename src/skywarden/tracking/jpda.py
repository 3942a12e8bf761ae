"""Joint probabilistic data association (JPDA): association marginals per cluster and the PDA state update.

Each gated pair (track t, plot p) has the likelihood ratio ``L_tp = Pd N(z_p; H x_t, S_tp) / λ`` against
clutter of density ``λ`` (per m³); a track missing the scan weighs ``b = 1 - Pd Pg`` (``Pg`` the gate
probability). A joint event assigns each track at most one plot and each plot at most one track; its
weight is the product of the ``L`` of its pairs and ``b`` of its missed tracks, and the marginal
``β_tp`` is the normalised sum of the weights of the events holding (t, p).

Clusters whose tracks share no plot reduce to independent PDA, ``β_tp = L_tp / (b + Σ_p L_tp)``; this
is also what Fitzgerald's cheap JPDA, ``β_tp = L_tp / (b + S_t + S_p - L_tp)`` (``S_t``, ``S_p`` the
row and column sums of ``L``), gives for them, so it is computed for every pair at once, vectorised.
Clusters with shared plots are then enumerated exactly when small (at most ``max_tracks`` tracks and
``max_events`` candidate events, checked before enumerating); larger ones keep the cheap-JPDA value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skywarden.tracking.association import clusters
from skywarden.tracking.gating import Candidates
from skywarden.tracking.models import POS, STATE_DIM, polar_innovation, polar_measurement

Array = NDArray[np.float64]
Index = NDArray[np.intp]


@dataclass(frozen=True)
class Marginals:
    """JPDA result of one scan: ``beta (K,)`` per gated pair (in the candidates' order), ``beta0 (N,)``
    per track the probability that none of its gated plots is its own (1 for tracks without pairs)."""

    beta: Array
    beta0: Array


def pair_model_loglik(cand: Candidates, xm: Array, Pm: Array, z: Array, R: Array) -> Array:
    """(K, M) log N(z_p; H x_tj, H P_tj Hᵀ + R_p) of every gated pair under every IMM model j."""
    nu = z[cand.plot, None, :] - xm[cand.track][:, :, POS]
    L = np.linalg.cholesky(Pm[cand.track][:, :, POS, POS] + R[cand.plot, None, :, :])
    white = np.linalg.solve(L, nu[..., None])[..., 0]
    log_det_half = np.log(np.diagonal(L, axis1=2, axis2=3)).sum(axis=2)
    return -0.5 * (np.einsum("kmi,kmi->km", white, white) + 3.0 * np.log(2.0 * np.pi)) - log_det_half


def marginals(
    cand: Candidates,
    log_lik: Array,
    n_tracks: int,
    n_plots: int,
    detection_probability: float,
    clutter_density_per_m3: float,
    gate_probability: float,
    max_tracks: int = 8,
    max_events: int = 20_000,
) -> Marginals:
    """JPDA marginals of the gated pairs, given each pair's measurement log-likelihood ``log_lik (K,)``."""
    beta0 = np.ones(n_tracks)
    if len(cand) == 0:
        return Marginals(np.zeros(0), beta0)
    b = 1.0 - detection_probability * gate_probability
    log_ratio = np.log(detection_probability / clutter_density_per_m3) + log_lik
    ratio = np.exp(log_ratio)
    s_track = np.bincount(cand.track, ratio, n_tracks)
    s_plot = np.bincount(cand.plot, ratio, n_plots)
    beta = ratio / (b + s_track[cand.track] + s_plot[cand.plot] - ratio)

    shared_plot = np.bincount(cand.plot, minlength=n_plots)[cand.plot] >= 2
    involved = np.zeros(n_tracks, bool)
    involved[cand.track[shared_plot]] = True
    in_shared = np.flatnonzero(involved[cand.track])
    if len(in_shared):
        _, label, _ = clusters(cand.track[in_shared], cand.plot[in_shared], n_tracks, n_plots)
        edge_label = label[cand.track[in_shared]]
        order = np.argsort(edge_label, kind="stable")
        starts = np.flatnonzero(np.r_[True, np.diff(edge_label[order]) != 0])
        for edges in np.split(in_shared[order], starts[1:]):
            exact = _exact_cluster(cand.track[edges], cand.plot[edges], log_ratio[edges], b, max_tracks, max_events)
            if exact is not None:
                beta[edges] = exact
    beta0 -= np.bincount(cand.track, beta, n_tracks)
    return Marginals(beta, np.clip(beta0, 0.0, 1.0))


def _exact_cluster(
    track: Index, plot: Index, log_ratio: Array, b: float, max_tracks: int, max_events: int
) -> Array | None:
    """Exact marginals of one cluster's pairs by enumerating its joint events; None if it is too big.

    The events are the rows of the product of each track's choices (miss, or one of its gated plots),
    built as one array; rows that give a plot to two tracks are dropped.
    """
    t_ids, t_local = np.unique(track, return_inverse=True)
    p_ids, p_local = np.unique(plot, return_inverse=True)
    nt, npl = len(t_ids), len(p_ids)
    degree = np.bincount(t_local, minlength=nt)
    if nt > max_tracks or np.prod(degree + 1.0) > max_events:
        return None
    choices = [np.r_[-1, p_local[t_local == i]] for i in range(nt)]
    events = np.stack(np.meshgrid(*choices, indexing="ij"), axis=-1).reshape(-1, nt)  # plot per track, -1 = miss
    ordered = np.sort(events, axis=1)
    feasible = ~np.any((ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0), axis=1)
    events = events[feasible]
    log_w = np.full((nt, npl + 1), -np.inf)  # column npl (index -1) is the miss
    log_w[t_local, p_local] = log_ratio
    log_w[:, npl] = np.log(b) if b > 0 else -np.inf
    event_log_w = log_w[np.arange(nt), events].sum(axis=1)
    weight = np.exp(event_log_w - event_log_w.max())
    weight /= weight.sum()
    pair_beta = np.zeros((nt, npl + 1))
    for i in range(nt):
        pair_beta[i] = np.bincount(events[:, i] % (npl + 1), weight, npl + 1)
    return pair_beta[t_local, p_local]


def pda_update(
    x: Array, P: Array, z: Array, R: Array, track: Index, plot: Index, beta: Array, beta0: Array
) -> tuple[Index, Array, Array]:
    """PDA update of every track with gated pairs (``track`` sorted) by converted plots ``z (n, 3)``, ``R (n, 3, 3)``.

    One gain per track, from the β-weighted mean plot covariance (exact when its plots share one ``R``).
    Returns ``(rows, x⁺, P⁺)`` for the updated rows; see :func:`_pda`.
    """
    starts, rows, _ = _groups(track)
    nu = z[plot] - x[track, POS]
    w = beta + 1e-12
    R_bar = np.add.reduceat(w[:, None, None] * R[plot], starts, axis=0) / np.add.reduceat(w, starts)[:, None, None]
    H = np.zeros((len(rows), 3, STATE_DIM))
    H[:, :, POS] = np.eye(3)
    x_new, P_new = _pda(x[rows], P[rows], nu, H, R_bar, starts, beta, beta0[rows])
    return rows, x_new, P_new


def pda_update_polar(
    x: Array, P: Array, z: Array, sigma: Array, sensor_enu_m: Array,
    track: Index, plot: Index, beta: Array, beta0: Array,
) -> tuple[Index, Array, Array]:
    """PDA update as :func:`pda_update` but by polar plots ``z (n, 3|4)`` (EKF linearised at each prediction)."""
    starts, rows, local = _groups(track)
    k = z.shape[1]
    h, H = polar_measurement(x[rows], sensor_enu_m, with_range_rate=k == 4)
    nu = polar_innovation(z[plot], h[local])
    R = np.broadcast_to(np.diag(np.asarray(sigma, float)[:k] ** 2), (len(rows), k, k))
    x_new, P_new = _pda(x[rows], P[rows], nu, H, R, starts, beta, beta0[rows])
    return rows, x_new, P_new


def _groups(track: Index) -> tuple[Index, Index, Index]:
    """For pairs sorted by track: the first pair of each track, the tracks, and each pair's group index."""
    first = np.r_[True, np.diff(track) != 0]
    starts = np.flatnonzero(first)
    return starts, track[starts], np.cumsum(first) - 1


def _pda(
    x: Array, P: Array, nu: Array, H: Array, R: Array, starts: Index, beta: Array, beta0: Array
) -> tuple[Array, Array]:
    """PDA update of tracks ``x (T, 6)`` with pair innovations ``nu (K, m)`` grouped by ``starts``.

    With the combined innovation ``ν = Σ β_p ν_p`` and the gain ``K`` of ``S = H P Hᵀ + R``:
    ``x⁺ = x + K ν`` and ``P⁺ = β0 P + (1 - β0) P_c + K (Σ β_p ν_p ν_pᵀ - ν νᵀ) Kᵀ``, with ``P_c`` the
    (Joseph-form) covariance of a sure update; the last term is the spread of the innovations.
    """
    nu_bar = np.add.reduceat(beta[:, None] * nu, starts, axis=0)
    spread = np.add.reduceat(beta[:, None, None] * nu[:, :, None] * nu[:, None, :], starts, axis=0)
    spread -= nu_bar[:, :, None] * nu_bar[:, None, :]
    PHt = P @ H.transpose(0, 2, 1)
    K = np.linalg.solve(H @ PHt + R, PHt.transpose(0, 2, 1)).transpose(0, 2, 1)
    I_KH = np.eye(STATE_DIM) - K @ H
    P_c = I_KH @ P @ I_KH.transpose(0, 2, 1) + K @ R @ K.transpose(0, 2, 1)
    b0 = beta0[:, None, None]
    P_new = b0 * P + (1.0 - b0) * P_c + K @ spread @ K.transpose(0, 2, 1)
    return x + np.einsum("nij,nj->ni", K, nu_bar), 0.5 * (P_new + P_new.transpose(0, 2, 1))


def model_probabilities(
    mu: Array, track: Index, pair_loglik: Array, beta: Array, beta0: Array
) -> Array:
    """IMM model probabilities after a JPDA scan: ``μ_j⁺ ∝ μ_j (β0 + Σ_p β_p N_j(z_p) / Σ_i μ_i N_i(z_p))``.

    The posterior over models mixed over the association events; tracks without pairs keep ``μ``.
    """
    log_w = np.log(np.maximum(mu[track], 1e-300)) + pair_loglik  # (K, M)
    top = log_w.max(axis=1, keepdims=True)
    post = np.exp(log_w - top)
    post /= post.sum(axis=1, keepdims=True)  # P(model j | plot p is the track's)
    out = beta0[:, None] * mu
    np.add.at(out, track, beta[:, None] * post)
    return out / out.sum(axis=1, keepdims=True)
