"""Ground traffic: on its road at road height, both ways, stop-and-go at lights, a steady flow, the Kremlin's roads."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from shapely.geometry import LineString
from shapely.geometry import Point as ShapelyPoint

from skywarden.geo import LocalFrame
from skywarden.sim import Simulation, load_scenario
from skywarden.sim.motion import Trajectory
from skywarden.sim.scenario import TrafficSpec
from skywarden.sim.traffic import (
    LANE_OFFSET_M,
    MAX_BRAKE_MPS2,
    STOP_LINE_M,
    road_points,
    traffic_trajectories,
)

ROAD = [{"enu_m": [-1500.0, -600.0, -26.0]}, {"enu_m": [-300.0, -500.0, -26.0]},
        {"enu_m": [400.0, 200.0, -10.0]}, {"enu_m": [1500.0, 300.0, 0.0]}]


@pytest.fixture(scope="module")
def frame() -> LocalFrame:
    return load_scenario("crossing-drones").site.frame


def _road(**kw: Any) -> TrafficSpec:
    return TrafficSpec.model_validate({"id": "r", "count": 120, "road": ROAD, "signals": [1, 2]} | kw)


@pytest.fixture(scope="module")
def flow(frame: LocalFrame) -> tuple[TrafficSpec, list[str], list[str], list[float], list[Trajectory]]:
    spec = _road()
    return (spec, *traffic_trajectories([spec], frame, 1200.0, seed=3))


def test_vehicles_stay_on_their_road_at_its_height(frame: LocalFrame, flow: Any) -> None:
    spec, ids, types, rcs, trajs = flow
    assert ids == spec.vehicle_ids() and len(trajs) == 120
    assert set(types) <= {"vehicle/car", "vehicle/lorry"} and "vehicle/car" in types
    for ty, r in zip(types, rcs, strict=True):
        lo, hi = (1.0, 10.0) if ty == "vehicle/car" else (10.0, 100.0)
        assert lo <= r <= hi
    pts = road_points(spec.road, frame)  # type: ignore[arg-type]
    line = LineString(pts[:, :2])
    along = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(pts[:, :2], axis=0).T))])
    for t in trajs[::7]:
        for p in t.pos[::10]:
            q = ShapelyPoint(p[:2])
            assert line.distance(q) <= LANE_OFFSET_M + 0.5
            assert p[2] == pytest.approx(np.interp(line.project(q), along, pts[:, 2]), abs=0.5)


def test_traffic_flows_both_ways_from_end_to_end_steadily(frame: LocalFrame, flow: Any) -> None:
    spec, _, _, _, trajs = flow
    pts = road_points(spec.road, frame)  # type: ignore[arg-type]
    ends = pts[[0, -1], :2]
    through = [t for t in trajs if t.t_start > 0.0 and t.t_end < 1200.0]
    assert len(through) > 40
    directions = set()
    for t in through:
        first = int(np.argmin(np.linalg.norm(ends - t.pos[0, :2], axis=1)))
        assert np.linalg.norm(ends[first] - t.pos[0, :2]) < 5.0  # enters at one end
        assert np.linalg.norm(ends[1 - first] - t.pos[-1, :2]) < 25.0  # leaves at the other
        directions.add(first)
    assert directions == {0, 1}
    # the road starts partly filled and the number on it stays about level
    times = np.arange(0.0, 1200.0, 10.0)
    on = np.array([sum(bool(t.sample([x])[0][0]) for t in trajs) for x in times])
    assert on[0] > 0
    assert on[20:].min() > 0.3 * on[20:].mean() and on[20:].max() < 2.0 * on[20:].mean()


def test_vehicles_stop_at_red_lights_and_go_again(frame: LocalFrame, flow: Any) -> None:
    spec, _, _, _, trajs = flow
    pts = road_points(spec.road, frame)  # type: ignore[arg-type]
    lights = pts[[1, 2], :2]
    stopped_near_light = 0
    for t in trajs:
        speed = np.linalg.norm(t.vel, axis=1)
        assert speed.max() <= spec.speed_mps[1] + 1e-6
        dv = np.diff(speed) / np.diff(t.t)
        assert np.abs(dv).max() <= MAX_BRAKE_MPS2 + 1e-6
        moving = speed[1:] > 2.0
        if moving.any():  # accelerating and braking at city rates
            assert np.percentile(np.abs(dv[moving]), 95) <= 2.5
        still = speed < 0.05
        if still.any() and speed[still.argmax():].max() > 5.0:  # stopped, then went on
            where = t.pos[still, :2]
            d = np.linalg.norm(where[:, None, :] - lights[None], axis=2).min(axis=1)
            stopped_near_light += int(d.min() < STOP_LINE_M + 60.0)
    assert stopped_near_light > 10


def test_one_way_roads_and_types(frame: LocalFrame) -> None:
    _, _, _, trajs = traffic_trajectories([_road(directions="forward", count=20)], frame, 600.0, seed=1)
    d = np.array([t.pos[-1, 0] - t.pos[0, 0] for t in trajs if len(t.t) > 20])
    assert (d > 0).all()
    _, types, rcs, _ = traffic_trajectories([_road(kind="lorry", count=5)], frame, 600.0, seed=1)
    assert set(types) == {"vehicle/lorry"} and min(rcs) >= 10.0


def test_a_new_road_leaves_the_other_roads_alone(frame: LocalFrame) -> None:
    a = traffic_trajectories([_road(count=30)], frame, 600.0, seed=2)[3]
    other = _road(id="other", count=30, road=[{"enu_m": [0.0, -2000.0, 0.0]}, {"enu_m": [0.0, 2000.0, 0.0]}],
                  signals=[])
    b = traffic_trajectories([other, _road(count=30)], frame, 600.0, seed=2)[3]
    assert all(np.array_equal(x.pos, y.pos) for x, y in zip(a, b[30:], strict=True))


def test_the_kremlin_radar_sees_the_far_streets_not_the_embankment_below_the_walls() -> None:
    sim = Simulation(load_scenario("kremlin-2023-05-03"))
    kinds = np.array(sim.truth_kinds)
    assert sim.truth_types.count("vehicle/car") + sim.truth_types.count("vehicle/lorry") == (kinds == "vehicle").sum()
    steps = list(sim.steps())
    radar = sim.radars[0]
    seen = {sim.truth_ids[j].rsplit("-", 1)[0] for s in steps for j in np.flatnonzero(s.truth.in_coverage)
            if kinds[j] == "vehicle"}
    assert {"tverskaya", "novy-arbat", "garden-ring"} <= seen
    emb = [j for j, tid in enumerate(sim.truth_ids) if tid.startswith("embankments-")]
    pos = np.concatenate([sim.trajectories[j].pos for j in emb])
    near = np.linalg.norm(pos[:, :2] - radar.position_enu_m[:2], axis=1) < 600.0
    assert near.any() and not radar.in_coverage(pos[near]).any()
    plots = [sum(kinds[o] == "vehicle" for o in s.scan.origin if o >= 0) for s in steps]
    assert 3 <= np.mean(plots) <= 40
