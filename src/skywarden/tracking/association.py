"""Global nearest neighbour association (Stone Soup's associator), solved per independent cluster.

Tracks and plots joined by gated pairs form a bipartite graph; its connected components can be
assigned independently. A component with a single pair is assigned directly (most of a sparse scene);
the others are solved with ``scipy.optimize.linear_sum_assignment``, all in one problem while they are few.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from skywarden.tracking.gating import Candidates

Index = NDArray[np.intp]

_FORBIDDEN = 1e12  # finite, so that linear_sum_assignment always has a feasible solution
_ONE_PROBLEM_EDGES = 48  # up to this many shared edges, splitting into clusters costs more than it saves


def clusters(track: Index, plot: Index, n_tracks: int, n_plots: int) -> tuple[int, Index, Index]:
    """Connected components of the gated bipartite graph: ``(count, track_label (n_tracks,), plot_label (n_plots,))``.

    Tracks and plots with no gated pair are components of their own. Every node takes the least label
    among its neighbours until nothing changes (as many rounds as the widest cluster is deep, a few in
    practice), which for the sparse graphs of a scan costs far less than a general graph routine.
    """
    track_label = np.arange(n_tracks, dtype=np.intp)
    plot_label = np.arange(n_tracks, n_tracks + n_plots, dtype=np.intp)
    while True:
        np.minimum.at(plot_label, plot, track_label[track])
        before = track_label[track]
        np.minimum.at(track_label, track, plot_label[plot])
        if np.array_equal(before, track_label[track]):
            break
    _, labels = np.unique(np.concatenate([track_label, plot_label]), return_inverse=True)
    return int(labels.max(initial=-1)) + 1, labels[:n_tracks].astype(np.intp), labels[n_tracks:].astype(np.intp)


def pair_cost(cand: Candidates) -> NDArray[np.float64]:
    """Cost of each gated pair: −2 ln likelihood up to a constant (``d² + ln det S`` for one filter)."""
    return cand.cost


def gnn_prioritised(
    cand: Candidates, n_tracks: int, n_plots: int, first: NDArray[np.bool_]
) -> tuple[Index, Index]:
    """GNN for the tracks marked ``first`` (e.g. confirmed ones), then GNN for the others on the plots left.

    So a young tentative track, whose wide gate covers a confirmed track's plot, cannot take it away.
    Returns ``(track_index, plot_index)`` sorted by track.
    """
    first_pair = first[cand.track]
    t1, p1 = gnn(cand.subset(first_pair), n_tracks, n_plots)
    used = np.zeros(n_plots, bool)
    used[p1] = True
    t2, p2 = gnn(cand.subset(~first_pair & ~used[cand.plot]), n_tracks, n_plots)
    track_idx, plot_idx = np.concatenate([t1, t2]), np.concatenate([p1, p2])
    by_track = np.argsort(track_idx, kind="stable")
    return track_idx[by_track], plot_idx[by_track]


def gnn(cand: Candidates, n_tracks: int, n_plots: int) -> tuple[Index, Index]:
    """Global nearest neighbour: the gated pairs of least total cost, each track and plot used once.

    Leaving a track unassigned costs its gate edge, ``gate_d2 + max ln det S`` over its pairs, so no
    gated pair is worse than a miss. Returns ``(track_index, plot_index)`` arrays sorted by track.
    """
    if len(cand) == 0:
        empty = np.zeros(0, np.intp)
        return empty, empty.copy()
    # an edge whose track and plot have no other edge is a cluster of its own: assign it directly, and
    # find the connected components of the rest only (most of a sparse scene needs no graph at all)
    lone = (np.bincount(cand.track, minlength=n_tracks)[cand.track] == 1) & (
        np.bincount(cand.plot, minlength=n_plots)[cand.plot] == 1
    )
    if lone.all():  # pairs come sorted by track
        return cand.track.astype(np.intp), cand.plot.astype(np.intp)
    cost = pair_cost(cand)
    miss = np.full(n_tracks, -np.inf)
    np.maximum.at(miss, cand.track, cand.gate_d2 + cand.log_det_s)
    tracks, plots = [cand.track[lone]], [cand.plot[lone]]
    rest = np.flatnonzero(~lone)
    if len(rest) <= _ONE_PROBLEM_EDGES:  # few: one assignment over all of them (its optimum is the clusters')
        starts, sizes, order = np.zeros(1, np.intp), np.array([len(rest)]), rest
    else:
        _, track_label, _ = clusters(cand.track[rest], cand.plot[rest], n_tracks, n_plots)
        edge_label = track_label[cand.track[rest]]
        by_label = np.argsort(edge_label, kind="stable")
        order = rest[by_label]
        starts = np.flatnonzero(np.r_[True, np.diff(edge_label[by_label]) != 0])
        sizes = np.diff(np.r_[starts, len(order)])
    for start, size in zip(starts, sizes, strict=True):
        edges = order[start : start + size]
        t_ids, t_local = np.unique(cand.track[edges], return_inverse=True)
        p_ids, p_local = np.unique(cand.plot[edges], return_inverse=True)
        nt, npl = len(t_ids), len(p_ids)
        matrix = np.full((nt, npl + nt), _FORBIDDEN)
        matrix[t_local, p_local] = cost[edges]
        matrix[np.arange(nt), npl + np.arange(nt)] = miss[t_ids]
        rows, cols = linear_sum_assignment(matrix)
        hit = cols < npl
        tracks.append(t_ids[rows[hit]])
        plots.append(p_ids[cols[hit]])
    track_idx, plot_idx = np.concatenate(tracks), np.concatenate(plots)
    by_track = np.argsort(track_idx, kind="stable")
    return track_idx[by_track].astype(np.intp), plot_idx[by_track].astype(np.intp)
