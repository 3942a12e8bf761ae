"""The engine: time order, truth, Remote ID, determinism, independence of streams, and the 3 May replay."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import Point, Polygon

from skywarden.sensors import Plots
from skywarden.sim import SimStep, Simulation, load_scenario
from skywarden.sim.scenario import SCENARIO_DIR, SITES_DIR


@pytest.fixture(scope="module")
def kremlin() -> tuple[Simulation, list[SimStep]]:
    sim = Simulation(load_scenario("kremlin-2023-05-03"))
    return sim, list(sim.steps())


def _utc(text: str) -> float:
    return dt.datetime.fromisoformat(text).timestamp()


def test_kremlin_drones_hit_the_dome_at_the_reported_times(kremlin: tuple[Simulation, list[SimStep]]) -> None:
    sim, steps = kremlin
    dome = next(a for a in sim.site.assets if a.id == "senate-dome")
    dome_enu = sim.site.frame.to_enu(dome.lat_deg, dome.lon_deg, dome.alt_m)
    radar = sim.radars[0]
    times = np.array([s.t for s in steps])
    for drone, when in (("drone-1", "2023-05-02T23:27:00+00:00"), ("drone-2", "2023-05-02T23:43:00+00:00")):
        j = sim.truth_ids.index(drone)
        traj = sim.trajectories[j]
        assert np.linalg.norm(traj.pos[-1] - dome_enu) <= dome.radius_m
        assert abs(sim.scenario.start_utc + traj.t_end - _utc(when)) <= 20.0
        # it appears outside radar range, is then seen coming in, and is gone after the hit
        assert not radar.in_coverage(traj.pos[0])
        assert np.linalg.norm(traj.pos[0, :2] - dome_enu[:2]) > 6000.0
        alive = np.array([s.truth.alive[j] for s in steps])
        assert not alive[times > sim.scenario.start_utc + traj.t_end].any()
        detected = np.array([j in s.scan.origin for s in steps])
        assert detected.sum() > 100
        covered = np.array([s.truth.in_coverage[j] for s in steps])
        assert detected.sum() / covered.sum() > 0.8
        # flying low: cruise at 100-150 m, then the final descent onto the dome
        height = traj.pos[:, 2]
        assert 100.0 <= height.max() <= 160.0
        far = np.linalg.norm(traj.pos[:, :2] - dome_enu[:2], axis=1) > 700.0
        assert height[far].min() >= 95.0


def test_kremlin_scan_schedule_and_truth(kremlin: tuple[Simulation, list[SimStep]]) -> None:
    sim, steps = kremlin
    assert sim.n_steps == len(steps) == 1320
    assert sim.seed == 20230503
    n = len(sim.truth_ids)
    assert len(sim.truth_kinds) == len(sim.truth_types) == len(sim.truth_rcs_m2) == len(sim.trajectories) == n
    assert sim.truth_kinds.count("bird") == 11 and sim.truth_kinds.count("aircraft") == 1
    assert sim.truth_kinds.count("vehicle") == sum(r.count for r in sim.scenario.spec.traffic) == 87
    for kind, ty in zip(sim.truth_kinds, sim.truth_types, strict=True):
        assert ty.split("/")[0] == kind or (kind, ty) == ("aircraft", "aircraft/fixed-wing")
    assert {"bird/generic", "bird/gull", "bird/duck", "vehicle/car"} <= set(sim.truth_types)
    times = np.array([s.t for s in steps])
    assert times[0] == sim.scenario.start_utc
    np.testing.assert_allclose(np.diff(times), 1.0)
    for s in steps[::97]:
        assert isinstance(s.scan.plots, Plots)
        assert s.scan.plots.t == s.t == s.truth.t
        assert len(s.scan.origin) == len(s.scan.plots)
        assert s.truth.pos.shape == (n, 3)
        assert not (s.truth.in_coverage & ~s.truth.alive).any()
        assert np.isnan(s.truth.pos[~s.truth.alive]).all()
        seen = s.scan.origin[s.scan.origin >= 0]
        assert s.truth.in_coverage[seen].all()
    # the airliner is only briefly inside the 5 km coverage
    j = sim.truth_ids.index("airliner-1")
    covered = sum(bool(s.truth.in_coverage[j]) for s in steps)
    alive = sum(bool(s.truth.alive[j]) for s in steps)
    assert 0 < covered < alive / 3


def test_remote_id_reports_once_a_second_with_gnss_noise(kremlin: tuple[Simulation, list[SimStep]]) -> None:
    sim, steps = kremlin
    j = sim.truth_ids.index("fso-survey")
    reports = [(s, c) for s in steps for c in s.coop]
    assert {c.uas_id for _, c in reports} == {"RU-FSO-0007"}
    assert {c.source for _, c in reports} == {"remote-id"}
    t = np.array([c.t for _, c in reports])
    np.testing.assert_allclose(np.diff(t), 1.0)
    assert len(reports) >= 1319
    assert all(c.t <= s.t for s, c in reports)
    _, truth, _ = sim.trajectories[j].sample(t - sim.scenario.start_utc)
    err = np.array([c.position_enu_m for _, c in reports]) - truth
    np.testing.assert_allclose(err.std(axis=0), [3.0, 3.0, 5.0], rtol=0.1)
    # the reports arrive with the first scan at or after their time, never twice
    prev = -np.inf
    for s in steps:
        assert all(prev < c.t <= s.t for c in s.coop)
        prev = s.t


def test_kremlin_survey_drone_stays_inside_the_walls(kremlin: tuple[Simulation, list[SimStep]]) -> None:
    sim, _ = kremlin
    frame = sim.site.frame
    zone = next(z for z in sim.site.zones if z.id == "kremlin")
    walls = Polygon([frame.to_enu(lat, lon)[:2] for lon, lat in zone.polygon])
    traj = sim.trajectories[sim.truth_ids.index("fso-survey")]
    assert traj.t_start == 0.0 and traj.t_end == sim.scenario.duration_s
    assert all(walls.contains(Point(p)) for p in traj.pos[::20, :2])
    np.testing.assert_allclose(traj.pos[:, 2], 60.0, atol=0.5)
    assert np.hypot(traj.vel[:, 0], traj.vel[:, 1]).max() == pytest.approx(8.0)


def _first_scans(sim: Simulation, n: int) -> list[SimStep]:
    out = []
    for k, s in enumerate(sim.steps()):
        if k == n:
            break
        out.append(s)
    return out


def test_same_seed_gives_identical_output_other_seed_does_not() -> None:
    sc = load_scenario("kremlin-2023-05-03")
    a, b = _first_scans(Simulation(sc), 150), _first_scans(Simulation(sc, seed=sc.seed), 150)
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x.scan.plots.z, y.scan.plots.z)
        assert np.array_equal(x.scan.plots.snr_db, y.scan.plots.snr_db)
        assert np.array_equal(x.scan.origin, y.scan.origin)
        assert np.array_equal(x.truth.pos, y.truth.pos, equal_nan=True)
        assert [c.position_enu_m.tolist() for c in x.coop] == [c.position_enu_m.tolist() for c in y.coop]
    c = _first_scans(Simulation(sc, seed=1), 150)
    assert not all(len(x.scan.plots) == len(y.scan.plots) and np.array_equal(x.scan.plots.z, y.scan.plots.z)
                   for x, y in zip(a, c, strict=True))
    birds = [i for i, k in enumerate(Simulation(sc).truth_kinds) if k == "bird"]
    assert not np.allclose(a[10].truth.pos[birds], c[10].truth.pos[birds])
    # the scripted objects fly the same way whatever the seed
    assert np.array_equal(a[10].truth.pos[:4], c[10].truth.pos[:4], equal_nan=True)
    assert a[10].truth.alive[2]


def test_steps_can_be_replayed_from_the_same_simulation() -> None:
    sim = Simulation(load_scenario("crossing-drones"))
    a, b = list(sim.steps()), list(sim.steps())
    assert all(np.array_equal(x.scan.plots.z, y.scan.plots.z) for x, y in zip(a, b, strict=True))


def test_adding_a_target_leaves_the_others_alone(tmp_path: Path) -> None:
    text = (SCENARIO_DIR / "crossing-drones.toml").read_text(encoding="utf-8")
    text = text.replace('site = "kremlin"', f'site = "{SITES_DIR / "kremlin"}"')
    extra = text + """
