"""Geometry at the edges: WGS84 <-> site ENU (pymap3d), and sensor polar <-> ENU.

Inside Skywarden everything is in the site's local East-North-Up frame in metres; latitude and
longitude only appear in configuration, I/O and displays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymap3d
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]


@dataclass(frozen=True)
class LocalFrame:
    """The site ENU frame: origin at a WGS84 point (degrees, ellipsoidal height in metres)."""

    lat_deg: float
    lon_deg: float
    height_m: float = 0.0

    def to_enu(self, lat_deg: ArrayLike, lon_deg: ArrayLike, up_m: ArrayLike = 0.0) -> Array:
        """Positions in WGS84 (``up_m`` above the reference height) -> ENU metres, shape (..., 3)."""
        e, n, u = pymap3d.geodetic2enu(
            np.asarray(lat_deg, float),
            np.asarray(lon_deg, float),
            np.asarray(up_m, float) + self.height_m,
            self.lat_deg,
            self.lon_deg,
            self.height_m,
        )
        return np.stack(np.broadcast_arrays(e, n, u), axis=-1).astype(np.float64)

    def to_geodetic(self, enu_m: ArrayLike) -> tuple[Array, Array, Array]:
        """ENU metres (..., 3) -> (lat_deg, lon_deg, up_m above the reference height)."""
        enu = np.asarray(enu_m, float)
        lat, lon, h = pymap3d.enu2geodetic(
            enu[..., 0], enu[..., 1], enu[..., 2], self.lat_deg, self.lon_deg, self.height_m
        )
        return np.asarray(lat, float), np.asarray(lon, float), np.asarray(h, float) - self.height_m


def wrap_angle(a: ArrayLike) -> Array:
    """Wrap angles in radians to [-pi, pi)."""
    return (np.asarray(a, float) + np.pi) % (2 * np.pi) - np.pi


def enu_to_polar(d_enu: ArrayLike) -> Array:
    """Offsets from a sensor in ENU (..., 3) -> (range_m, azimuth_rad, elevation_rad).

    Azimuth is clockwise from north in [0, 2pi) (east = pi/2); elevation is up from the horizontal.
    """
    d = np.asarray(d_enu, float)
    e, n, u = d[..., 0], d[..., 1], d[..., 2]
    horizontal = np.hypot(e, n)
    rng = np.hypot(horizontal, u)
    az = np.mod(np.arctan2(e, n), 2 * np.pi)
    el = np.arctan2(u, horizontal)
    return np.stack([rng, az, el], axis=-1)


def polar_to_enu(polar: ArrayLike) -> Array:
    """(range_m, azimuth_rad, elevation_rad) (..., 3) -> ENU offsets from the sensor (..., 3)."""
    p = np.asarray(polar, float)
    r, az, el = p[..., 0], p[..., 1], p[..., 2]
    ce = np.cos(el)
    return np.stack([r * ce * np.sin(az), r * ce * np.cos(az), r * np.sin(el)], axis=-1)
