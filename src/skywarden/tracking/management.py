"""The track table and its management: one- and two-point initiators, M-of-N confirmation, deleter.

The table is a structure of arrays, one row per track; rows are appended and removed with boolean
masks, never one track at a time. Track ids come from a counter that never repeats.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields, replace
from enum import IntEnum
from itertools import chain
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from skywarden.tracking.association import gnn
from skywarden.tracking.gating import Candidates
from skywarden.tracking.models import POS, STATE_DIM, VEL

Array = NDArray[np.float64]


class Status(IntEnum):
    """Track status: tentative until M-of-N confirmed; a confirmed track coasts on a scan it misses."""

    TENTATIVE = 0
    CONFIRMED = 1
    COASTING = 2


_STATUS_NAMES = {int(s): s.name.lower() for s in Status}


def status_names(status: NDArray[np.int8]) -> list[str]:
    """``tentative`` / ``confirmed`` / ``coasting`` for each status value, as files and the API write them."""
    return [_STATUS_NAMES[s] for s in status.tolist()]


@dataclass(frozen=True)
class TrackTable:
    """All tracks as arrays (one row each); every state ``x (N, 6)``, ``P (N, 6, 6)`` is at time ``t``.

    ``hits`` counts hits among the last ``N`` scans (the bits of ``history``, bit 0 = latest scan),
    ``misses`` the consecutive misses; ``n_hits`` and ``n_scans`` count since initiation.
    ``t_update`` is the time of the last associated plot; ``rcs_dbsm`` is the mean RCS of the associated
    plots that carried one (``n_rcs`` of them), for the classifier. ``xm (N, M, 6)``, ``Pm`` and
    ``mu (N, M)`` are the per-model states and probabilities of the IMM; ``x``, ``P`` their combination.
    Management functions never modify a table's arrays; they return new tables.
    """

    t: float
    id: NDArray[np.str_]
    x: Array
    P: Array
    status: NDArray[np.int8]
    hits: NDArray[np.int16]
    misses: NDArray[np.int16]
    n_hits: NDArray[np.int32]
    n_scans: NDArray[np.int32]
    history: NDArray[np.uint32]
    t_update: Array
    t_init: Array
    rcs_dbsm: Array
    n_rcs: NDArray[np.int32]
    xm: Array
    Pm: Array
    mu: Array

    def frozen(self) -> TrackTable:
        """The same table with its arrays made read-only (done once per scan, on the table handed out)."""
        for name in _row_fields():
            getattr(self, name).setflags(write=False)
        return self

    def __len__(self) -> int:
        return len(self.id)


@functools.cache
def _row_fields() -> tuple[str, ...]:
    return tuple(f.name for f in fields(TrackTable) if f.name != "t")


def empty_table(t: float = float("nan"), n_models: int = 1) -> TrackTable:
    """A table with no tracks (and room for ``n_models`` IMM models per track)."""
    return TrackTable(
        t=t,
        id=np.zeros(0, dtype="<U5"),
        x=np.zeros((0, STATE_DIM)),
        P=np.zeros((0, STATE_DIM, STATE_DIM)),
        status=np.zeros(0, np.int8),
        hits=np.zeros(0, np.int16),
        misses=np.zeros(0, np.int16),
        n_hits=np.zeros(0, np.int32),
        n_scans=np.zeros(0, np.int32),
        history=np.zeros(0, np.uint32),
        t_update=np.zeros(0),
        t_init=np.zeros(0),
        rcs_dbsm=np.zeros(0),
        n_rcs=np.zeros(0, np.int32),
        xm=np.zeros((0, n_models, STATE_DIM)),
        Pm=np.zeros((0, n_models, STATE_DIM, STATE_DIM)),
        mu=np.zeros((0, n_models)),
    )


def select(table: TrackTable, keep: NDArray[np.bool_], **columns: Any) -> TrackTable:
    """The rows where ``keep`` is true, with whole ``columns`` (e.g. ``status=...``) replaced first."""
    return TrackTable(t=table.t, **{name: columns.get(name, getattr(table, name))[keep] for name in _row_fields()})


def concat(table: TrackTable, more: TrackTable) -> TrackTable:
    """Rows of ``table`` followed by rows of ``more``; both must hold states at the same time."""
    if len(table) and len(more) and table.t != more.t:
        raise ValueError(f"cannot join tables at t={table.t} and t={more.t}")
    t = more.t if len(more) else table.t
    rows: dict[str, Any] = {n: np.concatenate([getattr(table, n), getattr(more, n)]) for n in _row_fields()}
    return TrackTable(t=t, **rows)


def format_ids(first_number: int, count: int) -> NDArray[np.str_]:
    """Track ids ``T0001``, ``T0002``, … for the numbers ``first_number`` to ``first_number + count - 1``."""
    return np.array([f"T{k:04d}" for k in range(first_number, first_number + count)], dtype=np.str_)


def initiate(
    z: Array,
    R: Array,
    rcs_dbsm: Array,
    t: float,
    first_number: int,
    speed_std_mps: float,
    vertical_speed_std_mps: float,
    model_probabilities: ArrayLike = (1.0,),
) -> TrackTable:
    """One-point initiator: a tentative track per plot, at the plot with zero velocity.

    Position covariance is the plot's ``R``; the velocity covariance is diagonal with the given
    standard deviations, wide enough for any target of interest, so the next plot fixes the velocity.
    Every IMM model starts from that state, with the given ``model_probabilities``.
    """
    n = len(z)
    mu0 = np.asarray(model_probabilities, float).reshape(-1)
    x = np.zeros((n, STATE_DIM))
    x[:, POS] = z
    P = np.zeros((n, STATE_DIM, STATE_DIM))
    P[:, POS, POS] = R
    P[:, VEL, VEL] = np.diag([speed_std_mps**2, speed_std_mps**2, vertical_speed_std_mps**2])
    return TrackTable(
        t=t,
        id=format_ids(first_number, n),
        x=x,
        P=P,
        status=np.full(n, Status.TENTATIVE, np.int8),
        hits=np.ones(n, np.int16),
        misses=np.zeros(n, np.int16),
        n_hits=np.ones(n, np.int32),
        n_scans=np.ones(n, np.int32),
        history=np.ones(n, np.uint32),
        t_update=np.full(n, t),
        t_init=np.full(n, t),
        rcs_dbsm=np.asarray(rcs_dbsm, float).copy(),
        n_rcs=(~np.isnan(rcs_dbsm)).astype(np.int32),
        xm=np.repeat(x[:, None, :], len(mu0), axis=1),
        Pm=np.repeat(P[:, None, :, :], len(mu0), axis=1),
        mu=np.tile(mu0, (n, 1)),
    )


def pair_plots(
    z_old: Array, R_old: Array, z_new: Array, R_new: Array, max_travel_m: float, gamma: float
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Pairs (old plot, new plot) for two-point initiation, each plot in at most one pair.

    A pair is allowed when the plots lie at most ``max_travel_m`` plus the chi-square radius
    ``sqrt(gamma λmax(R_old + R_new))`` apart; the pairs of least total squared distance are chosen
    (GNN over the allowed pairs). Returns ``(old_index, new_index)``.
    """
    empty = np.zeros(0, np.intp)
    if len(z_old) == 0 or len(z_new) == 0:
        return empty, empty.copy()
    var_old, var_new = np.linalg.eigvalsh(R_old)[:, -1], np.linalg.eigvalsh(R_new)[:, -1]
    neighbours = cKDTree(z_new).query_ball_point(z_old, max_travel_m + np.sqrt(gamma * (var_old + var_new.max())))
    counts = np.fromiter(map(len, neighbours), np.intp, len(z_old))
    old = np.repeat(np.arange(len(z_old), dtype=np.intp), counts)
    new = np.fromiter(chain.from_iterable(neighbours), np.intp, int(counts.sum()))
    d2 = np.sum((z_new[new] - z_old[old]) ** 2, axis=1)
    ok = np.sqrt(d2) <= max_travel_m + np.sqrt(gamma * (var_old[old] + var_new[new]))
    old, new, d2 = old[ok], new[ok], d2[ok]
    bound = float(d2.max()) if len(d2) else 0.0
    zeros = np.zeros(len(old))
    return gnn(Candidates(old, new, d2, zeros, bound, d2), len(z_old), len(z_new))


