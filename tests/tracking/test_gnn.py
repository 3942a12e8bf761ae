"""Global nearest neighbour association, solved per cluster."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from skywarden.tracking.association import clusters, gnn, gnn_prioritised, pair_cost
from skywarden.tracking.gating import Candidates, gate


def scene(track_east: list[float], plot_east: list[float]) -> Candidates:
    """Tracks and plots on the east axis with S = I for every pair, so d² is the squared distance."""
    x = np.zeros((len(track_east), 6))
    x[:, 0] = track_east
    P = np.tile(np.eye(6) * 0.5, (len(track_east), 1, 1))
    z = np.zeros((len(plot_east), 3))
    z[:, 0] = plot_east
    return gate(x, P, z, np.tile(np.eye(3) * 0.5, (len(plot_east), 1, 1)), 0.999)


def test_gnn_beats_greedy_nearest_neighbour() -> None:
    # A at 0, B at 3; plots p at 2, q at 6 (outside A's gate, radius ~4.03).
    # Greedy takes the closest pair B-p first and leaves A and q alone; GNN pairs A-p and B-q.
    cand = scene([0.0, 3.0], [2.0, 6.0])
    assert sorted(zip(cand.track.tolist(), cand.plot.tolist(), strict=True)) == [(0, 0), (1, 0), (1, 1)]
    tracks, plots = gnn(cand, 2, 2)
    assert tracks.tolist() == [0, 1]
    assert plots.tolist() == [0, 1]


def test_gnn_minimises_total_distance_not_each_track_greedily() -> None:
    # both plots are in both gates; greedy (A's nearest first) gives A-p, B-q: 0.25 + 6.25;
    # the global optimum is A-q, B-p: 1.21 + 0.81
    cand = scene([0.0, 2.0], [0.5, -1.1])
    tracks, plots = gnn(cand, 2, 2)
    assert dict(zip(tracks.tolist(), plots.tolist(), strict=True)) == {0: 1, 1: 0}


def test_clusters_split_the_gated_graph() -> None:
    count, track_label, plot_label = clusters(
        np.array([0, 1, 1, 2]), np.array([0, 0, 1, 2]), n_tracks=4, n_plots=4
    )
    assert count == 4  # {T0, T1, P0, P1}, {T2, P2}, {T3}, {P3}
    assert track_label[0] == track_label[1] == plot_label[0] == plot_label[1]
    assert track_label[2] == plot_label[2] != track_label[0]
    assert len({track_label[0], track_label[2], track_label[3], plot_label[3]}) == 4


def test_per_cluster_solution_is_globally_optimal() -> None:
    rng = np.random.default_rng(7)
    n, m = 60, 70
    x = np.zeros((n, 6))
    x[:, :3] = rng.uniform(0, 400, (n, 3)) * np.array([1, 1, 0.1])
    P = np.tile(np.diag([30.0, 30.0, 30.0, 1, 1, 1]), (n, 1, 1))
    z = np.vstack([x[:50, :3] + rng.normal(size=(50, 3)) * 5, rng.uniform(0, 400, (m - 50, 3)) * [1, 1, 0.1]])
    R = np.tile(np.eye(3) * 20.0, (m, 1, 1))
    cand = gate(x, P, z, R, 0.999)
    tracks, plots = gnn(cand, n, m)
    _, labels, _ = clusters(cand.track, cand.plot, n, m)
    assert len(np.unique(labels)) > 10  # several clusters, some with more than one pair
    assert len(np.unique(tracks)) == len(tracks) and len(np.unique(plots)) == len(plots)

    # one big assignment over all tracks (dummy column per track for a miss) reaches the same cost
    cost = pair_cost(cand)
    miss = np.full(n, -np.inf)
    np.maximum.at(miss, cand.track, cand.gate_d2 + cand.log_det_s)
    big = np.full((n, m + n), 1e12)
    big[cand.track, cand.plot] = cost
    has_pairs = np.isfinite(miss)
    big[np.arange(n), m + np.arange(n)] = np.where(has_pairs, miss, 0.0)  # ungated tracks: free miss
    rows, cols = linear_sum_assignment(big)
    best = big[rows, cols].sum()

    lookup = {(t, p): c for t, p, c in zip(cand.track, cand.plot, cost, strict=True)}
    ours = sum(lookup[(t, p)] for t, p in zip(tracks, plots, strict=True))
    ours += miss[has_pairs & ~np.isin(np.arange(n), tracks)].sum()
    np.testing.assert_allclose(ours, best, rtol=1e-9)


def test_prioritised_tracks_choose_first() -> None:
    # the plot is nearer the second track, but the first (confirmed) one is served first
    cand = scene([0.0, 1.0], [0.8])
    assert gnn(cand, 2, 1)[0].tolist() == [1]
    tracks, plots = gnn_prioritised(cand, 2, 1, first=np.array([True, False]))
    assert tracks.tolist() == [0] and plots.tolist() == [0]


def test_no_candidates_no_pairs() -> None:
    tracks, plots = gnn(scene([0.0], [100.0]), 1, 1)
    assert len(tracks) == 0 and len(plots) == 0
