"""Birds that fly like birds: species, flight styles, loitering or crossing, and flocks.

Every bird is one row of arrays and the time loop runs over all birds at once. Speed, turn and climb
are Ornstein–Uhlenbeck processes whose constants depend on the flight style, with on top of them:

- ``wander``: the original generic loitering bird (kept bit for bit);
- ``flapping``: steady continuous flapping, gentle turns (pigeons, ducks, starlings);
- ``erratic``: fast continuous flapping with quick, erratic turns (swifts hawking insects);
- ``flap-glide``: speed rises while flapping and falls while gliding, a cycle of a few seconds, with a
  small climb–sink undulation (gulls, crows);
- ``soaring``: circles in a thermal at a fixed turn rate while climbing, to the top of its altitude
  band, then glides off straight and sinking until the band's base or the glide's end (raptors).

A loitering bird is pulled back towards its centre beyond its radius; a transit bird enters the disc
of the group's radius on its upstream edge, holds its heading (pulled back to it) and vanishes when
it leaves the disc. A flock is one leader path (its own stream) that every member follows at its own
offset in the leader's frame, plus a small jitter; the leader itself is not an object.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.signal import lfilter

from skywarden.geo import LocalFrame
from skywarden.sim.motion import Trajectory, time_grid
from skywarden.sim.scenario import BirdGroupSpec, FlightStyle
from skywarden.sim.streams import rng_stream

Array = NDArray[np.float64]

# At 25 m/s and 2 rad/s (an erratic swift) linear interpolation between 0.2 s samples errs by
# v·w·dt²/8 ≈ 0.25 m; the slow generic birds by < 0.1 m.
BIRD_DT_S = 0.2


@dataclass(frozen=True)
class SpeciesDefaults:
    """A species' speed band (m/s), flight style and mean RCS band (m²)."""

    speed_mps: tuple[float, float]
    style: FlightStyle
    rcs_m2: tuple[float, float]


# Speeds are rounded bands around published airspeeds: tracking-radar cruising speeds of migrants
# (Bruderer & Boldt 2001, Ibis 143:178–204; Alerstam et al. 2007, PLoS Biol 5:e197: most species
# 8–20 m/s, ducks and pigeons among the fastest at ~17–20 m/s, raptors and gulls ~10–13 m/s) and
# optical measurements at Falsterbo (Pennycuick 2001, J Exp Biol 204:3283–3294: raptors flap-glide
# below their minimum-power speed, slowing in glides and speeding up when flapping). Swifts cruise at
# ~10 m/s on migration (Henningsson et al. 2009, Proc R Soc B 276:2395–2401) but chase and dive at
# 15–25 m/s and more, which is the fast case modelled here; set speed_mps for cruising swifts.
# RCS bands are orders of magnitude for single birds at microwave frequencies (Vaughn 1985, Proc IEEE
# 73:205–227: ~1 cm² for small passerines to ~100 cm² and more for large birds, strongly aspect
# dependent), deliberately overlapping small drones (0.01–0.05 m²).
SPECIES: dict[str, SpeciesDefaults] = {
    "gull": SpeciesDefaults((9.0, 15.0), "flap-glide", (0.005, 0.03)),
    "pigeon": SpeciesDefaults((12.0, 20.0), "flapping", (0.003, 0.015)),
    "crow": SpeciesDefaults((8.0, 14.0), "flap-glide", (0.003, 0.015)),
    "swift": SpeciesDefaults((15.0, 25.0), "erratic", (0.0005, 0.003)),
    "raptor": SpeciesDefaults((8.0, 14.0), "soaring", (0.01, 0.05)),
    "starling": SpeciesDefaults((13.0, 18.0), "flapping", (0.001, 0.005)),
    "duck": SpeciesDefaults((15.0, 22.0), "flapping", (0.005, 0.03)),
    "generic": SpeciesDefaults((6.0, 14.0), "wander", (0.005, 0.02)),
}


@dataclass(frozen=True)
class StyleConstants:
    """Ornstein–Uhlenbeck constants of a flight style: turn (s, rad/s, rad/s) and speed (s, share of band)."""

    turn_tau_s: float
    turn_sd_rps: float
    max_turn_rps: float
    speed_tau_s: float
    speed_sd_band: float


