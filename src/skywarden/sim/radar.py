"""A surveillance radar model: coverage, radar-equation SNR, fluctuating-target detection, micro-Doppler,
noise and clutter.

Detection: the received power normalised to the noise is exponential with mean ``1 + SNR`` (Swerling 1,
independent from scan to scan); a plot is declared when it exceeds ``T = -ln(Pfa)``, so
``Pd = Pfa ** (1 / (1 + SNR))``. With :class:`Signatures`, each object's echo follows its own chi-square
model: Swerling 1 as above, Swerling 3 as ``|sqrt(S) + n|**2`` with ``S`` chi-square of 4 degrees of
freedom and mean SNR and ``n`` unit complex Gaussian noise, so ``Pd = (1 + 2 T SNR / (2 + SNR)**2)
exp(-2 T / (2 + SNR))``. The measured SNR is ``power - 1``; the plot's RCS estimate inverts the radar
equation at the measured range. False alarms are Poisson per scan, spread over the coverage.

Micro-Doppler (with :class:`Signatures`): a target plot carries the half-width and rate of its moving
parts' modulation when they move at this scan and their echo, the plot's SNR times their relative power
times the coherent gain of the radar's micro-Doppler processing, passes ``md_threshold_db`` (the
spectrogram's tip line must stand above its noise) and the half-width is wider than the spectrum's
resolution. The half-width is measured to that resolution and a few per cent (the tip line has a width).
The rate is read from the periodicity of the spectrogram (its cepstrum, [Harmanny] in ``signature.py``),
so the dwell must hold two periods and the spectrogram's frames must resolve each flash in time (Nyquist,
``md_max_rate_hz``); it is measured to a few per cent. Jet-engine blade passing, at kHz, gives a spread only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import ArrayLike, NDArray

from skywarden.config import RadarConfig
from skywarden.geo import LocalFrame, enu_to_polar
from skywarden.sensors import Coverage, Plots
from skywarden.sim.signature import SWERLING_1_DOF, Signatures, modulation

Array = NDArray[np.float64]

CLUTTER_MAX_ELEVATION_DEG = 10.0
_REF_RANGE_M = 1000.0
MD_SPREAD_ERROR = 0.03  # relative error of a measured micro-Doppler half-width, beside the resolution
MD_RATE_ERROR = 0.03  # relative error of a measured modulation rate
MD_MIN_PERIODS = 2.0  # periods of the modulation a dwell must hold for its rate to be measured


@dataclass(frozen=True)
class SimScan:
    """One radar scan: the plots the tracker sees and, kept apart, the truth index behind each (-1: clutter)."""

    plots: Plots
    origin: NDArray[np.int64]


@dataclass(frozen=True)
class TargetDraws:
    """Standard random variates for m targets in one scan (or, with a leading axis, for each scan).

    ``unit_exp (m,)`` Exp(1) (Swerling-1 power), ``unit_normal (m, 3)`` measurement noise; for signatures
    ``unit_exp2 (m,)`` a second Exp(1) (Swerling 3: S / SNR = (E1 + E2) / 2), ``noise_iq (m, 2)`` N(0, 1)
    receiver noise, ``unit_uniform (m,)`` U(0, 1) (are the parts moving) and ``md_normal (m, 2)`` N(0, 1)
    micro-Doppler errors. Drawing them per target ahead of time (from per-target streams) keeps one
    target's detections and errors independent of which other targets exist.
    """

    unit_exp: Array
    unit_normal: Array
    unit_exp2: Array
    noise_iq: Array
    unit_uniform: Array
    md_normal: Array

    @staticmethod
    def draw(rng: np.random.Generator, shape: tuple[int, ...]) -> TargetDraws:
        """Fresh variates of the given leading shape, in a fixed order from ``rng``."""
        return TargetDraws(rng.standard_exponential(shape), rng.standard_normal((*shape, 3)),
                           rng.standard_exponential(shape), rng.standard_normal((*shape, 2)),
                           rng.random(shape), rng.standard_normal((*shape, 2)))

    @staticmethod
    def stack(per_object: Sequence[TargetDraws], n_scans: int) -> TargetDraws:
        """Per-object variates over scans (each ``(n_scans, ...)``) -> one set with axes (scan, object, ...)."""
        if not per_object:
            return TargetDraws.draw(np.random.default_rng(0), (n_scans, 0))
        return TargetDraws(*(np.stack([getattr(o, f.name) for o in per_object], axis=1) for f in fields(TargetDraws)))

    def at(self, k: int) -> TargetDraws:
        """The variates of scan ``k`` (first axis)."""
        return TargetDraws(*(getattr(self, f.name)[k] for f in fields(TargetDraws)))


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
        return TargetDraws.draw(rng, (m,))

    def scan(self, t: float, pos_enu_m: ArrayLike, rcs_m2: ArrayLike, rng: np.random.Generator, *,
             draws: TargetDraws | None = None, signatures: Signatures | None = None,
             vel_enu_mps: ArrayLike | None = None) -> SimScan:
        """One scan at time ``t`` over m objects (``pos (m,3)``, NaN rows = absent; ``rcs (m,)`` mean m²).

        ``rng`` gives the false alarms and the plot order, and the targets' variates unless ``draws``
        carries them. With ``signatures`` each object fluctuates by its own model and its plots carry
        micro-Doppler; ``vel_enu_mps (m,3)`` (default: unknown, treated as at rest) sets the aspect of its
        moving parts. ``origin`` holds the row in ``pos_enu_m`` behind each plot, or -1.
        """
        pos = np.asarray(pos_enu_m, float).reshape(-1, 3)
        m = len(pos)
        rcs = np.broadcast_to(np.asarray(rcs_m2, float), (m,))
        d = draws if draws is not None else self.draw_targets(rng, m)
        truth = self.polar(pos)
        idx = np.flatnonzero(self.covers_polar(truth))
        power = self._power(self.mean_snr(truth[idx, 0], rcs[idx]), d, idx, signatures)
        hit = power > self.threshold
        idx, power = idx[hit], power[hit]
        z_true = truth[idx] + self.sigma * d.unit_normal[idx]
        if signatures is None:
            md = np.full((len(idx), 2), np.nan)
        else:
            vel = np.zeros((m, 3)) if vel_enu_mps is None else np.asarray(vel_enu_mps, float).reshape(m, 3)
            md = self._micro_doppler(signatures, idx, power - 1.0, pos, vel, d)
        z_false, power_false = self._false_alarms(rng)
        z = np.concatenate([z_true, z_false])
        z[:, 1] = np.mod(z[:, 1], 2.0 * np.pi)
        z[:, 0] = np.abs(z[:, 0])
        snr = np.concatenate([power, power_false]) - 1.0
        md = np.concatenate([md, np.full((len(z_false), 2), np.nan)])  # clutter has no moving parts
        origin = np.concatenate([idx, np.full(len(z_false), -1)]).astype(np.int64)
        order = rng.permutation(len(z))
        z, snr, md, origin = z[order], snr[order], md[order], origin[order]
        plots = Plots(
            sensor_id=self.sensor_id, t=float(t), sensor_enu_m=self.position_enu_m.copy(), z=z,
            sigma=self.sigma.copy(), snr_db=10.0 * np.log10(snr),
            rcs_dbsm=10.0 * np.log10(self.rcs_estimate_m2(snr, z[:, 0])), coverage=self.coverage,
            md_spread_mps=md[:, 0], md_rate_hz=md[:, 1],
        )
        return SimScan(plots, origin)

    @staticmethod
    def _power(snr: Array, d: TargetDraws, idx: NDArray[np.int64], signatures: Signatures | None) -> Array:
        """Received power over noise of objects ``idx`` with mean SNR ``snr``, by each one's fluctuation model.

        Swerling 1 uses its exact marginal, ``(1 + SNR) Exp(1)`` (the same draw with or without
        signatures); Swerling 3 builds ``|sqrt(S) + n|**2`` with ``S = SNR (E1 + E2) / 2`` (chi-square,
        4 degrees of freedom, mean SNR) and ``n = (N1 + j N2) / sqrt(2)``.
        """
        swerling_1 = (1.0 + snr) * d.unit_exp[idx]
        if signatures is None:
            return swerling_1
        s = snr * 0.5 * (d.unit_exp[idx] + d.unit_exp2[idx])
        n = d.noise_iq[idx] / math.sqrt(2.0)
        swerling_3 = (np.sqrt(s) + n[:, 0]) ** 2 + n[:, 1] ** 2
        return np.where(signatures.chi2_dof[idx] == SWERLING_1_DOF, swerling_1, swerling_3)

    def _micro_doppler(self, sig: Signatures, idx: NDArray[np.int64], snr: Array, pos: Array, vel: Array,
                       d: TargetDraws) -> Array:
        """Measured (half-width m/s, rate Hz) for the detected objects ``idx`` with measured SNR ``snr``; NaN if not."""
        c = self.config
        toward = self.position_enu_m - pos[idx]
        toward /= np.maximum(np.linalg.norm(toward, axis=1, keepdims=True), 1e-9)
        spread, rate = modulation(sig, idx, toward, vel[idx], d.unit_uniform[idx])
        md_snr_db = 10.0 * np.log10(snr) + sig.rel_power_db[idx] + c.md_integration_gain_db
        seen = (md_snr_db > c.md_threshold_db) & (spread > c.md_resolution_mps)
        spread_sigma = np.hypot(c.md_resolution_mps, MD_SPREAD_ERROR * spread)
        spread_m = np.abs(spread + spread_sigma * d.md_normal[idx, 0])
        rate_seen = seen & (rate >= MD_MIN_PERIODS / c.md_dwell_s) & (rate <= c.md_max_rate_hz)
        rate_m = np.abs(rate * (1.0 + MD_RATE_ERROR * d.md_normal[idx, 1]))
        return np.column_stack([np.where(seen, spread_m, np.nan), np.where(rate_seen, rate_m, np.nan)])

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
