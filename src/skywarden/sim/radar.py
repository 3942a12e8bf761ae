"""A surveillance radar model: coverage, radar-equation SNR, Swerling-1 detection, noise and clutter.

Detection: the received power normalised to the noise is exponential with mean ``1 + SNR`` (Swerling 1,
independent from scan to scan); a plot is declared when it exceeds ``T = -ln(Pfa)``, so
``Pd = Pfa ** (1 / (1 + SNR))``. The measured SNR is ``power - 1``; the plot's RCS estimate inverts the
radar equation at the measured range. False alarms are Poisson per scan, spread over the coverage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from skywarden.config import RadarConfig
from skywarden.geo import LocalFrame, enu_to_polar
from skywarden.sensors import Coverage, Plots

Array = NDArray[np.float64]

CLUTTER_MAX_ELEVATION_DEG = 10.0
_REF_RANGE_M = 1000.0


@dataclass(frozen=True)
class SimScan:
    """One radar scan: the plots the tracker sees and, kept apart, the truth index behind each (-1: clutter)."""

    plots: Plots
    origin: NDArray[np.int64]


@dataclass(frozen=True)
class TargetDraws:
    """Standard random variates for m targets in one scan: ``unit_exp (m,)`` Exp(1), ``unit_normal (m,3)``.

    Drawing them per target ahead of time (from per-target streams) keeps one target's detections
    and errors independent of which other targets exist.
    """

    unit_exp: Array
    unit_normal: Array


class RadarModel:
    """A radar from a :class:`RadarConfig`, placed in a site frame; every method works on arrays."""

    def __init__(self, config: RadarConfig, frame: LocalFrame) -> None:
        self.config = config
        self.sensor_id = config.id
        self.position_enu_m: Array = frame.to_enu(config.lat_deg, config.lon_deg, config.alt_m).reshape(3)
        self.sigma: Array = np.array([config.sigma_range_m, math.radians(config.sigma_azimuth_deg),
                                      math.radians(config.sigma_elevation_deg)])
        self.threshold = -math.log(config.pfa)
        self.snr_ref = 10.0 ** (config.snr_1m2_1km_db / 10.0)
        self._min_el = math.radians(config.min_elevation_deg)
        self._max_el = math.radians(config.max_elevation_deg)
        self.coverage = Coverage(config.min_range_m, config.max_range_m, self._min_el, self._max_el)

    def polar(self, pos_enu_m: ArrayLike) -> Array:
        """ENU positions (..., 3) -> (range_m, azimuth_rad, elevation_rad) (..., 3) seen from the radar."""
        return enu_to_polar(np.asarray(pos_enu_m, float) - self.position_enu_m)

    def covers_polar(self, polar: ArrayLike) -> NDArray[np.bool_]:
        """Inside the range and elevation limits (NaN positions are outside)."""
        p = np.asarray(polar, float)
        r, el = p[..., 0], p[..., 2]
        c = self.config
        return (r >= c.min_range_m) & (r <= c.max_range_m) & (el >= self._min_el) & (el <= self._max_el)

    def in_coverage(self, pos_enu_m: ArrayLike) -> NDArray[np.bool_]:
        """Which ENU positions (..., 3) lie inside the radar's coverage."""
        return self.covers_polar(self.polar(pos_enu_m))

    def mean_snr(self, range_m: ArrayLike, rcs_m2: ArrayLike) -> Array:
        """Mean SNR (linear) from the radar equation: SNR_ref · RCS · (1 km / R)^4."""
        return self.snr_ref * np.asarray(rcs_m2, float) * (_REF_RANGE_M / np.asarray(range_m, float)) ** 4

    def rcs_estimate_m2(self, snr: ArrayLike, range_m: ArrayLike) -> Array:
        """RCS (m²) that would give ``snr`` (linear) at ``range_m``: the radar equation inverted."""
        return np.asarray(snr, float) / self.snr_ref * (np.asarray(range_m, float) / _REF_RANGE_M) ** 4

    def detection_probability(self, snr: ArrayLike) -> Array:
        """Swerling-1 Pd for a mean SNR (linear): Pfa ** (1 / (1 + SNR))."""
        return np.asarray(self.config.pfa ** (1.0 / (1.0 + np.asarray(snr, float))), float)

    def draw_targets(self, rng: np.random.Generator, m: int) -> TargetDraws:
        """Fresh standard variates for m targets."""
        return TargetDraws(rng.standard_exponential(m), rng.standard_normal((m, 3)))

    def scan(self, t: float, pos_enu_m: ArrayLike, rcs_m2: ArrayLike, rng: np.random.Generator, *,
             draws: TargetDraws | None = None) -> SimScan:
        """One scan at time ``t`` over m objects (``pos (m,3)``, NaN rows = absent; ``rcs (m,)`` mean m²).

        ``rng`` gives the false alarms and the plot order, and the targets' variates unless ``draws``
        carries them. ``origin`` holds the row in ``pos_enu_m`` behind each plot, or -1.
        """
        pos = np.asarray(pos_enu_m, float).reshape(-1, 3)
        m = len(pos)
        rcs = np.broadcast_to(np.asarray(rcs_m2, float), (m,))
        d = draws if draws is not None else self.draw_targets(rng, m)
        truth = self.polar(pos)
        seen = self.covers_polar(truth)
        idx = np.flatnonzero(seen)
        power = (1.0 + self.mean_snr(truth[idx, 0], rcs[idx])) * d.unit_exp[idx]
        hit = power > self.threshold
        idx, power = idx[hit], power[hit]
        z_true = truth[idx] + self.sigma * d.unit_normal[idx]
        z_false, power_false = self._false_alarms(rng)
        z = np.concatenate([z_true, z_false])
        z[:, 1] = np.mod(z[:, 1], 2.0 * np.pi)
        z[:, 0] = np.abs(z[:, 0])
        snr = np.concatenate([power, power_false]) - 1.0
        origin = np.concatenate([idx, np.full(len(z_false), -1)]).astype(np.int64)
        order = rng.permutation(len(z))
        z, snr, origin = z[order], snr[order], origin[order]
        plots = Plots(
            sensor_id=self.sensor_id, t=float(t), sensor_enu_m=self.position_enu_m.copy(), z=z,
            sigma=self.sigma.copy(), snr_db=10.0 * np.log10(snr),
            rcs_dbsm=10.0 * np.log10(self.rcs_estimate_m2(snr, z[:, 0])), coverage=self.coverage,
        )
        return SimScan(plots, origin)

    def _false_alarms(self, rng: np.random.Generator) -> tuple[Array, Array]:
        """Poisson count of clutter plots: range and azimuth uniform, low elevations; power above T."""
        c = self.config
        n = int(rng.poisson(c.false_alarms_per_scan))
        el_hi = min(self._max_el, math.radians(CLUTTER_MAX_ELEVATION_DEG))
        z = np.column_stack([
            rng.uniform(c.min_range_m, c.max_range_m, n),
            rng.uniform(0.0, 2.0 * np.pi, n),
            rng.uniform(self._min_el, max(el_hi, self._min_el), n),
        ])
        return z, self.threshold + rng.standard_exponential(n)
