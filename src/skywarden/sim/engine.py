"""The simulation engine: a scenario and a seed -> sensor scans, truth and cooperative reports, in time order.

All trajectories are computed once on a fine grid when the :class:`Simulation` is built, and sampled at
every scan time; each scan then only draws detections, noise and clutter. Randomness comes from
``numpy.random.default_rng`` streams keyed by the seed and by names (radar id, object id, purpose), so
adding an object leaves the other objects' motion, detections and errors unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skywarden.config import ConfigError, Site
from skywarden.geo import LocalFrame
from skywarden.sensors import CoopReport
from skywarden.sim.birds import bird_trajectories
from skywarden.sim.motion import (
    FlightLimits,
    Trajectory,
    constant_velocity,
    coordinated_turn,
    follow_waypoints,
    hover,
)
from skywarden.sim.radar import RadarModel, SimScan, TargetDraws
from skywarden.sim.scenario import (
    ConstantVelocityMotion,
    HoverMotion,
    Scenario,
    TargetSpec,
    TurnMotion,
)
from skywarden.sim.signature import draw_signatures
from skywarden.sim.streams import rng_stream
from skywarden.sim.traffic import traffic_trajectories

__all__ = ["SimStep", "Simulation", "TruthSnapshot", "rng_stream", "target_trajectory"]

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
                            accept_radius_m=m.accept_radius_m, holds_s=[p.hold_s for p in m.waypoints])


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
        # truth objects: scripted targets first
        self.truth_ids: list[str] = [t.id for t in scenario.spec.targets]
        self.truth_kinds: list[str] = [t.kind for t in scenario.spec.targets]
        self.truth_remote_ids: list[str | None] = [t.remote_id for t in scenario.spec.targets]
        # what each object is physically, "<kind>/<type>" (drone/multirotor, bird/generic, …): its radar signature
        self.truth_types: list[str] = [f"{t.kind}/{t.airframe}" for t in scenario.spec.targets]
        rcs = [t.rcs_m2 for t in scenario.spec.targets]
        self.trajectories: list[Trajectory] = []
        for i, target in enumerate(scenario.spec.targets):
            try:
                self.trajectories.append(target_trajectory(target, frame, duration))
            except ValueError as exc:
                raise ConfigError(f"{scenario.path}: targets.{i}.motion: {exc} (target {target.id!r})") from exc
        # then birds ("bird/<species>"), then ground vehicles ("vehicle/car", "vehicle/lorry")
        for kind, (ids, types, more_rcs, trajs) in (
                ("bird", bird_trajectories(scenario.spec.bird_groups, frame, duration, self.seed)),
                ("vehicle", traffic_trajectories(scenario.spec.traffic, frame, duration, self.seed))):
            self.truth_ids += ids
            self.truth_kinds += [kind] * len(ids)
            self.truth_remote_ids += [None] * len(ids)
            self.truth_types += types
            self.trajectories += trajs
            rcs += more_rcs
        self.truth_rcs_m2: NDArray[np.float64] = np.array(rcs, float)
        self.signatures = draw_signatures(self.truth_types, self.truth_rcs_m2,
                                          [rng_stream(self.seed, "signature", tid) for tid in self.truth_ids])
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
        """Each (radar, object) pair's fluctuation, noise and micro-Doppler variates for all of that radar's scans."""
        self._draws: list[TargetDraws] = []
        for r, radar in enumerate(self.radars):
            n_scans = int(np.count_nonzero(self._radar_of == r))
            self._draws.append(TargetDraws.stack([
                TargetDraws.draw(rng_stream(self.seed, "radar", radar.sensor_id, "object", tid), (n_scans,))
                for tid in self.truth_ids], n_scans))

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
            scan = self.radars[r].scan(t, self._pos[s], self.truth_rcs_m2, scan_rngs[r], draws=self._draws[r].at(k),
                                       signatures=self.signatures, vel_enu_mps=self._vel[s])
            upto = int(np.searchsorted(self._report_t, t, side="right"))
            coop, done = self._reports[done:upto], upto
            truth = TruthSnapshot(t, self._alive[s], self._pos[s], self._vel[s], self._in_cov[s])
            yield SimStep(t, scan, truth, coop)
