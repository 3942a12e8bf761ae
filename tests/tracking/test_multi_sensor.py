"""Sequential multi-sensor fusion: scans of radars at different places, rates and accuracies update one table."""

from __future__ import annotations

import numpy as np
import pytest

from skywarden.geo import enu_to_polar
from skywarden.sensors import Plots
from skywarden.tracking import Status, Tracker, TrackerParams

T0 = 1_683_072_000.0
RADARS = {  # id: (position, sigma (range m, azimuth rad, elevation rad), scan period s, first scan offset s)
    "r1": (np.array([0.0, 0.0, 10.0]), np.array([5.0, np.deg2rad(0.8), np.deg2rad(1.5)]), 1.0, 0.0),
    "r2": (np.array([4000.0, 500.0, 30.0]), np.array([10.0, np.deg2rad(0.4), np.deg2rad(0.8)]), 2.0, 0.5),
}
START, VELOCITY = np.array([1500.0, 2500.0, 120.0]), np.array([-8.0, 15.0, 0.0])


def scans(rng: np.random.Generator, sensors: list[str], duration_s: float) -> list[Plots]:
    """Every scan of the given radars (Pd 1, no clutter) in time order."""
    out = []
    for name in sensors:
        position, sigma, period, offset = RADARS[name]
        for t in np.arange(offset, duration_s, period):
            z = enu_to_polar(START + VELOCITY * t - position)[None] + rng.normal(size=(1, 3)) * sigma
            out.append(Plots(name, T0 + t, position, z, sigma))
    return sorted(out, key=lambda p: p.t)


def rms_error(sensors: list[str], measurement_update: str) -> float:
    """Position RMS error of the one track after every scan from 20 s on, over a few seeded runs."""
    errors = []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        tracker = Tracker(TrackerParams(measurement_update=measurement_update))  # type: ignore[arg-type]
        for plots in scans(rng, sensors, 80.0):
            tracker.step(plots)
            table = tracker.table
            assert len(table) == 1
            if plots.t >= T0 + 20:
                assert table.status[0] == Status.CONFIRMED
                errors.append(np.linalg.norm(table.x[0, :3] - (START + VELOCITY * (plots.t - T0))))
    return float(np.sqrt(np.mean(np.square(errors))))


@pytest.mark.parametrize("measurement_update", ["converted", "ekf"])
def test_two_radars_fused_beat_either_alone(measurement_update: str) -> None:
    alone = [rms_error([name], measurement_update) for name in RADARS]
    fused = rms_error(list(RADARS), measurement_update)
    assert fused < 0.85 * min(alone), (fused, alone)


def test_a_sensor_that_cannot_see_a_track_does_not_wear_it_down() -> None:
    """r1 sees the target; r2, scanning in between, covers only up to 1 km from itself (the target stays
    ~2.5 km away). Booked as misses, r2's scans would keep the track from M-of-N confirmation (hit, miss,
    hit, miss: 2 of 4) and make it coast half the time; outside r2's coverage they are not booked."""
    from skywarden.sensors import Coverage

    rng = np.random.default_rng(9)
    position, sigma, _, _ = RADARS["r2"]
    timeline = []
    for plots in scans(rng, ["r1"], 30.0):
        timeline.append(plots)
        timeline.append(Plots("r2", plots.t + 0.5, position, np.zeros((0, 3)), sigma))  # nothing in r2's volume
    statuses = {}
    for coverage in (None, Coverage(max_range_m=1000.0)):
        tracker = Tracker(TrackerParams(confirm_m=3, confirm_n=4))
        seen = []
        for plots in timeline:
            if plots.sensor_id == "r2":
                plots = Plots(plots.sensor_id, plots.t, plots.sensor_enu_m, plots.z, plots.sigma, coverage=coverage)
            tracker.step(plots)
            seen.append(tracker.table.status.tolist())
        statuses[coverage is None] = seen
    assert all(s != [Status.CONFIRMED] for s in statuses[True])  # booked as misses: never confirmed
    assert statuses[False][-1] == [Status.CONFIRMED]
    assert statuses[False][-2] == [Status.CONFIRMED]  # also right after r2's scan


def test_a_track_out_of_every_coverage_is_deleted_after_the_coast_limit() -> None:
    from skywarden.sensors import Coverage

    rng = np.random.default_rng(10)
    position, sigma, _, _ = RADARS["r1"]
    tracker = Tracker(TrackerParams(max_coast_s=6.0))
    blind = Coverage(max_range_m=100.0)
    for plots in scans(rng, ["r1"], 40.0):
        if plots.t - T0 >= 20.0:  # the radar's view shrinks to 100 m: the target is outside from now on
            plots = Plots("r1", plots.t, position, np.zeros((0, 3)), sigma, coverage=blind)
        tracker.step(plots)
        if plots.t - T0 == 25.0:
            assert tracker.table.status.tolist() == [Status.CONFIRMED]  # not seen, so not missed
    assert len(tracker.table) == 0
