"""JPDA: marginals against a hand-worked cluster and brute force, the PDA update, and the tracker with clutter."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from test_tracker import T0, radar_scan

from skywarden.geo import enu_to_polar
from skywarden.tracking import Status, Tracker, TrackerParams
from skywarden.tracking.filters import ekf_polar_update, update
from skywarden.tracking.gating import Candidates
from skywarden.tracking.jpda import marginals, model_probabilities, pda_update, pda_update_polar


def candidates(track: list[int], plot: list[int]) -> Candidates:
    zeros = np.zeros(len(track))
    return Candidates(np.array(track, np.intp), np.array(plot, np.intp), zeros, zeros, 16.0, zeros)


def test_marginals_of_a_hand_worked_two_target_three_plot_cluster() -> None:
    # Pd = 0.625, Pg = 0.8: a miss weighs b = 1 - Pd Pg = 0.5. With clutter density λ = Pd the
    # likelihood ratio Pd N / λ of a pair is its likelihood N; we take
    #   T1-p1: 4, T1-p2: 2, T2-p2: 6, T2-p3: 1, and a separate track T3 with one plot p4: 3.
    # Joint events of the cluster {T1, T2} (T1's plot, T2's plot; 0 = miss) and their weights:
    #   (0,0) .25  (p1,0) 2  (p2,0) 1  (0,p2) 3  (0,p3) .5  (p1,p2) 24  (p1,p3) 4  (p2,p3) 2
    #   ((p2,p2) is infeasible); total 36.75.
    # β(T1,p1) = (2+24+4)/36.75 = 30/36.75   β(T1,p2) = (1+2)/36.75   β(T1,0) = (.25+3+.5)/36.75
    # β(T2,p2) = (3+24)/36.75 = 27/36.75     β(T2,p3) = (.5+4+2)/36.75 β(T2,0) = (.25+2+1)/36.75
    # T3 alone is a PDA: β(T3,p4) = 3 / (.5 + 3), β(T3,0) = .5 / 3.5.
    cand = candidates([0, 0, 1, 1, 2], [0, 1, 1, 2, 3])
    log_lik = np.log([4.0, 2.0, 6.0, 1.0, 3.0])
    m = marginals(cand, log_lik, n_tracks=4, n_plots=5, detection_probability=0.625,
                  clutter_density_per_m3=0.625, gate_probability=0.8)
    np.testing.assert_allclose(m.beta, np.array([30, 3, 27, 6.5, 36.75 * 3 / 3.5]) / 36.75, rtol=1e-12)
    np.testing.assert_allclose(m.beta0, [3.75 / 36.75, 3.25 / 36.75, 0.5 / 3.5, 1.0], rtol=1e-12)


def test_clusters_too_big_for_enumeration_get_the_cheap_jpda() -> None:
    # Fitzgerald: β_tp = L_tp / (b + S_t + S_p - L_tp); row sums S_T1 = 6, S_T2 = 7, column sum S_p2 = 8
    cand = candidates([0, 0, 1, 1], [0, 1, 1, 2])
    m = marginals(cand, np.log([4.0, 2.0, 6.0, 1.0]), 2, 3, 0.625, 0.625, 0.8, max_tracks=1)
    np.testing.assert_allclose(m.beta, [4 / 6.5, 2 / (0.5 + 6 + 8 - 2), 6 / (0.5 + 7 + 8 - 6), 1 / 7.5])
    assert np.all(m.beta0 > 0)


@pytest.mark.parametrize("seed", range(5))
def test_exact_marginals_equal_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_tracks, n_plots = 5, 6
    gated = rng.random((n_tracks, n_plots)) < 0.5
    gated[np.arange(n_tracks), rng.integers(0, 2, n_tracks)] = True  # all share plots 0 and 1
    track, plot = (a.tolist() for a in np.nonzero(gated))
    ratio = np.exp(rng.normal(0, 2, len(track)))
    pd, density, pg = 0.9, 1e-3, 0.99
    m = marginals(candidates(track, plot), np.log(ratio * density / pd), n_tracks, n_plots, pd, density, pg)
    L = dict(zip(zip(track, plot, strict=True), ratio, strict=True))
    b = 1 - pd * pg
    total, beta = 0.0, dict.fromkeys(L, 0.0)
    for event in itertools.product(*[[None] + [p for (t, p) in L if t == i] for i in range(n_tracks)]):
        used = [p for p in event if p is not None]
        if len(used) != len(set(used)):
            continue
        w = float(np.prod([b if p is None else L[(t, p)] for t, p in enumerate(event)]))
        total += w
        for t, p in enumerate(event):
            if p is not None:
                beta[(t, p)] += w
    np.testing.assert_allclose(m.beta, [beta[k] / total for k in zip(track, plot, strict=True)], rtol=1e-9)


def test_pda_update_reduces_to_the_kalman_update_and_to_no_update() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(0, 10, (2, 6))
    A = rng.normal(size=(2, 6, 6))
    P = A @ A.transpose(0, 2, 1) + np.eye(6) * 5
    z = rng.normal(0, 10, (3, 3))
    R = np.broadcast_to(np.eye(3) * 4.0, (3, 3, 3))
    track, plot = np.array([0, 1, 1], np.intp), np.array([0, 1, 2], np.intp)
    rows, x_new, P_new = pda_update(x, P, z, R, track, plot, np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0]))
    x_kf, P_kf, _ = update(x[:1], P[:1], z[:1], R[:1])
    assert rows.tolist() == [0, 1]
    np.testing.assert_allclose(x_new[0], x_kf[0])
    np.testing.assert_allclose(P_new[0], P_kf[0])
    np.testing.assert_allclose(x_new[1], x[1])
    np.testing.assert_allclose(P_new[1], P[1])
    # split between two plots: the mean innovation, and the covariance grows by the spread term
    _, x_mix, P_mix = pda_update(x, P, z, R, track, plot, np.array([1.0, 0.5, 0.5]), np.array([0.0, 0.0]))
    x_mid, P_mid, _ = update(x[1:], P[1:], (z[1:2] + z[2:3]) / 2, R[:1])
    np.testing.assert_allclose(x_mix[1], x_mid[0])
    assert np.linalg.eigvalsh(P_mix[1] - P_mid[0]).min() > -1e-9


def test_jpda_tracks_a_lone_target_in_clutter() -> None:
    rng = np.random.default_rng(7)
    tracker = Tracker(TrackerParams(associator="jpda", clutter_density_per_m3=1e-9))
    start, velocity = np.array([800.0, 1500.0, 100.0]), np.array([-12.0, 8.0, 0.0])
    errors = []
    for k in range(60):
        truth = start + velocity * k
        tracker.step(radar_scan(rng, T0 + k, truth, pd=0.9, clutter_per_scan=20)[0])
        table = tracker.table
        confirmed = table.status != Status.TENTATIVE
        if k >= 10:
            assert confirmed.sum() == 1
            errors.append(np.linalg.norm(table.x[confirmed][0, :3] - truth))
    assert len(set(tracker.table.id[tracker.table.status != Status.TENTATIVE])) == 1
    assert np.sqrt(np.mean(np.square(errors))) < 20.0
    assert np.linalg.norm(tracker.table.x[tracker.table.status != Status.TENTATIVE][0, 3:] - velocity) < 4.0


def test_imm_model_probabilities_mix_the_association_posteriors() -> None:
    mu = np.array([[0.5, 0.5], [0.9, 0.1]])
    # track 0: one plot, twice as likely under model 1; track 1: only a miss
    ll = np.log(np.array([[1.0, 2.0]]))
    out = model_probabilities(mu, np.array([0], np.intp), ll, np.array([1.0]), np.array([0.0, 1.0]))
    np.testing.assert_allclose(out, [[1 / 3, 2 / 3], [0.9, 0.1]])
    half = model_probabilities(mu, np.array([0], np.intp), ll, np.array([0.5]), np.array([0.5, 1.0]))
    np.testing.assert_allclose(half[0], 0.5 * np.array([0.5, 0.5]) + 0.5 * np.array([1 / 3, 2 / 3]))


def test_polar_pda_update_reduces_to_the_ekf_update() -> None:
    rng = np.random.default_rng(2)
    sensor = np.array([0.0, 0.0, 10.0])
    x = np.column_stack([rng.uniform(500, 3000, (2, 3)), rng.normal(0, 10, (2, 3))])
    P = np.broadcast_to(np.diag([100.0, 100, 100, 25, 25, 25]), (2, 6, 6)).copy()
    sigma = np.array([5.0, 0.01, 0.02, 0.5])
    z = np.column_stack([enu_to_polar(x[:, :3] - sensor), np.zeros(2)]) + rng.normal(size=(2, 4)) * sigma
    track, plot = np.array([0, 1], np.intp), np.array([0, 1], np.intp)
    rows, x_new, P_new = pda_update_polar(x, P, z, sigma, sensor, track, plot, np.array([1.0, 0.0]), np.array([0.0, 1.0]))
    assert rows.tolist() == [0, 1]
    x_ekf, P_ekf, _ = ekf_polar_update(x[:1], P[:1], z[:1], sigma, sensor)
    np.testing.assert_allclose(x_new[0], x_ekf[0])
    np.testing.assert_allclose(P_new[0], P_ekf[0], atol=1e-9)
    np.testing.assert_allclose(x_new[1], x[1])
    np.testing.assert_allclose(P_new[1], P[1])
