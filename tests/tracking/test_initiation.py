"""Two-point initiation, and Pd / clutter density taken from the radar model."""

from __future__ import annotations

import numpy as np
import pytest
from test_tracker import T0, radar_scan

from skywarden.config import RadarConfig
from skywarden.events import TrackConfirmed
from skywarden.tracking import Status, Tracker, TrackerParams
from skywarden.tracking.management import initiate_two_point, pair_plots
from skywarden.tracking.tracker import with_radar_model


def test_two_point_state_is_the_difference_and_counts_two_hits() -> None:
    z_old, z = np.array([[0.0, 0.0, 100.0]]), np.array([[20.0, -10.0, 102.0]])
    R_old, R = np.diag([4.0, 9.0, 16.0])[None], np.diag([1.0, 4.0, 9.0])[None]
    table = initiate_two_point(z_old, R_old, np.array([-20.0]), 10.0, z, R, np.array([np.nan]), 12.0, 7, 4, (0.5, 0.5))
    np.testing.assert_allclose(table.x[0], [20.0, -10.0, 102.0, 10.0, -5.0, 1.0])
    np.testing.assert_allclose(table.P[0, :3, :3], R[0])
    np.testing.assert_allclose(table.P[0, :3, 3:], R[0] / 2.0)
    np.testing.assert_allclose(table.P[0, 3:, 3:], (R_old[0] + R[0]) / 4.0)
    np.testing.assert_allclose(table.xm[0, 1], table.x[0])
    assert table.id.tolist() == ["T0007"] and table.status[0] == Status.TENTATIVE
    assert (table.hits[0], table.n_hits[0], table.n_scans[0], table.history[0]) == (2, 2, 2, 0b11)
    assert table.rcs_dbsm[0] == -20.0 and table.n_rcs[0] == 1
    assert np.linalg.eigvalsh(table.P[0]).min() > 0


def test_plots_pair_one_to_one_within_the_travel_bound() -> None:
    z_old = np.array([[0.0, 0.0, 0.0], [100.0, 0.0, 0.0], [5000.0, 0.0, 0.0]])
    z_new = np.array([[110.0, 5.0, 0.0], [15.0, 0.0, 0.0], [5200.0, 0.0, 0.0]])
    R = np.broadcast_to(np.eye(3), (3, 3, 3))
    old, new = pair_plots(z_old, R, z_new, R, max_travel_m=60.0, gamma=16.0)
    # old 0 could reach new 0 or 1, old 1 both too: least total distance pairs 0-1 and 1-0; old 2 is too far
    assert sorted(zip(old.tolist(), new.tolist(), strict=True)) == [(0, 1), (1, 0)]
    assert pair_plots(z_old[:0], R[:0], z_new, R, 60.0, 16.0)[0].size == 0


def test_two_point_tracker_confirms_like_one_point_and_starts_far_fewer_tracks_in_clutter() -> None:
    counts = {}
    for initiation in ("one_point", "two_point"):
        rng = np.random.default_rng(5)
        tracker = Tracker(TrackerParams(initiation=initiation))  # type: ignore[arg-type]
        start, velocity = np.array([-1000.0, 1800.0, 90.0]), np.array([18.0, 6.0, 0.0])
        confirmed, seen = [], set()
        for k in range(40):
            events = tracker.step(radar_scan(rng, T0 + k, start + velocity * k, pd=1.0, clutter_per_scan=10)[0])
            confirmed += [e for e in events if isinstance(e, TrackConfirmed)]
            seen |= set(tracker.table.id.tolist())
        assert len(confirmed) == 1 and confirmed[0].t == T0 + 2
        table = tracker.table
        row = int(np.flatnonzero(table.status != Status.TENTATIVE)[0])
        assert np.linalg.norm(table.x[row, 3:5] - velocity[:2]) < 4.0
        counts[initiation] = len(seen)
        numbers = sorted(int(i[1:]) for i in seen)
        assert len(set(numbers)) == len(numbers)
    assert counts["two_point"] < counts["one_point"] / 3


def test_two_point_needs_a_window_of_two() -> None:
    with pytest.raises(ValueError, match="two_point"):
        TrackerParams(initiation="two_point", confirm_m=1, confirm_n=1)


def test_pd_and_clutter_density_from_the_radar_model() -> None:
    radar = RadarConfig(id="r1", lat_deg=55.75, lon_deg=37.6, max_range_m=4000.0, min_range_m=0.0,
                        min_elevation_deg=0.0, max_elevation_deg=90.0, false_alarms_per_scan=10.0,
                        pfa=1e-6, snr_1m2_1km_db=40.0)
    params = with_radar_model(TrackerParams(), radar, typical_rcs_m2=0.01, typical_range_m=1000.0)
    # SNR = 10^4 * 0.01 = 100 at 1 km: Pd = 1e-6 ** (1 / 101); a hemisphere of 4 km holds 10 plots
    assert params.detection_probability == pytest.approx(1e-6 ** (1 / 101))
    assert params.clutter_density_per_m3 == pytest.approx(10.0 / (2 * np.pi / 3 * 4000.0**3))
    assert params.q_m2s3 == TrackerParams().q_m2s3