def initiate_two_point(
    z_old: Array, R_old: Array, rcs_old_dbsm: Array, t_old: float,
    z: Array, R: Array, rcs_dbsm: Array, t: float,
    first_number: int, window: int, model_probabilities: ArrayLike = (1.0,),
) -> TrackTable:
    """Two-point initiator: a tentative track per pair of plots (an earlier one at ``t_old``, one now).

    Position and covariance are the new plot's; the velocity is the difference over ``dt`` with
    covariance ``(R_old + R) / dt²`` (and position-velocity covariance ``R / dt``). The track starts
    with two hits in two scans, counted in its M-of-N window of ``window`` scans.
    """
    dt = t - t_old
    rcs = np.column_stack([rcs_old_dbsm, rcs_dbsm])
    has_rcs = ~np.isnan(rcs)
    with np.errstate(invalid="ignore"):
        mean_rcs = np.where(has_rcs.any(axis=1), np.nansum(rcs, axis=1) / np.maximum(has_rcs.sum(axis=1), 1), np.nan)
    table = initiate(z, R, mean_rcs, t, first_number, 0.0, 0.0, model_probabilities)
    x, P = table.x.copy(), table.P.copy()
    x[:, VEL] = (z - z_old) / dt
    P[:, POS, VEL] = P[:, VEL, POS] = R / dt
    P[:, VEL, VEL] = (R_old + R) / dt**2
    n, n_models = len(z), table.mu.shape[1]
    history = np.full(n, 0b11 & ((1 << window) - 1), np.uint32)
    return replace(
        table, x=x, P=P, xm=np.repeat(x[:, None, :], n_models, axis=1), Pm=np.repeat(P[:, None], n_models, axis=1),
        hits=np.bitwise_count(history).astype(np.int16), history=history,
        n_hits=np.full(n, 2, np.int32), n_scans=np.full(n, 2, np.int32), n_rcs=has_rcs.sum(axis=1).astype(np.int32),
    )


