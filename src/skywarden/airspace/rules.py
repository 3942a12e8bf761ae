"""Airspace rules, fail safe: a confirmed, unpermitted track in an enforced zone is an intruder unless it is
confidently harmless.

"Confidently harmless" (:class:`SafetyPolicy`) means labelled bird, aircraft or vehicle with a class
probability of at least ``harmless_probability`` after ``min_observation_s`` of track life; anything else
(a drone, an ``unknown`` track, a bird label below the threshold) alerts. A track labelled drone with that
probability alerts at once; any other track that is not confidently harmless alerts (as ``drone`` or
``unidentified``) once it has been observed for ``min_observation_s`` (the time the classifier is given to
speak). An intrusion (``ZoneViolation``) is raised once when a track enters a zone and again only after it
has been out of it for ``rearm_s``; a ``ThreatRaised`` event each time such a track's threat level rises to
medium or above. Threat levels are
capped by classification only where the classification is confident, by a permit always, and a track that
is unpermitted and not confidently a bird or vehicle is never shown below high inside the critical bounds.
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
UNIDENTIFIED = "unidentified"


@dataclass(frozen=True)
class SafetyPolicy:
    """When a label may lower an alert: the site's safety policy, recorded with every run.

    ``harmless_labels`` may silence an intrusion and cap a threat level (``ThreatParams.max_level``) only
    with a class probability >= ``harmless_probability`` on a track at least ``min_observation_s`` old;
    a track that is not confidently one of ``floor_exempt_labels`` (nor permitted) keeps at least
    ``critical_floor_level`` when it is inside the critical bounds. An intrusion is raised again for the same
    track and zone only after the track has been out of the zone for ``rearm_s``.
    """

    harmless_labels: tuple[str, ...] = ("bird", "aircraft", "vehicle")
    harmless_probability: float = 0.95
    min_observation_s: float = 15.0
    floor_exempt_labels: tuple[str, ...] = ("bird", "vehicle")
    critical_floor_level: int = ThreatLevel.HIGH
    rearm_s: float = 30.0

    def __post_init__(self) -> None:
        if not 0.5 <= self.harmless_probability <= 1.0:
            raise ValueError(f"SafetyPolicy.harmless_probability must be in [0.5, 1] (got {self.harmless_probability!r})")
        if not 0.0 <= self.min_observation_s <= 600.0:
            raise ValueError(f"SafetyPolicy.min_observation_s must be in [0, 600] s (got {self.min_observation_s!r})")
        if not 0.0 <= self.rearm_s <= 3600.0:
            raise ValueError(f"SafetyPolicy.rearm_s must be in [0, 3600] s (got {self.rearm_s!r})")
        if self.critical_floor_level not in tuple(ThreatLevel):
            raise ValueError(f"SafetyPolicy.critical_floor_level must be a level 0..4 (got {self.critical_floor_level!r})")


@dataclass(frozen=True)
class Assessment:
    """Per track (N,): rule outcome of one scan."""

    threat: Threat
    inside: NDArray[np.bool_]  # (N, Z) inside active zones
    intruder: NDArray[np.bool_]  # (N,) confirmed, unpermitted, not confidently harmless, inside an enforced zone
    harmless: NDArray[np.bool_]  # (N,) confidently bird, aircraft or vehicle (SafetyPolicy)


class AirspaceRules:
    """Applies the site's zones and assets to the picture, scan by scan."""

    def __init__(self, site: Site, threat_params: ThreatParams | None = None, policy: SafetyPolicy | None = None) -> None:
        self.zones = ZoneSet(site)
        self.assets = AssetSet(site)
        self.threat_params = threat_params or ThreatParams()
        self.policy = policy or SafetyPolicy()
        self._enforced = np.array([g.zone.kind in ENFORCED_KINDS for g in self.zones.zones], dtype=bool)
        self._violating: dict[tuple[str, str], float] = {}  # (track, zone) alerted -> last time seen inside
        self._level: dict[str, int] = {}

    def with_site(self, site: Site, policy: SafetyPolicy | None = None) -> AirspaceRules:
        """The rules of an edited site (and safety ``policy``, default this one's), keeping what this one
        remembers (open violations, threat levels), so that an edit does not raise the same alerts again."""
        rules = AirspaceRules(site, self.threat_params, policy or self.policy)
        rules._violating = {(k, z): t for (k, z), t in self._violating.items() if z in rules.zones.ids}
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
        *,
        confidence: NDArray[np.float64],
        age_s: NDArray[np.float64],
    ) -> tuple[Assessment, list[Event]]:
        """Rule outcome and the events it raises for the confirmed tracks of one scan.

        ``confidence (N,)`` is the probability of each track's label, ``age_s (N,)`` how long it has been
        tracked: together they decide whether a label is confident enough to lower an alert.
        """
        pos, vel = x[:, :3], x[:, 3:6]
        pol = self.policy
        lab = np.asarray(labels, dtype=str).reshape(-1)
        permitted = np.array([p is not None for p in permit_ids], dtype=bool).reshape(-1)
        confident = np.asarray(confidence, float) >= pol.harmless_probability
        observed = np.asarray(age_s, float) >= pol.min_observation_s
        sure = confident & observed
        harmless = sure & np.isin(lab, pol.harmless_labels)
        # a label caps the level only where it is confident; a permit always does
        cap = max_levels(np.where(sure, lab, UNIDENTIFIED).tolist(), permitted, self.threat_params)
        raw = assess(pos, vel, self.assets.pos, self.assets.radius_m, self.threat_params)
        floor = np.where(~permitted & ~(sure & np.isin(lab, pol.floor_exempt_labels)) & (raw.level == ThreatLevel.CRITICAL),
                         pol.critical_floor_level, ThreatLevel.NONE)
        threat = raw.capped(np.maximum(cap, floor).astype(np.int8))
        inside = self.zones.inside(pos, t)
        is_drone = lab == "drone"
        # a confident drone alerts at once; any other track not confidently harmless once the classifier had its time
        watched = confirmed & ~permitted & ((is_drone & confident) | observed)
        suspect = watched & ~harmless
        in_enforced = inside & self._enforced[None, :]
        intruder = suspect & in_enforced.any(axis=1)

        events: list[Event] = []
        for i, j in zip(*np.nonzero(in_enforced & suspect[:, None]), strict=True):
            key = (ids[i], self.zones.ids[j])
            if key not in self._violating:
                self._violating[key] = t
                shown = "drone" if is_drone[i] else UNIDENTIFIED
                events.append(self._violation(t, ids[i], self.zones.ids[j], shown, pos[i], threat, i))
        # an alerted track is not alerted again for the same zone, whatever its label, until it has been out of
        # it for rearm_s (a track whose height wavers about a zone's floor does not alert on every crossing)
        for i, j in zip(*np.nonzero(in_enforced), strict=True):
            if (ids[i], self.zones.ids[j]) in self._violating:
                self._violating[(ids[i], self.zones.ids[j])] = t
        alive = set(ids)
        self._violating = {k: v for k, v in self._violating.items() if k[0] in alive and t - v < pol.rearm_s}

        self._level = {k: v for k, v in self._level.items() if k in alive}
        for i in np.flatnonzero(watched):  # a confident bird or vehicle is capped low: it raises nothing
            level = int(threat.level[i])
            if level >= ThreatLevel.MEDIUM and level > self._level.get(ids[i], ThreatLevel.NONE):
                self._level[ids[i]] = level
                events.append(ThreatRaised(
                    t=t, track_id=ids[i], asset_id=self.assets.ids[threat.asset_index[i]],
                    level=ThreatLevel(level).label, time_to_asset_s=_finite(threat.time_to_asset_s[i]),
                    closest_approach_m=round(float(threat.closest_approach_m[i]), 1),
                ))
        return Assessment(threat, inside, intruder, harmless), events

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
