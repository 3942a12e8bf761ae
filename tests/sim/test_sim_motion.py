"""Motion models: analytic cases exactly, waypoint and bird models against their limits."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skywarden.sim.birds import BirdParams, fly_birds
from skywarden.sim.motion import (
    FlightLimits,
    Trajectory,
    constant_velocity,
    coordinated_turn,
    follow_waypoints,
    hover,
)


def _heading_rate(traj: Trajectory, min_speed: float = 0.5) -> np.ndarray:
    """|d heading / dt| between consecutive samples where the object moves horizontally."""
    v = traj.vel
    speed = np.hypot(v[:, 0], v[:, 1])
    h = np.arctan2(v[:, 1], v[:, 0])
    dh = np.abs((np.diff(h) + np.pi) % (2 * np.pi) - np.pi)
    moving = (speed[1:] > min_speed) & (speed[:-1] > min_speed)
    return dh[moving] / np.diff(traj.t)[moving]


def _visits_in_order(traj: Trajectory, waypoints: np.ndarray, radius: float) -> bool:
    """Each waypoint is passed within ``radius``, in order."""
    k = 0
    for w in waypoints:
        d = np.linalg.norm(traj.pos[k:] - w, axis=1)
        hits = np.flatnonzero(d <= radius)
        if len(hits) == 0:
            return False
        k += int(hits[0])
    return True


def test_constant_velocity_is_exact_and_exists_only_in_its_window() -> None:
    p0, v = np.array([10.0, -20.0, 50.0]), np.array([12.0, -3.0, 0.5])
    traj = constant_velocity(p0, v, t0=5.0, t1=65.0)
    tq = np.array([5.0, 5.03, 17.77, 64.99, 65.0])
    alive, pos, vel = traj.sample(tq)
    assert alive.all()
    np.testing.assert_allclose(pos, p0 + (tq - 5.0)[:, None] * v, rtol=0, atol=1e-9)
    np.testing.assert_allclose(vel, np.tile(v, (len(tq), 1)), rtol=0, atol=1e-12)
    alive, pos, _ = traj.sample([4.99, 65.01])
    assert not alive.any()
    assert np.isnan(pos).all()


@settings(max_examples=60, deadline=None)
@given(speed=st.floats(1.0, 250.0), heading=st.floats(-math.pi, math.pi),
       rate=st.one_of(st.floats(0.01, 0.5), st.floats(-0.5, -0.01)), climb=st.floats(-5.0, 5.0))
def test_coordinated_turn_keeps_speed_and_radius(speed: float, heading: float, rate: float, climb: float) -> None:
    p0 = np.array([100.0, 200.0, 300.0])
    v0 = np.array([speed * math.cos(heading), speed * math.sin(heading), climb])
    traj = coordinated_turn(p0, v0, rate, 0.0, 60.0)
    np.testing.assert_allclose(np.hypot(traj.vel[:, 0], traj.vel[:, 1]), speed, rtol=1e-9)
    # the centre lies a radius v/w to the left (w > 0) or right of the initial velocity
    centre = p0[:2] + np.array([-v0[1], v0[0]]) / rate
    radius = np.hypot(*(traj.pos[:, :2] - centre).T)
    np.testing.assert_allclose(radius, speed / abs(rate), rtol=1e-9)
    np.testing.assert_allclose(traj.pos[:, 2], p0[2] + climb * traj.t, atol=1e-9)
    # velocity is the derivative of position
    mid = 0.5 * (traj.vel[1:] + traj.vel[:-1])
    np.testing.assert_allclose(np.diff(traj.pos, axis=0) / np.diff(traj.t)[:, None], mid,
                               atol=speed * (rate * 0.1) ** 2 + 1e-9)


def test_coordinated_turn_with_zero_rate_is_straight() -> None:
    v = np.array([3.0, 4.0, 1.0])
    a = coordinated_turn(np.zeros(3), v, 0.0, 0.0, 10.0)
    b = constant_velocity(np.zeros(3), v, 0.0, 10.0)
    np.testing.assert_allclose(a.pos, b.pos, atol=1e-12)


FW_ROUTE = np.array([[0, 0, 100], [2000, 0, 120], [2000, 1500, 140], [500, 2500, 100], [600, 2600, 25.0]])


@pytest.mark.parametrize("airframe", ["fixed-wing", "multirotor"])
def test_waypoint_following_respects_limits_and_reaches_each_waypoint(airframe: str) -> None:
    lim = FlightLimits.fixed_wing(30.0) if airframe == "fixed-wing" else FlightLimits.multirotor(12.0)
    traj = follow_waypoints(FW_ROUTE, lim, 0.0, 2000.0, accept_radius_m=10.0)
    speed = np.hypot(traj.vel[:, 0], traj.vel[:, 1])
    assert speed.max() <= lim.max_speed_mps + 1e-9
    assert speed.min() >= lim.min_speed_mps - 1e-9
    assert _heading_rate(traj).max() <= lim.max_turn_rate_rps * (1 + 1e-6)
    assert np.abs(traj.vel[:, 2]).max() <= lim.max_climb_rate_mps + 1e-9
    accel = np.linalg.norm(np.diff(np.c_[speed, traj.vel[:, 2]], axis=0), axis=1) / np.diff(traj.t)
    assert accel.max() <= math.sqrt(2) * lim.max_accel_mps2 + 1e-6
    assert _visits_in_order(traj, FW_ROUTE, 10.0)
    # vanish on arrival: the trajectory ends at the last waypoint, well before t_max
    assert np.linalg.norm(traj.pos[-1] - FW_ROUTE[-1]) <= 10.0
    assert traj.t_end < 2000.0
    if airframe == "fixed-wing":
        assert speed.min() >= 0.6 * 30.0 - 1e-9


def test_fixed_wing_reaches_a_waypoint_inside_its_turn_circle() -> None:
    lim = FlightLimits.fixed_wing(30.0)  # turn radius ~131 m
    route = np.array([[0.0, 0.0, 100.0], [1000.0, 0.0, 100.0], [1000.0, 100.0, 100.0]])
    traj = follow_waypoints(route, lim, 0.0, 600.0)
    assert _visits_in_order(traj, route, 10.0)
    assert traj.t_end < 200.0


def test_multirotor_holds_and_hovers_at_the_last_waypoint() -> None:
    lim = FlightLimits.multirotor(10.0)
    route = np.array([[0.0, 0.0, 0.0], [300.0, 0.0, 50.0], [300.0, 200.0, 80.0]])
    traj = follow_waypoints(route, lim, 0.0, 300.0, on_arrival="hold")
    assert traj.t_end == pytest.approx(300.0)
    late = traj.t > 200.0
    assert np.ptp(traj.pos[late], axis=0).max() == 0.0
    assert np.abs(traj.vel[late]).max() == 0.0
    assert np.linalg.norm(traj.pos[-1] - route[-1]) < 15.0


def test_multirotor_turns_in_place_at_sharp_corners_and_loops() -> None:
    lim = FlightLimits.multirotor(8.0)
    square = np.array([[0.0, 0.0, 60.0], [250.0, 0.0, 60.0], [250.0, 220.0, 60.0], [0.0, 220.0, 60.0]])
    traj = follow_waypoints(square, lim, 0.0, 600.0, loop=True)
    assert traj.t_end == pytest.approx(600.0)
    assert _visits_in_order(traj, np.concatenate([square[1:], square, square]), 10.0)
    speed = np.hypot(traj.vel[:, 0], traj.vel[:, 1])
    for corner in square:  # it (nearly) stops near every corner
        near = np.linalg.norm(traj.pos - corner, axis=1) < 15.0
        assert speed[near].min() < 1.0
    assert _heading_rate(traj).max() <= lim.max_turn_rate_rps * (1 + 1e-6)


def test_fixed_wing_hold_circles_near_the_last_waypoint() -> None:
    lim = FlightLimits.fixed_wing(25.0)
    route = np.array([[0.0, 0.0, 80.0], [1500.0, 500.0, 80.0]])
    traj = follow_waypoints(route, lim, 0.0, 400.0, on_arrival="hold")
    assert traj.t_end == pytest.approx(400.0)
    after = traj.t > 100.0
    assert np.hypot(traj.vel[after, 0], traj.vel[after, 1]).min() >= lim.min_speed_mps
    radius = 25.0 / (0.5 * lim.max_turn_rate_rps)
    assert np.linalg.norm(traj.pos[after, :2] - route[-1, :2], axis=1).max() <= 2 * radius + 10.0


def test_hover_stays_put() -> None:
    traj = hover([5.0, 6.0, 7.0], 10.0, 70.0)
    alive, pos, vel = traj.sample(np.linspace(10.0, 70.0, 33))
    assert alive.all()
    assert (pos == np.array([5.0, 6.0, 7.0])).all()
    assert (vel == 0.0).all()


def test_limits_reject_a_fixed_wing_that_could_stop() -> None:
    with pytest.raises(ValueError, match="minimum speed"):
        FlightLimits.fixed_wing(20.0, min_speed_mps=0.0)


def _birds(n: int, seed: int) -> tuple[BirdParams, list[np.random.Generator]]:
    rng = np.random.default_rng(seed)
    params = BirdParams(
        start_enu_m=np.c_[rng.uniform(-200, 200, (n, 2)), rng.uniform(30, 150, n)],
        centre_enu_m=np.zeros((n, 2)), radius_m=np.full(n, 300.0), alt_band_m=np.tile([20.0, 200.0], (n, 1)),
        speed_mps=rng.uniform(6, 14, n), speed_band_mps=np.tile([6.0, 14.0], (n, 1)),
        heading_rad=rng.uniform(-np.pi, np.pi, n),
    )
    return params, [np.random.default_rng([seed, i]) for i in range(n)]


def test_birds_loiter_inside_their_band_and_radius() -> None:
    params, rngs = _birds(12, 3)
    trajs = fly_birds(params, 0.0, 1800.0, rngs, dt=0.2)
    pos = np.stack([t.pos for t in trajs])
    vel = np.stack([t.vel for t in trajs])
    assert pos[..., 2].min() >= 20.0 - 5.0
    assert pos[..., 2].max() <= 200.0 + 5.0
    dist = np.hypot(pos[..., 0], pos[..., 1])
    assert dist.max() <= 1.5 * 300.0
    assert (dist > 300.0).mean() < 0.2  # mostly inside, yet it does wander out
    speed = np.hypot(vel[..., 0], vel[..., 1])
    assert speed.min() >= 6.0 - 1e-9
    assert speed.max() <= 14.0 + 1e-9
    # it wanders: heading covers all directions, and the birds do not move in lockstep
    heading = np.arctan2(vel[0, :, 1], vel[0, :, 0])
    assert np.histogram(heading, bins=8, range=(-np.pi, np.pi))[0].min() > 0
    assert np.abs(np.diff(vel[..., 2], axis=1)).max() > 0.0


def test_birds_are_deterministic_per_generator() -> None:
    params, rngs = _birds(5, 9)
    a = fly_birds(params, 0.0, 120.0, rngs)
    params, rngs = _birds(5, 9)
    b = fly_birds(params, 0.0, 120.0, rngs)
    assert all(np.array_equal(x.pos, y.pos) for x, y in zip(a, b, strict=True))
    params, rngs = _birds(5, 9)
    c = fly_birds(params, 0.0, 120.0, [np.random.default_rng(100 + i) for i in range(5)])
    assert not np.allclose(a[0].pos, c[0].pos)


def test_interpolation_between_grid_points_is_linear() -> None:
    traj = coordinated_turn([0.0, 0.0, 0.0], [20.0, 0.0, 0.0], 0.2, 0.0, 30.0)
    _, pos, _ = traj.sample([1.05])
    np.testing.assert_allclose(pos[0], 0.5 * (traj.pos[10] + traj.pos[11]), atol=1e-12)
    exact = coordinated_turn([0.0, 0.0, 0.0], [20.0, 0.0, 0.0], 0.2, 0.0, 1.05, dt=1.05).pos[-1]
    assert np.linalg.norm(pos[0] - exact) < 0.01


def test_a_multirotor_hovers_for_its_hold_then_goes_on() -> None:
    wp = np.array([[0.0, 0.0, 80.0], [600.0, 0.0, 80.0], [600.0, 600.0, 60.0]])
    lim = FlightLimits.multirotor(12.0)
    plain = follow_waypoints(wp, lim, 0.0, 600.0)
    traj = follow_waypoints(wp, lim, 0.0, 600.0, holds_s=[0.0, 30.0, 0.0])
    still = np.linalg.norm(traj.vel, axis=1) == 0.0
    run = np.diff(np.flatnonzero(np.diff(np.concatenate([[0], still.astype(int), [0]]))))[::2]
    assert 30.0 <= run.max() * 0.1 <= 31.0  # the hold, and the step it stops and the one it restarts on
    at = traj.pos[still & (traj.t > 1.0)]  # it starts from rest too
    assert np.linalg.norm(at - wp[1], axis=1).max() <= 10.0
    assert traj.t_end - plain.t_end == pytest.approx(30.0, abs=3.0)  # the hold plus a full stop and restart
    assert np.linalg.norm(traj.pos[-1] - wp[2]) <= 10.0
    # on a loop it holds on every lap: stop-and-go
    loop = follow_waypoints(wp, lim, 0.0, 900.0, loop=True, holds_s=[10.0, 10.0, 10.0])
    still = (np.linalg.norm(loop.vel, axis=1) == 0.0).astype(int)
    assert np.count_nonzero(np.diff(still) == 1) >= 4


def test_a_fixed_wing_circles_for_its_hold() -> None:
    wp = np.array([[0.0, 0.0, 100.0], [1500.0, 0.0, 100.0], [3000.0, 0.0, 100.0]])
    lim = FlightLimits.fixed_wing(20.0)
    plain = follow_waypoints(wp, lim, 0.0, 600.0)
    traj = follow_waypoints(wp, lim, 0.0, 600.0, holds_s=[0.0, 60.0, 0.0])
    assert np.hypot(traj.vel[:, 0], traj.vel[:, 1]).min() >= lim.min_speed_mps - 1e-9
    assert traj.t_end - plain.t_end > 60.0
    assert _heading_rate(traj).max() <= lim.max_turn_rate_rps + 1e-6
    with pytest.raises(ValueError, match="hold time"):
        follow_waypoints(wp, lim, 0.0, 60.0, holds_s=[0.0, -1.0, 0.0])
