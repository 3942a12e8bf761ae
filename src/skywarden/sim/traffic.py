"""Ground traffic: cars and lorries driving along roads, both ways, stopping at traffic lights and in queues.

Each road direction is one lane, a polyline offset to the right of travel (traffic keeps right), at
the road's height. Vehicles enter at one end at times drawn over the scenario (and before it, so the
road starts partly filled) and vanish at the other. Speeds follow the Intelligent Driver Model
(Treiber, Hennecke & Helbing 2000, Phys Rev E 62:1805; urban parameters after Treiber & Kesting 2013,
*Traffic Flow Dynamics*, ch. 11: accelerating at ~1–1.5 m/s², braking comfortably at ~1.5–2 m/s²):
a vehicle follows the one ahead in its lane and treats a red light it can still stop for as a
standing vehicle at the stop line. The time loop runs over all vehicles of all roads at once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skywarden.geo import LocalFrame
from skywarden.sim.motion import Trajectory
from skywarden.sim.scenario import Point, TrafficSpec
from skywarden.sim.streams import rng_stream

Array = NDArray[np.float64]

TRAFFIC_DT_S = 0.5
LANE_OFFSET_M = 2.0  # lane centre to the right of the road's centre line
STOP_LINE_M = 5.0  # a signal's stop line lies this far before its road point
MIN_GAP_M = 2.0  # IDM jam distance s0
HEADWAY_S = 1.2  # IDM time gap T
MAX_BRAKE_MPS2 = 4.0  # hardest braking the model allows
STOP_FOR_RED_MPS2 = 3.0  # a vehicle that would need to brake harder than this drives through a red light


@dataclass(frozen=True)
class VehicleType:
    """A vehicle type: length (m), IDM acceleration and comfortable deceleration (m/s²), mean RCS band (m²)."""

    length_m: float
    accel_mps2: float
    decel_mps2: float
    rcs_m2: tuple[float, float]


# Mean RCS at microwave frequencies: passenger cars ~0–10 dBsm averaged over aspect, lorries ~10–20 dBsm
# (order of magnitude after Skolnik, *Radar Handbook* 3rd ed. 2008, ch. 14, which quotes ~100 m²
# for a car at broadside peaks; automotive-radar measurements such as Suzuki 2000, ITS World Congress,
# and Silberling et al. 2014, DRI-TM-14-70-1, spread cars over roughly 0–20 dBsm by aspect).
VEHICLES: dict[str, VehicleType] = {
    "car": VehicleType(4.5, 1.5, 2.0, (1.0, 10.0)),
    "lorry": VehicleType(12.0, 1.0, 1.5, (10.0, 100.0)),
}


@dataclass(frozen=True)
class Lane:
    """One direction of a road: polyline ``points (k,3)`` ENU m, arc length ``s (k,)``, stop lines (m along)."""

    points: Array
    s: Array
    stops_m: Array
    stop_phase_s: Array
    cycle_s: float
    red_s: float

    @property
    def length_m(self) -> float:
        return float(self.s[-1])

    def at(self, s_m: Array, v_mps: Array) -> tuple[Array, Array]:
        """Positions (k,3) and velocities (k,3) at distances ``s_m (k,)`` along the lane and speeds ``v_mps``."""
        pos = np.column_stack([np.interp(s_m, self.s, self.points[:, i]) for i in range(3)])
        seg = np.clip(np.searchsorted(self.s, s_m, side="right") - 1, 0, len(self.s) - 2)
        d = np.diff(self.points, axis=0) / np.diff(self.s)[:, None]
        return pos, d[seg] * v_mps[:, None]


def road_points(road: Sequence[Point], frame: LocalFrame) -> Array:
    """A road's polyline in site ENU (k,3)."""
    return np.array([p.to_enu(frame) for p in road], float)


def lane_polyline(points: Array, offset_m: float = LANE_OFFSET_M) -> Array:
    """The polyline shifted ``offset_m`` to the right of travel (mitred at corners), heights kept."""
    d = np.diff(points[:, :2], axis=0)
    d /= np.linalg.norm(d, axis=1)[:, None]
    right = np.column_stack([d[:, 1], -d[:, 0]])
    normals = np.vstack([right[:1], right[:-1] + right[1:], right[-1:]])
    normals /= np.linalg.norm(normals, axis=1)[:, None]
    cos_half = np.einsum("ij,ij->i", normals, np.vstack([right, right[-1:]]))
    out = points.copy()
    out[:, :2] += normals * (offset_m / np.maximum(cos_half, 0.5))[:, None]
    return out


