"""Seeded, deterministic trajectories of simulated objects, sampled on a fine time grid in site ENU.

Birds are in :mod:`.birds`, ground vehicles in :mod:`.traffic`.

Every generator returns a :class:`Trajectory` (times, positions, velocities, sampled every ``dt``
seconds); the engine interpolates it at scan times. An object exists only between the first and the
last sample of its trajectory. Horizontal headings inside this module are mathematical angles
(counter-clockwise from east); turn rates are positive counter-clockwise seen from above, as in the
usual coordinated-turn model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]
Airframe = Literal["fixed-wing", "multirotor"]
OnArrival = Literal["vanish", "hold"]

DT_S = 0.1
_G = 9.81


@dataclass(frozen=True)
class Trajectory:
    """An object's motion: ``t (k,)`` seconds, ``pos (k,3)`` ENU m, ``vel (k,3)`` ENU m/s."""

    t: Array
    pos: Array
    vel: Array

    def __post_init__(self) -> None:
        if self.t.ndim != 1 or len(self.t) == 0 or self.pos.shape != (len(self.t), 3) \
                or self.vel.shape != self.pos.shape:
            raise ValueError(f"inconsistent trajectory shapes {self.t.shape}, {self.pos.shape}, {self.vel.shape}")

    @property
    def t_start(self) -> float:
        return float(self.t[0])

    @property
    def t_end(self) -> float:
        return float(self.t[-1])

    def sample(self, times: ArrayLike) -> tuple[NDArray[np.bool_], Array, Array]:
        """Linear interpolation at ``times (n,)`` -> alive (n,), pos (n,3), vel (n,3); NaN where not alive."""
        tq = np.atleast_1d(np.asarray(times, float))
        alive = (tq >= self.t[0]) & (tq <= self.t[-1])
        if len(self.t) == 1:
            pos = np.repeat(self.pos, len(tq), axis=0)
            vel = np.repeat(self.vel, len(tq), axis=0)
        else:
            i = np.clip(np.searchsorted(self.t, tq, side="right") - 1, 0, len(self.t) - 2)
            w = np.clip((tq - self.t[i]) / (self.t[i + 1] - self.t[i]), 0.0, 1.0)[:, None]
            pos = self.pos[i] + w * (self.pos[i + 1] - self.pos[i])
            vel = self.vel[i] + w * (self.vel[i + 1] - self.vel[i])
        pos[~alive] = np.nan
        vel[~alive] = np.nan
        return alive, pos, vel

    def then(self, other: Trajectory) -> Trajectory:
        """This trajectory followed by ``other``, which must start where (and when) this one ends."""
        if not math.isclose(other.t_start, self.t_end, abs_tol=1e-9):
            raise ValueError(f"cannot join a trajectory ending at {self.t_end} to one starting at {other.t_start}")
        return Trajectory(np.concatenate([self.t, other.t[1:]]), np.concatenate([self.pos, other.pos[1:]]),
                          np.concatenate([self.vel, other.vel[1:]]))


def time_grid(t0: float, t1: float, dt: float) -> Array:
    """t0, t0+dt, ... up to and including t1 (the last step may be shorter)."""
    if t1 < t0:
        raise ValueError(f"end time {t1} is before start time {t0}")
    n = math.floor((t1 - t0) / dt + 1e-9)
    t = t0 + dt * np.arange(n + 1, dtype=float)
    if t1 - t[-1] > 1e-9:
        t = np.append(t, t1)
    return t


def constant_velocity(p0: ArrayLike, vel_mps: ArrayLike, t0: float, t1: float, dt: float = DT_S) -> Trajectory:
    """Straight flight from ``p0`` at time ``t0`` with constant velocity until ``t1``."""
    t = time_grid(t0, t1, dt)
    v = np.asarray(vel_mps, float).reshape(3)
    pos = np.asarray(p0, float).reshape(3) + (t - t0)[:, None] * v
    return Trajectory(t, pos, np.tile(v, (len(t), 1)))


