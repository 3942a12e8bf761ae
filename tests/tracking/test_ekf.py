"""EKF update for polar plots (range, azimuth, elevation, optional range rate) against the KF and simulation."""

from __future__ import annotations

import numpy as np
from scipy.stats import chi2

from skywarden.geo import enu_to_polar
from skywarden.sensors import Plots
from skywarden.tracking import Tracker, TrackerParams
from skywarden.tracking.filters import ekf_polar_update, predict, update
from skywarden.tracking.models import polar_innovation, polar_measurement, polar_plots_to_enu

SENSOR = np.array([100.0, -50.0, 10.0])


def radial_rate(d: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.einsum("ni,ni->n", d, v) / np.linalg.norm(d, axis=1)


def test_polar_measurement_and_jacobian_match_finite_differences() -> None:
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.uniform(-3000, 3000, (5, 2)), rng.uniform(20, 800, 5), rng.normal(0, 20, (5, 3))])
    h, H = polar_measurement(x, SENSOR, with_range_rate=True)
    d = x[:, :3] - SENSOR
    np.testing.assert_allclose(h[:, :3], enu_to_polar(d), rtol=1e-12)
    np.testing.assert_allclose(h[:, 3], radial_rate(d, x[:, 3:]), rtol=1e-12)
    eps = 1e-4
    for i in range(6):
        dx = np.zeros(6)
        dx[i] = eps
        hp, _ = polar_measurement(x + dx, SENSOR, True)
        hm, _ = polar_measurement(x - dx, SENSOR, True)
        np.testing.assert_allclose(polar_innovation(hp, hm) / (2 * eps), H[:, :, i], atol=1e-7)


def test_azimuth_innovation_wraps_through_north() -> None:
    nu = polar_innovation(np.array([[100.0, 0.01, 0.0]]), np.array([[100.0, 2 * np.pi - 0.01, 0.0]]))
    np.testing.assert_allclose(nu, [[0.0, 0.02, 0.0]], atol=1e-12)


def test_ekf_agrees_with_the_kf_on_a_tiny_noise_polar_plot() -> None:
    # with tiny angle/range noise the converted plot and its covariance are exact to first order,
    # so the EKF update in polar space and the KF update on the converted plot must coincide
    rng = np.random.default_rng(1)
    n = 20
    truth = np.column_stack([rng.uniform(-4000, 4000, (n, 2)), rng.uniform(50, 500, n)])
    x = np.column_stack([truth + rng.normal(0, 3, (n, 3)), rng.normal(0, 10, (n, 3))])
    P = np.broadcast_to(np.diag([9.0, 9, 9, 100, 100, 100]), (n, 6, 6)).copy()
    sigma = np.array([0.5, 1e-4, 1e-4])
    z = enu_to_polar(truth - SENSOR) + rng.normal(size=(n, 3)) * sigma
    x_ekf, P_ekf, _ = ekf_polar_update(x, P, z, sigma, SENSOR)
    z_enu, R_enu = polar_plots_to_enu(Plots("r", 0.0, SENSOR, z, sigma))
    x_kf, P_kf, _ = update(x, P, z_enu, R_enu)
    # what is left is the curvature of h over the few metres of prior error at kilometres of range
    np.testing.assert_allclose(x_ekf, x_kf, atol=0.02)
    np.testing.assert_allclose(P_ekf, P_kf, rtol=1e-3, atol=1e-3)


def test_ekf_tracker_equals_converted_tracker_on_enu_plots() -> None:
    rng = np.random.default_rng(2)
    trackers = [Tracker(TrackerParams(measurement_update=m)) for m in ("converted", "ekf")]
    for k in range(10):
        z = np.array([[10.0 * k, 5.0 * k, 100.0]]) + rng.normal(0, 3, (1, 3))
        for tracker in trackers:
            tracker.step(Plots("c", float(k), np.zeros(3), z, np.full(3, 3.0), frame="enu"))
    np.testing.assert_array_equal(trackers[0].table.x, trackers[1].table.x)


def run_radial(rng: np.random.Generator, with_range_rate: bool, scans: int) -> tuple[np.ndarray, np.ndarray]:
    """A CV target flying straight away from the sensor, EKF-tracked; (error of the radial velocity per scan,
    NIS per scan)."""
    sigma = np.array([5.0, np.deg2rad(0.5), np.deg2rad(1.0), 0.5])
    k = 4 if with_range_rate else 3
    direction = np.array([0.6, 0.8, 0.0])
    pos, vel = SENSOR + 2000.0 * direction + [0, 0, 100], 30.0 * direction
    z0 = np.r_[enu_to_polar(pos - SENSOR), 0.0] + rng.normal(size=4) * sigma
    x0, R0 = polar_plots_to_enu(Plots("r", 0.0, SENSOR, z0[None, :3], sigma[:3]))
    x = np.r_[x0[0], 0.0, 0.0, 0.0][None, :]
    P = np.zeros((1, 6, 6))
    P[0, :3, :3], P[0, 3:, 3:] = R0[0], np.eye(3) * 40.0**2
    vel_err, nis = np.empty(scans), np.empty(scans)
    for i in range(scans):
        pos = pos + vel
        x, P = predict(x, P, 1.0, 0.01)
        z = np.r_[enu_to_polar(pos - SENSOR), radial_rate((pos - SENSOR)[None], vel[None])[0]] + rng.normal(size=4) * sigma
        h, H = polar_measurement(x, SENSOR, with_range_rate)
        nu = polar_innovation(z[None, :k], h)[0]
        S = H[0] @ P[0] @ H[0].T + np.diag(sigma[:k] ** 2)
        nis[i] = nu @ np.linalg.solve(S, nu)
        x, P, _ = ekf_polar_update(x, P, z[None, :k], sigma, SENSOR)
        vel_err[i] = abs((x[0, 3:] - vel) @ direction)
    return vel_err, nis


def test_range_rate_improves_the_velocity_of_a_radial_target() -> None:
    rng = np.random.default_rng(3)
    runs = 40
    without = np.mean([run_radial(rng, False, 8)[0] for _ in range(runs)], axis=0)
    with_rr = np.mean([run_radial(rng, True, 8)[0] for _ in range(runs)], axis=0)
    assert np.all(with_rr < 0.5 * without)  # Doppler fixes the radial speed at once
    assert np.all(with_rr < 1.5)


def test_ekf_nis_is_chi_square_consistent() -> None:
    rng = np.random.default_rng(4)
    runs, scans = 60, 25
    for with_rr, dim in ((False, 3), (True, 4)):
        nis = np.array([run_radial(rng, with_rr, scans)[1] for _ in range(runs)])
        mean_nis = nis[:, 3:].mean(axis=0)  # averaged over runs, per scan
        lo, hi = chi2.ppf([0.0025, 0.9975], runs * dim) / runs
        assert np.mean((mean_nis > lo) & (mean_nis < hi)) >= 0.9, (dim, mean_nis)
        assert abs(nis[:, 3:].mean() - dim) < 0.1 * dim
