"""The scenario generator gives what was asked: Pd, clutter rate, noise, spread, determinism; swarm-1000 loads."""

from __future__ import annotations

import math

import numpy as np
import pytest

from skywarden.geo import enu_to_polar
from skywarden.sim.engine import target_trajectory
from skywarden.sim.generate import SPEED_BAND_MPS, generate_scenario
from skywarden.sim.scenario import WaypointMotion, load_scenario


def test_detection_probability_is_the_one_asked() -> None:
    g = generate_scenario(2000, clutter_per_scan=0.0, pd=0.7, duration_s=20.0, seed=3)
    steps = list(g.steps())
    detected = sum(len(s.scan.plots) for s in steps)
    trials = 2000 * len(steps)
    assert abs(detected / trials - 0.7) < 4 * math.sqrt(0.7 * 0.3 / trials)
    assert all(np.all(s.scan.origin >= 0) for s in steps)
    # each target at most once per scan
    assert all(len(np.unique(s.scan.origin)) == len(s.scan.origin) for s in steps)


def test_clutter_count_is_poisson_with_the_rate_asked() -> None:
    g = generate_scenario(0, clutter_per_scan=10.0, pd=0.9, duration_s=2000.0, seed=4)
    counts = np.array([len(s.scan.plots) for s in g.steps()])
    assert len(counts) == 2000
    assert abs(counts.mean() - 10.0) < 4 * math.sqrt(10.0 / 2000)
    assert abs(counts.var() / counts.mean() - 1.0) < 0.15  # Poisson: variance = mean


def test_enu_noise_has_the_per_component_sigma_asked() -> None:
    g = generate_scenario(500, clutter_per_scan=5.0, pd=1.0, sigma=(3.0, 4.0, 6.0), duration_s=20.0, seed=5)
    res = []
    for s in g.steps():
        assert s.scan.plots.frame == "enu" and s.scan.plots.sigma.tolist() == [3.0, 4.0, 6.0]
        true = s.scan.origin >= 0
        assert np.count_nonzero(true) == 500
        res.append(s.scan.plots.z[true] - s.truth.pos[s.scan.origin[true]])
    r = np.concatenate(res)
    np.testing.assert_allclose(r.std(axis=0), [3.0, 4.0, 6.0], rtol=0.03)
    np.testing.assert_allclose(r.mean(axis=0), 0.0, atol=0.15)


def test_polar_noise_and_frame() -> None:
    sigma = (5.0, 0.002, 0.003)
    g = generate_scenario(500, clutter_per_scan=0.0, pd=1.0, sigma=sigma, duration_s=20.0, seed=6, frame="polar")
    res = []
    for s in g.steps():
        assert s.scan.plots.frame == "polar"
        np.testing.assert_array_equal(s.scan.plots.sensor_enu_m, [0.0, 0.0, 0.0])
        truth = enu_to_polar(s.truth.pos[s.scan.origin] - s.scan.plots.sensor_enu_m)
        d = s.scan.plots.z - truth
        d[:, 1] = (d[:, 1] + np.pi) % (2 * np.pi) - np.pi
        res.append(d)
    r = np.concatenate(res)
    np.testing.assert_allclose(r.std(axis=0), sigma, rtol=0.03)


def test_scalar_polar_sigma_is_metres_across_at_mid_area() -> None:
    g = generate_scenario(100, sigma=5.0, frame="polar")
    assert g.sigma[0] == 5.0
    np.testing.assert_allclose(g.sigma[1:] * g.half_width_m, [5.0, 5.0])


def test_same_seed_same_run_and_other_seed_other_run() -> None:
    def run(seed: int) -> list[np.ndarray]:
        g = generate_scenario(50, duration_s=10.0, seed=seed, sensors=2)
        return [np.concatenate([s.scan.plots.z.ravel(), s.truth.pos.ravel()]) for s in g.steps()]

    a, b, c = run(1), run(1), run(2)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0])
    g = generate_scenario(50, duration_s=10.0, seed=1)
    first = [s.scan.plots.z for s in g.steps()]
    again = [s.scan.plots.z for s in g.steps()]  # steps() replays from the seed
    assert all(np.array_equal(x, y) for x, y in zip(first, again, strict=True))


