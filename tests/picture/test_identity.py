"""Identity: cooperative reports name tracks; permits cover them only inside their volume and window."""

import datetime as dt
from pathlib import Path

import numpy as np

from skywarden.config import load_site
from skywarden.picture.identity import IdentityMatcher
from skywarden.sensors import CoopReport

SITE = load_site(Path(__file__).resolve().parents[2] / "src/skywarden/sites/kremlin/site.toml")
T0 = dt.datetime(2023, 5, 2, 23, 25, tzinfo=dt.UTC).timestamp()
IN_KREMLIN = SITE.frame.to_enu(55.7515, 37.6170, 60.0)


def report(t: float, pos: np.ndarray, uas: str = "RU-FSO-0007") -> CoopReport:
    return CoopReport(t=t, uas_id=uas, position_enu_m=pos, velocity_enu_mps=np.zeros(3))


def test_report_names_the_nearest_confirmed_track_and_lapses() -> None:
    m = IdentityMatcher(SITE, gate_m=75.0, hold_s=10.0)
    pos = np.stack([IN_KREMLIN, IN_KREMLIN + np.array([30.0, 0, 0]), IN_KREMLIN + np.array([500.0, 0, 0])])
    eligible = np.array([False, True, True])  # the nearest one is tentative
    ids = m.update(T0, ["A", "B", "C"], pos, eligible, [report(T0, IN_KREMLIN + np.array([5.0, 0, 0]))])
    assert ids == [None, "RU-FSO-0007", None]
    assert m.declared_class(["A", "B", "C"]) == [None, "drone", None]
    assert m.update(T0 + 5, ["A", "B", "C"], pos, eligible, []) == [None, "RU-FSO-0007", None]
    assert m.update(T0 + 11, ["A", "B", "C"], pos, eligible, []) == [None, None, None]


def test_report_outside_the_gate_names_nobody() -> None:
    m = IdentityMatcher(SITE, gate_m=75.0)
    ids = m.update(T0, ["A"], IN_KREMLIN[None, :], np.array([True]), [report(T0, IN_KREMLIN + np.array([0, 200.0, 0]))])
    assert ids == [None]


def test_permit_needs_identity_window_footprint_and_band() -> None:
    m = IdentityMatcher(SITE)
    outside_walls = SITE.frame.to_enu(55.7600, 37.6300, 60.0)
    too_high = IN_KREMLIN + np.array([0, 0, 200.0])
    pos = np.stack([IN_KREMLIN, outside_walls, too_high, IN_KREMLIN])
    who = ["RU-FSO-0007", "RU-FSO-0007", "RU-FSO-0007", "SOMEONE-ELSE"]
    assert m.permits_for(T0, who, pos) == ["fso-night-survey", None, None, None]
    late = dt.datetime(2023, 5, 3, 4, 0, tzinfo=dt.UTC).timestamp()
    assert m.permits_for(late, who[:1], pos[:1]) == [None]


def test_identity_stays_with_its_track_and_names_one_track_only() -> None:
    m = IdentityMatcher(SITE, gate_m=75.0)
    pos = np.stack([IN_KREMLIN, IN_KREMLIN + np.array([40.0, 0, 0])])
    eligible = np.array([True, True])
    assert m.update(T0, ["A", "B"], pos, eligible, [report(T0, IN_KREMLIN)]) == ["RU-FSO-0007", None]
    # a bird passes closer to the next report than the drone's own track: the identity stays put
    near_b = IN_KREMLIN + np.array([30.0, 0, 0])
    assert m.update(T0 + 1, ["A", "B"], pos, eligible, [report(T0 + 1, near_b)]) == ["RU-FSO-0007", None]
    # the drone's track is gone from the gate: the identity moves, and only one track carries it
    far = np.stack([IN_KREMLIN + np.array([300.0, 0, 0]), near_b])
    assert m.update(T0 + 2, ["A", "B"], far, eligible, [report(T0 + 2, near_b)]) == [None, "RU-FSO-0007"]


def test_two_identities_do_not_share_a_track() -> None:
    m = IdentityMatcher(SITE, gate_m=75.0)
    pos = IN_KREMLIN[None, :]
    ids = m.update(T0, ["A"], pos, np.array([True]), [report(T0, IN_KREMLIN, "ONE")])
    assert ids == ["ONE"]
    ids = m.update(T0 + 1, ["A"], pos, np.array([True]), [report(T0 + 1, IN_KREMLIN, "TWO"), report(T0 + 1, IN_KREMLIN, "ONE")])
    assert ids == ["ONE"]
