"""Threat: time to asset and closest approach on analytic geometries."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from skywarden.airspace.threat import ThreatLevel, ThreatParams, assess, max_levels

ASSET = np.array([[0.0, 0.0, 0.0]])
RADIUS = np.array([40.0])


def test_head_on_approach() -> None:
    th = assess(np.array([[1040.0, 0.0, 0.0]]), np.array([[-20.0, 0.0, 0.0]]), ASSET, RADIUS)
    assert th.asset_index[0] == 0
    assert np.isclose(th.time_to_asset_s[0], 50.0)  # (1040 - 40) m at 20 m/s
    assert np.isclose(th.closest_approach_m[0], 0.0)
    assert th.level[0] == ThreatLevel.CRITICAL


def test_receding_and_passing_tracks() -> None:
    pos = np.array([[1000.0, 0.0, 0.0], [1000.0, 600.0, 0.0]])
    vel = np.array([[20.0, 0.0, 0.0], [-20.0, 0.0, 0.0]])
    th = assess(pos, vel, ASSET, RADIUS)
    assert np.isinf(th.time_to_asset_s[0]) and th.level[0] == ThreatLevel.LOW
    assert np.isclose(th.closest_approach_m[1], 560.0)  # passes 600 m abeam, minus the radius
    assert th.level[1] == ThreatLevel.MEDIUM  # closing, but misses by more than the high bound


def test_inside_radius_is_zero_time() -> None:
    th = assess(np.array([[10.0, 0.0, 0.0]]), np.array([[0.0, 0.0, 0.0]]), ASSET, RADIUS)
    assert th.time_to_asset_s[0] == 0.0 and th.level[0] == ThreatLevel.CRITICAL


def test_worst_asset_is_the_soonest() -> None:
    assets = np.array([[0.0, 0.0, 0.0], [3000.0, 0.0, 0.0]])
    th = assess(np.array([[1000.0, 0.0, 0.0]]), np.array([[10.0, 0.0, 0.0]]), assets, np.array([40.0, 40.0]))
    assert th.asset_index[0] == 1 and np.isclose(th.time_to_asset_s[0], 196.0)


def test_no_assets_or_tracks() -> None:
    assert len(assess(np.zeros((0, 3)), np.zeros((0, 3)), ASSET, RADIUS).level) == 0
    th = assess(np.ones((2, 3)), np.ones((2, 3)), np.zeros((0, 3)), np.zeros(0))
    assert (th.asset_index == -1).all()


@given(st.floats(100, 5000), st.floats(0, 2 * np.pi), st.floats(1.5, 60))
def test_time_to_go_on_straight_approach(dist: float, bearing: float, speed: float) -> None:
    pos = np.array([[dist * np.sin(bearing), dist * np.cos(bearing), 0.0]])
    vel = -speed * pos / dist
    th = assess(pos, vel, ASSET, RADIUS)
    assert np.isclose(th.time_to_asset_s[0], max(dist - 40.0, 0.0) / speed, rtol=1e-9)
    assert th.closest_approach_m[0] < 1e-6


def test_caps_by_classification_and_permit() -> None:
    labels = ["drone", "unknown", "bird", "aircraft", "drone", "bird"]
    permitted = np.array([False, False, False, False, True, True])
    cap = max_levels(labels, permitted, ThreatParams())
    assert cap.tolist() == [ThreatLevel.CRITICAL, ThreatLevel.CRITICAL, ThreatLevel.LOW, ThreatLevel.MEDIUM,
                            ThreatLevel.LOW, ThreatLevel.LOW]
    head_on = assess(np.full((6, 3), [1040.0, 0.0, 0.0]), np.full((6, 3), [-20.0, 0.0, 0.0]), ASSET, RADIUS)
    capped = head_on.capped(cap)
    assert capped.level.tolist() == cap.tolist() and capped.level.dtype == np.int8
    assert (capped.time_to_asset_s == head_on.time_to_asset_s).all()  # only the level is capped
    assert len(max_levels([], np.zeros(0, bool), ThreatParams())) == 0


def test_bad_caps_are_rejected() -> None:
    with pytest.raises(ValueError, match="bird"):
        ThreatParams(max_level=(("bird", 7),))
    with pytest.raises(ValueError, match="permitted_max_level"):
        ThreatParams(permitted_max_level=-1)
