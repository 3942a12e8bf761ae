"""Constant-velocity model and the batched Kalman predictor/updater."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import solve_discrete_are
from scipy.stats import chi2, multivariate_normal

from skywarden.geo import enu_to_polar
from skywarden.sensors import Plots
from skywarden.tracking.filters import imm_combine, imm_mix, imm_predict, inv_sym3, predict, update
from skywarden.tracking.models import F, Q, polar_plots_to_enu

H = np.hstack([np.eye(3), np.zeros((3, 3))])


def test_f_and_q_batch_shapes_and_values() -> None:
    dts = np.array([0.5, 1.0, 2.0])
    assert F(1.0).shape == (6, 6)
    assert F(dts).shape == (3, 6, 6)
    assert Q(dts, 4.0, 1.0).shape == (3, 6, 6)
    np.testing.assert_allclose(F(dts)[2], F(2.0))
    q2 = Q(2.0, 4.0, 1.0)
    np.testing.assert_allclose(q2[[0, 0, 3], [0, 3, 3]], 4.0 * np.array([8 / 3, 2.0, 2.0]))
    np.testing.assert_allclose(q2[[2, 2, 5], [2, 5, 5]], 1.0 * np.array([8 / 3, 2.0, 2.0]))
    np.testing.assert_allclose(q2, q2.T)
    assert np.linalg.eigvalsh(q2).min() > 0
    assert np.all(q2[0, [1, 2, 4, 5]] == 0)  # axes are independent


def test_q_adds_up_over_substeps() -> None:
    # predicting twice by dt/2 (with zero initial covariance) equals predicting once by dt
    q = Q(0.5, 3.0)
    twice = F(0.5) @ q @ F(0.5).T + q
    np.testing.assert_allclose(twice, Q(1.0, 3.0), atol=1e-12)


def test_prediction_is_exact_for_noiseless_cv_targets() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 6)) * np.array([1000, 1000, 100, 30, 30, 3])
    dt = rng.uniform(0.1, 5.0, 50)
    x_pred, P_pred = predict(x, np.zeros((50, 6, 6)), dt, q=0.0)
    np.testing.assert_allclose(x_pred[:, :3], x[:, :3] + x[:, 3:] * dt[:, None], rtol=1e-12)
    np.testing.assert_allclose(x_pred[:, 3:], x[:, 3:])
    np.testing.assert_allclose(P_pred, 0.0)
    # the same target, predicted in 10 steps of 0.3 s, lands where one 3 s step puts it
    x1, P1 = x[:1], np.zeros((1, 6, 6))
    for _ in range(10):
        x1, P1 = predict(x1, P1, 0.3, q=5.0, q_vertical=1.0)
    x3, P3 = predict(x[:1], np.zeros((1, 6, 6)), 3.0, q=5.0, q_vertical=1.0)
    np.testing.assert_allclose(x1, x3, rtol=1e-12)
    np.testing.assert_allclose(P1, P3, rtol=1e-9, atol=1e-9)


def run_filter(x0: np.ndarray, P0: np.ndarray, zs: np.ndarray, R: np.ndarray, q: float, qv: float):
    x, P = x0[None], P0[None]
    for z in zs:
        x, P = predict(x, P, 1.0, q, qv)
        x, P, _ = update(x, P, z[None], R[None])
    return x[0], P[0]


def test_static_target_converges_to_truth_without_process_noise() -> None:
    rng = np.random.default_rng(1)
    truth = np.array([300.0, -200.0, 50.0])
    R = np.diag([100.0, 400.0, 900.0])
    zs = truth + rng.multivariate_normal(np.zeros(3), R, size=400)
    P0 = np.diag([1e4, 1e4, 1e4, 1e3, 1e3, 1e3])
    x, P = run_filter(np.zeros(6), P0, zs, R, q=0.0, qv=0.0)
    err = x - np.r_[truth, 0, 0, 0]
    assert err @ np.linalg.solve(P, err) < chi2.ppf(0.999, 6)
    assert np.all(np.sqrt(np.diag(P)[:3]) < 2.0 * np.sqrt(np.diag(R)) / np.sqrt(400) * 1.1)
    assert np.all(np.abs(err[:3]) < 4.0 * np.sqrt(np.diag(P)[:3]))


@pytest.mark.parametrize("R_diag", [(100.0, 100.0, 100.0), (25.0, 900.0, 3600.0)])
def test_covariance_converges_to_the_per_axis_riccati_solution(R_diag: tuple[float, float, float]) -> None:
    q, qv = 8.0, 1.5
    R = np.diag(R_diag)
    zs = np.zeros((300, 3))  # a static target at the origin, noise-free readings: P does not depend on z
    x, P_upd = run_filter(np.zeros(6), np.diag([1e4] * 3 + [1e3] * 3), zs, R, q, qv)
    P_pred = predict(x[None], P_upd[None], 1.0, q, qv)[1][0]
    for axis, (qa, ra) in enumerate(zip((q, q, qv), R_diag, strict=True)):
        f = np.array([[1.0, 1.0], [0.0, 1.0]])
        qa_mat = qa * np.array([[1 / 3, 1 / 2], [1 / 2, 1.0]])
        steady = solve_discrete_are(f.T, np.array([[1.0], [0.0]]), qa_mat, np.array([[ra]]))
        block = P_pred[np.ix_([axis, axis + 3], [axis, axis + 3])]
        np.testing.assert_allclose(block, steady, rtol=1e-6)


def test_covariance_converges_to_the_3d_riccati_solution_with_correlated_noise() -> None:
    q, qv = 20.0, 2.0
    A = np.array([[30.0, 0, 0], [10.0, 60.0, 0], [-5.0, 20.0, 80.0]])
    R = A @ A.T  # a full, converted-radar-like covariance
    _, P_upd = run_filter(np.zeros(6), np.diag([1e5] * 3 + [1e3] * 3), np.zeros((300, 3)), R, q, qv)
    P_pred = predict(np.zeros((1, 6)), P_upd[None], 1.0, q, qv)[1][0]
    steady = solve_discrete_are(F(1.0).T, H.T, Q(1.0, q, qv), R)
    np.testing.assert_allclose(P_pred, steady, rtol=1e-6, atol=1e-6)


def test_update_matches_textbook_kalman_update() -> None:
    rng = np.random.default_rng(2)
    A = rng.normal(size=(4, 6, 6))
    P = A @ A.transpose(0, 2, 1) + np.eye(6)
    B = rng.normal(size=(4, 3, 3))
    R = B @ B.transpose(0, 2, 1) + np.eye(3)
    x, z = rng.normal(size=(4, 6)), rng.normal(size=(4, 3))
    x_upd, P_upd, _ = update(x, P, z, R)
    for i in range(4):
        S = H @ P[i] @ H.T + R[i]
        K = P[i] @ H.T @ np.linalg.inv(S)
        np.testing.assert_allclose(x_upd[i], x[i] + K @ (z[i] - H @ x[i]), rtol=1e-10)
        np.testing.assert_allclose(P_upd[i], (np.eye(6) - K @ H) @ P[i], rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(P_upd[i], P_upd[i].T)


def test_nees_of_a_cv_target_is_chi_square_consistent() -> None:
    """Monte Carlo runs of a CV target driven by the model's own process noise: mean NEES ≈ 6."""
    rng = np.random.default_rng(3)
    runs, steps, q, qv = 100, 60, 5.0, 1.0
    A = np.array([[20.0, 0, 0], [5.0, 40.0, 0], [0.0, 10.0, 60.0]])
    R = A @ A.T
    Qm = Q(1.0, q, qv)
    P0 = np.diag([400.0, 400.0, 400.0, 100.0, 100.0, 100.0])
    truth = rng.multivariate_normal(np.r_[1000.0, 2000.0, 100.0, 15.0, -10.0, 0.0], P0, size=runs)
    x = np.tile(np.r_[1000.0, 2000.0, 100.0, 15.0, -10.0, 0.0], (runs, 1))
    P = np.tile(P0, (runs, 1, 1))
    nees = np.empty((steps, runs))
    for k in range(steps):
        truth = truth @ F(1.0).T + rng.multivariate_normal(np.zeros(6), Qm, size=runs)
        z = truth[:, :3] + rng.multivariate_normal(np.zeros(3), R, size=runs)
        x, P = predict(x, P, 1.0, q, qv)
        x, P, _ = update(x, P, z, np.tile(R, (runs, 1, 1)))
        err = truth - x
        nees[k] = np.einsum("ni,ni->n", err, np.linalg.solve(P, err[:, :, None])[:, :, 0])
    lo, hi = chi2.ppf([0.025, 0.975], runs * 6) / runs
    per_step = nees.mean(axis=1)
    assert lo < nees.mean() < hi
    assert np.mean((per_step > lo) & (per_step < hi)) >= 0.9


