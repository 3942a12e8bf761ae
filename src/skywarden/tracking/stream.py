"""Streaming tracking of recorded plots: JSON lines in, one track snapshot line out per scan.

Memory stays constant in the length of the input: lines are read one at a time, the only per-line
state kept is counters and a fixed-size reservoir of step times for the p50/p99 summary.
"""

from __future__ import annotations

import dataclasses
import time
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skywarden.events import TrackConfirmed
from skywarden.sensors.jsonl import SensorDecodeError, decode_plots, encode_tracks
from skywarden.tracking.tracker import Tracker, TrackerParams, TrackingError

RESERVOIR_SIZE = 8192  # step times kept for the quantiles: exact up to this many scans, sampled beyond


def param_fields() -> dict[str, Any]:
    """The tunable :class:`TrackerParams` fields and their resolved types."""
    hints = typing.get_type_hints(TrackerParams)
    return {f.name: hints[f.name] for f in dataclasses.fields(TrackerParams) if f.init}


def parse_value(name: str, kind: Any, text: str) -> Any:
    """``text`` as a value of the field type ``kind`` (numbers, strings, booleans, literals, tuples)."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (types.UnionType, typing.Union) and type(None) in args:
        if text.lower() in ("none", "null", ""):
            return None
        (inner,) = (a for a in args if a is not type(None))
        return parse_value(name, inner, text)
    if origin is tuple:
        inner = args[0] if args else float
        parts = [p.strip() for p in text.split(",") if p.strip()]
        return tuple(parse_value(name, inner, p) for p in parts)
    if origin is typing.Literal:
        for option in args:
            if text == str(option):
                return option
        raise ValueError(f"{name}: expected one of {', '.join(map(str, args))}, got {text!r}")
    if kind is bool:
        if text.lower() in ("true", "1", "yes", "on"):
            return True
        if text.lower() in ("false", "0", "no", "off"):
            return False
        raise ValueError(f"{name}: expected true or false, got {text!r}")
    if kind in (int, float, str):
        try:
            return kind(text)
        except ValueError:
            raise ValueError(f"{name}: expected {kind.__name__}, got {text!r}") from None
    raise ValueError(f"{name}: cannot be set from the command line (type {kind})")


def type_name(kind: Any) -> str:
    """A field type as a user reads it: ``float``, ``tuple[float, ...] | None``, ``Literal['gnn', 'jpda']``."""
    return kind.__name__ if isinstance(kind, type) else str(kind).replace("typing.", "")


def tracker_params(overrides: Mapping[str, str]) -> TrackerParams:
    """Default :class:`TrackerParams` with fields replaced from text values; a bad name or value raises ValueError."""
    known = param_fields()
    values: dict[str, Any] = {}
    for name, text in overrides.items():
        if name not in known:
            raise ValueError(f"unknown tracker parameter {name!r} (known: {', '.join(known)})")
        values[name] = parse_value(name, known[name], text)
    return TrackerParams(**values)


@dataclass
class Reservoir:
    """A uniform sample of at most ``size`` values from a stream (algorithm R), for quantiles in constant memory."""

    size: int = RESERVOIR_SIZE
    seen: int = 0
    values: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))

    def __post_init__(self) -> None:
        self.values = np.empty(self.size)

    def add(self, value: float) -> None:
        """Offer one value; keeps each of the values seen so far with equal probability."""
        if self.seen < self.size:
            self.values[self.seen] = value
        else:
            j = int(self.rng.integers(0, self.seen + 1))
            if j < self.size:
                self.values[j] = value
        self.seen += 1

    def quantile(self, q: float) -> float:
        """The ``q`` quantile of the sample (NaN when empty)."""
        n = min(self.seen, self.size)
        return float(np.quantile(self.values[:n], q)) if n else float("nan")


@dataclass
class StreamStats:
    """Counters of one streaming run; the step times sit in a bounded reservoir."""

    lines: int = 0
    scans: int = 0
    plots: int = 0
    rejected: int = 0
    tracks_created: int = 0
    tracks_confirmed: int = 0
    tracker_s: float = 0.0
    step_s: Reservoir = field(default_factory=Reservoir)

    @property
    def plots_per_s(self) -> float:
        """Plots handled per second of tracker time (decoding and writing excluded)."""
        return self.plots / self.tracker_s if self.tracker_s > 0 else float("nan")

    def summary(self) -> dict[str, float | int]:
        """The ``--stats`` figures, ready to print or dump as JSON."""
        return {"lines": self.lines, "scans": self.scans, "rejected_lines": self.rejected, "plots": self.plots,
                "tracks_created": self.tracks_created, "tracks_confirmed": self.tracks_confirmed,
                "ms_per_scan_p50": 1e3 * self.step_s.quantile(0.5), "ms_per_scan_p99": 1e3 * self.step_s.quantile(0.99),
                "plots_per_s": self.plots_per_s}


def track_lines(
    lines: Iterable[bytes | str],
    write: Callable[[str], object],
    tracker: Tracker,
    on_reject: Callable[[int, str], object] = lambda number, reason: None,
    on_line: Callable[[int, int], object] = lambda number, size: None,
) -> StreamStats:
    """Run ``tracker`` over recorded scan lines, writing one track line (plus newline) per accepted scan.

    A malformed line or a scan older than the tracker state is reported through ``on_reject(line
    number, reason)`` and skipped. ``on_line(line number, line length)`` is called after every line,
    for progress. Blank lines are skipped silently.
    """
    stats = StreamStats()
    for number, line in enumerate(lines, start=1):
        stats.lines = number
        if line.strip():
            _track_one(line, number, write, tracker, on_reject, stats)
        on_line(number, len(line))
    return stats


def _track_one(line: bytes | str, number: int, write: Callable[[str], object], tracker: Tracker,
               on_reject: Callable[[int, str], object], stats: StreamStats) -> None:
    try:
        plots = decode_plots(line)
    except SensorDecodeError as exc:
        stats.rejected += 1
        on_reject(number, str(exc))
        return
    before = tracker.table.id
    start = time.perf_counter()
    try:
        events = tracker.step(plots)
    except TrackingError as exc:
        stats.rejected += 1
        on_reject(number, f"t: {exc}")
        return
    elapsed = time.perf_counter() - start
    table = tracker.table
    stats.scans += 1
    stats.plots += len(plots)
    stats.tracker_s += elapsed
    stats.step_s.add(elapsed)
    stats.tracks_created += len(table.id) - int(np.isin(table.id, before).sum())
    stats.tracks_confirmed += sum(isinstance(e, TrackConfirmed) for e in events)
    write(encode_tracks(table) + "\n")
