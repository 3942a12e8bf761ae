"""Polar radar plots -> ENU: round trip, unbiasedness and covariance against Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from skywarden.geo import enu_to_polar, polar_to_enu
from skywarden.sensors import Plots
from skywarden.tracking.models import plots_to_enu, polar_plots_to_enu

SIGMA = np.array([5.0, np.deg2rad(0.5), np.deg2rad(1.0)])
SENSOR = np.array([120.0, -40.0, 15.0])


def plots_at(polar: np.ndarray, sigma: np.ndarray = SIGMA) -> Plots:
    return Plots("radar", 0.0, SENSOR, polar, sigma)


@settings(max_examples=200, deadline=None)
@given(
    st.floats(-5000, 5000), st.floats(-5000, 5000), st.floats(-300, 1500),
)
def test_round_trip_with_tiny_noise(e: float, n: float, u: float) -> None:
    offset = np.array([e, n, u])
    assume(np.hypot(e, n) > 1.0)  # azimuth is undefined straight above the radar
    polar = enu_to_polar(offset)[None]
    z, _ = polar_plots_to_enu(plots_at(polar, np.array([1e-3, 1e-8, 1e-8])))
    np.testing.assert_allclose(z[0], SENSOR + offset, atol=1e-6)
    _, R = polar_plots_to_enu(plots_at(polar))
    np.testing.assert_allclose(R[0], R[0].T)
    np.linalg.cholesky(R[0])  # positive definite


@settings(max_examples=100, deadline=None)
@given(st.floats(100, 20000), st.floats(0, 2 * np.pi), st.floats(-0.08, 1.0))
def test_covariance_is_first_order_jacobian(range_m: float, az: float, el: float) -> None:
    polar = np.array([[range_m, az, el]])
    _, R = polar_plots_to_enu(plots_at(polar))
    ce, se, ca, sa = np.cos(el), np.sin(el), np.cos(az), np.sin(az)
    J = np.array([
        [ce * sa, range_m * ce * ca, -range_m * se * sa],
        [ce * ca, -range_m * ce * sa, -range_m * se * ca],
        [se, 0.0, range_m * ce],
    ])
    jrj = J @ np.diag(SIGMA**2) @ J.T
    # whitened by the first-order covariance, the exact one differs by O(sigma_angle²)
    Linv = np.linalg.inv(np.linalg.cholesky(jrj))
    eig = np.linalg.eigvalsh(Linv @ R[0] @ Linv.T)
    assert eig.min() > 0.99
    assert eig.max() < 1.0 + 4.0 * (range_m * SIGMA[2] ** 2) ** 2 / SIGMA[0] ** 2 + 0.01


@pytest.mark.parametrize(
    "truth_polar",
    [(4800.0, 0.3, np.deg2rad(1.0)), (1500.0, 4.0, np.deg2rad(12.0)), (3000.0, 2.2, np.deg2rad(-2.0))],
)
def test_unbiased_and_covariance_matches_monte_carlo(truth_polar: tuple[float, float, float]) -> None:
    rng = np.random.default_rng(11)
    n = 200_000
    truth = np.array(truth_polar)
    samples = truth + rng.normal(size=(n, 3)) * SIGMA
    z, R = polar_plots_to_enu(plots_at(samples))
    err = z - (SENSOR + polar_to_enu(truth))
    mc_cov = np.cov(err.T)

    # unbiased: the mean error is within 4 standard errors of zero on every axis
    assert np.all(np.abs(err.mean(axis=0)) < 4.0 * np.sqrt(np.diag(mc_cov) / n))

    # the normalised error squared has the chi-square mean, 3 (its variance is 6 for Gaussian errors)
    nees = np.einsum("ni,nij,nj->n", err, np.linalg.inv(R), err)
    assert abs(nees.mean() - 3.0) < 4.0 * np.sqrt(6.0 / n)

    # across the line of sight the average R equals the Monte Carlo covariance; along it R is
    # conditioned on the measured line of sight, which adds the foreshortening r·(1 - cos error)
    los = polar_to_enu(np.array([1.0, truth[1], truth[2]]))
    across = np.linalg.svd(np.eye(3) - np.outer(los, los))[0][:, :2]
    Linv = np.linalg.inv(np.linalg.cholesky(across.T @ mc_cov @ across))
    np.testing.assert_allclose(np.linalg.eigvalsh(Linv @ across.T @ R.mean(axis=0) @ across @ Linv.T), 1.0, atol=0.01)
    along_excess = los @ R.mean(axis=0) @ los - los @ mc_cov @ los
    assert 0.0 < along_excess < 3.0 * (truth[0] * (SIGMA[1] ** 2 + SIGMA[2] ** 2)) ** 2


def test_enu_plots_pass_through_and_bad_shapes_are_refused() -> None:
    plots = Plots("cam", 0.0, np.zeros(3), [[1.0, 2.0, 3.0]], [2.0, 2.0, 4.0], frame="enu")
    z, R = plots_to_enu(plots)
    np.testing.assert_allclose(z, [[1.0, 2.0, 3.0]])
    np.testing.assert_allclose(R[0], np.diag([4.0, 4.0, 16.0]))
    doppler = Plots("r", 0.0, np.zeros(3), [[100.0, 0.1, 0.05, -3.0]], [5.0, 0.01, 0.01, 0.5])
    assert doppler.has_range_rate and plots_to_enu(doppler)[0].shape == (1, 3)
    for kwargs in ({"z": [[1.0, 2.0]], "sigma": [1.0, 1.0, 1.0]}, {"z": [[1.0, 2.0, 3.0]], "sigma": [1.0, 0.0, 1.0]},
                   {"z": [[1.0, 2.0, np.nan]], "sigma": [1.0, 1.0, 1.0]},
                   {"z": [[1.0, 2.0, 3.0, 4.0]], "sigma": [1.0, 1.0, 1.0, 1.0], "frame": "enu"}):
        with pytest.raises(ValueError, match="Plots"):
            Plots("r", 0.0, np.zeros(3), **kwargs)
