"""What a run leaves behind for metrics and reports: truth and track histories, events, scan times.

Samples are indexed by scan number (``scan``), an index into :attr:`RunRecord.scan_times`, so that
truth and tracks of the same scan join exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from skywarden.config import Site
from skywarden.events import Event


@dataclass
class TruthHistory:
    """One simulated object sampled at every scan while it exists."""

    id: str
    kind: str  # "drone" | "bird" | "aircraft" | "vehicle"
    scan: NDArray[np.int64]  # (k,) scan indices
    pos: NDArray[np.float64]  # (k, 3) ENU m
    vel: NDArray[np.float64]  # (k, 3) ENU m/s
    detected: NDArray[np.bool_]  # (k,) a plot from this object was in the scan
    in_coverage: NDArray[np.bool_]  # (k,) inside some radar's range/elevation coverage
    type: str = ""  # what it is physically, "<kind>/<type>" (drone/multirotor, bird/gull, vehicle/car, …)
    rcs_m2: float = float("nan")  # its mean radar cross-section


@dataclass
class TrackHistory:
    """One track sampled at every scan while it exists (tentative samples included)."""

    id: str
    scan: NDArray[np.int64]  # (k,)
    pos: NDArray[np.float64]  # (k, 3)
    vel: NDArray[np.float64]  # (k, 3)
    status: NDArray[np.int8]  # (k,) tracking.management.Status values
    classification: list[str]  # (k,) drone / bird / aircraft / vehicle / unknown


@dataclass
class RunRecord:
    """Everything a replay produced, in memory."""

    scenario: str
    seed: int
    site: Site
    scan_times: NDArray[np.float64]  # (S,) UTC seconds
    truths: dict[str, TruthHistory] = field(default_factory=dict)
    tracks: dict[str, TrackHistory] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    truth_known: bool = True  # False for a re-run of recorded input: no GOSPA, no per-object rows
