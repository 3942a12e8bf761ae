"""Identity: match cooperative reports (Remote ID, ADS-B) to tracks, and check them against permits.

Each identity's latest report is matched to a confirmed track within ``gate_m`` (3-D, KD-tree): the
track that already carries the identity keeps it while it stays within the gate, otherwise the
nearest track that carries no other identity takes it. One identity names one track at a time, so a
bird or an intruder flying close to a cooperative drone cannot borrow its identity for good; the
identity lapses ``hold_s`` after the last match. A track is covered by a permit when its identity
holds an active permit and it is inside the permit's zone footprint and altitude band.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from skywarden.config import Site
from skywarden.sensors import CoopReport

#: What a cooperative source says the object is: a Remote ID broadcaster is an unmanned aircraft.
SOURCE_CLASS = {"remote-id": "drone", "adsb": "aircraft"}


@dataclass(frozen=True)
class _Identity:
    uas_id: str
    t_last: float
    source: str


class IdentityMatcher:
    """Keeps track id -> cooperative identity, and answers which tracks a permit covers."""

    def __init__(self, site: Site, gate_m: float = 75.0, hold_s: float = 10.0) -> None:
        self.gate_m = gate_m
        self.hold_s = hold_s
        self._ids: dict[str, _Identity] = {}
        zones = {z.id: z for z in site.zones}
        self._permits = [
            (p, None if p.zone is None else zones[p.zone].shape(site.frame)) for p in site.permits
        ]
        for _, poly in self._permits:
            if poly is not None:
                shapely.prepare(poly)

    def with_site(self, site: Site) -> IdentityMatcher:
        """The matcher for an edited site (new permits), keeping the identities it holds."""
        matcher = IdentityMatcher(site, self.gate_m, self.hold_s)
        matcher._ids = dict(self._ids)
        return matcher

    def update(
        self, t: float, ids: list[str], pos: NDArray[np.float64], eligible: NDArray[np.bool_],
        reports: Sequence[CoopReport],
    ) -> list[str | None]:
        """Match this step's reports to eligible tracks; returns each track's identity (or None)."""
        alive = set(ids)
        self._ids = {k: v for k, v in self._ids.items() if k in alive and t - v.t_last <= self.hold_s}
        rows = np.flatnonzero(eligible)
        latest = {r.uas_id: r for r in sorted(reports, key=lambda r: r.t)}
        if latest and len(rows):
            tree = cKDTree(pos[rows])
            row_of = {ids[r]: r for r in rows}
            for uas, report in latest.items():
                holder = next((k for k, v in self._ids.items() if v.uas_id == uas), None)
                rep = np.asarray(report.position_enu_m, float)
                if holder in row_of and np.linalg.norm(pos[row_of[holder]] - rep) <= self.gate_m:
                    self._ids[holder] = _Identity(uas, report.t, report.source)
                    continue
                taken = {k for k, v in self._ids.items() if v.uas_id != uas}
                near = tree.query_ball_point(rep, self.gate_m)
                free = [rows[j] for j in near if ids[rows[j]] not in taken]
                if free:
                    best = min(free, key=lambda r: float(np.linalg.norm(pos[r] - rep)))
                    if holder is not None:
                        del self._ids[holder]
                    self._ids[ids[best]] = _Identity(uas, report.t, report.source)
        return [self._ids[i].uas_id if i in self._ids else None for i in ids]

    def declared_class(self, ids: list[str]) -> list[str | None]:
        """The class each track's cooperative source declares (``SOURCE_CLASS``), or None."""
        return [SOURCE_CLASS.get(self._ids[i].source) if i in self._ids else None for i in ids]

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
