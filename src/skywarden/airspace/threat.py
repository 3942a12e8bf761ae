"""Threat of tracks to assets: time to go, closest approach and a threat level, for all pairs at once.

Time to asset is the time-to-go along the line of sight, (distance − radius) / closing speed, which
stays meaningful for a target that weaves on its way in; the closest approach comes from straight-line
extrapolation of the current velocity. The level from these figures is then capped by what the track
is (:func:`max_levels`): a bird or a permitted flight is shown, never alarming.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

MIN_CLOSING_MPS = 1.0


class ThreatLevel(IntEnum):
    """Ordered threat levels; a rise is reported as an event."""

    NONE = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class ThreatParams:
    """Thresholds of the levels: (time to asset s, closest approach m) both under the bound; and caps.

    ``max_level`` caps the level by classification, as (label, highest level) pairs: a bird or a road
    vehicle is shown but never alarming, a manned aircraft is worth watching but is no drone attack; a
    label not listed (drone, unknown) keeps the full level. The airspace rules apply a label's cap only
    where the label is confident (``airspace.rules.SafetyPolicy``). ``permitted_max_level`` caps a track flying under a valid
    permit. Plain tuples and ints, so that ``dataclasses.asdict`` goes to JSON and back (evidence ledger).
    """

    critical: tuple[float, float] = (60.0, 300.0)
    high: tuple[float, float] = (180.0, 500.0)
    medium: tuple[float, float] = (600.0, 1000.0)
    max_level: tuple[tuple[str, int], ...] = (("bird", ThreatLevel.LOW), ("aircraft", ThreatLevel.MEDIUM),
                                              ("vehicle", ThreatLevel.LOW))
    permitted_max_level: int = ThreatLevel.LOW

    def __post_init__(self) -> None:
        for name, lvl in (*self.max_level, ("permitted_max_level", self.permitted_max_level)):
            if lvl not in tuple(ThreatLevel):
                raise ValueError(f"ThreatParams: the cap of {name!r} must be a level 0..4 (got {lvl!r})")


@dataclass(frozen=True)
class Threat:
    """Per track (N,): the most threatened asset and the figures against it."""

    asset_index: NDArray[np.int64]  # -1 when there is no asset
    time_to_asset_s: NDArray[np.float64]  # inf when not closing
    closest_approach_m: NDArray[np.float64]
    distance_m: NDArray[np.float64]
    level: NDArray[np.int8]

    def capped(self, max_level: NDArray[np.int8]) -> Threat:
        """The same figures with each track's level lowered to at most ``max_level`` (N,)."""
        return replace(self, level=np.minimum(self.level, max_level).astype(np.int8))


def max_levels(labels: Sequence[str], permitted: NDArray[np.bool_], params: ThreatParams) -> NDArray[np.int8]:
    """Highest level each of N tracks may reach, from its classification and whether a permit covers it."""
    lab = np.asarray(labels, dtype=str).reshape(-1)
    cap = np.full(len(lab), ThreatLevel.CRITICAL, np.int8)
    for label, level in params.max_level:
        cap[lab == label] = level
    return np.where(permitted, np.minimum(cap, params.permitted_max_level), cap).astype(np.int8)


def assess(
    pos: NDArray[np.float64],
    vel: NDArray[np.float64],
    asset_pos: NDArray[np.float64],
    asset_radius_m: NDArray[np.float64],
    params: ThreatParams | None = None,
) -> Threat:
    """Threat of N tracks (pos, vel (N,3)) to A assets; each track is scored against its worst asset.

    The worst asset has the highest level; among equals, the smallest closest approach, then the
    shortest time to asset.
    """
    params = params or ThreatParams()
    n, a = len(pos), len(asset_pos)
    if n == 0 or a == 0:
        inf = np.full(n, np.inf)
        return Threat(np.full(n, -1, np.int64), inf, inf.copy(), inf.copy(), np.zeros(n, np.int8))
    d = asset_pos[None, :, :] - pos[:, None, :]  # (N, A, 3) track -> asset
    dist = np.linalg.norm(d, axis=-1)
    unit = d / np.maximum(dist, 1e-9)[..., None]
    closing = np.einsum("nak,nk->na", unit, vel)
    gap = np.maximum(dist - asset_radius_m[None, :], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ttg = np.where(gap == 0.0, 0.0, np.where(closing > MIN_CLOSING_MPS, gap / closing, np.inf))
    speed2 = np.einsum("nk,nk->n", vel, vel)[:, None]
    t_cpa = np.clip(np.einsum("nak,nk->na", d, vel) / np.maximum(speed2, 1e-9), 0.0, None)
    cpa = np.linalg.norm(d - vel[:, None, :] * t_cpa[..., None], axis=-1)
    cpa = np.maximum(cpa - asset_radius_m[None, :], 0.0)
    level = np.full((n, a), ThreatLevel.LOW, np.int8)
    for lvl, (t_max, cpa_max) in ((ThreatLevel.MEDIUM, params.medium), (ThreatLevel.HIGH, params.high),
                                   (ThreatLevel.CRITICAL, params.critical)):
        level[(ttg <= t_max) & (cpa <= cpa_max)] = lvl
    approach = np.where(np.isfinite(ttg), cpa, 1e12 + dist)  # assets not approached rank by distance
    k = np.lexsort((ttg, approach, -level.astype(np.int64)), axis=1)[:, 0]
    rows = np.arange(n)
    return Threat(k.astype(np.int64), ttg[rows, k], cpa[rows, k], dist[rows, k], level[rows, k])
