"""Scoring a run against its truth: GOSPA, per-scan track-to-truth assignment, time-to-alert.

Everything here reads a :class:`~skywarden.history.RunRecord` and nothing else; the JSON of
:func:`summarize` is a contract that later tools (CI gates, reports, benchmarks) rely on.
Track status values follow ``tracking.management.Status``: 0 tentative, 1 confirmed, 2 coasting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import linear_sum_assignment

from skywarden.airspace.assets import AssetSet
from skywarden.config import Site
from skywarden.events import ZoneViolation
from skywarden.history import RunRecord

#: Track status values (kept in step with ``tracking.management.Status``; not imported on purpose).
TENTATIVE, CONFIRMED, COASTING = 0, 1, 2
#: Default GOSPA cut-off (m).
CUTOFF_M = 50.0
#: Largest distance (m) at which a track counts as following a truth: about three times the height
#: error of a radar with 1-degree elevation accuracy at 5 km, so that far tracks are not orphaned.
ASSIGN_GATE_M = 300.0


@dataclass(frozen=True)
class GospaResult:
    """GOSPA between two point sets and its decomposition.

    ``localisation``, ``missed`` and ``false`` are the contributions to ``value ** p`` (units m^p),
    so ``value == (localisation + missed + false) ** (1 / p)``. ``pairs`` holds (truth index, track
    index) rows of the assigned pairs; for alpha = 2 only pairs closer than ``c`` are assigned.
    """

    value: float
    localisation: float
    missed: float
    false: float
    n_missed: int
    n_false: int
    pairs: NDArray[np.int64]


def gospa(
    truth_pos: ArrayLike, track_pos: ArrayLike, c: float = CUTOFF_M, p: float = 2.0, alpha: float = 2.0
) -> GospaResult:
    """Exact GOSPA (Rahmathullah, García-Fernández, Svensson 2017) between (m, 3) truths and (n, 3) tracks.

    d = (min over assignments of sum min(d_ij, c)^p + c^p / alpha * |m - n|)^(1/p), solved with the
    Hungarian algorithm; with alpha = 2 a pair at d >= c is read as one missed truth plus one false track.
    """
    if c <= 0.0 or p < 1.0 or not 0.0 < alpha <= 2.0:
        raise ValueError(f"gospa needs c > 0, p >= 1 and 0 < alpha <= 2 (got c={c}, p={p}, alpha={alpha})")
    x = np.asarray(truth_pos, float).reshape(-1, 3)
    y = np.asarray(track_pos, float).reshape(-1, 3)
    m, n = len(x), len(y)
    cp = c**p
    if m == 0 or n == 0:
        no_pairs = np.zeros((0, 2), np.int64)
        return GospaResult(((m + n) * cp / alpha) ** (1.0 / p), 0.0, m * cp / alpha, n * cp / alpha, m, n, no_pairs)
    dist = np.linalg.norm(x[:, None, :] - y[None, :, :], axis=-1)
    cost = np.minimum(dist, c) ** p
    rows, cols = linear_sum_assignment(cost)
    keep = dist[rows, cols] < c if alpha == 2.0 else np.ones(len(rows), bool)
    rows, cols = rows[keep], cols[keep]
    localisation = float(cost[rows, cols].sum())
    n_missed, n_false = m - len(rows), n - len(rows)
    missed, false = n_missed * cp / alpha, n_false * cp / alpha
    value = (localisation + missed + false) ** (1.0 / p)
    return GospaResult(float(value), localisation, float(missed), float(false), n_missed, n_false,
                       np.stack([rows, cols], axis=1).astype(np.int64))


@dataclass(frozen=True)
class Assignment:
    """Track-to-truth assignment at every scan of a run.

    ``gospa_m`` is GOSPA with cut-off ``c`` between the truths in coverage and the confirmed or
    coasting tracks; ``by_scan[s]`` maps track id -> truth id: pairs of the previous scan still closer
    than ``gate_m`` are kept, the others come from the optimal assignment within ``gate_m`` between
    those tracks and every live truth.
    """

    c: float
    gate_m: float
    gospa_m: NDArray[np.float64]  # (S,) per-scan GOSPA
    by_scan: list[dict[str, str]]  # (S,) track id -> truth id
    error_m: list[dict[str, float]]  # (S,) track id -> distance to its truth (m)

    def truth_of(self, scan: int, track_id: str) -> str | None:
        """The truth the track was assigned to at that scan, or None."""
        return self.by_scan[scan].get(track_id)


def _samples_by_scan(
    owners: list[tuple[NDArray[np.int64], NDArray[np.float64]]], n_scans: int
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.int64]]:
    """Concatenate per-object (scan, pos) samples, sorted by scan: (owner index, pos, scan bounds)."""
    if not owners:
        return np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros(n_scans + 1, np.int64)
    scan = np.concatenate([s for s, _ in owners])
    pos = np.concatenate([q.reshape(-1, 3) for _, q in owners])
    owner = np.concatenate([np.full(len(s), i, np.int64) for i, (s, _) in enumerate(owners)])
    order = np.argsort(scan, kind="stable")
    bounds = np.searchsorted(scan[order], np.arange(n_scans + 1), side="left")
    return owner[order], pos[order], bounds


def assign(record: RunRecord, c: float = CUTOFF_M, p: float = 2.0, gate_m: float = ASSIGN_GATE_M) -> Assignment:
    """Per-scan GOSPA over truths in coverage, and the optimal track-to-truth pairing within ``gate_m``.

    GOSPA counts only truths inside radar coverage (the tracker cannot be blamed for the rest); the
    pairing considers every live truth, so a track that coasts through a blind spot (e.g. overhead the
    radar) still follows its object there.
    """
    n_scans = len(record.scan_times)
    truth_ids = list(record.truths)
    track_ids = list(record.tracks)
    truth_owner, truth_pos, tb = _samples_by_scan([(h.scan, h.pos) for h in record.truths.values()], n_scans)
    covered = np.concatenate([h.in_coverage for h in record.truths.values()] or [np.zeros(0, bool)])
    covered = covered[np.argsort(np.concatenate([h.scan for h in record.truths.values()] or [np.zeros(0, int)]),
                                 kind="stable")]
    live = [np.isin(h.status, (CONFIRMED, COASTING)) for h in record.tracks.values()]
    track_owner, track_pos, kb = _samples_by_scan(
        [(h.scan[k], h.pos[k]) for h, k in zip(record.tracks.values(), live, strict=True)], n_scans
    )
    values = np.zeros(n_scans)
    by_scan: list[dict[str, str]] = []
    errors: list[dict[str, float]] = []
    previous: dict[str, str] = {}
    for s in range(n_scans):
        x, y = truth_pos[tb[s]:tb[s + 1]], track_pos[kb[s]:kb[s + 1]]
        values[s] = gospa(x[covered[tb[s]:tb[s + 1]]], y, c=c, p=p).value
        tru = [truth_ids[i] for i in truth_owner[tb[s]:tb[s + 1]]]
        trk = [track_ids[k] for k in track_owner[kb[s]:kb[s + 1]]]
        pairs = _sticky_pairs(x, y, tru, trk, previous, gate_m, p)
        previous = {trk[j]: tru[i] for i, j in pairs}
        by_scan.append(previous)
        errors.append({trk[j]: float(np.linalg.norm(x[i] - y[j])) for i, j in pairs})
    return Assignment(c, gate_m, values, by_scan, errors)


def _sticky_pairs(
    x: NDArray[np.float64], y: NDArray[np.float64], tru: list[str], trk: list[str],
    previous: dict[str, str], gate_m: float, p: float,
) -> list[tuple[int, int]]:
    """(truth index, track index) pairs of one scan, CLEAR-MOT style: last scan's pairs that are still
    within the gate are kept, the rest are assigned optimally. Two objects passing within the tracking
    error of each other therefore do not count as a swap unless the track really follows the other one.
    """
    ti = {t: i for i, t in enumerate(tru)}
    kept = [(ti[previous[k]], j) for j, k in enumerate(trk)
            if previous.get(k) in ti and np.linalg.norm(x[ti[previous[k]]] - y[j]) < gate_m]
    free_x = np.setdiff1d(np.arange(len(x)), [i for i, _ in kept])
    free_y = np.setdiff1d(np.arange(len(y)), [j for _, j in kept])
    rest = gospa(x[free_x], y[free_y], c=gate_m, p=p).pairs
    return kept + [(int(free_x[i]), int(free_y[j])) for i, j in rest]


def scan_index(scan_times: NDArray[np.float64], t: float) -> int:
    """Index of the last scan at or before ``t`` (1 µs tolerance), clipped to the first scan."""
    return max(int(np.searchsorted(scan_times, t + 1e-6, side="right")) - 1, 0)


def asset_distances_m(site: Site, pos: ArrayLike) -> NDArray[np.float64]:
    """3-D distance (m) from each of (k, 3) ENU positions to each asset's centre: shape (k, A)."""
    p = np.asarray(pos, float).reshape(-1, 3)
    return np.linalg.norm(p[:, None, :] - AssetSet(site).pos[None, :, :], axis=-1)