def test_targets_start_spread_keep_speed_turn_gently_and_stay_near_the_area() -> None:
    g = generate_scenario(400, duration_s=600.0, seed=8, spacing_m=200.0)
    steps = g.steps()
    first = next(steps)
    xy = first.truth.pos[:, :2]
    d = np.linalg.norm(xy[:, None] - xy[None], axis=-1) + np.eye(400) * 1e9
    assert d.min() >= 100.0  # jittered grid: neighbours at least spacing/2 apart
    speed0 = np.linalg.norm(first.truth.vel[:, :2], axis=1)
    assert SPEED_BAND_MPS[0] <= speed0.min() and speed0.max() <= SPEED_BAND_MPS[1]
    prev, max_turn, far = first, 0.0, 0.0
    for s in steps:
        np.testing.assert_allclose(np.linalg.norm(s.truth.vel[:, :2], axis=1), speed0, rtol=1e-9)
        h0 = np.arctan2(prev.truth.vel[:, 0], prev.truth.vel[:, 1])
        h1 = np.arctan2(s.truth.vel[:, 0], s.truth.vel[:, 1])
        max_turn = max(max_turn, float(np.abs((h1 - h0 + np.pi) % (2 * np.pi) - np.pi).max()))
        far = max(far, float(np.abs(s.truth.pos[:, :2]).max()))
        prev = s
    assert math.degrees(max_turn) <= 3.0 + 1e-9  # at most 3°/s
    assert far < 2.0 * g.half_width_m


def test_several_sensors_interleave_their_scans() -> None:
    g = generate_scenario(10, duration_s=5.0, scan_period_s=1.0, sensors=3, start_utc=100.0)
    steps = list(g.steps())
    assert g.n_steps == len(steps) == 15
    np.testing.assert_allclose([s.t for s in steps], 100.0 + np.arange(15) / 3)
    assert [s.scan.plots.sensor_id for s in steps[:4]] == ["gen-r1", "gen-r2", "gen-r3", "gen-r1"]
    ring = np.linalg.norm(g.sensors_enu_m[:, :2], axis=1)
    np.testing.assert_allclose(ring, g.half_width_m)


@pytest.mark.parametrize("kwargs", [
    {"n_targets": -1}, {"n_targets": 5, "pd": 1.5}, {"n_targets": 5, "clutter_per_scan": -1.0},
    {"n_targets": 5, "sigma": (1.0, 2.0)}, {"n_targets": 5, "sigma": -1.0}, {"n_targets": 5, "sensors": 0},
    {"n_targets": 5, "frame": "ecef"}, {"n_targets": 5, "duration_s": 0.0},
])
def test_bad_parameters_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        generate_scenario(**kwargs)  # type: ignore[arg-type]


def test_swarm_1000_loads_with_manoeuvring_drones_in_radar_coverage() -> None:
    sc = load_scenario("swarm-1000")
    drones = [t for t in sc.spec.targets if t.kind == "drone"]
    assert len(drones) == 1000 and len({t.id for t in drones}) == 1000
    assert all(isinstance(t.motion, WaypointMotion) and len(t.motion.waypoints) >= 3 for t in drones)
    assert sum(g.count for g in sc.spec.bird_groups) > 0 and sc.site.sensors[0].false_alarms_per_scan > 0
    radar_range = sc.site.sensors[0].max_range_m
    for t in drones[:20]:  # a sample: the routes fly and stay inside the radar's range
        traj = target_trajectory(t, sc.site.frame, sc.duration_s)
        _, pos, _ = traj.sample(np.linspace(traj.t_start, traj.t_end, 50))
        assert np.all(np.linalg.norm(pos[:, :2], axis=1) < radar_range)