def hover(p: ArrayLike, t0: float, t1: float, dt: float = DT_S) -> Trajectory:
    """An object holding still at ``p`` from ``t0`` to ``t1``."""
    return constant_velocity(p, np.zeros(3), t0, t1, dt)


def turn_step(pos: ArrayLike, vel: ArrayLike, turn_rate_rps: ArrayLike, dt: ArrayLike) -> tuple[Array, Array]:
    """Exact coordinated-turn flight for ``dt`` seconds (positive rate = counter-clockwise, 0 = straight),
    constant speed and climb rate; broadcasts over targets (rows of ``pos``, ``vel``) or over times (``dt``).
    """
    pos, vel = np.asarray(pos, float), np.asarray(vel, float)
    wt = np.asarray(turn_rate_rps, float) * np.asarray(dt, float)
    turning = np.abs(wt) > 1e-12
    w = np.where(turning, turn_rate_rps, 1.0)
    s, c = np.sin(wt), np.cos(wt)
    a = np.where(turning, s / w, dt)  # limits of sin(wt)/w and (1 - cos(wt))/w as w -> 0
    b = np.where(turning, (1.0 - c) / w, 0.0)
    ve, vn, vu = vel[..., 0], vel[..., 1], vel[..., 2]
    step = np.stack(np.broadcast_arrays(a * ve - b * vn, b * ve + a * vn, vu * np.asarray(dt, float)), axis=-1)
    new_vel = np.stack(np.broadcast_arrays(c * ve - s * vn, s * ve + c * vn, vu + 0.0 * wt), axis=-1)
    return pos + step, new_vel


def coordinated_turn(p0: ArrayLike, v0_mps: ArrayLike, turn_rate_rps: float, t0: float, t1: float,
                     dt: float = DT_S) -> Trajectory:
    """Analytic turn at constant speed and rate (positive = counter-clockwise); vertical speed constant.

    The horizontal track is a circle of radius |v| / |turn_rate| (a straight line when the rate is 0).
    """
    t = time_grid(t0, t1, dt)
    pos, vel = turn_step(np.asarray(p0, float).reshape(3), np.asarray(v0_mps, float).reshape(3),
                         float(turn_rate_rps), t - t0)
    return Trajectory(t, pos, vel)


@dataclass(frozen=True)
class FlightLimits:
    """Kinematic limits of an airframe following waypoints (speeds m/s, rates rad/s, accel m/s²)."""

    airframe: Airframe
    cruise_speed_mps: float
    min_speed_mps: float
    max_speed_mps: float
    max_turn_rate_rps: float
    max_climb_rate_mps: float
    max_accel_mps2: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_speed_mps <= self.cruise_speed_mps <= self.max_speed_mps:
            raise ValueError(f"need 0 <= min_speed ({self.min_speed_mps}) <= cruise ({self.cruise_speed_mps}) "
                             f"<= max_speed ({self.max_speed_mps})")
        if self.airframe == "fixed-wing" and self.min_speed_mps <= 0.0:
            raise ValueError("a fixed-wing airframe needs a positive minimum speed")
        if min(self.max_turn_rate_rps, self.max_climb_rate_mps, self.max_accel_mps2) <= 0.0:
            raise ValueError("turn rate, climb rate and acceleration limits must be positive")

    @classmethod
    def fixed_wing(cls, cruise_speed_mps: float, **overrides: float) -> FlightLimits:
        """Typical small fixed-wing drone: 35° bank turns, 60–150 % of cruise speed, 5 m/s climb."""
        values = {
            "min_speed_mps": 0.6 * cruise_speed_mps,
            "max_speed_mps": 1.5 * cruise_speed_mps,
            "max_turn_rate_rps": min(_G * math.tan(math.radians(35.0)) / cruise_speed_mps, math.radians(30.0)),
            "max_climb_rate_mps": 5.0,
            "max_accel_mps2": 2.0,
        } | overrides
        return cls("fixed-wing", cruise_speed_mps, **values)

    @classmethod
    def multirotor(cls, cruise_speed_mps: float, **overrides: float) -> FlightLimits:
        """Typical multirotor: stops and hovers, yaws at 90°/s, climbs at 4 m/s, accelerates at 3 m/s²."""
        values = {
            "min_speed_mps": 0.0,
            "max_speed_mps": 1.5 * cruise_speed_mps,
            "max_turn_rate_rps": math.radians(90.0),
            "max_climb_rate_mps": 4.0,
            "max_accel_mps2": 3.0,
        } | overrides
        return cls("multirotor", cruise_speed_mps, **values)