def _first_time(record: RunRecord, scans: NDArray[np.int64]) -> float | None:
    return float(record.scan_times[scans[0]]) if len(scans) else None


def alert_truth_of(record: RunRecord, a: Assignment, alert: ZoneViolation) -> str | None:
    """The true object an intrusion alert was about: the object nearest the alert's position within the GOSPA
    cut-off ``a.c`` (the scoring's pairing keeps a pair while it stays within its 300 m gate, so where two
    objects meet, a drone hovering over a street, it can hold the car's track on the drone and the drone's on
    the car), else the object its track was paired with; None for an alert on no object, or on a track that
    was not confirmed then (the pairing never considers those)."""
    s = scan_index(record.scan_times, alert.t)
    paired = a.truth_of(s, alert.track_id)
    track = record.tracks.get(alert.track_id)
    k = -1 if track is None else int(np.searchsorted(track.scan, s))
    live = track is not None and k < len(track.scan) and track.scan[k] == s and track.status[k] in (CONFIRMED, COASTING)
    if not live:
        return paired
    best, best_d = None, a.c
    for truth_id, h in record.truths.items():
        k = int(np.searchsorted(h.scan, s))
        if k < len(h.scan) and h.scan[k] == s:
            d = float(np.linalg.norm(h.pos[k] - np.asarray(alert.position_enu_m)))
            if d < best_d:
                best, best_d = truth_id, d
    return best or paired


