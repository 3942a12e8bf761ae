"""Motion and measurement models: 3-D constant velocity / coordinated turn, polar radar plots (converted to ENU, or
predicted from the state for the EKF).

State vector ``x = [e, n, u, ve, vn, vu]`` in site ENU metres and metres per second. Every function
takes one time step or a batch of them, so all tracks are handled in one call.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from skywarden.sensors import Plots

Array = NDArray[np.float64]

STATE_DIM = 6
POS = slice(0, 3)
VEL = slice(3, 6)


def F(dt: ArrayLike, turn_rate_radps: float = 0.0) -> Array:
    """Transition matrix: (6, 6) for a scalar ``dt``, (N, 6, 6) for an array of N.

    Constant velocity for a zero ``turn_rate_radps``; otherwise a coordinated turn at that known rate
    in the horizontal plane (positive = counter-clockwise seen from above, i.e. a left turn), with
    constant vertical velocity.
    """
    dt_arr = np.asarray(dt, float)
    out = np.broadcast_to(np.eye(STATE_DIM), (*dt_arr.shape, STATE_DIM, STATE_DIM)).copy()
    for axis in range(3):
        out[..., axis, axis + 3] = dt_arr
    if turn_rate_radps != 0.0:
        wt = turn_rate_radps * dt_arr
        s, c = np.sin(wt), np.cos(wt)
        out[..., 0, 3], out[..., 0, 4] = s / turn_rate_radps, -(1.0 - c) / turn_rate_radps
        out[..., 1, 3], out[..., 1, 4] = (1.0 - c) / turn_rate_radps, s / turn_rate_radps
        out[..., 3, 3], out[..., 3, 4] = c, -s
        out[..., 4, 3], out[..., 4, 4] = s, c
    return out


def Q(dt: ArrayLike, q: float, q_vertical: float | None = None) -> Array:
    """Process noise of continuous white-noise acceleration with spectral density ``q`` (m²/s³) per axis.

    Per axis the block is ``q * [[dt³/3, dt²/2], [dt²/2, dt]]``; the up axis uses ``q_vertical``
    (default ``q``), since small drones and birds manoeuvre far less vertically. Shape as :func:`F`.
    """
    dt_arr = np.asarray(dt, float)
    out = np.zeros((*dt_arr.shape, STATE_DIM, STATE_DIM))
    d3, d2 = dt_arr**3 / 3.0, dt_arr**2 / 2.0
    for axis, qa in enumerate((q, q, q if q_vertical is None else q_vertical)):
        out[..., axis, axis] = qa * d3
        out[..., axis, axis + 3] = qa * d2
        out[..., axis + 3, axis] = qa * d2
        out[..., axis + 3, axis + 3] = qa * dt_arr
    return out


def plots_to_enu(plots: Plots) -> tuple[Array, Array]:
    """Positions ``z_enu (n, 3)`` and covariances ``R_enu (n, 3, 3)`` of any plots, in the site frame."""
    if plots.frame == "enu":
        return plots.z.copy(), np.broadcast_to(np.diag(plots.sigma**2), (len(plots), 3, 3)).copy()
    return polar_plots_to_enu(plots)


def polar_plots_to_enu(plots: Plots) -> tuple[Array, Array]:
    """Radar plots -> unbiased converted positions ``z_enu (n, 3)`` and their covariances ``R_enu (n, 3, 3)``.

    Gaussian angle errors shrink the mean of sin/cos by ``lambda = exp(-sigma²/2)``; dividing by it
    removes the bias of the conversion (Mo Longbin et al., 1998). ``R_enu`` is the conversion's mean
    square error about the true position given the measurement (true range and angles Gaussian about
    the measured ones, independent): to first order ``J R Jᵀ``, plus the second-order terms that matter
    along the line of sight at long range.
    """
    r, az, el = plots.z[:, 0], plots.z[:, 1], plots.z[:, 2]
    sigma_r, sigma_az, sigma_el = plots.sigma[:3]
    lam_az, lam_el = np.exp(-0.5 * sigma_az**2), np.exp(-0.5 * sigma_el**2)
    la2, le2 = lam_az**2, lam_el**2

    sin_a, cos_a, sin_e, cos_e = np.sin(az), np.cos(az), np.sin(el), np.cos(el)
    b = np.stack([sin_a, cos_a], axis=-1)  # horizontal direction (east, north) of the measured azimuth
    u = np.concatenate([cos_e[:, None] * b, sin_e[:, None]], axis=-1)  # measured line of sight
    shrink = np.array([lam_el * lam_az, lam_el * lam_az, lam_el])  # E[direction | measurement] = shrink * u
    z_enu = plots.sensor_enu_m + r[:, None] * u / shrink

    # Posterior moments of the true direction d = (A B, S), A = cos el, S = sin el, B = (sin az, cos az),
    # written so that nothing cancels: every (1 - lambda²) factor is of order sigma².
    cos2e, sin2e, cos2a, sin2a = np.cos(2 * el), np.sin(2 * el), np.cos(2 * az), np.sin(2 * az)
    var_a = 0.5 * (1.0 - le2) * (1.0 - le2 * cos2e)
    var_s = 0.5 * (1.0 - le2) * (1.0 + le2 * cos2e)
    cov_as = -0.5 * le2 * (1.0 - le2) * sin2e
    cov_b = np.empty((len(r), 2, 2))
    cov_b[:, 0, 0] = 0.5 * (1.0 - la2) * (1.0 + la2 * cos2a)
    cov_b[:, 1, 1] = 0.5 * (1.0 - la2) * (1.0 - la2 * cos2a)
    cov_b[:, 0, 1] = cov_b[:, 1, 0] = -0.5 * la2 * (1.0 - la2) * sin2a
    second_b = cov_b + la2 * b[:, :, None] * b[:, None, :]

    cov_d = np.empty((len(r), 3, 3))
    cov_d[:, :2, :2] = var_a[:, None, None] * second_b + (le2 * cos_e**2)[:, None, None] * cov_b
    cov_d[:, :2, 2] = cov_d[:, 2, :2] = (cov_as * lam_az)[:, None] * b
    cov_d[:, 2, 2] = var_s
    mean_d = u * shrink
    bias = r[:, None] * u * (1.0 / shrink - shrink)  # converted minus posterior mean position
    R_enu = (
        (r**2 + sigma_r**2)[:, None, None] * cov_d
        + sigma_r**2 * mean_d[:, :, None] * mean_d[:, None, :]
        + bias[:, :, None] * bias[:, None, :]
    )
    return z_enu, R_enu


def polar_measurement(x: Array, sensor_enu_m: Array, with_range_rate: bool) -> tuple[Array, Array]:
    """Predicted polar plots ``h(x) (N, 3|4)`` of N states seen from a sensor, and the Jacobians ``H (N, 3|4, 6)``.

    Components as :class:`Plots` (range, azimuth clockwise from north, elevation, optional range rate).
    """
    d, v = x[:, POS] - sensor_enu_m, x[:, VEL]
    de, dn, du = d[:, 0], d[:, 1], d[:, 2]
    rho2 = np.maximum(de**2 + dn**2, 1e-12)
    rho = np.sqrt(rho2)
    r2 = rho2 + du**2
    r = np.sqrt(r2)
    k = 4 if with_range_rate else 3
    h = np.empty((len(x), k))
    h[:, 0], h[:, 1], h[:, 2] = r, np.mod(np.arctan2(de, dn), 2 * np.pi), np.arctan2(du, rho)
    H = np.zeros((len(x), k, STATE_DIM))
    H[:, 0, POS] = d / r[:, None]
    H[:, 1, 0], H[:, 1, 1] = dn / rho2, -de / rho2
    H[:, 2, 0], H[:, 2, 1], H[:, 2, 2] = -du * de / (r2 * rho), -du * dn / (r2 * rho), rho / r2
    if with_range_rate:
        rr = np.einsum("ni,ni->n", d, v) / r
        h[:, 3] = rr
        H[:, 3, POS] = v / r[:, None] - (rr / r2)[:, None] * d
        H[:, 3, VEL] = d / r[:, None]
    return h, H


def polar_innovation(z: Array, h: Array) -> Array:
    """``z - h`` for polar plots, with the azimuth difference wrapped into [-π, π)."""
    nu = z - h
    nu[:, 1] = np.mod(nu[:, 1] + np.pi, 2 * np.pi) - np.pi
    return nu
