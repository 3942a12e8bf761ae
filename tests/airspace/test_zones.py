"""Zones: footprint and band membership, schedules in the site's time zone."""

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from skywarden.airspace.zones import ZoneSet, schedule_active
from skywarden.config import Schedule, load_site

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
