"""The two things sensors hand to the tracker: radar plots of one scan, and cooperative reports."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Coverage:
    """The volume a sensor's scan looks into, from the sensor: range and elevation limits, all azimuths.

    The tracker books a scan as a hit or a miss only for the tracks predicted inside it, so a track that
    one of several sensors cannot see is not worn down by that sensor's scans.
    """

    min_range_m: float = 0.0
    max_range_m: float = math.inf
    min_elevation_rad: float = -math.pi / 2
    max_elevation_rad: float = math.pi / 2

    def __post_init__(self) -> None:
        if not (0.0 <= self.min_range_m < self.max_range_m and self.min_elevation_rad < self.max_elevation_rad):
            raise ValueError(f"Coverage: need 0 <= min_range_m < max_range_m and min_elevation_rad < "
                             f"max_elevation_rad (got {self})")

    def contains(self, offset_enu_m: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Which points (``(n, 3)`` ENU offsets from the sensor) lie inside."""
        r = np.linalg.norm(offset_enu_m, axis=1)
        el = np.arcsin(np.clip(offset_enu_m[:, 2] / np.maximum(r, 1e-9), -1.0, 1.0))
        return ((r >= self.min_range_m) & (r <= self.max_range_m) & (el >= self.min_elevation_rad)
                & (el <= self.max_elevation_rad))


@dataclass(frozen=True)
class Plots:
    """All plots of one sensor scan, as arrays.

    ``frame = "polar"``: ``z`` rows are (range_m, azimuth_rad, elevation_rad[, range_rate_mps])
    relative to ``sensor_enu_m``, azimuth clockwise from north, elevation up from the horizontal,
    range rate positive when opening. ``frame = "enu"``: rows are (e, n, u) metres in the site frame.
    ``sigma`` is the standard deviation of each component (same units). ``t`` is the scan time (UTC
    seconds); every plot of the scan carries it. ``coverage`` is the volume the scan looked into
    (``None``: everywhere). ``md_spread_mps`` and ``md_rate_hz`` are the micro-Doppler measured over the
    dwell (NaN where not measured): the largest radial speed of the moving parts (blade or wing tips,
    wheels) relative to the body line, and the dominant modulation rate (blade flashes, wing beats, wheel
    turns); they tell rotors from wings.
    """

    sensor_id: str
    t: float
    sensor_enu_m: NDArray[np.float64]
    z: NDArray[np.float64]
    sigma: NDArray[np.float64]
    snr_db: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    rcs_dbsm: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    frame: Literal["polar", "enu"] = "polar"
    coverage: Coverage | None = None
    md_spread_mps: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    md_rate_hz: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        sigma = np.asarray(self.sigma, float).reshape(-1)
        k = len(sigma)
        if (self.frame, k) not in (("polar", 3), ("polar", 4), ("enu", 3)):
            raise ValueError(f"Plots: frame {self.frame!r} takes 3 components{' or 4' if self.frame == 'polar' else ''}"
                             f" (got sigma with {k})")
        if not (np.all(np.isfinite(sigma)) and np.all(sigma > 0)):
            raise ValueError(f"Plots.sigma must be finite and positive (got {sigma.tolist()})")
        z = np.asarray(self.z, float)
        if z.size and (z.ndim != 2 or z.shape[1] != k):
            raise ValueError(f"Plots.z has shape {z.shape}, expected (n, {k})")
        z = z.reshape(-1, k)
        if not np.all(np.isfinite(z)):
            raise ValueError("Plots.z holds a NaN or infinite value")
        object.__setattr__(self, "z", z)
        object.__setattr__(self, "sensor_enu_m", np.asarray(self.sensor_enu_m, float).reshape(3))
        object.__setattr__(self, "sigma", sigma)
        n = len(z)
        for name in ("snr_db", "rcs_dbsm", "md_spread_mps", "md_rate_hz"):
            v = np.asarray(getattr(self, name), float)
            if v.size == 0:
                v = np.full(n, np.nan)
            if v.shape != (n,):
                raise ValueError(f"Plots.{name} has shape {v.shape}, expected ({n},)")
            object.__setattr__(self, name, v)
        for name in ("md_spread_mps", "md_rate_hz"):  # a speed and a rate: NaN (not measured) or >= 0
            v = getattr(self, name)
            bad = np.flatnonzero(~np.isnan(v) & ~(np.isfinite(v) & (v >= 0.0)))
            if bad.size:
                raise ValueError(f"Plots.{name}[{bad[0]}] must be a finite non-negative number or NaN "
                                 f"(got {v[bad[0]]})")

    def __len__(self) -> int:
        return len(self.z)

    @property
    def has_range_rate(self) -> bool:
        """Polar plots with a fourth, Doppler component."""
        return self.frame == "polar" and self.z.shape[1] == 4


@dataclass(frozen=True)
class CoopReport:
    """A cooperative self-report (Remote ID, ADS-B): who says it is where, in the site frame."""

    t: float
    uas_id: str
    position_enu_m: NDArray[np.float64]
    velocity_enu_mps: NDArray[np.float64]
    source: str = "remote-id"
