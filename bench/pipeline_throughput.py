"""Pipeline throughput on the built-in scenarios: scans/s and ms per scan (p50/p99) of Pipeline.step.

Simulation time is measured apart from pipeline time, so the figures are the tracker, picture and
airspace stages only. ``run_bench.py`` (``make bench``) puts this table under its Stone Soup comparison.
"""

from __future__ import annotations

import platform
import time

import numpy as np

from skywarden.pipeline import Pipeline
from skywarden.sim.engine import Simulation
from skywarden.sim.scenario import load_scenario


def measure(name: str) -> dict[str, float]:
    """Run one scenario; time each Pipeline.step."""
    sim = Simulation(load_scenario(name))
    pipeline = Pipeline(sim.site)
    steps = list(sim.steps())
    per_scan = np.empty(len(steps))
    plots = 0
    for k, step in enumerate(steps):
        t0 = time.perf_counter()
        pipeline.step(step.scan.plots, step.coop)
        per_scan[k] = time.perf_counter() - t0
        plots += len(step.scan.plots)
    return {"scans": len(steps), "plots": plots, "scans_per_s": len(steps) / per_scan.sum(),
            "p50_ms": 1e3 * float(np.percentile(per_scan, 50)), "p99_ms": 1e3 * float(np.percentile(per_scan, 99))}


def main() -> None:
    print(f"machine: {platform.machine()} {platform.processor() or ''} python {platform.python_version()}")
    print(f"{'scenario':<22}{'scans':>7}{'plots':>8}{'scans/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    for name in ("kremlin-2023-05-03", "crossing-drones", "birds-only"):
        r = measure(name)
        print(f"{name:<22}{r['scans']:>7}{r['plots']:>8}{r['scans_per_s']:>10.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}")


if __name__ == "__main__":
    main()