def _lanes(spec: TrafficSpec, frame: LocalFrame, phases: Array) -> tuple[Lane, Lane]:
    """The forward and backward lanes of a road, with their stop lines and signal phases."""
    assert not isinstance(spec.road, str), "road ids are resolved when the scenario loads"
    pts = road_points(spec.road, frame)
    lanes = []
    for forward in (True, False):
        p = lane_polyline(pts if forward else pts[::-1])
        s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1))])
        idx = [i if forward else len(pts) - 1 - i for i in spec.signals or []]
        stops = np.array([s[i] - STOP_LINE_M for i in idx], float)
        lanes.append(Lane(p, s, stops, phases, spec.signal_cycle_s, spec.signal_red_s))
    return lanes[0], lanes[1]


def traffic_trajectories(roads: Sequence[TrafficSpec], frame: LocalFrame, duration_s: float,
                         seed: int) -> tuple[list[str], list[str], list[float], list[Trajectory]]:
    """All vehicles of all roads: ids, types (``vehicle/car``…), mean RCS (m²) and trajectories.

    Each vehicle draws its direction, type, speed, RCS and entry time from its own stream and each
    road its signal phases; vehicles of one lane interact (car-following), other roads never do.
    """
    lanes: list[Lane] = []
    rows: list[tuple[float, ...]] = []  # lane, entry time, desired speed, length, accel, decel
    ids: list[str] = []
    types: list[str] = []
    rcs: list[float] = []
    t_fill = 0.0
    for r in roads:
        phases = rng_stream(seed, "traffic", r.id, "signals").uniform(0.0, r.signal_cycle_s, len(r.signals or []))
        fwd, back = _lanes(r, frame, phases)
        base = len(lanes)
        lanes += [fwd, back]
        v_lo, v_hi = r.speed_mps
        fill = 0.95 * min(fwd.length_m, back.length_m) / v_hi  # no vehicle can be gone by the start
        t_fill = max(t_fill, fill)
        for vid in r.vehicle_ids():
            u = rng_stream(seed, "vehicle", vid).uniform(size=5)
            lane = base + (0 if r.directions == "forward" or (r.directions == "both" and u[0] < 0.5) else 1)
            kind = "lorry" if r.kind == "lorry" or (r.kind == "mix" and u[1] < r.lorry_fraction) else "car"
            vt = VEHICLES[kind]
            lo, hi = r.rcs_m2 or vt.rcs_m2
            rcs.append(math.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * u[3]))
            rows.append((lane, -fill + (max(duration_s - 5.0, 0.0) + fill) * u[4], v_lo + (v_hi - v_lo) * u[2], vt.length_m,
                         vt.accel_mps2, vt.decel_mps2))
            ids.append(vid)
            types.append(f"vehicle/{kind}")
    if not rows:
        return [], [], [], []
    a = np.array(rows, float)
    steps_before = math.ceil(t_fill / TRAFFIC_DT_S)
    times = TRAFFIC_DT_S * np.arange(-steps_before, math.ceil(duration_s / TRAFFIC_DT_S) + 1, dtype=float)
    s_hist, v_hist, on_road = _drive(lanes, a, times)
    trajs = []
    first = steps_before  # times[first] == 0.0
    for j in range(len(ids)):
        k = np.flatnonzero(on_road[first:, j]) + first
        if len(k) == 0:  # enters after the last step: a single sample at the end, never seen
            k = np.array([len(times) - 1])
        pos, vel = lanes[int(a[j, 0])].at(s_hist[k, j], v_hist[k, j])
        trajs.append(Trajectory(times[k].copy(), pos, vel))
    return ids, types, rcs, trajs