STYLES: dict[str, StyleConstants] = {
    "wander": StyleConstants(6.0, 0.15, 0.6, 10.0, 0.15),
    "flapping": StyleConstants(8.0, 0.06, 0.4, 15.0, 0.08),
    "erratic": StyleConstants(1.5, 0.7, 2.0, 3.0, 0.2),
    "flap-glide": StyleConstants(6.0, 0.1, 0.5, 10.0, 0.1),
    "soaring": StyleConstants(8.0, 0.05, 0.3, 10.0, 0.05),  # its glides; circling is set apart
}
_TAU_CLIMB_S, _SD_CLIMB_MPS, _MAX_CLIMB_MPS = 5.0, 0.7, 2.5
_TRANSIT_GAIN = 0.05  # 1/s: a transit bird's heading is pulled back to its course with a 20 s constant
_FLAP_CLIMB_MPS = 0.4  # climb while flapping in a flap-glide cycle (sinks while gliding, none on average)


@dataclass(frozen=True)
class BirdParams:
    """Per-bird parameters, arrays of length n (one entry per bird); optional parts default to wandering."""

    start_enu_m: Array  # (n, 3)
    centre_enu_m: Array  # (n, 2) horizontal centre of the area the bird keeps to (or crosses)
    radius_m: Array  # (n,)
    alt_band_m: Array  # (n, 2) low, high
    speed_mps: Array  # (n,) the bird's mean speed
    speed_band_mps: Array  # (n, 2) the speed stays inside this band
    heading_rad: Array  # (n,) initial heading (counter-clockwise from east)
    flight: BirdFlight | None = None  # None: every bird wanders
    start_s: Array | None = None  # (n,) when each bird appears (None: all at the start)
    transit_heading_rad: Array | None = None  # (n,) course of a transit bird, NaN for a loitering one


@dataclass(frozen=True)
class BirdFlight:
    """Per-bird flight-style arrays (n,): OU constants, flap–glide cycle, thermal soaring."""

    turn_tau_s: Array
    turn_sd_rps: Array
    max_turn_rps: Array
    speed_tau_s: Array
    speed_sd_mps: Array
    glide_amp_mps: Array  # flap–glide: speed excursion (0: no cycle)
    glide_period_s: Array
    flap_fraction: Array  # share of the cycle spent flapping (accelerating)
    glide_phase: Array  # cycle phase at the start, 0–1
    soaring: NDArray[np.bool_]
    thermal_turn_rps: Array  # signed circling rate in a thermal
    thermal_climb_mps: Array
    thermal_speed_mps: Array
    glide_speed_mps: Array  # soaring: straight glide between thermals
    glide_sink_mps: Array
    glide_max_s: Array
    in_thermal: NDArray[np.bool_]  # soaring birds that start circling

    @classmethod
    def wander(cls, speed_band_mps: Array) -> BirdFlight:
        """Every bird a generic wanderer (the constants of ``STYLES["wander"]``)."""
        return cls.of(["wander"] * len(speed_band_mps), speed_band_mps, np.full((len(speed_band_mps), 8), 0.5))

    @classmethod
    def of(cls, styles: Sequence[str], speed_band_mps: Array, u: Array) -> BirdFlight:
        """Arrays for ``styles`` (n,) within ``speed_band_mps`` (n, 2), per-bird draws from uniforms ``u`` (n, 8)."""
        c = [STYLES[s] for s in styles]
        lo, hi = speed_band_mps[:, 0], speed_band_mps[:, 1]
        fg = np.array([s == "flap-glide" for s in styles])
        soar = np.array([s == "soaring" for s in styles])
        mean = 0.5 * (lo + hi)
        return cls(
            turn_tau_s=np.array([x.turn_tau_s for x in c]), turn_sd_rps=np.array([x.turn_sd_rps for x in c]),
            max_turn_rps=np.array([x.max_turn_rps for x in c]), speed_tau_s=np.array([x.speed_tau_s for x in c]),
            speed_sd_mps=np.array([x.speed_sd_band for x in c]) * (hi - lo),
            # a flap–glide cycle of 2.5–6 s swinging the speed by ±10–15 % of the mean
            glide_amp_mps=np.where(fg, np.minimum((0.10 + 0.05 * u[:, 0]) * mean, 0.45 * (hi - lo)), 0.0),
            glide_period_s=2.5 + 3.5 * u[:, 1], flap_fraction=0.4 + 0.2 * u[:, 2], glide_phase=u[:, 3],
            # thermals: circling at 0.2–0.5 rad/s either way while climbing at 1–3 m/s, slow; glides fast
            # and sinking ~1 m/s for up to 20–60 s (after Pennycuick 1972, Ibis 114:178–218; Spaar 1997,
            # Ibis 139:523–535)
            soaring=soar, thermal_turn_rps=np.where(u[:, 4] < 0.5, 1.0, -1.0) * (0.2 + 0.6 * np.abs(u[:, 4] - 0.5)),
            thermal_climb_mps=1.0 + 2.0 * u[:, 5], thermal_speed_mps=lo + 0.15 * (hi - lo),
            glide_speed_mps=lo + 0.8 * (hi - lo), glide_sink_mps=0.8 + 0.4 * u[:, 6], glide_max_s=20.0 + 40.0 * u[:, 7],
            in_thermal=soar & (u[:, 2] < 0.5),
        )


