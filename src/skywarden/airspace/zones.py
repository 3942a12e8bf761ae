"""Zones in the site frame: which positions are inside which active zone at a given time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from numpy.typing import NDArray

from skywarden.config import Schedule, Site, Zone

_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def schedule_active(schedules: list[Schedule], t: float, tz: ZoneInfo) -> bool:
    """Whether a weekly schedule (site-local days and HH:MM windows) is on at UTC time ``t``.

    An empty list means always on. A window whose end is before its start runs over midnight and
    belongs to the day it starts on.
    """
    if not schedules:
        return True
    local = dt.datetime.fromtimestamp(t, tz)
    now = local.hour * 60 + local.minute + local.second / 60.0
    today = _DAY_NAMES[local.weekday()]
    yesterday = _DAY_NAMES[(local.weekday() - 1) % 7]
    for s in schedules:
        start, end = _minutes(s.start), _minutes(s.end)
        if start <= end:
            if today in s.days and start <= now < end:
                return True
        elif (today in s.days and now >= start) or (yesterday in s.days and now < end):
            return True
    return False


@dataclass(frozen=True)
class ZoneGeometry:
    """One zone projected into the site frame (a prepared shapely polygon in ENU metres, with its holes)."""

    zone: Zone
    polygon: shapely.Polygon


class ZoneSet:
    """All zones of a site in ENU; membership tests are vectorised over positions."""

    def __init__(self, site: Site) -> None:
        self.tz = site.tz
        self.zones = [ZoneGeometry(z, z.shape(site.frame)) for z in site.zones]
        for g in self.zones:
            shapely.prepare(g.polygon)
        self.ids = [g.zone.id for g in self.zones]

    def active(self, t: float) -> NDArray[np.bool_]:
        """(Z,) which zones are active at time ``t``."""
        return np.array([schedule_active(g.zone.schedule, t, self.tz) for g in self.zones], dtype=bool)

    def inside(self, pos_enu_m: NDArray[np.float64], t: float) -> NDArray[np.bool_]:
        """(N, Z) whether each position is inside each zone's footprint (not in a hole) and band, and the zone
        is active."""
        pos = np.asarray(pos_enu_m, float).reshape(-1, 3)
        out = np.zeros((len(pos), len(self.zones)), dtype=bool)
        if len(pos) == 0:
            return out
        for j, (g, on) in enumerate(zip(self.zones, self.active(t), strict=True)):
            if not on:
                continue
            band = (pos[:, 2] >= g.zone.floor_m) & (pos[:, 2] <= g.zone.ceiling_m)
            if band.any():
                out[band, j] = shapely.contains_xy(g.polygon, pos[band, 0], pos[band, 1])
        return out

