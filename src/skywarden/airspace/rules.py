"""Airspace rules: unpermitted drone-like tracks in active no-fly or restricted zones raise intrusions.

An intrusion (``ZoneViolation``) is raised once when a track enters a zone and again only after it has
left it; a ``ThreatRaised`` event is raised each time a drone-like track's threat level rises to
medium or above. Threat levels are capped by classification and permit (``ThreatParams``), both in the
events and in the assessment the picture shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skywarden.airspace.assets import AssetSet
from skywarden.airspace.threat import Threat, ThreatLevel, ThreatParams, assess, max_levels
from skywarden.airspace.zones import ZoneSet
from skywarden.config import Site
from skywarden.events import Event, ThreatRaised, ZoneViolation

ENFORCED_KINDS = ("no-fly", "restricted")


@dataclass(frozen=True)
class Assessment:
    """Per track (N,): rule outcome of one scan."""

    threat: Threat
    inside: NDArray[np.bool_]  # (N, Z) inside active zones
    intruder: NDArray[np.bool_]  # (N,) drone-like, unpermitted, inside an enforced zone


class AirspaceRules:
    """Applies the site's zones and assets to the picture, scan by scan."""

    def __init__(self, site: Site, threat_params: ThreatParams | None = None) -> None:
        self.zones = ZoneSet(site)
        self.assets = AssetSet(site)
        self.threat_params = threat_params or ThreatParams()
        self._enforced = np.array([g.zone.kind in ENFORCED_KINDS for g in self.zones.zones], dtype=bool)
        self._violating: set[tuple[str, str]] = set()
        self._level: dict[str, int] = {}

    def with_site(self, site: Site) -> AirspaceRules:
        """The rules of an edited site, keeping what this one remembers (open violations, threat levels),
        so that an edit does not raise the same alerts again."""
        rules = AirspaceRules(site, self.threat_params)
        rules._violating = {(t, z) for t, z in self._violating if z in rules.zones.ids}
        rules._level = dict(self._level)
        return rules

    def apply(
        self,
        t: float,
        ids: list[str],
        x: NDArray[np.float64],
        confirmed: NDArray[np.bool_],
        labels: list[str],
        permit_ids: list[str | None],
    ) -> tuple[Assessment, list[Event]]:
        """Rule outcome and the events it raises for the confirmed tracks of one scan."""
        pos, vel = x[:, :3], x[:, 3:6]
        permitted = np.array([p is not None for p in permit_ids], dtype=bool).reshape(-1)
        threat = assess(pos, vel, self.assets.pos, self.assets.radius_m, self.threat_params).capped(
            max_levels(labels, permitted, self.threat_params))
        inside = self.zones.inside(pos, t)
        drone_like = np.array([lab == "drone" for lab in labels], dtype=bool).reshape(-1)
        suspect = confirmed & drone_like & ~permitted
        in_enforced = inside & self._enforced[None, :]
        intruder = suspect & in_enforced.any(axis=1)

        events: list[Event] = []
        for i, j in zip(*np.nonzero(in_enforced & suspect[:, None]), strict=True):
            key = (ids[i], self.zones.ids[j])
            if key not in self._violating:
                self._violating.add(key)
                events.append(self._violation(t, ids[i], self.zones.ids[j], labels[i], pos[i], threat, i))
        # an alerted track is not alerted again for the same zone until it has left it, whatever its label
        still_in = {(ids[i], self.zones.ids[j]) for i, j in zip(*np.nonzero(in_enforced), strict=True)}
        self._violating &= still_in

        alive = set(ids)
        self._level = {k: v for k, v in self._level.items() if k in alive}
        for i in np.flatnonzero(suspect):
            level = int(threat.level[i])
            if level >= ThreatLevel.MEDIUM and level > self._level.get(ids[i], ThreatLevel.NONE):
                self._level[ids[i]] = level
                events.append(ThreatRaised(
                    t=t, track_id=ids[i], asset_id=self.assets.ids[threat.asset_index[i]],
                    level=ThreatLevel(level).label, time_to_asset_s=_finite(threat.time_to_asset_s[i]),
                    closest_approach_m=round(float(threat.closest_approach_m[i]), 1),
                ))
        return Assessment(threat, inside, intruder), events

    def _violation(
        self, t: float, track_id: str, zone_id: str, label: str, pos: NDArray[np.float64], threat: Threat, i: int
    ) -> ZoneViolation:
        k = int(threat.asset_index[i])
        return ZoneViolation(
            t=t, track_id=track_id, zone_id=zone_id, classification=label,
            asset_id=self.assets.ids[k] if k >= 0 else None,
            time_to_asset_s=_finite(threat.time_to_asset_s[i]),
            position_enu_m=(round(float(pos[0]), 1), round(float(pos[1]), 1), round(float(pos[2]), 1)),
        )


def _finite(v: float) -> float | None:
    return round(float(v), 1) if np.isfinite(v) else None
