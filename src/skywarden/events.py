"""Events: the only things that leave the pipeline (to the ledger, store, API and reports).

Each is a small frozen dataclass with ``t`` (UTC seconds) and ids; ``to_dict()`` gives the JSON form
with a ``kind`` field naming the event type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class Event:
    """Base of all events."""

    kind: ClassVar[str] = "Event"
    t: float

    def to_dict(self) -> dict[str, Any]:
        # The fields are flat (numbers, strings, tuples of numbers): a shallow copy in field order is the JSON
        # form, at a tenth of the cost of dataclasses.asdict's deep copy (it shows at thousands of tracks).
        return {"kind": self.kind, **self.__dict__}


@dataclass(frozen=True)
class TrackConfirmed(Event):
    """A tentative track passed M-of-N confirmation."""

    kind: ClassVar[str] = "TrackConfirmed"
    track_id: str
    position_enu_m: tuple[float, float, float]


@dataclass(frozen=True)
class TrackLost(Event):
    """A confirmed track was deleted after too many misses."""

    kind: ClassVar[str] = "TrackLost"
    track_id: str


@dataclass(frozen=True)
class TrackClassified(Event):
    """A confirmed track's class changed (drone / bird / aircraft / vehicle / unknown)."""

    kind: ClassVar[str] = "TrackClassified"
    track_id: str
    classification: str
    confidence: float


@dataclass(frozen=True)
class TrackIdentified(Event):
    """A track was matched to a cooperative identity (Remote ID / ADS-B) and, if any, a permit."""

    kind: ClassVar[str] = "TrackIdentified"
    track_id: str
    uas_id: str
    permit_id: str | None


@dataclass(frozen=True)
class ZoneViolation(Event):
    """An intrusion alert: a confirmed, unpermitted track that is not confidently harmless is inside an active
    no-fly or restricted zone; ``classification`` is ``drone`` or ``unidentified`` (airspace.rules.SafetyPolicy)."""

    kind: ClassVar[str] = "ZoneViolation"
    track_id: str
    zone_id: str
    classification: str
    asset_id: str | None
    time_to_asset_s: float | None
    position_enu_m: tuple[float, float, float]


@dataclass(frozen=True)
class ThreatRaised(Event):
    """A track's threat level to a protected asset went up."""

    kind: ClassVar[str] = "ThreatRaised"
    track_id: str
    asset_id: str
    level: str
    time_to_asset_s: float | None
    closest_approach_m: float


@dataclass(frozen=True)
class InputRejected(Event):
    """A raw input (kept in the ledger as evidence, at ``entry``) that its decoder or the tracker refused;
    ``reason`` names the field and the value. The run goes on without it."""

    kind: ClassVar[str] = "InputRejected"
    entry: int | None
    source: str
    reason: str
