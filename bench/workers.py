"""One benchmark measurement per process: ``python bench/workers.py '{"job": ..., ...}'`` prints one JSON line.

A fresh process per run keeps peak-memory figures apart and lets the caller pin it to one core.
Jobs: ``track`` (a tracker on a generated scenario: timing, memory, GOSPA per scan), ``long``
(RSS sampled over a long Skywarden run), ``linear`` (memory held by the tracker against track count),
``swarm`` (a scenario file simulated and tracked: load, build and scan times).
"""

from __future__ import annotations

import dataclasses
import gc
import json
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skywarden.metrics import gospa
from skywarden.sensors import Plots
from skywarden.sim.generate import CLUTTER_ALT_M, GeneratedScenario, generate_scenario
from skywarden.tracking import Status, Tracker, TrackerParams

GOSPA_C_M, GOSPA_P, GOSPA_ALPHA = 50.0, 2.0, 2.0
PD, CLUTTER_PER_SCAN, SIGMA_M, SCAN_PERIOD_S = 0.9, 10.0, 5.0, 1.0


def scenario(n: int, frame: str, scans: int, seed: int) -> GeneratedScenario:
    """The benchmark's scenario: Pd 0.9, 10 clutter plots per scan, σ 5 m (polar: 5 m across at mid-area)."""
    return generate_scenario(n, CLUTTER_PER_SCAN, PD, SIGMA_M, 1, scans * SCAN_PERIOD_S, SCAN_PERIOD_S, seed,
                             "polar" if frame == "polar" else "enu")


def clutter_density_per_m3(g: GeneratedScenario) -> float:
    """Clutter plots per scan over the volume they are spread in (ENU cubic metres)."""
    side = 2.4 * g.half_width_m
    return g.clutter_per_scan / (side * side * (CLUTTER_ALT_M[1] - CLUTTER_ALT_M[0]))


def has_jpda() -> bool:
    """Whether this Skywarden's TrackerParams offers the ``associator`` choice."""
    return "associator" in {f.name for f in dataclasses.fields(TrackerParams)}


def skywarden_params(associator: str, g: GeneratedScenario) -> TrackerParams:
    """Default tracker settings; for JPDA, the scenario's Pd and clutter density."""
    if associator == "gnn":
        return TrackerParams()
    return TrackerParams(associator="jpda", detection_probability=g.pd,
                         clutter_density_per_m3=clutter_density_per_m3(g))


def skywarden_stepper(associator: str, g: GeneratedScenario) -> Callable[[Plots], NDArray[np.float64]]:
    """Feed one scan to a Skywarden tracker; return the confirmed and coasting tracks' positions."""
    tracker = Tracker(skywarden_params(associator, g))

    def step(plots: Plots) -> NDArray[np.float64]:
        tracker.step(plots)
        table = tracker.table
        return table.x[table.status != Status.TENTATIVE, :3]

    return step


def stonesoup_stepper(associator: str, g: GeneratedScenario) -> Callable[[Plots], NDArray[np.float64]]:
    """Feed one scan to a Stone Soup tracker (imported only here, only by the benchmark)."""
    sys.path.insert(0, str(Path(__file__).parent))
    import stonesoup_trackers

    density = clutter_density_per_m3(g)
    if g.frame == "polar":  # per (rad · rad · m) of measurement space, at the area's half-width
        density *= g.half_width_m**2
    return stonesoup_trackers.stepper(associator, g.frame == "polar", g.pd, density)