[[targets]]
id = "drone-c"
kind = "drone"
airframe = "fixed-wing"
rcs_m2 = 0.2
[targets.motion]
type = "coordinated-turn"
start = { enu_m = [-500.0, -800.0, 150.0] }
heading_deg = 10.0
speed_mps = 25.0
turn_rate_dps = 3.0
"""
    (tmp_path / "extra.toml").write_text(extra, encoding="utf-8")
    base = list(Simulation(load_scenario("crossing-drones")).steps())
    more = list(Simulation(load_scenario(tmp_path / "extra.toml")).steps())
    for x, y in zip(base, more, strict=True):
        for j in (0, 1):  # drone-a and drone-b: same detections, same measurements
            zx = x.scan.plots.z[x.scan.origin == j]
            zy = y.scan.plots.z[y.scan.origin == j]
            assert np.array_equal(zx, zy)
    assert sum(int((s.scan.origin == 2).any()) for s in more) > 200


def test_crossing_drones_geometry() -> None:
    sim = Simulation(load_scenario("crossing-drones"))
    radar = sim.radars[0]
    assert sim.truth_kinds == ["drone", "drone"]
    _, pa, va = sim.trajectories[0].sample(np.arange(0.0, 300.0, 0.1))
    _, pb, vb = sim.trajectories[1].sample(np.arange(0.0, 300.0, 0.1))
    gap = np.linalg.norm(pa - pb, axis=1)
    k = int(np.argmin(gap))
    assert 1.0 <= gap[k] <= 10.0
    angle = np.degrees(np.arccos(np.dot(va[k], vb[k]) / (np.linalg.norm(va[k]) * np.linalg.norm(vb[k]))))
    assert 20.0 <= angle <= 40.0
    assert 1500.0 <= radar.polar(pa[k])[0] <= 2500.0
    assert radar.in_coverage(pa).all() and radar.in_coverage(pb).all()


def test_two_radars_scan_in_time_order(tmp_path: Path) -> None:
    site = (SITES_DIR / "kremlin" / "site.toml").read_text(encoding="utf-8")
    site = site.replace('zones_file = "zones.geojson"', f'zones_file = "{SITES_DIR / "kremlin" / "zones.geojson"}"')
    site += """
