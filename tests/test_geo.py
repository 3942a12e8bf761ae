"""Geometry round trips: WGS84 <-> ENU and polar <-> ENU."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from skywarden.geo import LocalFrame, enu_to_polar, polar_to_enu, wrap_angle

FRAME = LocalFrame(55.7517, 37.6178, 160.0)
offsets = st.floats(-50_000, 50_000, allow_nan=False)


@given(offsets, offsets, st.floats(-200, 12_000))
def test_enu_geodetic_round_trip(e: float, n: float, u: float) -> None:
    lat, lon, up = FRAME.to_geodetic([e, n, u])
    back = FRAME.to_enu(lat, lon, up)
    np.testing.assert_allclose(back, [e, n, u], atol=1e-5)


@given(offsets, offsets, st.floats(-5_000, 5_000))
def test_polar_round_trip(e: float, n: float, u: float) -> None:
    d = np.array([e, n, u])
    if np.linalg.norm(d) < 1e-3:
        return
    np.testing.assert_allclose(polar_to_enu(enu_to_polar(d)), d, atol=1e-6 * max(1.0, np.linalg.norm(d)))


def test_polar_conventions() -> None:
    r, az, el = enu_to_polar([100.0, 0.0, 0.0])
    assert (r, az, el) == (100.0, np.pi / 2, 0.0)  # east is azimuth pi/2
    assert enu_to_polar([0.0, 100.0, 0.0])[1] == 0.0  # north is azimuth 0
    assert np.isclose(enu_to_polar([0.0, -1.0, 0.0])[1], np.pi)
    assert np.isclose(enu_to_polar([-1.0, 0.0, 0.0])[1], 1.5 * np.pi)  # west, never negative
    assert np.isclose(enu_to_polar([100.0, 0.0, 100.0])[2], np.pi / 4)


def test_reference_point_is_origin_and_north_is_north() -> None:
    np.testing.assert_allclose(FRAME.to_enu(55.7517, 37.6178, 0.0), [0, 0, 0], atol=1e-6)
    e, n, _ = FRAME.to_enu(55.7517 + 0.01, 37.6178, 0.0)
    assert abs(e) < 1e-3 and 1110 < n < 1115  # 0.01 deg of latitude is about 1.11 km


@given(st.floats(-100, 100))
def test_wrap_angle_range(a: float) -> None:
    w = wrap_angle(a)
    assert -np.pi <= w < np.pi
    assert np.isclose(np.cos(w), np.cos(a)) and np.isclose(np.sin(w), np.sin(a), atol=1e-9)