def fly_birds(params: BirdParams, t0: float, t1: float, rngs: Sequence[np.random.Generator],
              dt: float = BIRD_DT_S) -> list[Trajectory]:
    """Birds from ``t0`` (or each one's ``start_s``) to ``t1``: one time loop over all birds at once.

    Each bird draws its noise from its own generator in ``rngs``, so birds do not share randomness.
    A transit bird's trajectory ends where it leaves its disc.
    """
    p = params
    n = len(p.radius_m)
    if len(rngs) != n:
        raise ValueError(f"fly_birds needs one generator per bird ({n}), got {len(rngs)}")
    if n == 0:
        return []
    f = p.flight or BirdFlight.wander(p.speed_band_mps)
    t = time_grid(t0, t1, dt)
    steps = len(t)
    noise = np.stack([r.standard_normal((steps + 1, 3)) for r in rngs], axis=1)  # (steps + 1, n, 3)
    tau = t - t0  # each bird's own clock from its start
    turn_ou = _ou(noise[:, :, 0], f.turn_tau_s, dt) * f.turn_sd_rps
    lo, hi = p.speed_band_mps[:, 0], p.speed_band_mps[:, 1]
    amp = f.glide_amp_mps
    speed = np.clip(p.speed_mps + _ou(noise[:, :, 1], f.speed_tau_s, dt) * f.speed_sd_mps, lo + amp, hi - amp)
    climb_ou = _ou(noise[:, :, 2], np.full(n, _TAU_CLIMB_S), dt) * _SD_CLIMB_MPS
    cycling = amp > 0.0
    if cycling.any():  # flap–glide: a sawtooth rising while flapping, falling while gliding
        phase = np.mod(tau[:, None] / f.glide_period_s + f.glide_phase, 1.0)
        frac = f.flap_fraction
        flapping = phase < frac
        wave = np.where(flapping, -1.0 + 2.0 * phase / frac, 1.0 - 2.0 * (phase - frac) / (1.0 - frac))
        speed = speed + amp * wave
        undulation = np.where(flapping, _FLAP_CLIMB_MPS, -_FLAP_CLIMB_MPS * frac / (1.0 - frac))
        climb_ou = climb_ou + np.where(cycling, undulation, 0.0)
    margin = 0.15 * (p.alt_band_m[:, 1] - p.alt_band_m[:, 0])
    z_lo, z_hi = p.alt_band_m[:, 0] + margin, p.alt_band_m[:, 1] - margin
    cx, cy = p.centre_enu_m[:, 0], p.centre_enu_m[:, 1]
    inv_ramp = 1.0 / (0.2 * p.radius_m)
    course = np.full(n, np.nan) if p.transit_heading_rad is None else p.transit_heading_rad
    transit = ~np.isnan(course)
    any_transit, soar = bool(transit.any()), f.soaring
    any_soar = bool(soar.any())
    thermal = f.in_thermal.copy()
    glide_t = np.zeros(n)
    x, y, z = (np.array(p.start_enu_m[:, i], float) for i in range(3))
    heading = np.array(p.heading_rad, float)
    out = np.empty((steps, 6, n))
    for k in range(steps):
        # the pull towards the centre grows over the first 20 % beyond the radius; climb is pulled into the band
        c, s = np.cos(heading), np.sin(heading)
        v = speed[k]
        climb = np.minimum(np.maximum(climb_ou[k] + 0.3 * (np.minimum(np.maximum(z, z_lo), z_hi) - z),
                                      -_MAX_CLIMB_MPS), _MAX_CLIMB_MPS)
        if any_soar:
            v = np.where(thermal, f.thermal_speed_mps, np.where(soar, f.glide_speed_mps, v))
            climb = np.where(thermal, f.thermal_climb_mps, np.where(soar, -f.glide_sink_mps, climb))
        vx, vy = v * c, v * s
        o = out[k]
        o[0], o[1], o[2], o[3], o[4], o[5] = x, y, z, vx, vy, climb
        x, y, z = x + vx * dt, y + vy * dt, z + climb * dt
        dxc, dyc = cx - x, cy - y
        stray = np.minimum(np.maximum((np.hypot(dxc, dyc) - p.radius_m) * inv_ramp, 0.0), 1.0)
        steer = np.arctan2(c * dyc - s * dxc, c * dxc + s * dyc)  # signed angle from heading to the centre
        pull = stray * steer
        if any_transit:
            pull = np.where(transit, _TRANSIT_GAIN * (np.mod(course - heading + np.pi, 2 * np.pi) - np.pi), pull)
        turn = np.minimum(np.maximum(turn_ou[k] + pull, -f.max_turn_rps), f.max_turn_rps)
        if any_soar:
            turn = np.where(thermal, f.thermal_turn_rps, turn)
            glide_t = np.where(thermal, 0.0, glide_t + dt)
            topped = thermal & (z >= z_hi)
            sunk = soar & ~thermal & ((z <= z_lo) | (glide_t >= f.glide_max_s))
            thermal = (thermal & ~topped) | sunk
        heading = heading + turn * dt
    return _cut(p, t, tau, out, transit, t1)


