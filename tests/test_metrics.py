"""GOSPA against hand-computed values and its metric properties; the summary contract on hand-built runs."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skywarden.config import Asset, RadarConfig, Reference, Site
from skywarden.events import ZoneViolation
from skywarden.history import RunRecord, TrackHistory, TruthHistory
from skywarden.metrics import (
    asset_distances_m,
    assign,
    detection_to_alert_s,
    gospa,
    held_by_one_track,
    scan_index,
    summarize,
    track_swaps,
)

C = 50.0
HALF = C**2 / 2  # the alpha = 2 penalty of one missed or false target, p = 2


# ---------------------------------------------------------------- GOSPA, by hand

def test_gospa_empty_sets_is_zero() -> None:
    r = gospa(np.zeros((0, 3)), np.zeros((0, 3)))
    assert (r.value, r.localisation, r.missed, r.false, r.n_missed, r.n_false) == (0.0, 0.0, 0.0, 0.0, 0, 0)
    assert r.pairs.shape == (0, 2)


def test_gospa_one_missed_truth_costs_half_c_to_the_p() -> None:
    r = gospa([[10.0, 20.0, 30.0]], np.zeros((0, 3)))
    assert r.value == pytest.approx(math.sqrt(HALF)) == pytest.approx(C / math.sqrt(2))
    assert (r.n_missed, r.n_false, r.missed, r.false) == (1, 0, HALF, 0.0)


def test_gospa_one_false_track_costs_half_c_to_the_p() -> None:
    r = gospa(np.zeros((0, 3)), [[1.0, 2.0, 3.0]])
    assert r.value == pytest.approx(C / math.sqrt(2))
    assert (r.n_missed, r.n_false, r.false) == (0, 1, HALF)


def test_gospa_localisation_below_cutoff() -> None:
    r = gospa([[0.0, 0.0, 0.0]], [[3.0, 4.0, 0.0]])
    assert r.value == pytest.approx(5.0)
    assert r.localisation == pytest.approx(25.0)
    assert r.pairs.tolist() == [[0, 0]]
    assert (r.n_missed, r.n_false) == (0, 0)


def test_gospa_pair_beyond_cutoff_is_one_missed_plus_one_false() -> None:
    r = gospa([[0.0, 0.0, 0.0]], [[60.0, 0.0, 0.0]])
    assert r.value == pytest.approx(C)  # sqrt(c^2/2 + c^2/2)
    assert (r.n_missed, r.n_false, r.localisation) == (1, 1, 0.0)
    assert r.pairs.shape == (0, 2)


def test_gospa_alpha_2_half_penalty_for_cardinality_mismatch() -> None:
    r = gospa([[0.0, 0.0, 0.0], [1000.0, 0.0, 0.0]], [[0.0, 10.0, 0.0]])
    assert r.value == pytest.approx(math.sqrt(100.0 + HALF))
    assert (r.n_missed, r.n_false) == (1, 0)
    assert r.value**2 == pytest.approx(r.localisation + r.missed + r.false)


def test_gospa_other_alpha_and_p() -> None:
    assert gospa([[0.0, 0.0, 0.0]], np.zeros((0, 3)), alpha=1.0).value == pytest.approx(C)
    far = gospa([[0.0, 0.0, 0.0]], [[80.0, 0.0, 0.0]], alpha=1.0)  # alpha < 2: the far pair stays assigned
    assert far.value == pytest.approx(C) and far.pairs.tolist() == [[0, 0]]
    assert gospa([[0.0, 0.0, 0.0]], np.zeros((0, 3)), p=1.0).value == pytest.approx(C / 2)


def test_gospa_finds_the_optimal_assignment() -> None:
    r = gospa([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0]], [[9.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    assert r.value == pytest.approx(math.sqrt(2.0))
    assert sorted(map(tuple, r.pairs.tolist())) == [(0, 1), (1, 0)]


@pytest.mark.parametrize("kw", [{"c": 0.0}, {"p": 0.5}, {"alpha": 2.5}, {"alpha": 0.0}])
def test_gospa_rejects_bad_parameters(kw: dict) -> None:
    with pytest.raises(ValueError, match="gospa needs"):
        gospa([[0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0]], **kw)


# ---------------------------------------------------------------- GOSPA, properties

coord = st.floats(-120.0, 120.0, allow_nan=False, allow_infinity=False)
point_set = st.lists(st.tuples(coord, coord, coord), min_size=0, max_size=4).map(
    lambda pts: np.array(pts, float).reshape(-1, 3))
params = st.sampled_from([(2.0, 2.0), (1.0, 2.0), (2.0, 1.0), (3.0, 2.0)])  # (p, alpha)


def brute_force(x: np.ndarray, y: np.ndarray, c: float, p: float, alpha: float) -> float:
    """GOSPA by enumerating every injective assignment of the smaller set into the larger one."""
    if len(x) > len(y):
        x, y = y, x
    d = np.minimum(np.linalg.norm(x[:, None] - y[None], axis=-1), c) ** p if len(x) else np.zeros((0, len(y)))
    best = min((sum(d[i, j] for i, j in enumerate(perm)) for perm in itertools.permutations(range(len(y)), len(x))),
               default=0.0)
    return float((best + c**p / alpha * (len(y) - len(x))) ** (1 / p))


@settings(max_examples=150, deadline=None)
@given(point_set, point_set, params)
def test_gospa_matches_brute_force(x: np.ndarray, y: np.ndarray, pa: tuple[float, float]) -> None:
    p, alpha = pa
    assert gospa(x, y, c=C, p=p, alpha=alpha).value == pytest.approx(brute_force(x, y, C, p, alpha), rel=1e-9, abs=1e-9)


@settings(max_examples=150, deadline=None)
@given(point_set, point_set, params)
def test_gospa_is_symmetric(x: np.ndarray, y: np.ndarray, pa: tuple[float, float]) -> None:
    p, alpha = pa
    a, b = gospa(x, y, p=p, alpha=alpha), gospa(y, x, p=p, alpha=alpha)
    assert a.value == pytest.approx(b.value, rel=1e-12, abs=1e-9)
    assert (a.n_missed, a.n_false) == (b.n_false, b.n_missed)
    assert gospa(x, x, p=p, alpha=alpha).value == pytest.approx(0.0, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(point_set, point_set, point_set, params)
def test_gospa_triangle_inequality(x: np.ndarray, y: np.ndarray, z: np.ndarray, pa: tuple[float, float]) -> None:
    p, alpha = pa
    d = lambda a, b: gospa(a, b, p=p, alpha=alpha).value  # noqa: E731
    assert d(x, z) <= d(x, y) + d(y, z) + 1e-9


# ---------------------------------------------------------------- hand-built runs

T0 = 1_683_000_000.0
SITE = Site(
    name="Test field",
    timezone="Europe/Berlin",
    reference=Reference(lat_deg=52.0, lon_deg=13.0),
    sensors=[RadarConfig(id="r1", lat_deg=52.0, lon_deg=13.0)],
    assets=[Asset(id="hq", lat_deg=52.0, lon_deg=13.0, radius_m=40.0)],
)


def truth(tid: str, kind: str, scans: range, pos: np.ndarray, detected: list[bool] | None = None,
          covered: bool = True) -> TruthHistory:
    n = len(scans)
    det = np.array(detected if detected is not None else [True] * n)
    return TruthHistory(tid, kind, np.arange(scans.start, scans.stop), np.asarray(pos, float), np.zeros((n, 3)),
                        det, np.full(n, covered))


def track(kid: str, scans: range, pos: np.ndarray, status: list[int]) -> TrackHistory:
    return TrackHistory(kid, np.arange(scans.start, scans.stop), np.asarray(pos, float), np.zeros((len(scans), 3)),
                        np.array(status, np.int8), ["drone"] * len(scans))


def approach_run() -> RunRecord:
    """12 scans: drone T1 flies into the asset, bird T2 loiters, aircraft T3 is never seen; K3 is false."""
    k = np.arange(12)
    t1 = np.stack([-550.0 + 50 * k, 0 * k, 10.0 + 0 * k], axis=1)  # within 40 m of the asset at scan 11 only
    t2 = np.stack([500.0 + 0 * k, 500.0 + 5 * k, 50.0 + 0 * k], axis=1)
    truths = {
        "T1": truth("T1", "drone", range(12), t1, detected=[False, False] + [True] * 10),
        "T2": truth("T2", "bird", range(12), t2),
        "T3": truth("T3", "aircraft", range(6), np.full((6, 3), 3000.0), detected=[False] * 6, covered=False),
    }
    tracks = {
        "K1": track("K1", range(2, 12), t1[2:] + np.array([3.0, 4.0, 0.0]), [0, 0, 1, 1, 1, 1, 1, 1, 2, 1]),
        "K2": track("K2", range(12), t2 + np.array([3.0, 0.0, 4.0]), [1] * 12),
        "K3": track("K3", range(5, 8), np.full((3, 3), -2000.0), [1, 1, 1]),
    }
    events = [
        ZoneViolation(T0 + 7, "K3", "z1", "drone", None, None, (-2000.0, -2000.0, -2000.0)),
        ZoneViolation(T0 + 3, "K1", "z1", "drone", "hq", 9.0, (-400.0, 0.0, 10.0)),  # K1 still tentative
        ZoneViolation(T0 + 6, "K1", "z1", "drone", "hq", 5.0, (-250.0, 0.0, 10.0)),
    ]
    return RunRecord("approach", 3, SITE, T0 + k.astype(float), truths, tracks, events)


def swap_run() -> RunRecord:
    """Two parallel truths; tracks KA and KB exchange them half-way through."""
    k = np.arange(12)
    a = np.stack([100.0 * k, 0 * k, 50.0 + 0 * k], axis=1)
    b = a + np.array([0.0, 300.0, 0.0])
    ka = np.where(k[:, None] < 6, a, b) + 2.0
    kb = np.where(k[:, None] < 6, b, a) - 2.0
    truths = {"T1": truth("T1", "drone", range(12), a), "T2": truth("T2", "drone", range(12), b)}
    tracks = {"KA": track("KA", range(12), ka, [1] * 12), "KB": track("KB", range(12), kb, [1] * 12)}
    return RunRecord("swap", 1, SITE, T0 + k.astype(float), truths, tracks, [])


def test_summary_contract_keys_types_and_nulls() -> None:
    s = summarize(approach_run())
    assert json.loads(json.dumps(s)) == s
    assert list(s) == ["scenario", "seed", "scans", "gospa_mean_m", "per_truth", "alerts"]
    assert (s["scenario"], s["seed"], s["scans"]) == ("approach", 3, 12)
    assert isinstance(s["gospa_mean_m"], float)
    keys = ["truth_id", "kind", "first_detected_t", "confirmed_t", "alert_t", "reached_asset_t", "track_ids"]
    for row in s["per_truth"]:
        assert list(row) == keys
        assert all(row[k] is None or type(row[k]) is float for k in keys[2:6])
    for row in s["alerts"]:
        assert list(row) == ["t", "track_id", "truth_id", "zone", "asset", "time_to_asset_s"]
        assert type(row["t"]) is float


def test_summary_values_on_the_approach_run() -> None:
    s = summarize(approach_run())
    t1, t2, t3 = s["per_truth"]
    assert t1 == {"truth_id": "T1", "kind": "drone", "first_detected_t": T0 + 2, "confirmed_t": T0 + 4,
                  "alert_t": T0 + 6, "reached_asset_t": T0 + 11, "track_ids": ["K1"]}
    assert t2 == {"truth_id": "T2", "kind": "bird", "first_detected_t": T0, "confirmed_t": T0, "alert_t": None,
                  "reached_asset_t": None, "track_ids": ["K2"]}
    assert t3 == {"truth_id": "T3", "kind": "aircraft", "first_detected_t": None, "confirmed_t": None,
                  "alert_t": None, "reached_asset_t": None, "track_ids": []}
    # alerts in time order; the alert on a tentative track and the one on a false track have no truth
    assert [(a["t"], a["track_id"], a["truth_id"]) for a in s["alerts"]] == [
        (T0 + 3, "K1", None), (T0 + 6, "K1", "T1"), (T0 + 7, "K3", None)]
    assert s["alerts"][1] == {"t": T0 + 6, "track_id": "K1", "truth_id": "T1", "zone": "z1", "asset": "hq",
                              "time_to_asset_s": 5.0}
    # scans 0-3: T1 missed + T2 at 5 m; 4 and 8-11: both at 5 m; 5-7: plus the false K3
    expected = (4 * math.sqrt(HALF + 25) + 5 * math.sqrt(50) + 3 * math.sqrt(50 + HALF)) / 12
    assert s["gospa_mean_m"] == pytest.approx(expected)


def test_assignment_keeps_only_confirmed_or_coasting_tracks_within_c() -> None:
    a = assign(approach_run())
    assert a.by_scan[3] == {"K2": "T2"}  # K1 tentative
    assert a.by_scan[10] == {"K1": "T1", "K2": "T2"}  # K1 coasting still counts
    assert a.error_m[10]["K1"] == pytest.approx(5.0)
    assert assign(approach_run(), gate_m=4.0).by_scan[10] == {}  # 5 m errors are beyond a 4 m gate


def test_detection_to_alert_from_record_or_summary() -> None:
    run = approach_run()
    expected = {"T1": 4.0, "T2": None, "T3": None}
    assert detection_to_alert_s(run) == expected
    assert detection_to_alert_s(summarize(run)) == expected


def test_track_swaps_finds_the_exchange() -> None:
    assert track_swaps(swap_run()) == {"KA": ["T1", "T2"], "KB": ["T2", "T1"]}
    assert track_swaps(approach_run()) == {}


def test_held_by_one_track() -> None:
    run = approach_run()
    ok = held_by_one_track(run, "T1", T0 + 4, T0 + 11)
    assert ok.held and ok.track_ids == ["K1"] and ok.gaps == [] and ok.scans == 8
    gap = held_by_one_track(run, "T1", T0, T0 + 11)  # K1 is tentative until scan 4
    assert not gap.held and gap.track_ids == ["K1"] and gap.gaps == [(T0, T0 + 3)]
    swapped = held_by_one_track(swap_run(), "T1", T0, T0 + 11)
    assert not swapped.held and swapped.track_ids == ["KA", "KB"] and swapped.gaps == []
    assert not held_by_one_track(run, "T1", T0 + 100, T0 + 200).held  # empty window
    with pytest.raises(KeyError, match="T9"):
        held_by_one_track(run, "T9", T0, T0 + 1)


def test_empty_run_summary() -> None:
    s = summarize(RunRecord("empty", 0, SITE, T0 + np.arange(5.0)))
    assert s == {"scenario": "empty", "seed": 0, "scans": 5, "gospa_mean_m": 0.0, "per_truth": [], "alerts": []}


def test_helpers() -> None:
    times = T0 + np.arange(4.0)
    assert [scan_index(times, t) for t in (T0 - 5, T0, T0 + 1.5, T0 + 2.5, T0 + 2.9999995, T0 + 9)] == [0, 0, 1, 2, 3, 3]
    assert asset_distances_m(SITE, [[30.0, 40.0, 0.0]])[0, 0] == pytest.approx(50.0, abs=1e-6)


def test_an_alert_belongs_to_the_nearest_object_when_the_pairing_kept_its_object_on_another_track() -> None:
    from skywarden.events import ZoneViolation
    from skywarden.metrics import alert_truth_of, assign

    # drone D is held from scan 0 by T1 (200 m off, within the 300 m gate: the pair is kept);
    # T2 appears on D at scan 2 and alerts: the alert is D's, not no one's
    n = 6
    d_pos = np.zeros((n, 3))
    rec = RunRecord("t", 0, None, np.arange(n, dtype=float))  # type: ignore[arg-type]
    rec.truths["D"] = TruthHistory("D", "drone", np.arange(n), d_pos, np.zeros((n, 3)), np.ones(n, bool), np.ones(n, bool))
    rec.tracks["T1"] = TrackHistory("T1", np.arange(n), d_pos + np.array([200.0, 0, 0]), np.zeros((n, 3)), np.ones(n, np.int8),
                                    ["vehicle"] * n)
    rec.tracks["T2"] = TrackHistory("T2", np.arange(2, n), d_pos[2:] + np.array([5.0, 0, 0]), np.zeros((n - 2, 3)),
                                    np.ones(n - 2, np.int8), ["drone"] * (n - 2))
    a = assign(rec)
    assert a.truth_of(3, "T1") == "D" and a.truth_of(3, "T2") is None
    alert = ZoneViolation(t=3.0, track_id="T2", zone_id="z", classification="drone", asset_id=None,
                          time_to_asset_s=None, position_enu_m=(5.0, 0.0, 0.0))
    assert alert_truth_of(rec, a, alert) == "D"
    far = ZoneViolation(t=3.0, track_id="T2", zone_id="z", classification="drone", asset_id=None,
                        time_to_asset_s=None, position_enu_m=(900.0, 0.0, 0.0))
    assert alert_truth_of(rec, a, far) is None
