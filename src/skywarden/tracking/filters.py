"""Batched Kalman filter, EKF and IMM for constant-velocity / coordinated-turn models: predictor and updaters.

Every function handles N tracks at once (arrays ``x (N, 6)``, ``P (N, 6, 6)``; per IMM model
``xm (N, M, 6)``, ``Pm (N, M, 6, 6)``, ``mu (N, M)``). :func:`update` takes converted positions
(``H = [I 0]``); :func:`ekf_polar_update` takes polar plots (range, azimuth, elevation, optional range rate).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from skywarden.tracking.models import POS, STATE_DIM, F, Q, polar_innovation, polar_measurement

Array = NDArray[np.float64]


def predict(
    x: Array, P: Array, dt: ArrayLike, q: float, q_vertical: float | None = None, turn_rate_radps: float = 0.0
) -> tuple[Array, Array]:
    """Predict N states ``dt`` seconds ahead (scalar or per track): ``x' = F x``, ``P' = F P Fᵀ + Q``.

    A non-zero ``turn_rate_radps`` predicts a coordinated turn at that rate (see :func:`.models.F`).
    """
    dt_n = np.broadcast_to(np.asarray(dt, float), (len(x),))
    Fm = F(dt_n, turn_rate_radps)
    x_pred = np.einsum("nij,nj->ni", Fm, x)
    P_pred = Fm @ P @ Fm.transpose(0, 2, 1) + Q(dt_n, q, q_vertical)
    return x_pred, P_pred


def update(x: Array, P: Array, z: Array, R: Array) -> tuple[Array, Array]:
    """Update N states with one position measurement each (``z (N, 3)``, ``R (N, 3, 3)``).

    Gain ``K = P Hᵀ S⁻¹`` by a batched solve with ``S = H P Hᵀ + R``; the covariance in Joseph form
    ``(I - K H) P (I - K H)ᵀ + K R Kᵀ``, symmetrised, so it stays positive definite.
    """
    S = P[:, POS, POS] + R
    K = np.linalg.solve(S, P[:, POS, :]).transpose(0, 2, 1)  # S symmetric: (S⁻¹ H P)ᵀ = P Hᵀ S⁻¹
    nu = z - x[:, POS]
    x_upd = x + np.einsum("nij,nj->ni", K, nu)
    I_KH = np.broadcast_to(np.eye(STATE_DIM), P.shape).copy()
    I_KH[:, :, POS] -= K
    P_upd = I_KH @ P @ I_KH.transpose(0, 2, 1) + K @ R @ K.transpose(0, 2, 1)
    return x_upd, 0.5 * (P_upd + P_upd.transpose(0, 2, 1))


def ekf_polar_update(
    x: Array, P: Array, z: Array, sigma: Array, sensor_enu_m: Array
) -> tuple[Array, Array, Array]:
    """EKF update of N states with one polar plot each (``z (N, 3|4)``, per-component std ``sigma``).

    The plot is predicted by ``h(x)`` and linearised at the prediction (:func:`.models.polar_measurement`);
    the range rate, when present, also corrects the velocity. Returns the updated ``(x, P)`` and the
    (N,) log-likelihood of the innovation, ``log N(z - h(x); 0, H P Hᵀ + R)``.
    """
    k = z.shape[1]
    h, H = polar_measurement(x, sensor_enu_m, with_range_rate=k == 4)
    nu = polar_innovation(z, h)
    R = np.diag(np.asarray(sigma, float)[:k] ** 2)
    PHt = P @ H.transpose(0, 2, 1)
    S = H @ PHt + R
    L = np.linalg.cholesky(S)
    white = np.linalg.solve(L, nu[..., None])[..., 0]
    loglik = -0.5 * (np.einsum("ni,ni->n", white, white) + k * np.log(2.0 * np.pi)) - np.log(
        np.diagonal(L, axis1=1, axis2=2)
    ).sum(axis=1)
    K = np.linalg.solve(S, PHt.transpose(0, 2, 1)).transpose(0, 2, 1)
    x_upd = x + np.einsum("nij,nj->ni", K, nu)
    I_KH = np.eye(STATE_DIM) - K @ H
    P_upd = I_KH @ P @ I_KH.transpose(0, 2, 1) + K @ R @ K.transpose(0, 2, 1)
    return x_upd, 0.5 * (P_upd + P_upd.transpose(0, 2, 1)), loglik


def log_likelihood(x: Array, P: Array, z: Array, R: Array) -> Array:
    """(N,) log N(z; H x, H P Hᵀ + R): how well each state predicted its measurement."""
    S = P[:, POS, POS] + R
    nu = z - x[:, POS]
    d2 = np.einsum("ni,ni->n", nu, np.linalg.solve(S, nu[..., None])[..., 0])
    _, logdet = np.linalg.slogdet(S)
    return -0.5 * (d2 + logdet + 3.0 * np.log(2.0 * np.pi))


def imm_mix(xm: Array, Pm: Array, mu: Array, transition: Array) -> tuple[Array, Array, Array]:
    """IMM interaction: mixed initial states per model and the predicted model probabilities.

    ``transition[i, j]`` is P(model j now | model i before). Returns ``(x0 (N,M,6), P0 (N,M,6,6),
    c (N,M))`` with ``c_j = sum_i p_ij mu_i`` and ``x0_j = sum_i mu_i|j x_i`` (Blom & Bar-Shalom).
    """
    c = mu @ transition
    w = mu[:, :, None] * transition[None, :, :] / np.maximum(c[:, None, :], 1e-300)  # (N, i, j)
    x0 = np.einsum("nij,nik->njk", w, xm)
    d = xm[:, :, None, :] - x0[:, None, :, :]  # (N, i, j, 6)
    P0 = np.einsum("nij,nikl->njkl", w, Pm) + np.einsum("nij,nijk,nijl->njkl", w, d, d)
    return x0, P0, c


def imm_combine(xm: Array, Pm: Array, mu: Array) -> tuple[Array, Array]:
    """Moment-matched single estimate ``(x (N,6), P (N,6,6))`` of the IMM model mixture."""
    x = np.einsum("nm,nmk->nk", mu, xm)
    d = xm - x[:, None, :]
    P = np.einsum("nm,nmkl->nkl", mu, Pm) + np.einsum("nm,nmk,nml->nkl", mu, d, d)
    return x, P