def _cut(p: BirdParams, t: Array, tau: Array, out: NDArray[np.float64], transit: NDArray[np.bool_],
         t1: float) -> list[Trajectory]:
    """Each bird's trajectory on its own clock: from its start to ``t1``, a transit bird until it leaves its disc."""
    n = out.shape[2]
    start = np.full(n, t[0]) if p.start_s is None else p.start_s
    trajs = []
    for i in range(n):
        ti = t if p.start_s is None else start[i] + tau
        end = int(np.searchsorted(ti, t1 + 1e-9))
        if transit[i]:
            dist = np.hypot(out[:end, 0, i] - p.centre_enu_m[i, 0], out[:end, 1, i] - p.centre_enu_m[i, 1])
            outside = np.flatnonzero((dist > p.radius_m[i]) & (tau[:end] > 5.0))
            end = int(outside[0]) + 1 if len(outside) else end
        end = max(end, 1)
        trajs.append(Trajectory(ti[:end].copy(), out[:end, :3, i].copy(), out[:end, 3:, i].copy()))
    return trajs


def flock_members(leader: Trajectory, offsets_m: Array, rngs: Sequence[np.random.Generator],
                  jitter_sd_m: float, tau_s: float = 4.0) -> list[Trajectory]:
    """Flock members following ``leader`` at ``offsets_m`` (m, 3) (ahead, left, up of its heading), with OU jitter."""
    h = np.arctan2(leader.vel[:, 1], leader.vel[:, 0])[:, None]
    c, s = np.cos(h), np.sin(h)
    dt = float(leader.t[1] - leader.t[0]) if len(leader.t) > 1 else BIRD_DT_S
    members = []
    for off, rng in zip(offsets_m, rngs, strict=True):
        e = rng.standard_normal((len(leader.t) + 1, 3))
        jitter = _ou(e, np.full(3, tau_s), dt) * jitter_sd_m
        pos = leader.pos + np.column_stack([c * off[0] - s * off[1], s * off[0] + c * off[1],
                                            np.full_like(c, off[2])]) + jitter
        vel = np.gradient(pos, leader.t, axis=0) if len(leader.t) > 1 else leader.vel.copy()
        members.append(Trajectory(leader.t.copy(), pos, vel))
    return members


def _ou(e: Array, tau_s: Array, dt: float) -> Array:
    """Unit-variance Ornstein–Uhlenbeck series from white noise ``e (k+1, n)`` with time constants ``tau_s (n,)``."""
    y = np.empty((len(e) - 1, e.shape[1]))
    for tau in np.unique(tau_s):
        cols = np.flatnonzero(tau_s == tau)
        a = math.exp(-dt / float(tau))
        zi = (a * e[0, cols])[None, :]
        y[:, cols], _ = lfilter([math.sqrt(1.0 - a * a)], [1.0, -a], e[1:, cols], axis=0, zi=zi)
    return y


