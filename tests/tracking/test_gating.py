"""Chi-square gating with the KD-tree pre-gate."""

from __future__ import annotations

import numpy as np
from scipy.stats import chi2

from skywarden.tracking.gating import gate, gate_threshold


def one_track(P_pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.array([[100.0, 200.0, 50.0, 10.0, 0.0, 0.0]])
    P = np.zeros((1, 6, 6))
    P[0, :3, :3] = P_pos
    P[0, 3:, 3:] = np.eye(3)
    return x, P


def test_threshold_is_the_chi_square_quantile() -> None:
    assert gate_threshold(0.999) == chi2.ppf(0.999, 3)
    assert 16.2 < gate_threshold(0.999) < 16.3


def test_keeps_plot_at_prediction_and_rejects_plot_beyond_the_bound() -> None:
    P_pos = np.diag([100.0, 400.0, 25.0])
    R = np.tile(np.diag([25.0, 25.0, 100.0]), (4, 1, 1))
    x, P = one_track(P_pos)
    S = P_pos + R[0]
    gamma = gate_threshold(0.999)
    east = np.sqrt(gamma * S[0, 0])  # the gate edge along east
    z = x[0, :3] + np.array([[0.0, 0, 0], [0.99 * east, 0, 0], [1.01 * east, 0, 0], [0, 0, 1.01 * np.sqrt(gamma * S[2, 2])]])
    cand = gate(x, P, z, R, 0.999)
    assert cand.plot.tolist() == [0, 1]
    assert cand.track.tolist() == [0, 0]
    np.testing.assert_allclose(cand.d2, [0.0, 0.99**2 * gamma])
    np.testing.assert_allclose(cand.log_det_s, np.log(np.linalg.det(S)))
    assert cand.gate_d2 == gamma


def test_prefilter_finds_exactly_the_brute_force_pairs() -> None:
    rng = np.random.default_rng(5)
    n, m = 300, 400
    x = np.zeros((n, 6))
    x[:, :3] = rng.uniform(-3000, 3000, (n, 3))
    A = rng.normal(size=(n, 3, 3)) * rng.uniform(5, 80, (n, 1, 1))
    P = np.tile(np.eye(6) * 4.0, (n, 1, 1))
    P[:, :3, :3] = A @ A.transpose(0, 2, 1) + np.eye(3)
    z = x[rng.integers(0, n, m), :3] + rng.normal(size=(m, 3)) * 60.0
    B = rng.normal(size=(m, 3, 3)) * rng.uniform(2, 50, (m, 1, 1))
    R = B @ B.transpose(0, 2, 1) + np.eye(3)
    cand = gate(x, P, z, R, 0.99)

    nu = z[None, :, :] - x[:, None, :3]
    S = P[:, None, :3, :3] + R[None]
    d2 = np.einsum("tpi,tpi->tp", nu, np.linalg.solve(S, nu[..., None])[..., 0])
    t_idx, p_idx = np.nonzero(d2 <= chi2.ppf(0.99, 3))
    assert len(t_idx) > 200  # the scene is crowded enough to matter
    assert cand.track.tolist() == t_idx.tolist()
    assert cand.plot.tolist() == p_idx.tolist()
    np.testing.assert_allclose(cand.d2, d2[t_idx, p_idx], rtol=1e-9)


def test_max_travel_bounds_tracks_started_from_one_plot() -> None:
    x, P = one_track(np.diag([1e4, 1e4, 1e4]))  # wide gate: ~400 m
    R = np.tile(np.eye(3) * 4.0, (2, 1, 1))
    z = x[0, :3] + np.array([[50.0, 0, 0], [150.0, 0, 0]])
    assert gate(x, P, z, R).plot.tolist() == [0, 1]
    assert gate(x, P, z, R, max_travel_m=np.array([60.0])).plot.tolist() == [0]
    assert gate(x, P, z, R, max_travel_m=np.array([np.inf])).plot.tolist() == [0, 1]


def test_empty_inputs_give_no_pairs() -> None:
    x, P = one_track(np.eye(3))
    assert len(gate(x, P, np.zeros((0, 3)), np.zeros((0, 3, 3)))) == 0
    assert len(gate(np.zeros((0, 6)), np.zeros((0, 6, 6)), np.ones((2, 3)), np.tile(np.eye(3), (2, 1, 1)))) == 0