def summarize(record: RunRecord, c: float = CUTOFF_M) -> dict[str, Any]:
    """The run's JSON summary (the contract in the module doc): GOSPA mean, per-truth times, alerts."""
    a = assign(record, c=c)
    times = record.scan_times
    radius = np.array([x.radius_m for x in record.site.assets])
    alerts_ev = sorted((e for e in record.events if isinstance(e, ZoneViolation)), key=lambda e: e.t)
    alert_truth = [alert_truth_of(record, a, e) for e in alerts_ev]
    per_truth = []
    for tid, h in record.truths.items():
        order: dict[str, None] = {}
        confirmed = None
        for s in h.scan:
            for trk, tru in a.by_scan[s].items():
                if tru == tid:
                    order.setdefault(trk)
                    if confirmed is None:
                        confirmed = float(times[s])
        alert_t = next((float(e.t) for e, tr in zip(alerts_ev, alert_truth, strict=True) if tr == tid), None)
        inside = (asset_distances_m(record.site, h.pos) < radius).any(axis=1)
        per_truth.append({
            "truth_id": tid,
            "kind": h.kind,
            "first_detected_t": _first_time(record, h.scan[h.detected]),
            "confirmed_t": confirmed,
            "alert_t": alert_t,
            "reached_asset_t": _first_time(record, h.scan[inside]),
            "track_ids": list(order),
        })
    alerts = [
        {"t": float(e.t), "track_id": e.track_id, "truth_id": tr, "zone": e.zone_id, "asset": e.asset_id,
         "time_to_asset_s": None if e.time_to_asset_s is None else float(e.time_to_asset_s)}
        for e, tr in zip(alerts_ev, alert_truth, strict=True)
    ]
    return {
        "scenario": record.scenario,
        "seed": int(record.seed),
        "scans": len(times),
        "gospa_mean_m": (float(a.gospa_m.mean()) if len(times) else 0.0) if record.truth_known else None,
        "per_truth": per_truth,
        "alerts": alerts,
    }


def track_swaps(record: RunRecord, c: float = CUTOFF_M) -> dict[str, list[str]]:
    """Tracks assigned to more than one truth over their life: track id -> truth ids in order of first assignment.

    An empty dict means no track ever switched from one object to another (no identity swap).
    """
    seen: dict[str, dict[str, None]] = {}
    for pairs in assign(record, c=c).by_scan:
        for trk, tru in pairs.items():
            seen.setdefault(trk, {}).setdefault(tru)
    return {trk: list(tr) for trk, tr in seen.items() if len(tr) > 1}


@dataclass(frozen=True)
class Hold:
    """Result of :func:`held_by_one_track`: ``held`` and the evidence (ids seen, uncovered intervals)."""

    held: bool
    scans: int  # scans in the window
    track_ids: list[str]  # distinct ids assigned to the truth in the window, in order of first assignment
    gaps: list[tuple[float, float]]  # (first, last) scan times of runs of scans with no track assigned


def held_by_one_track(
    record: RunRecord, truth_id: str, t_from: float, t_to: float, c: float = CUTOFF_M
) -> Hold:
    """Whether one single track id is assigned to ``truth_id`` at every scan with t_from <= t <= t_to.

    A scan where the truth has no assigned track (not tracked, not in coverage, or not alive) is a gap;
    a second track id (a swap or a re-initiated track) also breaks the hold. An empty window never holds.
    """
    if truth_id not in record.truths:
        raise KeyError(f"truth {truth_id!r} is not in the record (have {sorted(record.truths)})")
    a = assign(record, c=c)
    times = record.scan_times
    window = np.flatnonzero((times >= t_from) & (times <= t_to))
    held_by = [next((k for k, v in a.by_scan[s].items() if v == truth_id), None) for s in window]
    ids = list(dict.fromkeys(k for k in held_by if k is not None))
    missing = np.array([k is None for k in held_by] + [False])
    edges = np.flatnonzero(np.diff(np.concatenate([[False], missing]).astype(np.int8)))
    gaps = [(float(times[window[i]]), float(times[window[j - 1]])) for i, j in edges.reshape(-1, 2)]
    return Hold(len(window) > 0 and not gaps and len(ids) == 1, len(window), ids, gaps)


def detection_to_alert_s(source: RunRecord | Mapping[str, Any]) -> dict[str, float | None]:
    """Per truth id: seconds from its first detection (first plot) to its first alert; None if either is missing.

    Accepts a RunRecord or an already computed :func:`summarize` dict.
    """
    summary = summarize(source) if isinstance(source, RunRecord) else source
    return {
        row["truth_id"]: (None if row["alert_t"] is None or row["first_detected_t"] is None
                          else row["alert_t"] - row["first_detected_t"])
        for row in summary["per_truth"]
    }