def test_nees_with_converted_radar_plots_is_consistent() -> None:
    """The same check through the radar: polar plots, unbiased conversion, then the filter."""
    rng = np.random.default_rng(4)
    runs, steps, q, qv = 200, 40, 5.0, 1.0
    sigma = np.array([5.0, np.deg2rad(0.5), np.deg2rad(1.0)])
    sensor = np.array([0.0, 0.0, 10.0])
    x0 = np.r_[0.0, 4500.0, 150.0, 20.0, -10.0, 0.0]
    P0 = np.diag([900.0, 900.0, 900.0, 100.0, 100.0, 4.0])
    truth = rng.multivariate_normal(x0, P0, size=runs)
    x, P = np.tile(x0, (runs, 1)), np.tile(P0, (runs, 1, 1))
    nees = np.empty((steps, runs))
    for k in range(steps):
        truth = truth @ F(1.0).T + rng.multivariate_normal(np.zeros(6), Q(1.0, q, qv), size=runs)
        polar = enu_to_polar(truth[:, :3] - sensor) + rng.normal(size=(runs, 3)) * sigma
        z, R = polar_plots_to_enu(Plots("radar", float(k), sensor, polar, sigma))
        x, P = predict(x, P, 1.0, q, qv)
        x, P, _ = update(x, P, z, R)
        err = truth - x
        nees[k] = np.einsum("ni,ni->n", err, np.linalg.solve(P, err[:, :, None])[:, :, 0])
    lo, hi = chi2.ppf([0.025, 0.975], runs * 6) / runs
    assert lo < nees.mean() < hi
    assert np.mean((nees.mean(axis=1) > lo) & (nees.mean(axis=1) < hi)) >= 0.9


