"""Run a recorded ledger's raw inputs through the pipeline again and compare every decision, bit for bit.

The pipeline is rebuilt from the run's ``config`` entry (site and parameters, see
:mod:`.recorder`); each recorded scan's events and track digest must come out byte-identical.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from skywarden import __version__
from skywarden.airspace.rules import SafetyPolicy
from skywarden.airspace.threat import ThreatParams
from skywarden.config import Site
from skywarden.events import Event
from skywarden.evidence.encoding import Entry, LedgerError, canonical_json
from skywarden.history import RunRecord
from skywarden.picture.classify import ClassifierParams
from skywarden.pipeline import Pipeline
from skywarden.runtime.recorder import (
    RUN_CONFIG,
    EvidenceRecorder,
    apply_config_entry,
    describe,
    event_payloads,
)
from skywarden.runtime.replay import Recorder
from skywarden.tracking import TrackerParams


def _tuples(value: Any) -> Any:
    """JSON arrays, at any depth, back to the tuples a frozen parameters dataclass holds."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def _params(cls: Any, values: dict[str, Any]) -> Any:
    """A parameters dataclass from its JSON form."""
    return cls(**{k: _tuples(v) for k, v in values.items()})


def pipeline_from_config(config: dict[str, Any]) -> Pipeline:
    """The pipeline a run's config entry describes."""
    return Pipeline(Site.model_validate(config["site"]), _params(TrackerParams, config["tracker"]),
                    _params(ClassifierParams, config["classifier"]), _params(ThreatParams, config["threat"]),
                    _params(SafetyPolicy, config["policy"]))


@dataclass
class Rerun:
    """What re-running a ledger gave: the run record (no truth) and every difference from the recording."""

    config: dict[str, Any]
    record: RunRecord
    scans: int = 0
    compared_events: int = 0
    differences: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        """Every recorded event and track digest came out again, byte for byte."""
        return not self.differences


def rerun(entries: Iterable[Entry], on_entry: Callable[[int], None] | None = None,
          max_differences: int = 20) -> Rerun:
    """Re-run the raw inputs of ``entries`` (a ledger from its start, in index order) and compare."""
    it = iter(entries)
    first = next(it, None)
    if first is None or first.kind != "config" or first.source != RUN_CONFIG:
        raise LedgerError(f"a ledger to re-run starts with its {RUN_CONFIG!r} config entry"
                          f"{'' if first is None else f', not entry 0 of kind {first.kind} from {first.source!r}'}")
    try:
        config = json.loads(first.payload)
        pipeline = pipeline_from_config(config)
    except (ValueError, TypeError, KeyError, RecursionError) as exc:  # a forged or foreign config: say so
        raise LedgerError(f"entry {first.index}: the {RUN_CONFIG!r} config cannot rebuild the pipeline: "
                          f"{type(exc).__name__}: {exc}") from None
    runner = EvidenceRecorder(pipeline, None, first.t)
    recorder = Recorder()
    times: list[float] = []
    events: list[Event] = []
    out = Rerun(config, RunRecord(scenario=f"ledger ({pipeline.site.name})", seed=0, site=pipeline.site,
                                  scan_times=np.zeros(0), truth_known=False))
    if config.get("software_version") != __version__:
        out.differences.append(f"recorded by Skywarden {config.get('software_version')}, re-run by {__version__}: "
                               f"only the same version is bit for bit")
    expected: list[bytes] = []  # what the scans just re-run must have left in the ledger
    recorded: list[tuple[int, bytes]] = []

    def settle() -> None:
        out.compared_events += len(recorded)
        got = [p for _, p in recorded]
        if got != expected and len(out.differences) < max_differences:
            k = next((i for i, (a, b) in enumerate(zip(got, expected, strict=False)) if a != b), min(len(got), len(expected)))
            where = f"entry {recorded[k][0]}" if k < len(recorded) else f"after entry {recorded[-1][0] if recorded else '?'}"
            rec = describe(got[k]) if k < len(got) else "nothing"
            new = describe(expected[k]) if k < len(expected) else "nothing"
            t = f"t={times[-1]:.3f}" if times else "the start"
            out.differences.append(f"scan at {t}, {where}: recorded {rec}, re-run gave {new}")
        expected.clear()
        recorded.clear()

    for entry in it:
        if on_entry is not None:
            on_entry(entry.index)
        if entry.kind == "raw":
            if recorded or expected:
                settle()
            outcome = runner.take(entry.index, entry.t, entry.source, bytes(entry.payload))
            if outcome is not None:
                recorder.add(len(times), outcome.picture)
                times.append(outcome.picture.t)
                events.extend(outcome.events)
                expected.extend(event_payloads(outcome))
                out.scans += 1
            continue
        refused = runner.rejections()  # the scan's inputs are all read: a refused sensor scan's refusals
        events.extend(refused)
        expected.extend(canonical_json(e.to_dict()) for e in refused)
        if entry.kind == "event":
            recorded.append((entry.index, bytes(entry.payload)))
        elif entry.kind == "config" and entry.source == RUN_CONFIG:
            raise LedgerError(f"entry {entry.index}: a second run starts inside this ledger")
        elif entry.kind == "config":
            try:
                apply_config_entry(pipeline, entry.source, bytes(entry.payload))
            except (ValueError, TypeError, KeyError, AttributeError) as exc:  # a forged edit: say which entry
                raise LedgerError(f"entry {entry.index}: the config {entry.source!r} cannot be applied: "
                                  f"{type(exc).__name__}: {exc}") from None
    if expected or recorded:
        settle()
    out.record = dataclasses.replace(out.record, scan_times=np.array(times), events=events)
    recorder.freeze(out.record)
    return out
