"""Zones: footprint (holes excluded) and band membership, schedules in the site's time zone; invalid polygons refused."""

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from skywarden.airspace.rules import AirspaceRules
from skywarden.airspace.zones import ZoneSet, schedule_active
from skywarden.config import Schedule, Site, Zone, load_site
from skywarden.events import ZoneViolation

KREMLIN = load_site(Path(__file__).resolve().parents[2] / "src/skywarden/sites/kremlin/site.toml")
MSK = ZoneInfo("Europe/Moscow")


def at(y: int, mo: int, d: int, h: int, mi: int) -> float:
    return dt.datetime(y, mo, d, h, mi, tzinfo=MSK).timestamp()


def test_kremlin_zones_membership() -> None:
    zones = ZoneSet(KREMLIN)
    dome = KREMLIN.frame.to_enu(55.7525, 37.6188, 25.0)
    far_inside_city = KREMLIN.frame.to_enu(55.80, 37.50, 100.0)
    outside_city = KREMLIN.frame.to_enu(56.2, 37.6, 100.0)
    above_ceiling = KREMLIN.frame.to_enu(55.7525, 37.6188, 2000.0)
    t = at(2023, 5, 3, 2, 27)  # 02:27 local: the evening zone is off
    inside = zones.inside(np.stack([dome, far_inside_city, outside_city, above_ceiling]), t)
    col = {z: zones.ids.index(z) for z in zones.ids}
    assert inside[0, col["moscow-uas-ban"]] and inside[0, col["kremlin"]]
    assert inside[1, col["moscow-uas-ban"]] and not inside[1, col["kremlin"]]
    assert not inside[2].any()
    assert not inside[3].any()  # above both ceilings
    assert not inside[:, col["red-square-evenings"]].any()


def test_scheduled_zone_switches_on_in_the_evening() -> None:
    zones = ZoneSet(KREMLIN)
    j = zones.ids.index("red-square-evenings")
    red_square = KREMLIN.frame.to_enu(55.7540, 37.6210, 50.0)[None, :]
    assert zones.inside(red_square, at(2023, 5, 2, 20, 0))[0, j]
    assert not zones.inside(red_square, at(2023, 5, 2, 12, 0))[0, j]


@pytest.mark.parametrize(
    ("days", "start", "end", "local", "expected"),
    [
        (["mon"], "08:00", "17:00", (2023, 5, 1, 8, 0), True),  # 1 May 2023 was a Monday
        (["mon"], "08:00", "17:00", (2023, 5, 1, 17, 0), False),  # end is exclusive
        (["mon"], "08:00", "17:00", (2023, 5, 2, 9, 0), False),  # Tuesday
        (["fri"], "22:00", "06:00", (2023, 5, 5, 23, 0), True),  # overnight window, same evening
        (["fri"], "22:00", "06:00", (2023, 5, 6, 5, 59), True),  # ... runs into Saturday morning
        (["fri"], "22:00", "06:00", (2023, 5, 6, 6, 0), False),
        (["sat"], "22:00", "06:00", (2023, 5, 6, 5, 0), False),  # Saturday's window starts Saturday night
        (["sun"], "00:00", "24:00", (2023, 5, 7, 23, 59), True),
    ],
)
def test_schedule_windows(days: list, start: str, end: str, local: tuple, expected: bool) -> None:
    s = Schedule(days=days, start=start, end=end)
    assert schedule_active([s], at(*local), MSK) is expected


def test_empty_schedule_is_always_on() -> None:
    assert schedule_active([], 0.0, MSK)


def ring_site(**zone: object) -> Site:
    """A site whose one zone is a 2 km square around the reference with a 1 km square hole in the middle."""
    lat0, lon0, d = 52.5, 13.4, 0.009  # ~1 km of latitude, ~0.6 km of longitude
    square = [(lon0 - 2 * d, lat0 - d), (lon0 + 2 * d, lat0 - d), (lon0 + 2 * d, lat0 + d), (lon0 - 2 * d, lat0 + d)]
    hole = [(lon0 - d, lat0 - d / 2), (lon0 + d, lat0 - d / 2), (lon0 + d, lat0 + d / 2), (lon0 - d, lat0 + d / 2)]
    return Site.model_validate({"name": "ring", "reference": {"lat_deg": lat0, "lon_deg": lon0},
                                "zones": [{"id": "ring", "polygon": square, "holes": [hole], **zone}]})