def record_scan(
    table: TrackTable, t: float, hit_rows: NDArray[np.intp], hit_rcs_dbsm: Array, window: int,
    seen: NDArray[np.bool_] | None = None, **columns: Any,
) -> TrackTable:
    """Book one scan: the rows in ``hit_rows`` were hit (by plots with ``hit_rcs_dbsm``), the other rows the
    scan could ``seen`` (default all) missed, and rows it could not see are left as they were. Whole
    ``columns`` given (e.g. the updated states ``x=..., P=...``) replace the table's.

    Shifts the hit/miss ``history`` (kept to the last ``window`` scans), counts hits and misses,
    updates the running mean RCS (plots without RCS are skipped) and turns confirmed tracks that
    missed into coasting ones (and coasting ones that were hit back into confirmed).
    """
    n = len(table)
    hit = np.zeros(n, bool)
    hit[hit_rows] = True
    missed = ~hit if seen is None else seen & ~hit
    booked = hit | missed
    history = table.history.copy()
    history[booked] = ((history[booked] << np.uint32(1)) | hit[booked]) & np.uint32((1 << window) - 1)
    rcs, n_rcs = table.rcs_dbsm.copy(), table.n_rcs.copy()
    known = ~np.isnan(hit_rcs_dbsm)
    rows, plot_rcs = hit_rows[known], hit_rcs_dbsm[known]
    n_rcs[rows] += 1
    first = np.isnan(rcs[rows])  # a first value replaces NaN; later ones update the running mean
    rcs[rows] = np.where(first, plot_rcs, rcs[rows] + (plot_rcs - rcs[rows]) / n_rcs[rows])
    status = table.status.copy()
    tracked = status != Status.TENTATIVE
    status[tracked & hit] = Status.CONFIRMED
    status[tracked & missed] = Status.COASTING
    misses = table.misses + missed.astype(np.int16)
    misses[hit] = 0
    t_update = table.t_update.copy()
    t_update[hit] = t
    return replace(
        table, t=t, status=status, hits=np.bitwise_count(history).astype(np.int16), misses=misses,
        n_hits=table.n_hits + hit, n_scans=table.n_scans + booked, history=history, t_update=t_update,
        rcs_dbsm=rcs, n_rcs=n_rcs, **columns,
    )


def position_std_m(P: Array) -> Array:
    """Scalar position uncertainty of each track: sqrt of the trace of its position covariance."""
    return np.sqrt(P[:, 0, 0] + P[:, 1, 1] + P[:, 2, 2])


def confirm_and_delete(
    table: TrackTable, m: int, n: int, max_misses: int, max_position_std_m: float, max_coast_s: float = np.inf
) -> tuple[TrackTable, NDArray[np.intp], NDArray[np.str_]]:
    """M-of-N confirmation and the deleter, after :func:`record_scan`.

    A tentative track is confirmed once it has ``m`` hits in its first ``n`` scans, and deleted as soon
    as it can no longer get there (more than ``n - m`` misses). A confirmed track is deleted after
    ``max_misses`` consecutive misses; any track whose position std exceeds ``max_position_std_m``, or
    that no plot has updated for longer than ``max_coast_s`` (e.g. out of every sensor's coverage), is deleted. Returns ``(table, rows of the newly confirmed tracks in it, ids of lost confirmed tracks)``.
    """
    tentative = table.status == Status.TENTATIVE
    confirm = tentative & (table.hits >= m)
    window_misses = np.minimum(table.n_scans, n) - table.hits
    delete = (
        (tentative & ~confirm & (window_misses > n - m))
        | (~tentative & (table.misses >= max_misses))
        | (position_std_m(table.P) > max_position_std_m)
        | (table.t - table.t_update > max_coast_s)
    )
    lost = table.id[delete & ~tentative]
    status = np.where(confirm, Status.CONFIRMED, table.status).astype(np.int8)
    keep = ~delete
    kept = select(table, keep, status=status)
    return kept, np.flatnonzero((confirm & keep)[keep]).astype(np.intp), lost