def _drive(lanes: Sequence[Lane], a: Array, times: Array) -> tuple[Array, Array, NDArray[np.bool_]]:
    """IDM over all vehicles (rows of ``a``: lane, entry, v0, length, accel, decel): s, v, on-road per step."""
    n = len(a)
    lane, entry, v0, length, acc_max, dec = (a[:, i] for i in range(6))
    lane_i = lane.astype(int)
    # the vehicle ahead in the same lane enters before: order by lane then entry time; index n = nobody
    order = np.lexsort((entry, lane))
    leader = np.full(n, n)
    same = lane[order[1:]] == lane[order[:-1]]
    leader[order[1:][same]] = order[:-1][same]
    lane_len = np.array([ln.length_m for ln in lanes])[lane_i]
    m = max(1, max(len(ln.stops_m) for ln in lanes))
    stops = np.full((len(lanes), m), np.inf)
    phase = np.zeros((len(lanes), m))
    for i, ln in enumerate(lanes):
        stops[i, :len(ln.stops_m)], phase[i, :len(ln.stops_m)] = ln.stops_m, ln.stop_phase_s
    cycle = np.array([ln.cycle_s for ln in lanes])[:, None]
    red_s = np.array([ln.red_s for ln in lanes])[:, None]
    stops_v, phase_v, cycle_v, red_v = stops[lane_i], phase[lane_i], cycle[lane_i], red_s[lane_i]
    sqrt_ab = 2.0 * np.sqrt(acc_max * dec)
    s = np.zeros(n + 1)
    v = np.zeros(n + 1)
    state = np.zeros(n + 1, np.int8)  # 0 waiting, 1 on the road, 2 gone; the sentinel n is "gone"
    state[n] = 2
    len_ext = np.append(length, 0.0)
    dt = float(times[1] - times[0])
    s_hist = np.empty((len(times), n))
    v_hist = np.empty((len(times), n))
    on_hist = np.empty((len(times), n), bool)
    for k, t in enumerate(times):
        lead_gone = state[leader] == 2
        gap = np.where(lead_gone, np.inf, s[leader] - len_ext[leader] - s[:n])
        # entering: when due, behind a leader already on the road and far enough, at a speed the gap allows
        enter = (state[:n] == 0) & (t >= entry) & (state[leader] >= 1) & (gap >= MIN_GAP_M + 5.0)
        if enter.any():
            v[:n] = np.where(enter, np.minimum(v0, np.maximum(0.0, (gap - MIN_GAP_M) / HEADWAY_S)), v[:n])
            state[:n] = np.where(enter, 1, state[:n])
        on = state[:n] == 1
        vi, si = v[:n], s[:n]
        # a red light the vehicle can still stop for is a standing vehicle at the stop line (it halts s0 short)
        red = np.mod(t + phase_v, cycle_v) < red_v
        to_line = stops_v - si[:, None]
        stoppable = to_line >= vi[:, None] ** 2 / (2.0 * STOP_FOR_RED_MPS2)
        d_line = np.where(red & (to_line > 0.0) & stoppable, to_line, np.inf).min(axis=1)
        dv = vi - np.where(lead_gone, 0.0, v[leader])
        s_star = MIN_GAP_M + np.maximum(0.0, vi * HEADWAY_S + vi * dv / sqrt_ab)
        s_star_line = MIN_GAP_M + np.maximum(0.0, vi * HEADWAY_S + vi * vi / sqrt_ab)
        with np.errstate(divide="ignore"):
            inter = np.maximum((s_star / np.maximum(gap, 0.1)) ** 2, (s_star_line / d_line) ** 2)
        acc = np.clip(acc_max * (1.0 - (vi / v0) ** 4 - inter), -MAX_BRAKE_MPS2, acc_max)
        stopping = vi + acc * dt < 0.0  # ballistic update; a stop within the step ends at v = 0
        ds = np.where(stopping, -0.5 * vi * vi / np.where(stopping, acc, -1.0), vi * dt + 0.5 * acc * dt * dt)
        s_hist[k], v_hist[k], on_hist[k] = si, vi, on
        s[:n] = np.where(on, si + ds, si)
        v[:n] = np.where(on, np.where(stopping, 0.0, vi + acc * dt), vi)
        state[:n] = np.where(on & (s[:n] >= lane_len), 2, state[:n])
    return s_hist, v_hist, on_hist