def bird_trajectories(groups: Sequence[BirdGroupSpec], frame: LocalFrame, duration_s: float,
                      seed: int) -> tuple[list[str], list[str], list[float], list[Trajectory]]:
    """All birds of all groups: ids, types (``bird/<species>``), mean RCS (m²) and trajectories.

    Each bird has its own stream (a flock's leader the group's), so adding a bird or a group leaves
    the others unchanged; a generic wandering group draws exactly as it always has.
    """
    rows: list[tuple[float, ...]] = []
    draws: list[float] = []  # each non-flock bird's uniform for its RCS
    styles: list[str] = []
    extra: list[NDArray[np.float64]] = []
    rngs: list[np.random.Generator] = []
    for g in groups:
        sp = SPECIES[g.species]
        cx, cy, _ = g.centre.to_enu(frame)
        (z_lo, z_hi), (v_lo, v_hi) = g.alt_m, g.speed_mps or sp.speed_mps
        fliers = [f"{g.id}"] if g.flock else g.bird_ids()
        for name in fliers:
            rng = rng_stream(seed, "flock", name) if g.flock else rng_stream(seed, "bird", name)
            u = rng.uniform(size=6)
            if g.motion == "transit":
                start = _transit_start(g, frame, u, duration_s)
            else:
                radius, angle = g.radius_m * math.sqrt(u[0]), 2 * math.pi * u[1]
                start = (cx + radius * math.cos(angle), cy + radius * math.sin(angle), 2 * math.pi * u[4],
                         math.nan, 0.0 if g.start_s is None else g.start_s[0])
            rows.append((start[0], start[1], z_lo + (z_hi - z_lo) * u[2], cx, cy, g.radius_m, z_lo, z_hi,
                         v_lo + (v_hi - v_lo) * u[3], v_lo, v_hi, start[2], start[3], start[4]))
            styles.append(g.style or sp.style)
            extra.append(rng_stream(seed, "bird", name, "flight").uniform(size=8))
            rngs.append(rng)
            draws.append(u[5])
    if not rows:
        return [], [], [], []
    a = np.array(rows, float)
    band = a[:, 9:11]
    params = BirdParams(start_enu_m=a[:, 0:3], centre_enu_m=a[:, 3:5], radius_m=a[:, 5], alt_band_m=a[:, 6:8],
                        speed_mps=a[:, 8], speed_band_mps=band, heading_rad=a[:, 11],
                        flight=BirdFlight.of(styles, band, np.array(extra)), start_s=a[:, 13],
                        transit_heading_rad=a[:, 12])
    flown = iter(fly_birds(params, 0.0, duration_s, rngs))
    rcs_u = iter(draws)
    ids: list[str] = []
    types: list[str] = []
    rcs: list[float] = []
    trajs: list[Trajectory] = []
    for g in groups:
        sp = SPECIES[g.species]
        ids += g.bird_ids()
        types += [f"bird/{g.species}"] * g.count
        rcs_band = sp.rcs_m2 if g.rcs_m2 is None else g.rcs_m2 if isinstance(g.rcs_m2, tuple) else (g.rcs_m2,) * 2
        if not g.flock:
            trajs += [next(flown) for _ in range(g.count)]
            rcs += [_log_uniform(rcs_band, next(rcs_u)) for _ in range(g.count)]
            continue
        leader = next(flown)
        next(rcs_u)  # the leader is not an object
        member_rngs = [rng_stream(seed, "bird", b) for b in g.bird_ids()]
        u = np.array([r.uniform(size=4) for r in member_rngs])
        # slots spread over a disc of about spacing * sqrt(count) across, ± half a spacing in height
        r_disc = 0.5 * g.spacing_m * math.sqrt(g.count)
        ang, rad = 2 * np.pi * u[:, 0], r_disc * np.sqrt(u[:, 1])
        offsets = np.column_stack([rad * np.cos(ang), rad * np.sin(ang), g.spacing_m * (u[:, 2] - 0.5)])
        trajs += flock_members(leader, offsets, member_rngs, jitter_sd_m=0.2 * g.spacing_m)
        rcs += [_log_uniform(rcs_band, x) for x in u[:, 3]]
    return ids, types, rcs, trajs


def _transit_start(g: BirdGroupSpec, frame: LocalFrame, u: Array,
                   duration_s: float) -> tuple[float, float, float, float, float]:
    """Where (x, y), on which heading and course, and when a transit bird enters its group's disc."""
    cx, cy, _ = g.centre.to_enu(frame)
    course = math.radians(90.0 - (g.heading_deg or 0.0))  # compass -> mathematical angle
    heading = course + math.radians(g.heading_spread_deg) * (2.0 * u[4] - 1.0)
    lateral = 0.8 * g.radius_m * (2.0 * u[0] - 1.0)
    back = math.sqrt(g.radius_m ** 2 - lateral ** 2) * 0.999
    x = cx - back * math.cos(course) - lateral * math.sin(course)
    y = cy - back * math.sin(course) + lateral * math.cos(course)
    lo, hi = g.start_s if g.start_s is not None else (0.0, duration_s)
    return x, y, heading, course, lo + (hi - lo) * u[1]


def _log_uniform(band: tuple[float, float], u: float) -> float:
    """A value drawn log-uniformly in ``band`` from the uniform ``u``."""
    lo, hi = band
    return math.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * u)
