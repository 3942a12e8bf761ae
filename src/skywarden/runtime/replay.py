"""Replay a simulated scenario through the pipeline, evidence first, and write what the run leaves behind."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from skywarden.config import Site
from skywarden.events import Event
from skywarden.evidence.ledger import Ledger
from skywarden.history import RunRecord, TrackHistory, TruthHistory
from skywarden.pipeline import Picture, Pipeline
from skywarden.runtime.recorder import EvidenceRecorder, ScanOutcome, raw_inputs
from skywarden.sim.engine import SimStep, Simulation
from skywarden.sim.scenario import Scenario, load_scenario


class Recorder:
    """Accumulates truth (when simulated) and track samples scan by scan, then freezes them into histories."""

    def __init__(self, sim: Simulation | None = None) -> None:
        self.truth_ids: list[str] = [] if sim is None else sim.truth_ids
        self._about = {} if sim is None else {
            tid: (kind, typ, rcs) for tid, kind, typ, rcs in
            zip(sim.truth_ids, sim.truth_kinds, sim.truth_types, sim.truth_rcs_m2.tolist(), strict=True)}
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
        for tid, truth_rows in self.truth.items():
            kind, typ, rcs = self._about[tid]
            record.truths[tid] = TruthHistory(
                id=tid, kind=kind, type=typ, rcs_m2=rcs, scan=np.array([r[0] for r in truth_rows], np.int64),
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
           on_step: Callable[[int, int], None] | None = None, ledger: Ledger | None = None, *,
           pipeline: Callable[[Site], Pipeline] = Pipeline,
           on_scan: Callable[[ScanOutcome, Pipeline], None] | None = None) -> RunRecord:
    """Simulate a scenario (loaded, or a built-in name or file) through the pipeline; returns the record.

    Each simulated scan goes in as the raw lines a receiver would get, appended to ``ledger`` (if given)
    before the pipeline decodes and runs them (see :mod:`skywarden.runtime.recorder`). ``pipeline`` builds
    the pipeline for the scenario's site; ``on_scan`` sees every scan's outcome and the pipeline after it.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    sim = Simulation(scenario, seed)
    built = pipeline(sim.site)
    runner = EvidenceRecorder(built, ledger, float(scenario.start_utc))
    recorder = Recorder(sim)
    times: list[float] = []
    events: list[Event] = []
    for k, step in enumerate(sim.steps()):
        outcome = runner.scan(raw_inputs(step.scan.plots, step.coop))
        events.extend(outcome.events)
        times.append(step.t)
        recorder.add(k, outcome.picture, step)
        if on_scan is not None:
            on_scan(outcome, built)
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
