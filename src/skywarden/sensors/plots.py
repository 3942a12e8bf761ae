"""The two things sensors hand to the tracker: radar plots of one scan, and cooperative reports."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Plots:
    """All plots of one sensor scan, as arrays.

    ``z`` rows are (range_m, azimuth_rad, elevation_rad) relative to ``sensor_enu_m``; azimuth is
    clockwise from north. ``sigma`` is the standard deviation of each component (same units).
    ``t`` is the scan time (UTC seconds); every plot of the scan carries it.
    """

    sensor_id: str
    t: float
    sensor_enu_m: NDArray[np.float64]
    z: NDArray[np.float64]
    sigma: NDArray[np.float64]
    snr_db: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    rcs_dbsm: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        z = np.asarray(self.z, float).reshape(-1, 3)
        object.__setattr__(self, "z", z)
        object.__setattr__(self, "sensor_enu_m", np.asarray(self.sensor_enu_m, float).reshape(3))
        object.__setattr__(self, "sigma", np.asarray(self.sigma, float).reshape(3))
        n = len(z)
        for name in ("snr_db", "rcs_dbsm"):
            v = np.asarray(getattr(self, name), float)
            if v.size == 0:
                v = np.full(n, np.nan)
            if v.shape != (n,):
                raise ValueError(f"Plots.{name} has shape {v.shape}, expected ({n},)")
            object.__setattr__(self, name, v)

    def __len__(self) -> int:
        return len(self.z)


@dataclass(frozen=True)
class CoopReport:
    """A cooperative self-report (Remote ID, ADS-B): who says it is where, in the site frame."""

    t: float
    uas_id: str
    position_enu_m: NDArray[np.float64]
    velocity_enu_mps: NDArray[np.float64]
    source: str = "remote-id"
