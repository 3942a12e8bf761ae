"""Writes ``src/skywarden/sim/scenarios/swarm-1000.toml``: 1,000 drones on waypoint routes over the Kremlin site.

Run once (``python bench/make_swarm_scenario.py``); the file it writes is the built-in scenario, so
this script only documents and reproduces how it was made. Drones come in three waves from all round
the site, 1.5–4.6 km from the radar, and fly three legs between random waypoints (turns at each), at
80–300 m; multirotors hold at the end, fixed-wings loop their route. Birds add biological clutter on
top of the radar's own false alarms.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

OUT = Path(__file__).parent.parent / "src/skywarden/sim/scenarios/swarm-1000.toml"
N_DRONES, SEED = 1000, 1000
RING_M = (1500.0, 4600.0)
ALT_M = (80.0, 300.0)


def _point(rng: np.random.Generator) -> str:
    r = math.sqrt(rng.uniform(RING_M[0] ** 2, RING_M[1] ** 2))
    a = rng.uniform(0.0, 2.0 * math.pi)
    return f"{{ enu_m = [{r * math.sin(a):.1f}, {r * math.cos(a):.1f}, {rng.uniform(*ALT_M):.1f}] }}"


def _target(i: int, rng: np.random.Generator) -> str:
    fixed_wing = rng.random() < 0.2
    airframe = "fixed-wing" if fixed_wing else "multirotor"
    speed = rng.uniform(18.0, 28.0) if fixed_wing else rng.uniform(8.0, 20.0)
    rcs = math.exp(rng.uniform(math.log(0.02), math.log(0.2)))
    start_s = 30.0 * int(rng.integers(0, 3)) + rng.uniform(0.0, 10.0)
    waypoints = ", ".join(_point(rng) for _ in range(4))
    ending = "loop = true" if fixed_wing else 'on_arrival = "hold"'
    motion = (f'{{ type = "waypoints", speed_mps = {speed:.1f}, {ending}, accept_radius_m = 30.0, '
              f"waypoints = [{waypoints}] }}")
    return (f'  {{ id = "swarm-{i + 1:04d}", kind = "drone", airframe = "{airframe}", rcs_m2 = {rcs:.3f}, '
            f"start_s = {start_s:.1f}, motion = {motion} }},")


def main() -> None:
    rng = np.random.default_rng(SEED)
    lines = [
        "# 1,000 drones on waypoint routes over the Kremlin site, in three waves 30 s apart, with birds and the",
        "# radar's own false alarms as clutter. Written by bench/make_swarm_scenario.py (seeded); edit that, not this.",
        'description = "A swarm of 1,000 drones on manoeuvring waypoint routes 1.5-4.6 km out, with birds and clutter"',
        'site = "kremlin"',
        "start = 2023-05-03T12:00:00Z",
        "duration_s = 180.0",
        "seed = 1000",
        "targets = [",
        *(_target(i, rng) for i in range(N_DRONES)),
        "]",
        "",
        "[[bird_groups]]",
        'id = "river-birds"',
        "count = 40",
        "centre = { enu_m = [500.0, -300.0, 0.0] }",
        "radius_m = 1500.0",
        "alt_m = [15.0, 150.0]",
        "speed_mps = [6.0, 14.0]",
        "rcs_m2 = [0.005, 0.03]",
        "",
    ]
    OUT.write_text("\n".join(lines))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
