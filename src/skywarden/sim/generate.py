"""Parameterised scenarios at scale: N gently manoeuvring targets, a detection probability, clutter, noise.

Unlike a scenario file, nothing here models the radar equation: each target is detected with the
probability ``pd`` asked for, each scan has Poisson(``clutter_per_scan``) false plots spread over the
surveillance volume, and every true plot has Gaussian noise of exactly ``sigma``. That makes the plots a
controlled input for benchmarks and for ``skywarden simulate --generate``.

Interface: :func:`generate_scenario` returns a :class:`GeneratedScenario`; its :meth:`~GeneratedScenario.steps`
is a generator of :class:`~skywarden.sim.engine.SimStep`, the step type of scenario files too (one sensor
scan with each plot's origin, and the truth at that time; targets are always alive and in coverage). Truth is propagated step by step, so memory stays constant however
long the run; calling ``steps()`` again replays the same run bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from skywarden.geo import enu_to_polar
from skywarden.sensors import Plots
from skywarden.sim.engine import SimStep, TruthSnapshot
from skywarden.sim.motion import turn_step
from skywarden.sim.radar import SimScan

Array = NDArray[np.float64]

ALT_BAND_M = (50.0, 300.0)  # targets fly in this height band (site ENU up)
SPEED_BAND_MPS = (5.0, 20.0)
MAX_CLIMB_MPS = 0.5
TURN_RATE_BAND_DPS = (1.0, 3.0)  # gentle coordinated turns
MEAN_LEG_S = 20.0  # mean time between changes of turn rate
CLUTTER_ALT_M = (0.0, 400.0)


@dataclass(frozen=True)
class GeneratedScenario:
    """A generated run; :meth:`steps` yields its scans in time order (sensors interleaved evenly)."""

    n_targets: int
    clutter_per_scan: float
    pd: float
    sigma: Array
    sensors_enu_m: Array
    duration_s: float
    scan_period_s: float
    seed: int
    frame: Literal["enu", "polar"]
    spacing_m: float
    start_utc: float

    @property
    def truth_ids(self) -> list[str]:
        """Target ids in truth-array order: ``gen-1`` … ``gen-N``."""
        return [f"gen-{i + 1}" for i in range(self.n_targets)]

    @property
    def truth_kinds(self) -> list[str]:
        """The kind of each target (all ``target``: generated targets are no particular class)."""
        return ["target"] * self.n_targets

    @property
    def half_width_m(self) -> float:
        """Half the side of the square the targets start in (centred on the site origin)."""
        return 0.5 * self.spacing_m * math.ceil(math.sqrt(max(self.n_targets, 1)))

    @property
    def n_steps(self) -> int:
        """Number of scans over all sensors."""
        return len(self.sensors_enu_m) * math.ceil(self.duration_s / self.scan_period_s - 1e-9)

    def steps(self) -> Iterator[SimStep]:
        """Every scan in time order; truth is propagated exactly (piecewise coordinated turns) between scans."""
        motion_ss, detect_ss = np.random.SeedSequence(self.seed).spawn(2)
        motion, detect = np.random.default_rng(motion_ss), np.random.default_rng(detect_ss)
        pos, vel, omega = self._initial_truth(motion)
        n_sensors = len(self.sensors_enu_m)
        dt = self.scan_period_s / n_sensors
        everyone = np.ones(self.n_targets, bool)
        everyone.setflags(write=False)
        for k in range(self.n_steps):
            if k:
                pos, vel = turn_step(pos, vel, omega, dt)
                omega = self._steer(motion, pos, vel, omega, dt)
            t = self.start_utc + k * dt
            scan = self._scan(detect, t, self.sensors_enu_m[k % n_sensors], f"gen-r{k % n_sensors + 1}", pos)
            yield SimStep(t, scan, TruthSnapshot(t, everyone, pos.copy(), vel.copy(), everyone), [])

    def _initial_truth(self, rng: np.random.Generator) -> tuple[Array, Array, Array]:
        """Targets on a jittered grid (neighbours >= spacing/2 apart), random headings, speeds and turn rates."""
        n, side = self.n_targets, math.ceil(math.sqrt(max(self.n_targets, 1)))
        cells = rng.permutation(side * side)[:n]
        grid = np.column_stack([cells % side, cells // side]) + 0.5 - 0.5 * side
        xy = self.spacing_m * (grid + rng.uniform(-0.25, 0.25, (n, 2)))
        pos = np.column_stack([xy, rng.uniform(*ALT_BAND_M, n)])
        heading, speed = rng.uniform(0.0, 2.0 * np.pi, n), rng.uniform(*SPEED_BAND_MPS, n)
        vel = np.column_stack([speed * np.sin(heading), speed * np.cos(heading), rng.uniform(-1, 1, n) * MAX_CLIMB_MPS])
        return pos, vel, _draw_turn_rates(rng, n)

    def _steer(self, rng: np.random.Generator, pos: Array, vel: Array, omega: Array, dt: float) -> Array:
        """New turn rates: redrawn now and then; targets outside the area turn back toward it, gently."""
        n = len(pos)
        redraw = rng.random(n) < dt / MEAN_LEG_S
        omega = np.where(redraw, _draw_turn_rates(rng, n), omega)
        outward = (np.abs(pos[:, :2]).max(axis=1) > 1.2 * self.half_width_m) & (np.sum(pos[:, :2] * vel[:, :2], 1) > 0)
        toward = np.sign(vel[:, 1] * pos[:, 0] - vel[:, 0] * pos[:, 1])  # left turn (+) when the centre is to the left
        omega = np.where(outward, toward * math.radians(TURN_RATE_BAND_DPS[1]), omega)
        out_of_band = ((pos[:, 2] < ALT_BAND_M[0]) & (vel[:, 2] < 0)) | ((pos[:, 2] > ALT_BAND_M[1]) & (vel[:, 2] > 0))
        vel[:, 2] = np.where(out_of_band, -vel[:, 2], vel[:, 2])
        return omega

    def _scan(self, rng: np.random.Generator, t: float, sensor: Array, sensor_id: str,
              pos: Array) -> SimScan:
        """Detections with probability pd plus Poisson clutter, in the requested frame, in random order."""
        idx = np.flatnonzero(rng.random(len(pos)) < self.pd)
        n_false = int(rng.poisson(self.clutter_per_scan))
        w = 1.2 * self.half_width_m
        clutter = np.column_stack([rng.uniform(-w, w, (n_false, 2)), rng.uniform(*CLUTTER_ALT_M, n_false)])
        if self.frame == "enu":
            z_true = pos[idx] + self.sigma * rng.standard_normal((len(idx), 3))
            z_false = clutter
        else:
            z_true = enu_to_polar(pos[idx] - sensor) + self.sigma * rng.standard_normal((len(idx), 3))
            z_true[:, 0] = np.abs(z_true[:, 0])
            z_true[:, 1] = np.mod(z_true[:, 1], 2.0 * np.pi)
            z_false = enu_to_polar(clutter - sensor)
        order = rng.permutation(len(idx) + n_false)
        z = np.concatenate([z_true, z_false])[order]
        origin = np.concatenate([idx, np.full(n_false, -1)]).astype(np.int64)[order]
        plots = Plots(sensor_id=sensor_id, t=t, sensor_enu_m=sensor.copy(), z=z, sigma=self.sigma.copy(),
                      frame=self.frame)
        return SimScan(plots, origin)


def _draw_turn_rates(rng: np.random.Generator, n: int) -> Array:
    """Half straight legs, half gentle turns either way (rad/s)."""
    rate = np.radians(rng.uniform(*TURN_RATE_BAND_DPS, n)) * rng.choice([-1.0, 1.0], n)
    return np.where(rng.random(n) < 0.5, 0.0, rate)


def generate_scenario(
    n_targets: int,
    clutter_per_scan: float = 10.0,
    pd: float = 0.9,
    sigma: float | Sequence[float] = 5.0,
    sensors: int | ArrayLike = 1,
    duration_s: float = 100.0,
    scan_period_s: float = 1.0,
    seed: int = 0,
    frame: Literal["enu", "polar"] = "enu",
    *,
    spacing_m: float = 200.0,
    start_utc: float = 0.0,
) -> GeneratedScenario:
    """A run of ``n_targets`` targets about ``spacing_m`` apart, seen by ``sensors`` radars.

    ``sensors``: a count (one at the site origin; several spread evenly on a circle around the area,
    each scanning every ``scan_period_s``, interleaved) or an (S, 3) array of ENU positions.
    ``sigma``: per component in the plot frame, ENU metres or (range_m, azimuth_rad, elevation_rad);
    a scalar means that many metres in ENU, and in polar that many metres in range and across the
    line of sight at ``half_width_m`` from the sensor.
    """
    if n_targets < 0 or clutter_per_scan < 0 or not 0.0 <= pd <= 1.0:
        raise ValueError(f"need n_targets >= 0, clutter_per_scan >= 0, 0 <= pd <= 1 "
                         f"(got {n_targets}, {clutter_per_scan}, {pd})")
    if duration_s <= 0 or scan_period_s <= 0 or spacing_m <= 0 or seed < 0:
        raise ValueError(f"need positive duration_s, scan_period_s, spacing_m and seed >= 0 "
                         f"(got {duration_s}, {scan_period_s}, {spacing_m}, {seed})")
    if frame not in ("enu", "polar"):
        raise ValueError(f"frame must be 'enu' or 'polar' (got {frame!r})")
    half_width = 0.5 * spacing_m * math.ceil(math.sqrt(max(n_targets, 1)))
    if isinstance(sensors, int | np.integer):
        if sensors < 1:
            raise ValueError(f"need at least one sensor (got {sensors})")
        angle = 2.0 * np.pi * np.arange(sensors) / sensors
        ring = 0.0 if sensors == 1 else half_width
        sensor_pos = np.column_stack([ring * np.sin(angle), ring * np.cos(angle), np.zeros(sensors)])
    else:
        sensor_pos = np.asarray(sensors, float).reshape(-1, 3)
    if np.ndim(sigma) == 0:
        s = float(sigma)  # type: ignore[arg-type]
        sig = np.full(3, s) if frame == "enu" else np.array([s, s / half_width, s / half_width])
    else:
        sig = np.asarray(sigma, float).reshape(-1)
    if sig.shape != (3,) or not np.all(sig > 0):
        raise ValueError(f"sigma needs one positive value or three (got {np.asarray(sigma).tolist()})")
    return GeneratedScenario(n_targets, float(clutter_per_scan), float(pd), sig, sensor_pos, float(duration_s),
                             float(scan_period_s), int(seed), frame, float(spacing_m), float(start_utc))