def rss_mb() -> float:
    """Resident set size now (MB)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def peak_rss_mb() -> float:
    """Highest resident set size so far (MB; Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def track_job(tracker: str, associator: str, n: int, frame: str, scans: int, seed: int,
              with_gospa: bool = True) -> dict[str, Any]:
    """Time every scan of one tracker on pre-generated plots; GOSPA is computed afterwards, untimed."""
    g = scenario(n, frame, scans, seed)
    steps = list(g.steps())
    make = skywarden_stepper if tracker == "skywarden" else stonesoup_stepper
    warm_up = make(associator, g)  # a throwaway tracker pays the lazy imports and first-call costs
    for s in steps[:3]:
        warm_up(s.scan.plots)
    del warm_up
    step = make(associator, g)
    gc.collect()
    rss0 = rss_mb()
    per_scan = np.empty(len(steps))
    estimates = []
    for k, s in enumerate(steps):
        t0 = time.perf_counter()
        pos = step(s.scan.plots)
        per_scan[k] = time.perf_counter() - t0
        estimates.append(np.array(pos, float))
    peak = peak_rss_mb() - rss0
    g_values = [gospa(s.truth.pos, est, GOSPA_C_M, GOSPA_P, GOSPA_ALPHA).value
                for s, est in zip(steps, estimates, strict=True)] if with_gospa else []
    n_plots = sum(len(s.scan.plots) for s in steps)
    return {"scans": len(steps), "plots": n_plots, "plots_per_s": n_plots / float(per_scan.sum()),
            "p50_ms": 1e3 * float(np.percentile(per_scan, 50)), "p99_ms": 1e3 * float(np.percentile(per_scan, 99)),
            "peak_mb": peak, "gospa": g_values, "tracks_end": len(estimates[-1])}


def long_job(n: int, scans: int, seed: int, every: int) -> dict[str, Any]:
    """RSS and track count every ``every`` scans over a long run (plots generated as it goes)."""
    g = scenario(n, "enu", scans, seed)
    tracker = Tracker()
    samples = []
    for k, s in enumerate(g.steps()):
        tracker.step(s.scan.plots)
        if (k + 1) % every == 0:
            samples.append({"scan": k + 1, "rss_mb": rss_mb(), "tracks": len(tracker.table)})
    return {"samples": samples}


def linear_job(ns: list[int], scans: int, seed: int) -> dict[str, Any]:
    """Memory the tracker holds (tracemalloc, after ``scans`` scans) for several target counts."""
    rows = []
    for n in ns:
        steps = list(scenario(n, "enu", scans, seed).steps())
        gc.collect()
        tracemalloc.start()
        tracker = Tracker()
        for s in steps:
            tracker.step(s.scan.plots)
        gc.collect()
        held, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rows.append({"n": n, "tracks": len(tracker.table), "held_mb": held / 2**20, "peak_mb": peak / 2**20,
                     "bytes_per_track": held / max(len(tracker.table), 1)})
        del tracker, steps
    return {"rows": rows}


def swarm_job(name: str) -> dict[str, Any]:
    """A scenario file at scale: load, build the simulation, draw every scan, track them (seconds each)."""
    from skywarden.sim.engine import Simulation
    from skywarden.sim.scenario import load_scenario

    t0 = time.perf_counter()
    sc = load_scenario(name)
    t1 = time.perf_counter()
    sim = Simulation(sc)
    t2 = time.perf_counter()
    steps = list(sim.steps())
    t3 = time.perf_counter()
    tracker = Tracker()
    per_scan = np.empty(len(steps))
    for k, s in enumerate(steps):
        t_scan = time.perf_counter()
        tracker.step(s.scan.plots)
        per_scan[k] = time.perf_counter() - t_scan
    return {"load_s": t1 - t0, "build_s": t2 - t1, "scans_s": t3 - t2, "scans": len(steps),
            "objects": len(sim.truth_ids), "plots": sum(len(s.scan.plots) for s in steps),
            "p50_ms": 1e3 * float(np.percentile(per_scan, 50)), "p99_ms": 1e3 * float(np.percentile(per_scan, 99)),
            "confirmed_end": int(np.count_nonzero(tracker.table.status != Status.TENTATIVE))}


def ledger_job(entries: int) -> dict[str, Any]:
    """The evidence ledger: append rate (one commit per scan of 100 entries) and verify time."""
    sys.path.insert(0, str(Path(__file__).parent))
    import bench_ledger

    return bench_ledger.run(entries)


def main() -> None:
    cfg = json.loads(sys.argv[1])
    job = cfg.pop("job")
    result = {"track": track_job, "long": long_job, "linear": linear_job, "swarm": swarm_job,
              "ledger": ledger_job}[job](**cfg)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
