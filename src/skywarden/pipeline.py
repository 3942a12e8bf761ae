"""The pipeline: tracking -> picture (identity, classification) -> airspace rules, scan by scan.

``Pipeline.step`` is the one place where the stages meet; the drivers below run it on a simulated
scenario (``replay``) and write what a run leaves behind (events, summary, report).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from skywarden.airspace.rules import AirspaceRules, Assessment
from skywarden.airspace.threat import ThreatParams
from skywarden.config import Site
from skywarden.events import Event, TrackClassified, TrackIdentified
from skywarden.evidence.ledger import Ledger
from skywarden.evidence.recorder import EvidenceRecorder, raw_inputs
from skywarden.history import RunRecord, TrackHistory, TruthHistory
from skywarden.picture.classify import Classifier, ClassifierParams
from skywarden.picture.identity import IdentityMatcher
from skywarden.sensors import CoopReport, Plots
from skywarden.sim.engine import SimStep, Simulation
from skywarden.sim.scenario import Scenario, load_scenario
from skywarden.tracking.management import Status
from skywarden.tracking.tracker import Tracker, TrackerParams


@dataclass(frozen=True)
class Picture:
    """The air picture after one scan: every track with what is known about it."""

    t: float
    ids: list[str]
    x: NDArray[np.float64]  # (N, 6) ENU position and velocity
    status: NDArray[np.int8]
    labels: list[str]
    class_prob: NDArray[np.float64]  # (N, 3) drone, bird, aircraft
    identities: list[str | None]
    permits: list[str | None]
    assessment: Assessment

    def digest(self) -> str:
        """SHA-256 (hex) over the track ids, states and status: equal digests mean bit-identical tracks."""
        h = hashlib.sha256("\x1f".join(self.ids).encode())
        h.update(np.ascontiguousarray(self.x, "<f8").tobytes())
        h.update(np.ascontiguousarray(self.status, "i1").tobytes())
        return h.hexdigest()


class Pipeline:
    """Composes the stages; the same object runs live, on a ledger, or on a simulated scenario."""

    def __init__(
        self,
        site: Site,
        tracker_params: TrackerParams | None = None,
        classifier_params: ClassifierParams | None = None,
        threat_params: ThreatParams | None = None,
    ) -> None:
        self.site = site
        self.tracker = Tracker(tracker_params)
        self.identity = IdentityMatcher(site)
        self.classifier = Classifier(classifier_params)
        self.rules = AirspaceRules(site, threat_params)
        self._labels: dict[str, str] = {}
        self._identities: dict[str, str] = {}

    def set_site(self, site: Site) -> None:
        """Run on an edited site from the next scan on (zones, assets, permits); tracks and memory carry over."""
        self.site = site
        self.identity = self.identity.with_site(site)
        self.rules = self.rules.with_site(site)

    def step(self, plots: Plots, coop: Sequence[CoopReport] = ()) -> tuple[Picture, list[Event]]:
        """Run one sensor scan (and the cooperative reports received with it) through every stage."""
        t = plots.t
        events = list(self.tracker.step(plots))
        table = self.tracker.table
        ids = [str(i) for i in table.id]
        confirmed = table.status != Status.TENTATIVE
        identities = self.identity.update(t, ids, table.x[:, :3], confirmed, coop)
        permits = self.identity.permits_for(t, identities, table.x[:, :3])
        labels, prob = self.classifier.update(ids, table.x, table.P, table.rcs_dbsm, table.n_hits)
        # a cooperative self-report says what the object is, whatever its kinematics suggest
        labels = [d or lab for d, lab in zip(self.identity.declared_class(ids), labels, strict=True)]
        for i, track_id in enumerate(ids):
            if not confirmed[i]:
                continue
            uas = identities[i]
            if uas is not None and self._identities.get(track_id) != uas:
                events.append(TrackIdentified(t=t, track_id=track_id, uas_id=uas, permit_id=permits[i]))
            if self._labels.get(track_id, "unknown") != labels[i]:
                events.append(TrackClassified(t=t, track_id=track_id, classification=labels[i],
                                              confidence=round(float(prob[i].max()), 3)))
        self._identities = {k: v for k, v in zip(ids, identities, strict=True) if v is not None}
        self._labels = {k: lab for k, lab, c in zip(ids, labels, confirmed, strict=True) if c}
        assessment, rule_events = self.rules.apply(t, ids, table.x, confirmed, labels, permits)
        events.extend(rule_events)
        picture = Picture(t, ids, table.x.copy(), table.status.copy(), labels, prob, identities, permits, assessment)
        return picture, events


class Recorder:
    """Accumulates truth (when simulated) and track samples scan by scan, then freezes them into histories."""

    def __init__(self, truth_ids: list[str] | None = None, truth_kinds: list[str] | None = None) -> None:
        truth_ids, truth_kinds = truth_ids or [], truth_kinds or []
        self.truth_ids, self.truth_kinds = truth_ids, truth_kinds
        self.truth: dict[str, list[tuple[int, NDArray[np.float64], NDArray[np.float64], bool, bool]]] = {}
        self.tracks: dict[str, list[tuple[int, NDArray[np.float64], int, str]]] = {}

    def add(self, k: int, picture: Picture, step: SimStep | None = None) -> None:
        if step is not None:
            truth, origin = step.truth, step.scan.origin
            detected = np.zeros(len(self.truth_ids), dtype=bool)
            detected[origin[origin >= 0]] = True
            for j in np.flatnonzero(truth.alive):
                self.truth.setdefault(self.truth_ids[j], []).append(
                    (k, truth.pos[j], truth.vel[j], bool(detected[j]), bool(truth.in_coverage[j]))
                )
        for i, track_id in enumerate(picture.ids):
            self.tracks.setdefault(track_id, []).append((k, picture.x[i], int(picture.status[i]), picture.labels[i]))

    def freeze(self, record: RunRecord) -> None:
        kinds = dict(zip(self.truth_ids, self.truth_kinds, strict=True))
        for tid, truth_rows in self.truth.items():
            record.truths[tid] = TruthHistory(
                id=tid, kind=kinds[tid], scan=np.array([r[0] for r in truth_rows], np.int64),
                pos=np.array([r[1] for r in truth_rows]), vel=np.array([r[2] for r in truth_rows]),
                detected=np.array([r[3] for r in truth_rows]), in_coverage=np.array([r[4] for r in truth_rows]),
            )
        for track_id, track_rows in self.tracks.items():
            x = np.array([r[1] for r in track_rows])
            record.tracks[track_id] = TrackHistory(
                id=track_id, scan=np.array([r[0] for r in track_rows], np.int64), pos=x[:, :3], vel=x[:, 3:6],
                status=np.array([r[2] for r in track_rows], np.int8), classification=[r[3] for r in track_rows],
            )


def replay(scenario: Scenario | str | Path, seed: int | None = None,
           on_step: Callable[[int, int], None] | None = None, ledger: Ledger | None = None) -> RunRecord:
    """Simulate a scenario (loaded, or a built-in name or file) through the pipeline; returns the record.

    Each simulated scan goes in as the raw lines a receiver would get, appended to ``ledger`` (if given)
    before the pipeline decodes and runs them (see :mod:`skywarden.evidence.recorder`).
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    sim = Simulation(scenario, seed)
    pipeline = Pipeline(sim.site)
    runner = EvidenceRecorder(pipeline, ledger, float(scenario.start_utc))
    recorder = Recorder(sim.truth_ids, sim.truth_kinds)
    times: list[float] = []
    events: list[Event] = []
    for k, step in enumerate(sim.steps()):
        picture, step_events, _ = runner.scan(raw_inputs(step.scan.plots, step.coop))
        events.extend(step_events)
        times.append(step.t)
        recorder.add(k, picture, step)
        if on_step is not None:
            on_step(k + 1, sim.n_steps)
    record = RunRecord(scenario=scenario.name, seed=sim.seed, site=sim.site, scan_times=np.array(times),
                       events=events)
    recorder.freeze(record)
    return record


@dataclass
class ReplayOutput:
    """Where a replay wrote its files, and the summary it computed."""

    out_dir: Path
    summary: dict[str, object]
    files: dict[str, Path] = field(default_factory=dict)


def write_outputs(record: RunRecord, out_dir: Path) -> ReplayOutput:
    """Write ``events.jsonl``, ``summary.json`` and ``report.html`` for a run into ``out_dir``."""
    from skywarden.metrics import summarize
    from skywarden.report.html import write_report

    out_dir.mkdir(parents=True, exist_ok=True)
    summary = summarize(record)
    files = {"events": out_dir / "events.jsonl", "summary": out_dir / "summary.json", "report": out_dir / "report.html"}
    with files["events"].open("w", encoding="utf-8") as f:
        for ev in record.events:
            f.write(json.dumps(ev.to_dict(), separators=(",", ":")) + "\n")
    files["summary"].write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    write_report(record, summary, files["report"])
    return ReplayOutput(out_dir, summary, files)