def _wrap(a: float) -> float:
    return (a + math.pi) % (2.0 * math.pi) - math.pi


def _clip(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


def follow_waypoints(waypoints: ArrayLike, limits: FlightLimits, t0: float, t_max: float, *,
                     loop: bool = False, on_arrival: OnArrival = "vanish", accept_radius_m: float = 10.0,
                     holds_s: ArrayLike | None = None, dt: float = DT_S) -> Trajectory:
    """Fly from the first waypoint through the others within ``limits``, until arrival or ``t_max``.

    Guidance is pure pursuit of the next waypoint with a glide slope between waypoints. A fixed-wing
    keeps its minimum speed and flies on when a waypoint lies inside its turn circle; a multirotor
    slows to turn in place and stops at sharp corners. ``holds_s`` (one per waypoint, 0 = none) makes
    a multirotor stop and hover that long on a waypoint (a fixed-wing circles at half its turn rate),
    then go on, on every lap. On the last waypoint the object vanishes (``"vanish"``, e.g. a drone
    hitting its target) or holds (multirotor: brakes and hovers; fixed-wing: circles at half its turn
    rate); with ``loop`` it flies the waypoints round and round until ``t_max``.
    """
    wp = np.asarray(waypoints, float).reshape(-1, 3)
    if len(wp) < 2:
        raise ValueError("follow_waypoints needs at least two waypoints")
    holds = np.zeros(len(wp)) if holds_s is None else np.asarray(holds_s, float).reshape(-1)
    if holds.shape != (len(wp),) or not (holds >= 0.0).all():
        raise ValueError(f"need one non-negative hold time per waypoint (got {holds.tolist()})")
    lim = limits
    fixed_wing = lim.airframe == "fixed-wing"
    x, y, z = (float(c) for c in wp[0])
    target = 1
    heading = math.atan2(wp[1, 1] - y, wp[1, 0] - x)
    v = lim.cruise_speed_mps if fixed_wing else 0.0
    w = 0.0
    lx, ly, lz = x, y, z  # where the current leg started
    glide = 1.0  # fraction of the leg's height change still to go (never grows back)
    extending = False  # fixed-wing flying on to get room to turn back to a waypoint inside its turn circle
    dv_max, dturn_max = lim.max_accel_mps2 * dt, lim.max_turn_rate_rps * dt
    ts: list[float] = []
    rows: list[tuple[float, float, float, float, float, float]] = []
    arrived = False
    stop = (_must_stop(wp, target, loop, on_arrival) or holds[target] > 0.0) and not fixed_wing
    hold_end: float | None = None  # holding on the current waypoint until then
    held = False  # the current waypoint's hold is done
    k = 0
    while True:
        t = t0 + k * dt
        if hold_end is not None and t >= hold_end - 1e-9:
            hold_end = None
        tx, ty, tz = (float(c) for c in wp[target])
        skipped = 0
        # a waypoint is reached inside the acceptance radius (and, where a multirotor stops, once stopped)
        while not arrived and hold_end is None and math.dist((x, y, z), (tx, ty, tz)) <= accept_radius_m \
                and (not stop or v <= 0.5):
            if holds[target] > 0.0 and not held:
                hold_end, held = t + float(holds[target]), True
                if not fixed_wing:
                    v = w = 0.0
                break
            held = False
            if target == len(wp) - 1 and not loop:
                arrived = True
                break
            skipped += 1
            if skipped > len(wp):
                raise ValueError(f"all waypoints lie within the acceptance radius ({accept_radius_m} m)")
            target = (target + 1) % len(wp)
            stop = (_must_stop(wp, target, loop, on_arrival) or holds[target] > 0.0) and not fixed_wing
            lx, ly, lz, glide, extending = x, y, z, 1.0, False
            tx, ty, tz = (float(c) for c in wp[target])
        ts.append(t)
        rows.append((x, y, z, v * math.cos(heading), v * math.sin(heading), w))
        if t + 0.5 * dt > t_max or (arrived and (fixed_wing or on_arrival == "vanish" or v == w == 0.0)):
            break
        dx, dy = tx - x, ty - y
        dh = math.hypot(dx, dy)
        err = _wrap(math.atan2(dy, dx) - heading) if dh > 1e-6 else 0.0
        # horizontal guidance (after arrival a holding multirotor only brakes; on a hold it hovers or circles)
        still = arrived or (hold_end is not None and not fixed_wing)
        if still:
            v_des, turn = 0.0, 0.0
        elif hold_end is not None:
            v_des, turn = lim.cruise_speed_mps, 0.5 * dturn_max
        elif fixed_wing:
            radius = v / lim.max_turn_rate_rps
            # a waypoint inside the turn circle cannot be reached by turning: fly on until it is at least
            # 2.5 turn radii away, from where a turn at the full rate always leads to it
            if dh < 2.0 * radius * abs(math.sin(err)):
                extending = True
            elif dh > 2.5 * radius:
                extending = False
            turn = 0.0 if extending else _clip(err, -dturn_max, dturn_max)
            v_des = lim.cruise_speed_mps
        else:
            turn = _clip(err, -dturn_max, dturn_max)
            v_des = lim.cruise_speed_mps * math.cos(err) ** 4 if abs(err) < math.radians(60.0) else 0.0
            if stop:  # brake at half the acceleration limit to stop on the waypoint
                v_des = min(v_des, math.sqrt(lim.max_accel_mps2 * dh))
        heading = _wrap(heading + turn)
        v = _clip(v + _clip(v_des - v, -dv_max, dv_max), lim.min_speed_mps, lim.max_speed_mps)
        # vertical guidance: a straight glide slope from the leg's start to the waypoint
        leg_h = math.hypot(tx - lx, ty - ly)
        feed = 0.0  # feed-forward climb rate along the glide slope while closing in
        if leg_h <= 1.0:
            glide = 0.0
        elif dh / leg_h < glide:
            glide = dh / leg_h
            feed = (tz - lz) / leg_h * v * max(0.0, math.cos(err))
        w_des = 0.0 if still else _clip((tz + (lz - tz) * glide - z) / 2.0 + feed,
                                          -lim.max_climb_rate_mps, lim.max_climb_rate_mps)
        w += _clip(w_des - w, -dv_max, dv_max)
        x += v * math.cos(heading) * dt
        y += v * math.sin(heading) * dt
        z += w * dt
        k += 1
    arr = np.array(rows, float)
    traj = Trajectory(np.array(ts, float), arr[:, :3], arr[:, 3:])
    if not arrived or on_arrival == "vanish" or traj.t_end >= t_max:
        return traj
    if fixed_wing:  # hold: circle at half the turn rate (radius twice the minimum)
        return traj.then(coordinated_turn(traj.pos[-1], traj.vel[-1], 0.5 * lim.max_turn_rate_rps,
                                          traj.t_end, t_max, dt))
    return traj.then(hover(traj.pos[-1], traj.t_end, t_max, dt))


def _must_stop(wp: Array, target: int, loop: bool, on_arrival: OnArrival) -> bool:
    """A multirotor stops at the final waypoint when it holds there, and at corners sharper than 30°."""
    n = len(wp)
    if target == n - 1 and not loop:
        return on_arrival == "hold"
    a, b, c = wp[target - 1], wp[target], wp[(target + 1) % n]
    h1, h2 = b[:2] - a[:2], c[:2] - b[:2]
    n1, n2 = float(np.hypot(*h1)), float(np.hypot(*h2))
    if n1 < 1e-6 or n2 < 1e-6:
        return True
    return float(np.dot(h1, h2)) / (n1 * n2) < math.cos(math.radians(30.0))