@settings(deadline=None)
@given(st.floats(-1.0, 1.0), st.floats(-1.0, 1.0), st.floats(0.0, 500.0))
def test_a_point_in_a_hole_is_outside_the_zone(fx: float, fy: float, up: float) -> None:
    """Positions spread over the zone's bounding box: inside exactly when in the shell and not in the hole."""
    site = ring_site()
    zone = site.zones[0]
    shell, hole = (shapely.Polygon(site.frame.to_enu(np.array(r)[:, 1], np.array(r)[:, 0])[:, :2])
                   for r in (zone.polygon, zone.holes[0]))
    x0, y0, x1, y1 = shell.bounds
    e, n = (x0 + x1) / 2 + fx * (x1 - x0) / 2, (y0 + y1) / 2 + fy * (y1 - y0) / 2
    inside = ZoneSet(site).inside(np.array([[e, n, up]]), 0.0)[0, 0]
    if shell.exterior.distance(shapely.Point(e, n)) > 1.0 and hole.exterior.distance(shapely.Point(e, n)) > 1.0:
        assert inside == (shell.contains(shapely.Point(e, n)) and not hole.contains(shapely.Point(e, n)))


def test_a_track_in_the_hole_raises_no_violation() -> None:
    site = ring_site()
    rules = AirspaceRules(site)
    centre, in_ring = np.array([0.0, 0.0, 100.0]), np.array([0.0, 800.0, 100.0])
    for k, pos in enumerate((centre, in_ring)):
        x = np.concatenate([pos, [1.0, 0.0, 0.0]])[None, :]
        _, events = rules.apply(float(k), ["T1"], x, np.array([True]), ["drone"], [None],
                                confidence=np.array([0.99]), age_s=np.array([60.0]))
        assert [e.zone_id for e in events if isinstance(e, ZoneViolation)] == ([] if k == 0 else ["ring"])


def test_a_permit_bounded_by_a_zone_does_not_cover_its_hole() -> None:
    site = ring_site()
    shape = site.zones[0].shape(site.frame)
    assert not shape.contains(shapely.Point(0.0, 0.0)) and shape.contains(shapely.Point(0.0, 800.0))
    assert len(shape.interiors) == 1


@pytest.mark.parametrize(("polygon", "holes", "reason"), [
    ([(13.40, 52.50), (13.42, 52.52), (13.42, 52.50), (13.40, 52.52)], [], "Self-intersection"),
    ([(13.40, 52.50), (13.42, 52.50), (13.42, 52.52), (13.40, 52.52)],
     [[(13.50, 52.50), (13.51, 52.50), (13.51, 52.51)]], "Hole lies outside shell"),
    ([(13.40, 52.50), (13.42, 52.50), (13.42, 52.52), (13.40, 52.52)],
     [[(13.401, 52.501), (13.419, 52.501), (13.419, 52.519), (13.401, 52.519)],
      [(13.402, 52.502), (13.418, 52.502), (13.418, 52.518), (13.402, 52.518)]],
     "Holes are nested"),
    ([(13.40, 52.50), (13.42, 52.50), (13.42, 52.52), (13.40, 52.52)],
     [[(13.41, 52.51), (13.43, 52.51), (13.43, 52.515)]], "Self-intersection"),
    ([(13.4, 52.50), (13.4, 52.51), (13.4, 52.52)], [], "Self-intersection"),  # no area: a line
])
def test_an_invalid_polygon_is_refused_with_shapelys_reason(polygon: list, holes: list, reason: str) -> None:
    """Nothing is repaired behind the user's back: the message carries Shapely's explanation and where."""
    with pytest.raises(ValidationError) as info:
        Zone.model_validate({"id": "z", "polygon": polygon, "holes": holes})
    assert "polygon: not a valid polygon: " + reason in str(info.value)


def test_a_zone_that_folds_over_in_the_site_frame_is_refused() -> None:
    """Valid in degrees, but reaching round the globe: flattened into the site's east/north it crosses itself."""
    with pytest.raises(ValidationError, match=r"zones.0 \(ring\): polygon: not a valid polygon in the site frame"):
        ring_site(polygon=[(10.0, 50.0), (170.0, -50.0), (175.0, -50.0), (15.0, 50.0)], holes=[])
