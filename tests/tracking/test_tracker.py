"""The tracker end to end on synthetic radar plots (straight lines, turns, crossings, clutter)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import ArrayLike

from skywarden.events import TrackConfirmed, TrackLost
from skywarden.geo import enu_to_polar
from skywarden.sensors import Plots
from skywarden.tracking import Status, Tracker, TrackerParams, TrackingError, filters
from skywarden.tracking.models import polar_plots_to_enu

SIGMA = np.array([5.0, np.deg2rad(0.5), np.deg2rad(1.0)])  # range m, azimuth rad, elevation rad
RADAR = np.array([0.0, 0.0, 10.0])
T0 = 1_683_072_000.0  # 2023-05-03T00:00:00Z


def radar_scan(
    rng: np.random.Generator, t: float, truth: ArrayLike, pd: float = 1.0, clutter_per_scan: float = 0.0
) -> tuple[Plots, np.ndarray]:
    """One scan: each target detected with probability ``pd`` and Poisson clutter uniform in range,
    azimuth and elevation (as per resolution cell), in shuffled order. Returns the plots and, per plot,
    the index of the target it came from (-1 for clutter)."""
    truth = np.asarray(truth, float).reshape(-1, 3)
    detected = np.flatnonzero(rng.random(len(truth)) < pd)
    polar = enu_to_polar(truth[detected] - RADAR) + rng.normal(size=(len(detected), 3)) * SIGMA
    k = rng.poisson(clutter_per_scan)
    false = np.column_stack(
        [rng.uniform(50, 5000, k), rng.uniform(0, 2 * np.pi, k), rng.uniform(np.deg2rad(-5), np.deg2rad(60), k)]
    )
    z, owner = np.vstack([polar, false]), np.r_[detected, np.full(k, -1)]
    order = rng.permutation(len(z))
    rcs = np.where(owner >= 0, -18.0, -30.0)[order] + rng.normal(size=len(z))
    return Plots("radar-1", t, RADAR, z[order], SIGMA, rcs_dbsm=rcs), owner[order]


def owner_of(tracker: Tracker, plot_index: int) -> str | None:
    """The track id that took the given plot in the last step (None if it started a new track)."""
    hits = [tid for tid, j in tracker.last_assignment.items() if j == plot_index]
    return hits[0] if hits else None


def test_straight_target_is_confirmed_tracked_and_lost() -> None:
    rng = np.random.default_rng(0)
    tracker = Tracker()
    start, velocity = np.array([-1500.0, 2000.0, 120.0]), np.array([25.0, -5.0, 0.5])
    events = []
    for k in range(40):
        plots, _ = radar_scan(rng, T0 + k, start + velocity * k)
        events += tracker.step(plots)
    confirmed = [e for e in events if isinstance(e, TrackConfirmed)]
    assert len(confirmed) == 1 and confirmed[0].t == T0 + 2  # 3 of 4: the third scan confirms
    table = tracker.table
    assert table.id.tolist() == [confirmed[0].track_id]
    assert table.status[0] == Status.CONFIRMED and table.hits[0] == 4 and table.n_hits[0] == 40
    truth = start + velocity * 39
    assert np.linalg.norm(table.x[0, :2] - truth[:2]) < 30.0
    assert np.linalg.norm(table.x[0, 3:5] - velocity[:2]) < 5.0
    assert table.rcs_dbsm[0] == pytest.approx(-18.0, abs=0.5)
    assert tracker.last_assignment == {confirmed[0].track_id: 0}

    lost = []
    for k in range(40, 46):  # the target is gone: empty scans
        lost += tracker.step(Plots("radar-1", T0 + k, RADAR, np.zeros((0, 3)), SIGMA))
    assert lost == [TrackLost(t=T0 + 44, track_id=confirmed[0].track_id)]  # the fifth miss in a row
    assert len(tracker.table) == 0


@pytest.mark.parametrize("associator", ["gnn", "jpda"])
@pytest.mark.parametrize("seed", range(4))
def test_targets_crossing_at_a_shallow_angle_keep_their_ids(seed: int, associator: str) -> None:
    """Two drones at 30 m/s, 1 km out, crossing at 30° (the same point at the same time and height)."""
    rng = np.random.default_rng(seed)
    heading = rng.uniform(0, 2 * np.pi)
    half_angle = np.deg2rad(15.0)
    directions = np.array([[np.sin(heading + s), np.cos(heading + s), 0.0] for s in (-half_angle, half_angle)])
    centre = np.array([0.0, 1000.0, 100.0])
    tracker = Tracker(TrackerParams(associator=associator))  # type: ignore[arg-type]
    owners: list[list[str | None]] = [[], []]
    for k in range(-30, 31):
        plots, owner = radar_scan(rng, T0 + k, centre + 30.0 * k * directions, pd=0.95, clutter_per_scan=5)
        tracker.step(plots)
        if k >= -25:  # both tracks confirmed by now
            for target in (0, 1):
                mine = np.flatnonzero(owner == target)
                if len(mine) and abs(k) > 1:  # at the crossing itself the plots are interchangeable
                    owners[target].append(owner_of(tracker, int(mine[0])))
    ids = [set(o) - {None} for o in owners]
    assert len(ids[0]) == 1 and len(ids[1]) == 1 and ids[0] != ids[1]
    assert sum(o is None for o in owners[0] + owners[1]) <= 2  # almost every plot was used


@pytest.mark.parametrize("associator", ["gnn", "jpda"])
def test_drone_turning_hard_keeps_one_track(associator: str) -> None:
    """A 20 m/s drone flying S-turns: 180° at 10 m/s² lateral each way, 2 km out."""
    rng = np.random.default_rng(1)
    speed, lateral, dt = 20.0, 10.0, 0.01
    turn_rate = np.r_[np.zeros(1500), np.full(int(np.pi * speed / lateral / dt), lateral / speed)]
    turn_rate = np.r_[turn_rate, np.zeros(1000), -turn_rate[1500:], np.zeros(1000)]
    heading = 0.3 + np.cumsum(turn_rate) * dt
    path = np.array([0.0, 2000.0, 80.0]) + np.cumsum(
        speed * dt * np.column_stack([np.sin(heading), np.cos(heading), np.zeros_like(heading)]), axis=0
    )
    tracker = Tracker(TrackerParams(associator=associator))  # type: ignore[arg-type]
    ids = set()
    for k, position in enumerate(path[:: int(1 / dt)]):
        plots, owner = radar_scan(rng, T0 + k, position, pd=0.9, clutter_per_scan=5)
        events = tracker.step(plots)
        assert not any(isinstance(e, TrackLost) for e in events)
        mine = np.flatnonzero(owner == 0)
        if k > 3 and len(mine):
            ids.add(owner_of(tracker, int(mine[0])))
    assert len(ids - {None}) == 1


@pytest.mark.parametrize("associator", ["gnn", "jpda"])
def test_clutter_makes_no_confirmed_tracks_while_real_targets_are_kept(associator: str) -> None:
    """300 scans, 10 false alarms a scan (twice the site default) and two drones circling at 1 m/s²."""
    rng = np.random.default_rng(2)
    tracker = Tracker(TrackerParams(associator=associator))  # type: ignore[arg-type]
    centres = np.array([[1200.0, 800.0, 60.0], [-2500.0, -3000.0, 150.0]])
    radius, speed = np.array([400.0, 300.0]), np.array([20.0, 12.0])
    confirmed: list[TrackConfirmed] = []
    births: dict[str, float] = {}  # track id -> initiation time
    for k in range(300):
        phase = speed / radius * k
        truth = centres + radius[:, None] * np.column_stack([np.cos(phase), np.sin(phase), np.zeros(2)])
        plots, _ = radar_scan(rng, T0 + k, truth, pd=0.9, clutter_per_scan=10)
        events = tracker.step(plots)
        assert not any(isinstance(e, TrackLost) for e in events)
        confirmed += [e for e in events if isinstance(e, TrackConfirmed)]
        for tid, t_init in zip(tracker.table.id.tolist(), tracker.table.t_init.tolist(), strict=True):
            assert births.setdefault(tid, t_init) == t_init  # an id is never given to a second track
        for e in events:
            if isinstance(e, TrackConfirmed):
                assert np.linalg.norm(truth - e.position_enu_m, axis=1).min() < 100.0
    assert len(confirmed) == 2
    assert np.sum(tracker.table.status != Status.TENTATIVE) == 2
    # ids come from a counter: later tracks always have higher numbers
    numbers = [int(tid[1:]) for tid, _ in sorted(births.items(), key=lambda item: (item[1], int(item[0][1:])))]
    assert numbers == sorted(numbers) and len(numbers) > 2000


def test_time_must_not_run_backwards_and_table_is_read_only() -> None:
    rng = np.random.default_rng(3)
    tracker = Tracker(TrackerParams(confirm_m=2, confirm_n=3))
    tracker.step(radar_scan(rng, T0 + 10, [[100.0, 900.0, 50.0]])[0])
    with pytest.raises(TrackingError, match="before"):
        tracker.step(radar_scan(rng, T0 + 9, [[100.0, 900.0, 50.0]])[0])
    with pytest.raises(ValueError, match="read-only"):
        tracker.table.x[0, 0] = 0.0
    assert tracker.step(radar_scan(rng, T0 + 11, [[100.0, 900.0, 50.0]])[0])[0].kind == "TrackConfirmed"


def test_params_are_validated() -> None:
    with pytest.raises(ValueError, match="confirm_m"):
        TrackerParams(confirm_m=5, confirm_n=4)
    with pytest.raises(ValueError, match="gate_probability"):
        TrackerParams(gate_probability=1.0)


def test_imm_switches_to_the_manoeuvre_model_in_a_turn_and_back() -> None:
    """Straight, a 180° turn at 10 m/s² lateral, straight again: the quiet model wins the legs,
    the manoeuvring one the turn."""
    rng = np.random.default_rng(3)
    speed, lateral, dt = 20.0, 10.0, 0.01
    turn = int(np.pi * speed / lateral / dt)
    turn_rate = np.r_[np.zeros(6000), np.full(turn, lateral / speed), np.zeros(6000)]
    heading = 1.0 + np.cumsum(turn_rate) * dt
    path = np.array([-600.0, 1500.0, 80.0]) + np.cumsum(
        speed * dt * np.column_stack([np.sin(heading), np.cos(heading), np.zeros_like(heading)]), axis=0
    )
    tracker = Tracker()
    mu_manoeuvre = []
    for k, position in enumerate(path[:: int(1 / dt)]):
        tracker.step(radar_scan(rng, T0 + k, position)[0])
        table = tracker.table
        assert len(table) == 1
        mu_manoeuvre.append(table.mu[0, 1])
    mu = np.array(mu_manoeuvre)
    turn_scans = slice(60 + 1, 60 + int(turn * dt))
    assert mu[40:60].mean() < 0.2  # steady leg before the turn
    assert mu[turn_scans].max() > 0.8  # the turn
    assert mu[-15:].mean() < 0.3  # back on a straight leg


def test_single_model_tracker_is_a_plain_kalman_filter() -> None:
    """With one model the IMM reduces to the constant-velocity Kalman filter: same states."""
    rng = np.random.default_rng(5)
    params = TrackerParams(q_m2s3=(3.0,), q_vertical_m2s3=(1.0,), initial_model_probabilities=(1.0,))
    tracker = Tracker(params)
    truth = np.array([500.0, 800.0, 60.0])
    x = P = None
    for k in range(10):
        plots = radar_scan(rng, T0 + k, truth + k * np.array([10.0, 0.0, 0.0]))[0]
        tracker.step(plots)
        z, R = polar_plots_to_enu(plots)
        if x is None:
            x = np.zeros((1, 6))
            x[0, :3] = z[0]
            P = np.zeros((1, 6, 6))
            P[0, :3, :3] = R[0]
            P[0, 3:, 3:] = np.diag([40.0**2, 40.0**2, 10.0**2])
        else:
            x, P = filters.predict(x, P, 1.0, 3.0, 1.0)
            x, P, _ = filters.update(x, P, z, R)
    np.testing.assert_allclose(tracker.table.x, x, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(tracker.table.P, P, rtol=1e-9, atol=1e-9)


def test_imm_params_are_validated() -> None:
    with pytest.raises(ValueError, match="one value per IMM model"):
        TrackerParams(q_m2s3=(1.0, 2.0), q_vertical_m2s3=(1.0,))
    with pytest.raises(ValueError, match="sum to 1"):
        TrackerParams(initial_model_probabilities=(0.5, 0.6))
    np.testing.assert_allclose(TrackerParams(model_stay_probability=0.9).transition(), [[0.9, 0.1], [0.1, 0.9]])


def test_a_scan_after_a_long_gap_drops_the_stale_tracks_instead_of_overflowing() -> None:
    """A recording resumed two years later (a fuzzer's find): the tracks are lost, not predicted into NaN."""
    rng = np.random.default_rng(5)
    tracker = Tracker(TrackerParams(max_coast_s=1e9))  # only the gap can drop them
    for k in range(5):
        tracker.step(radar_scan(rng, T0 + k, [[1000.0 + 10 * k, 500.0, 100.0]])[0])
    (confirmed,) = tracker.table.id[tracker.table.status == Status.CONFIRMED]
    with np.errstate(all="raise"):
        events = tracker.step(radar_scan(rng, T0 + 4 + 6.5e7, [[1000.0, 500.0, 100.0]])[0])
    assert [e.track_id for e in events if isinstance(e, TrackLost)] == [confirmed]
    assert len(tracker.table) == 1 and np.isfinite(tracker.table.x).all()
