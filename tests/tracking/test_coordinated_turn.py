"""Coordinated-turn models: the exact turn prediction and an IMM of CV + CT models picking the right one."""

from __future__ import annotations

import numpy as np
from test_tracker import T0, radar_scan

from skywarden.tracking import Tracker, TrackerParams
from skywarden.tracking.models import F


def test_turn_prediction_is_exact_and_tends_to_constant_velocity() -> None:
    omega, speed, dt = 0.2, 15.0, 2.5
    x = np.array([100.0, -40.0, 50.0, speed, 0.0, 1.0])  # heading east, turning left (counter-clockwise)
    centre = x[:2] + np.array([0.0, speed / omega])
    angle = -np.pi / 2 + omega * dt
    expected = np.r_[centre + speed / omega * np.array([np.cos(angle), np.sin(angle)]), 50.0 + dt,
                     speed * np.cos(omega * dt), speed * np.sin(omega * dt), 1.0]
    np.testing.assert_allclose(F(dt, omega) @ x, expected, atol=1e-9)
    np.testing.assert_allclose(F(np.array([dt, 1.0]), omega)[0], F(dt, omega))
    np.testing.assert_allclose(F(dt, 1e-9), F(dt), atol=1e-6)


def test_imm_picks_the_turn_model_in_a_sustained_turn_and_cv_on_straight_legs() -> None:
    """30 s straight, a right turn at 0.15 rad/s (3 m/s² lateral) for 30 s, 30 s straight."""
    rng = np.random.default_rng(4)
    speed, rate, dt = 20.0, 0.15, 0.01
    turn_rate = np.r_[np.zeros(3000), np.full(3000, rate), np.zeros(3000)]  # heading clockwise from north
    heading = 0.5 + np.cumsum(turn_rate) * dt
    path = np.array([-300.0, 1200.0, 80.0]) + np.cumsum(
        speed * dt * np.column_stack([np.sin(heading), np.cos(heading), np.zeros_like(heading)]), axis=0
    )
    params = TrackerParams(
        q_m2s3=(0.1, 0.3, 0.3), q_vertical_m2s3=(0.05, 0.05, 0.05), turn_rates_radps=(0.0, rate, -rate),
        initial_model_probabilities=(0.8, 0.1, 0.1),
    )
    tracker = Tracker(params)
    mu = []
    for k, position in enumerate(path[:: int(1 / dt)]):
        tracker.step(radar_scan(rng, T0 + k, position)[0])
        assert len(tracker.table) == 1
        mu.append(tracker.table.mu[0])
    m = np.array(mu)
    assert m[15:30, 0].mean() > 0.8  # straight: CV
    assert m[40:60, 2].mean() > 0.8  # clockwise = right turn = negative rate
    assert m[75:, 0].mean() > 0.8
    assert m[40:60, 1].max() < 0.1
