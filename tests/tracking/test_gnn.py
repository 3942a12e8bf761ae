"""Global nearest neighbour association, solved per cluster."""

from __future__ import annotations

import numpy as np
import pytest
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


def crowd(seed: int, n: int, m: int, held: int, side_m: float, pos_var: float) -> Candidates:
    """Gated pairs of n random tracks in a flat box and m plots: one near each of the first ``held`` tracks
    (5 m noise), the rest clutter."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 6))
    x[:, :3] = rng.uniform(0, side_m, (n, 3)) * np.array([1, 1, 0.1])
    P = np.tile(np.diag([pos_var, pos_var, pos_var, 1, 1, 1]), (n, 1, 1))
    z = np.vstack([x[:held, :3] + rng.normal(size=(held, 3)) * 5, rng.uniform(0, side_m, (m - held, 3)) * [1, 1, 0.1]])
    return gate(x, P, z, np.tile(np.eye(3) * 20.0, (m, 1, 1)), 0.999)


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
    n, m = 60, 70
    cand = crowd(seed=7, n=n, m=m, held=50, side_m=400.0, pos_var=30.0)
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


def test_clusters_match_a_graph_library_on_random_sparse_graphs() -> None:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    rng = np.random.default_rng(5)
    for _ in range(50):
        n, m, k = int(rng.integers(1, 40)), int(rng.integers(1, 40)), int(rng.integers(0, 60))
        track, plot = rng.integers(0, n, k), rng.integers(0, m, k)
        count, track_label, plot_label = clusters(track, plot, n, m)
        graph = coo_matrix((np.ones(k), (track, n + plot)), shape=(n + m, n + m))
        expected_count, expected = connected_components(graph, directed=False)
        assert count == expected_count
        ours = np.concatenate([track_label, plot_label])
        # the same partition: labels map one to one
        assert len(set(zip(ours.tolist(), expected.tolist(), strict=True))) == expected_count


def test_dense_and_kd_tree_pre_gating_find_the_same_pairs() -> None:
    from skywarden.tracking import gating

    rng = np.random.default_rng(6)
    centres, points = rng.uniform(0, 1000, (300, 3)), rng.uniform(0, 1000, (200, 3))
    radius = rng.uniform(50, 200, 300)
    dense = gating._pairs_within(centres[:50], points[:100], radius[:50])  # 5,000 pairs: dense
    tree = gating._pairs_within(centres, points, radius)  # 60,000 pairs: KD-tree
    in_first = (tree[0] < 50) & (tree[1] < 100)
    np.testing.assert_array_equal(dense[0], tree[0][in_first])
    np.testing.assert_array_equal(dense[1], tree[1][in_first])
    assert in_first.sum() > 20


def test_one_problem_and_per_cluster_solutions_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    from skywarden.tracking import association

    n, m = 80, 90
    cand = crowd(seed=8, n=n, m=m, held=70, side_m=300.0, pos_var=40.0)
    monkeypatch.setattr(association, "_ONE_PROBLEM_EDGES", 10**9)
    one = gnn(cand, n, m)
    monkeypatch.setattr(association, "_ONE_PROBLEM_EDGES", 0)
    split = gnn(cand, n, m)
    cost = dict(zip(zip(cand.track.tolist(), cand.plot.tolist(), strict=True), pair_cost(cand).tolist(), strict=True))
    total = [sum(cost[p] for p in zip(a.tolist(), b.tolist(), strict=True)) for a, b in (one, split)]
    assert len(one[0]) == len(split[0]) and total[0] == pytest.approx(total[1])
    assert (np.bincount(cand.track, minlength=n)[cand.track] > 1).sum() > 10  # a real test of the shared path
