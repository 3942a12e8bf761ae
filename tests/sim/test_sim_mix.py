"""Random labelled scenes and the quadcopter-raid scenario: deterministic, in coverage, in the documented format."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from skywarden.config import ConfigError
from skywarden.sim import Simulation, load_scenario
from skywarden.sim.mix import random_scene, scenario_toml
from skywarden.sim.scenario import WaypointMotion


def _asset_enu(sim: Simulation) -> dict[str, np.ndarray]:
    f = sim.site.frame
    return {a.id: f.to_enu(a.lat_deg, a.lon_deg, a.alt_m).reshape(3) for a in sim.site.assets}


def test_quadcopter_raid_drones_are_in_coverage_long_before_their_asset() -> None:
    sc = load_scenario("quadcopter-raid")
    assert sc.site.name == "Moscow Kremlin" and 900.0 <= sc.duration_s <= 1200.0
    sim = Simulation(sc)
    times = sim.scan_times - sc.start_utc
    steps = list(sim.steps())
    assets = _asset_enu(sim)
    radius = {a.id: a.radius_m for a in sim.site.assets}
    drones = [j for j, k in enumerate(sim.truth_kinds) if k == "drone"]
    assert len(drones) == 6 and {sim.truth_types[j] for j in drones} == {"drone/multirotor"}
    hovering = 0
    for j in drones:
        target = sc.spec.targets[j]
        assert 0.01 <= target.rcs_m2 <= 0.05
        assert isinstance(target.motion, WaypointMotion) and 7.0 <= target.motion.speed_mps <= 16.0
        traj = sim.trajectories[j]
        hit = min(assets, key=lambda a: float(np.linalg.norm(traj.pos[-1] - assets[a])))
        d = np.linalg.norm(traj.pos - assets[hit], axis=1)
        assert d[-1] <= radius[hit]
        assert 2000.0 <= d[0] <= 4000.0 and sim.radars[0].in_coverage(traj.pos[0])
        reached = traj.t[np.argmax(d <= radius[hit])]
        covered = times[np.array([s.truth.in_coverage[j] for s in steps])]
        assert reached - covered[0] >= 90.0 + 60.0  # confirmable with a minute and a half to spare, and more
        far = d > 1400.0  # cruising and hovering; then the long descent onto the asset
        assert traj.pos[far, 2].min() >= 35.0 and traj.pos[:, 2].max() <= 150.0
        still = np.linalg.norm(traj.vel, axis=1) == 0.0
        if still[traj.t > traj.t_start + 1.0].sum() * 0.1 >= 20.0:
            assert 1450.0 <= d[still & (traj.t > traj.t_start + 1.0)].mean() <= 3000.0
            hovering += 1
    assert hovering == 4
    types = set(sim.truth_types)
    assert {"bird/swift", "bird/pigeon", "bird/raptor", "vehicle/car"} <= types
    assert any(g.flock for g in sc.spec.bird_groups)


def test_random_scenes_are_deterministic_per_seed_and_differ_across_seeds() -> None:
    a, b = (random_scene(11, drones=6, birds=10, traffic=8, duration_s=300.0) for _ in range(2))
    assert a.spec == b.spec
    ta, tb = Simulation(a), Simulation(b)
    assert ta.truth_ids == tb.truth_ids and ta.truth_types == tb.truth_types
    assert all(np.array_equal(x.pos, y.pos) for x, y in zip(ta.trajectories, tb.trajectories, strict=True))
    c = random_scene(12, drones=6, birds=10, traffic=8, duration_s=300.0)
    assert c.spec.targets != a.spec.targets and c.spec.bird_groups != a.spec.bird_groups
    # one more drone keeps the others
    d = random_scene(11, drones=7, birds=10, traffic=8, duration_s=300.0)
    assert d.spec.targets[:6] == a.spec.targets


def test_a_random_scene_has_what_was_asked_for_and_round_trips_through_toml(tmp_path: Path) -> None:
    sc = random_scene(3, drones=40, birds=60, traffic=30, duration_s=600.0)
    start = time.perf_counter()
    sim = Simulation(sc)
    n = sum(len(s.scan.plots) for s in sim.steps())
    assert time.perf_counter() - start < 10.0 and n > 0
    kinds = np.array(sim.truth_kinds)
    assert [(kinds == k).sum() for k in ("drone", "bird", "vehicle")] == [40, 60, 30]
    airframes = {t.airframe for t in sc.spec.targets}
    assert airframes == {"multirotor", "fixed-wing"}
    assert any(p.hold_s > 0 for t in sc.spec.targets if isinstance(t.motion, WaypointMotion) for p in t.motion.waypoints)
    assert len({t.split("/")[1] for t in sim.truth_types if t.startswith("bird/")}) >= 4
    assets = _asset_enu(sim)
    for j, t in enumerate(sc.spec.targets):
        traj = sim.trajectories[j]
        assert sim.radars[0].in_coverage(traj.pos[0]) or traj.pos[0, 2] < 60.0
        d = min(float(np.linalg.norm(traj.pos[-1] - a)) for a in assets.values())
        if isinstance(t.motion, WaypointMotion) and not t.motion.loop and traj.t_end < sc.duration_s:
            assert d <= 40.0  # an attack ends on its asset
    path = tmp_path / "scene.toml"
    path.write_text(scenario_toml(sc.spec), encoding="utf-8")
    again = load_scenario(path)
    assert again.spec == sc.spec
    assert all(np.array_equal(x.pos, y.pos) for x, y in zip(Simulation(again).trajectories[:45], sim.trajectories[:45],
                                                            strict=True))


def test_random_scene_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="drones=-1"):
        random_scene(1, drones=-1, birds=0, traffic=0, duration_s=60.0)
    with pytest.raises(ConfigError, match="'atlantis'"):
        random_scene(1, drones=1, birds=0, traffic=0, duration_s=60.0, site="atlantis")