def test_imm_mixing_and_combination_on_hand_cases() -> None:
    xm = np.zeros((1, 2, 6))
    xm[0, 1, 0] = 10.0  # the models disagree by 10 m in east
    Pm = np.tile(np.eye(6), (1, 2, 1, 1))
    mu = np.array([[0.25, 0.75]])
    x, P = imm_combine(xm, Pm, mu)
    assert x[0, 0] == pytest.approx(7.5)
    assert P[0, 0, 0] == pytest.approx(1.0 + 0.25 * 7.5**2 + 0.75 * 2.5**2)  # spread of the means
    x0, P0, c = imm_mix(xm, Pm, mu, np.eye(2))  # no switching: nothing mixes
    np.testing.assert_allclose(x0, xm)
    np.testing.assert_allclose(P0, Pm)
    np.testing.assert_allclose(c, mu)
    x0, _, c = imm_mix(xm, Pm, mu, np.full((2, 2), 0.5))  # memoryless: both start from the mixture
    np.testing.assert_allclose(x0[0, 0], x[0])
    np.testing.assert_allclose(x0[0, 1], x[0])
    np.testing.assert_allclose(c, [[0.5, 0.5]])


def test_update_log_likelihood_is_the_gaussian_density() -> None:
    x = np.array([[1.0, 2.0, 3.0, 0.0, 0.0, 0.0]])
    P = np.eye(6)[None] * 4.0
    R = np.diag([1.0, 2.0, 3.0])[None]
    z = np.array([[2.0, 0.0, 5.0]])
    expected = multivariate_normal(mean=x[0, :3], cov=P[0, :3, :3] + R[0]).logpdf(z[0])
    assert update(x, P, z, R)[2][0] == pytest.approx(expected)


def test_update_over_tracks_and_models_at_once_equals_one_at_a_time_and_the_joseph_form() -> None:
    rng = np.random.default_rng(11)
    A = rng.normal(size=(5, 3, 6, 6))
    P = A @ np.swapaxes(A, -1, -2) + np.eye(6)
    B = rng.normal(size=(5, 1, 3, 3))
    R = B @ np.swapaxes(B, -1, -2) + np.eye(3)
    x, z = rng.normal(size=(5, 3, 6)), rng.normal(size=(5, 1, 3))
    x_all, P_all, ll_all = update(x, P, z, R)
    for i in range(5):
        for j in range(3):
            x_one, _, ll_one = update(x[i, j][None], P[i, j][None], z[i], R[i])
            np.testing.assert_allclose(x_all[i, j], x_one[0], rtol=1e-12)
            np.testing.assert_allclose(ll_all[i, j], ll_one[0], rtol=1e-12)
            S = H @ P[i, j] @ H.T + R[i, 0]
            K = P[i, j] @ H.T @ np.linalg.inv(S)
            joseph = (np.eye(6) - K @ H) @ P[i, j] @ (np.eye(6) - K @ H).T + K @ R[i, 0] @ K.T
            np.testing.assert_allclose(P_all[i, j], joseph, rtol=1e-8, atol=1e-10)


def test_imm_predict_equals_predicting_each_model_on_its_own() -> None:
    rng = np.random.default_rng(12)
    A = rng.normal(size=(4, 3, 6, 6))
    Pm, xm = A @ np.swapaxes(A, -1, -2), rng.normal(size=(4, 3, 6))
    q, qv, w = (0.1, 30.0, 5.0), (0.05, 3.0, 1.0), (0.0, 0.2, -0.2)
    x_all, P_all = imm_predict(xm, Pm, 1.5, q, qv, w)
    for j in range(3):
        x_j, P_j = predict(xm[:, j], Pm[:, j], np.full(4, 1.5), q[j], qv[j], w[j])  # per-track dt: the general path
        np.testing.assert_allclose(x_all[:, j], x_j, rtol=1e-12)
        np.testing.assert_allclose(P_all[:, j], P_j, rtol=1e-10, atol=1e-12)


def test_inv_sym3_inverts_and_gives_the_determinant() -> None:
    rng = np.random.default_rng(13)
    A = rng.normal(size=(2, 7, 3, 3))
    S = A @ np.swapaxes(A, -1, -2) + 0.1 * np.eye(3)
    S_inv, det = inv_sym3(S)
    np.testing.assert_allclose(S_inv, np.linalg.inv(S), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(det, np.linalg.det(S), rtol=1e-12)
