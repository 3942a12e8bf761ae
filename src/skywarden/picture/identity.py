"""Identity: match cooperative reports (Remote ID, ADS-B) to tracks, and check them against permits.

A report is matched to the nearest confirmed track within ``gate_m`` (3-D, KD-tree); the identity then
stays with the track while reports keep matching it, and lapses ``hold_s`` after the last match. A
track is covered by a permit when its identity holds an active permit and it is inside the permit's
zone footprint and altitude band.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from skywarden.airspace.zones import enu_polygon
from skywarden.config import Site
from skywarden.sensors import CoopReport


@dataclass(frozen=True)
class _Identity:
    uas_id: str
    t_last: float


class IdentityMatcher:
    """Keeps track id -> cooperative identity, and answers which tracks a permit covers."""

    def __init__(self, site: Site, gate_m: float = 75.0, hold_s: float = 10.0) -> None:
        self.gate_m = gate_m
        self.hold_s = hold_s
        self._ids: dict[str, _Identity] = {}
        zones = {z.id: z for z in site.zones}
        self._permits = [
            (p, None if p.zone is None else enu_polygon(site.frame, zones[p.zone].polygon)) for p in site.permits
        ]
        for _, poly in self._permits:
            if poly is not None:
                shapely.prepare(poly)

    def update(
        self, t: float, ids: list[str], pos: NDArray[np.float64], eligible: NDArray[np.bool_],
        reports: Sequence[CoopReport],
    ) -> list[str | None]:
        """Match this step's reports to eligible tracks; returns each track's identity (or None)."""
        rows = np.flatnonzero(eligible)
        if reports and len(rows):
            tree = cKDTree(pos[rows])
            rep_pos = np.array([r.position_enu_m for r in reports], dtype=float).reshape(-1, 3)
            dist, k = tree.query(rep_pos, distance_upper_bound=self.gate_m)
            for r, d, j in zip(reports, dist, k, strict=True):
                if np.isfinite(d):
                    self._ids[ids[rows[j]]] = _Identity(r.uas_id, r.t)
        alive = set(ids)
        self._ids = {k: v for k, v in self._ids.items() if k in alive and t - v.t_last <= self.hold_s}
        return [self._ids[i].uas_id if i in self._ids else None for i in ids]

    def permits_for(self, t: float, identities: list[str | None], pos: NDArray[np.float64]) -> list[str | None]:
        """The permit id covering each track now (identity, time window, footprint, band), or None."""
        out: list[str | None] = [None] * len(identities)
        for i, uas in enumerate(identities):
            if uas is None:
                continue
            for permit, poly in self._permits:
                if permit.uas_id != uas or not (permit.start.timestamp() <= t <= permit.end.timestamp()):
                    continue
                e, n, u = pos[i]
                if not permit.floor_m <= u <= permit.ceiling_m:
                    continue
                if poly is None or shapely.contains_xy(poly, e, n):
                    out[i] = permit.id
                    break
        return out