[[sensors]]
id = "gap-filler"
lat_deg = 55.7530
lon_deg = 37.6200
alt_m = 30.0
scan_period_s = 2.5
max_range_m = 1500.0
false_alarms_per_scan = 1.0
"""
    (tmp_path / "site.toml").write_text(site, encoding="utf-8")
    text = (SCENARIO_DIR / "crossing-drones.toml").read_text(encoding="utf-8").replace('site = "kremlin"', 'site = "."')
    (tmp_path / "sc.toml").write_text(text, encoding="utf-8")
    sim = Simulation(load_scenario(tmp_path / "sc.toml"))
    steps = list(sim.steps())
    assert sim.n_steps == len(steps) == 300 + 120
    ids = [s.scan.plots.sensor_id for s in steps]
    assert ids.count("gap-filler") == 120
    times = np.array([s.t for s in steps])
    assert (np.diff(times) >= 0).all()
    gap = [s for s in steps if s.scan.plots.sensor_id == "gap-filler"]
    np.testing.assert_allclose(np.diff([s.t for s in gap]), 2.5)
    # in_coverage is "inside any radar": the drones start outside the gap-filler's 1.5 km
    assert all(s.truth.in_coverage.all() for s in steps)


@pytest.mark.parametrize("name", ["kremlin-2023-05-03", "birds-only"])
def test_scenarios_generate_quickly(name: str) -> None:
    start = time.perf_counter()
    sim = Simulation(load_scenario(name))
    n = sum(len(s.scan.plots) for s in sim.steps())
    assert n > sim.n_steps
    assert time.perf_counter() - start < 5.0


def test_birds_only_has_only_birds_and_traffic() -> None:
    sim = Simulation(load_scenario("birds-only"))
    kinds = np.array(sim.truth_kinds)
    assert set(kinds) == {"bird", "vehicle"} and (kinds == "bird").sum() == 52
    assert sim.n_steps == 3600
    generic = np.array([t == "bird/generic" for t in sim.truth_types])
    assert generic.sum() == 25 and np.all((sim.truth_rcs_m2[generic] >= 0.005) & (sim.truth_rcs_m2[generic] <= 0.03))
    assert {"bird/gull", "bird/raptor", "bird/swift", "bird/pigeon", "bird/duck"} <= set(sim.truth_types)
