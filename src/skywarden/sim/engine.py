"""The simulation engine: a scenario and a seed -> sensor scans, truth and cooperative reports, in time order.

All trajectories are computed once on a fine grid when the :class:`Simulation` is built, and sampled at
every scan time; each scan then only draws detections, noise and clutter. Randomness comes from
``numpy.random.default_rng`` streams keyed by the seed and by names (radar id, object id, purpose), so
adding an object leaves the other objects' motion, detections and errors unchanged.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skywarden.config import ConfigError, Site
from skywarden.geo import LocalFrame
from skywarden.sensors import CoopReport
from skywarden.sim.motion import (
    BirdParams,
    FlightLimits,
    Trajectory,
    bird_loiter,
    constant_velocity,
    coordinated_turn,
    follow_waypoints,
    hover,
)
from skywarden.sim.radar import RadarModel, SimScan, TargetDraws
from skywarden.sim.scenario import (
    BirdGroupSpec,
    ConstantVelocityMotion,
    HoverMotion,
    Scenario,
    TargetSpec,
    TurnMotion,
)

BIRD_DT_S = 0.2  # birds are slow: at <= 14 m/s and 0.6 rad/s, linear interpolation errs by < 0.1 m
REMOTE_ID_PERIOD_S = 1.0
GNSS_SIGMA_ENU_M = np.array([3.0, 3.0, 5.0])
GNSS_SIGMA_VEL_MPS = np.array([0.3, 0.3, 0.5])


@dataclass(frozen=True)
class TruthSnapshot:
    """Every truth object at one scan time, in ``Simulation.truth_ids`` order (NaN rows where not alive)."""

    t: float
    alive: NDArray[np.bool_]
    pos: NDArray[np.float64]
    vel: NDArray[np.float64]
    in_coverage: NDArray[np.bool_]


@dataclass(frozen=True)
class SimStep:
    """One step: a sensor scan, the truth at its time, and the cooperative reports since the last step."""

    t: float
    scan: SimScan
    truth: TruthSnapshot
    coop: list[CoopReport]


def rng_stream(seed: int, *names: str) -> np.random.Generator:
    """An independent generator for ``seed`` and a path of names (stable across runs and versions)."""
    key = tuple(int.from_bytes(hashlib.sha256(n.encode()).digest()[:4], "little") for n in names)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def _velocity(heading_deg: float, speed_mps: float, climb_rate_mps: float) -> NDArray[np.float64]:
    h = math.radians(heading_deg)
    return np.array([speed_mps * math.sin(h), speed_mps * math.cos(h), climb_rate_mps])


def target_trajectory(target: TargetSpec, frame: LocalFrame, duration_s: float) -> Trajectory:
    """The trajectory a scripted target flies, in seconds after the scenario start (ends by ``duration_s``)."""
    m = target.motion
    t0 = target.start_s

    def until(d: float | None) -> float:
        return duration_s if d is None else min(t0 + d, duration_s)

    if isinstance(m, ConstantVelocityMotion):
        v = _velocity(m.heading_deg, m.speed_mps, m.climb_rate_mps)
        return constant_velocity(m.start.to_enu(frame), v, t0, until(m.duration_s))
    if isinstance(m, TurnMotion):
        v = _velocity(m.heading_deg, m.speed_mps, m.climb_rate_mps)
        return coordinated_turn(m.start.to_enu(frame), v, math.radians(m.turn_rate_dps), t0, until(m.duration_s))
    if isinstance(m, HoverMotion):
        return hover(m.position.to_enu(frame), t0, until(m.duration_s))
    overrides = {k: v for k, v in {
        "min_speed_mps": m.min_speed_mps, "max_speed_mps": m.max_speed_mps,
        "max_turn_rate_rps": None if m.max_turn_rate_dps is None else math.radians(m.max_turn_rate_dps),
        "max_climb_rate_mps": m.max_climb_rate_mps, "max_accel_mps2": m.max_accel_mps2,
    }.items() if v is not None}
    make = FlightLimits.multirotor if target.airframe == "multirotor" else FlightLimits.fixed_wing
    limits = make(m.speed_mps, **overrides)
    waypoints = np.array([p.to_enu(frame) for p in m.waypoints])
    return follow_waypoints(waypoints, limits, t0, duration_s, loop=m.loop, on_arrival=m.on_arrival,
                            accept_radius_m=m.accept_radius_m)


def bird_trajectories(groups: list[BirdGroupSpec], frame: LocalFrame, duration_s: float,
                      seed: int) -> tuple[list[str], list[float], list[Trajectory]]:
    """All loitering birds of all groups: ids, mean RCS (m²) and trajectories; each bird has its own stream."""
    ids: list[str] = []
    rcs: list[float] = []
    rows: list[tuple[float, ...]] = []
    rngs: list[np.random.Generator] = []
    for g in groups:
        cx, cy, _ = g.centre.to_enu(frame)
        (z_lo, z_hi), (v_lo, v_hi) = g.alt_m, g.speed_mps
        r_lo, r_hi = g.rcs_m2 if isinstance(g.rcs_m2, tuple) else (g.rcs_m2, g.rcs_m2)
        for bird_id in g.bird_ids():
            rng = rng_stream(seed, "bird", bird_id)
            u = rng.uniform(size=6)
            radius, angle = g.radius_m * math.sqrt(u[0]), 2 * math.pi * u[1]
            rows.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle), z_lo + (z_hi - z_lo) * u[2],
                         cx, cy, g.radius_m, z_lo, z_hi, v_lo + (v_hi - v_lo) * u[3], v_lo, v_hi,
                         2 * math.pi * u[4]))
            rcs.append(math.exp(math.log(r_lo) + (math.log(r_hi) - math.log(r_lo)) * u[5]))
            ids.append(bird_id)
            rngs.append(rng)
    if not ids:
        return [], [], []
    a = np.array(rows, float)
    params = BirdParams(start_enu_m=a[:, 0:3], centre_enu_m=a[:, 3:5], radius_m=a[:, 5], alt_band_m=a[:, 6:8],
                        speed_mps=a[:, 8], speed_band_mps=a[:, 9:11], heading_rad=a[:, 11])
    return ids, rcs, bird_loiter(params, 0.0, duration_s, rngs, dt=BIRD_DT_S)


class Simulation:
    """A scenario run with a seed (None: the scenario's own): truth, scans and reports, bit-for-bit repeatable."""

    def __init__(self, scenario: Scenario, seed: int | None = None) -> None:
        self.scenario = scenario
        self.seed: int = scenario.seed if seed is None else int(seed)
        self.site: Site = scenario.site
        frame = self.site.frame
        duration = scenario.duration_s
        self.radars = [RadarModel(cfg, frame) for cfg in self.site.sensors]
        if not self.radars:
            raise ConfigError(f"{scenario.site_path}: sensors: the site has no radar to simulate")
        # truth objects: scripted targets, then birds
        self.truth_ids: list[str] = [t.id for t in scenario.spec.targets]
        self.truth_kinds: list[str] = [t.kind for t in scenario.spec.targets]
        self.truth_remote_ids: list[str | None] = [t.remote_id for t in scenario.spec.targets]
        rcs = [t.rcs_m2 for t in scenario.spec.targets]
        self.trajectories: list[Trajectory] = []
        for i, target in enumerate(scenario.spec.targets):
            try:
                self.trajectories.append(target_trajectory(target, frame, duration))
            except ValueError as exc:
                raise ConfigError(f"{scenario.path}: targets.{i}.motion: {exc} (target {target.id!r})") from exc
        bird_ids, bird_rcs, bird_trajs = bird_trajectories(scenario.spec.bird_groups, frame, duration, self.seed)
        self.truth_ids += bird_ids
        self.truth_kinds += ["bird"] * len(bird_ids)
        self.truth_remote_ids += [None] * len(bird_ids)
        self.trajectories += bird_trajs
        self.truth_rcs_m2: NDArray[np.float64] = np.array(rcs + bird_rcs, float)
        # the scan schedule over all radars, in time order (ties: site order of the radars)
        per_radar = [np.arange(math.ceil(duration / r.config.scan_period_s - 1e-9)) * r.config.scan_period_s
                     for r in self.radars]
        rel = np.concatenate(per_radar)
        which = np.concatenate([np.full(len(t), i) for i, t in enumerate(per_radar)])
        index = np.concatenate([np.arange(len(t)) for t in per_radar])
        order = np.lexsort((which, rel))
        self._rel_t, self._radar_of, self._scan_of = rel[order], which[order], index[order]
        self.n_steps = len(self._rel_t)
        self.scan_times: NDArray[np.float64] = scenario.start_utc + self._rel_t
        self._sample_truth()
        self._draw_target_variates()
        self._remote_id_reports()

    def _sample_truth(self) -> None:
        """Truth at every step time: alive (S,m), pos/vel (S,m,3), in_coverage (S,m); read-only arrays."""
        s, m = self.n_steps, len(self.trajectories)
        self._alive = np.zeros((s, m), bool)
        self._pos = np.full((s, m, 3), np.nan)
        self._vel = np.full((s, m, 3), np.nan)
        for j, traj in enumerate(self.trajectories):
            self._alive[:, j], self._pos[:, j], self._vel[:, j] = traj.sample(self._rel_t)
        covered = np.zeros((s, m), bool)
        for radar in self.radars:
            covered |= radar.in_coverage(self._pos)
        self._in_cov = covered & self._alive
        for a in (self._alive, self._pos, self._vel, self._in_cov):
            a.flags.writeable = False

    def _draw_target_variates(self) -> None:
        """Each (radar, object) pair's Swerling and noise variates for all of that radar's scans."""
        self._unit_exp: list[NDArray[np.float64]] = []
        self._unit_normal: list[NDArray[np.float64]] = []
        for r, radar in enumerate(self.radars):
            n_scans = int(np.count_nonzero(self._radar_of == r))
            e = np.empty((n_scans, len(self.truth_ids)))
            g = np.empty((n_scans, len(self.truth_ids), 3))
            for j, tid in enumerate(self.truth_ids):
                rng = rng_stream(self.seed, "radar", radar.sensor_id, "object", tid)
                e[:, j] = rng.standard_exponential(n_scans)
                g[:, j] = rng.standard_normal((n_scans, 3))
            self._unit_exp.append(e)
            self._unit_normal.append(g)

    def _remote_id_reports(self) -> None:
        """Remote ID broadcasts of the cooperative objects, once per second with GNSS errors, in time order."""
        reports: list[CoopReport] = []
        for j, uas_id in enumerate(self.truth_remote_ids):
            if uas_id is None:
                continue
            traj = self.trajectories[j]
            rel = np.arange(traj.t_start, traj.t_end + 1e-9, REMOTE_ID_PERIOD_S)
            _, pos, vel = traj.sample(rel)
            rng = rng_stream(self.seed, "remote-id", self.truth_ids[j])
            pos = pos + GNSS_SIGMA_ENU_M * rng.standard_normal(pos.shape)
            vel = vel + GNSS_SIGMA_VEL_MPS * rng.standard_normal(vel.shape)
            reports += [CoopReport(t=float(self.scenario.start_utc + rel[k]), uas_id=uas_id, position_enu_m=pos[k],
                                   velocity_enu_mps=vel[k], source="remote-id") for k in range(len(rel))]
        reports.sort(key=lambda c: c.t)
        self._reports = reports
        self._report_t = np.array([c.t for c in reports], float)

    def steps(self) -> Iterator[SimStep]:
        """Every scan of every radar in time order, with truth and the Remote ID reports received since the last."""
        scan_rngs = [rng_stream(self.seed, "radar", r.sensor_id, "scan") for r in self.radars]
        done = 0
        for s in range(self.n_steps):
            t = float(self.scan_times[s])
            r, k = int(self._radar_of[s]), int(self._scan_of[s])
            draws = TargetDraws(self._unit_exp[r][k], self._unit_normal[r][k])
            scan = self.radars[r].scan(t, self._pos[s], self.truth_rcs_m2, scan_rngs[r], draws=draws)
            upto = int(np.searchsorted(self._report_t, t, side="right"))
            coop, done = self._reports[done:upto], upto
            truth = TruthSnapshot(t, self._alive[s], self._pos[s], self._vel[s], self._in_cov[s])
            yield SimStep(t, scan, truth, coop)
