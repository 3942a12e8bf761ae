"""Recorded plot lines: exact round trips, and a named reason for every way a line can be wrong."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from skywarden.sensors import Plots
from skywarden.sensors.jsonl import (
    DB_MAX,
    DISTANCE_MAX_M,
    MD_RATE_MAX_HZ,
    PLOT_LIMITS,
    SPEED_MAX_MPS,
    T_MAX_S,
    SensorDecodeError,
    decode_input,
    decode_plots,
    encode_plots,
    encode_tracks,
)
from skywarden.tracking import Status, Tracker


def within(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(min_value=lo, max_value=hi, allow_nan=False)


def components(limits: tuple[tuple[float, float], ...]) -> st.SearchStrategy[list[float]]:
    return st.tuples(*(within(lo, hi) for lo, hi in limits)).map(list)


@st.composite
def plots(draw: st.DrawFn) -> Plots:
    frame, k = draw(st.sampled_from([("enu", 3), ("polar", 3), ("polar", 4)]))
    n = draw(st.integers(0, 6))
    plot_limits, sigma_limits = (limits[:k] for limits in PLOT_LIMITS[frame])
    rows = draw(st.lists(components(plot_limits), min_size=n, max_size=n))

    def per_plot(lo: float, hi: float) -> st.SearchStrategy[list[float]]:
        return st.one_of(st.just([]), st.lists(st.one_of(within(lo, hi), st.just(math.nan)), min_size=n, max_size=n))

    return Plots(
        sensor_id=draw(st.text(min_size=1, max_size=8)), t=draw(within(-T_MAX_S, T_MAX_S)),
        sensor_enu_m=np.array(draw(components(((-DISTANCE_MAX_M, DISTANCE_MAX_M),) * 3))),
        z=np.array(rows, float).reshape(n, k), sigma=np.array(draw(components(sigma_limits))),
        snr_db=np.array(draw(per_plot(-DB_MAX, DB_MAX)), float),
        rcs_dbsm=np.array(draw(per_plot(-DB_MAX, DB_MAX)), float), frame=frame,
        md_spread_mps=np.array(draw(per_plot(0.0, SPEED_MAX_MPS)), float),
        md_rate_hz=np.array(draw(per_plot(0.0, MD_RATE_MAX_HZ)), float),
    )


@given(plots())
def test_plots_survive_a_round_trip_exactly(p: Plots) -> None:
    line = encode_plots(p)
    assert "\n" not in line
    q = decode_plots(line)
    assert (q.sensor_id, q.t, q.frame) == (p.sensor_id, p.t, p.frame)
    for name in ("sensor_enu_m", "z", "sigma", "snr_db", "rcs_dbsm", "md_spread_mps", "md_rate_hz"):
        a, b = getattr(p, name), getattr(q, name)
        assert a.shape == b.shape and np.array_equal(a, b, equal_nan=True), name
    assert encode_plots(q) == line


def test_the_documented_example_decodes() -> None:
    line = ('{"t": 12.0, "sensor": "r1", "sensor_enu_m": [0, 0, 10], "frame": "polar", "sigma": [5, 0.01, 0.02, 0.5],'
            ' "plots": [[1000, 1.5707963267948966, 0.1, -3.0]], "snr_db": [20.5], "rcs_dbsm": [null]}')
    p = decode_plots(line.encode())
    assert p.has_range_rate and p.z.shape == (1, 4) and p.t == 12.0
    assert p.snr_db.tolist() == [20.5] and np.isnan(p.rcs_dbsm).all()
    enu = decode_plots('{"t": 1, "sensor": "r1", "frame": "enu", "sigma": [3, 3, 5], "plots": []}')
    assert len(enu) == 0 and enu.sensor_enu_m.tolist() == [0, 0, 0]  # sensor_enu_m may be left out in enu


GOOD = {"t": 12.0, "sensor": "r1", "sensor_enu_m": [0, 0, 0], "frame": "enu", "sigma": [3, 3, 5],
        "plots": [[1, 2, 3], [4, 5, 6]]}


def _with(**changes: object) -> str:
    obj = {**GOOD, **changes}
    return json.dumps({k: v for k, v in obj.items() if v is not ...})


@pytest.mark.parametrize(("line", "reason"), [
    ("{not json", "not JSON"),
    (b"\xff\xfe", "not UTF-8"),
    ("[1, 2, 3]", "expected a JSON object, got an array"),
    (_with(t=...), "t: missing"),
    (_with(plots=...), "plots: missing"),
    (_with(t="12:00"), 't: expected a number, got a string "12:00"'),
    (_with(t=True), "t: expected a number, got a boolean"),
    ('{"t": NaN, "sensor": "r1", "frame": "enu", "sigma": [3, 3, 5], "plots": []}', "t: expected a finite number, got NaN"),
    (_with(sensor=""), "sensor: expected a non-empty string"),
    (_with(frame="ecef"), 'frame: expected "enu" or "polar", got "ecef"'),
    (_with(frame="polar", sensor_enu_m=...), "sensor_enu_m: missing"),
    (_with(sensor_enu_m=[0, 0]), "sensor_enu_m: expected 3 components, got 2"),
    (_with(sigma=[3, 3]), "sigma: expected 3 components, got 2: [3, 3]"),
    (_with(frame="polar", sigma=[1, 1, 1, 1, 1]), "sigma: expected 3 or 4 components, got 5"),
    (_with(sigma=[3, 0, 5]), "sigma[1]: expected a positive standard deviation, got 0.0"),
    (_with(sigma=[3, -1, 5]), "sigma[1]: expected a positive standard deviation, got -1.0"),
    (_with(sigma="3"), 'sigma: expected an array of numbers, got a string "3"'),
    (_with(plots={"a": 1}), "plots: expected an array of plots, got an object"),
    (_with(plots=[[1, 2, 3], [4, 5]]), "plots[1]: expected 3 components, got 2: [4, 5]"),
    (_with(plots=[[1, 2, 3, 4]]), "plots[0]: expected 3 components, got 4"),
    (_with(plots=[[1, "x", 3]]), 'plots[0][1]: expected a number, got a string "x"'),
    (_with(plots=[[1, True, 3]]), "plots[0][1]: expected a number, got a boolean"),
    (_with(plots=[5]), "plots[0]: expected an array of numbers, got a number 5"),
    ('{"t": 1, "sensor": "r1", "frame": "enu", "sigma": [3, 3, 5], "plots": [[1, NaN, 3]]}',
     "plots[0][1]: expected a finite number, got NaN"),
    ('{"t": 1, "sensor": "r1", "frame": "enu", "sigma": [3, 3, 5], "plots": [[1, 2, Infinity]]}',
     "plots[0][2]: expected a finite number, got Infinity"),
    (_with(snr_db=[1.0]), "snr_db: expected an array of 2 numbers or nulls"),
    (_with(rcs_dbsm=[1.0, "big"]), 'rcs_dbsm[1]: expected a number, got a string "big"'),
    (_with(md_spread_mps=[1.0, -1.5]), "md_spread_mps[1]: expected a non-negative number or null, got -1.5"),
    (_with(md_rate_hz=[-0.1, None]), "md_rate_hz[0]: expected a non-negative number or null, got -0.1"),
    (_with(md_rate_hz=[1.0]), "md_rate_hz: expected an array of 2 numbers or nulls (one per plot), got [1.0]"),
    (_with(md_spread_mps="3"), 'md_spread_mps: expected an array of 2 numbers or nulls (one per plot), got "3"'),
    (_with(md_rate_hz=[1.0, "fast"]), 'md_rate_hz[1]: expected a number, got a string "fast"'),
    (_with(md_spread_mps=[True, 2.0]), "md_spread_mps[0]: expected a number, got a boolean"),
    ('{"t": 1, "sensor": "r1", "frame": "enu", "sigma": [3, 3, 5], "plots": [[1, 2, 3]], "md_spread_mps": [Infinity]}',
     "md_spread_mps[0]: expected a finite number, got Infinity"),
    ('{"t": 1, "sensor": "r1", "frame": "enu", "sigma": [3, 3, 5], "plots": [[1, 2, 3]], "md_rate_hz": [NaN]}',
     "md_rate_hz[0]: expected a finite number, got NaN"),
])
def test_each_malformed_line_gets_its_reason(line: str | bytes, reason: str) -> None:
    with pytest.raises(SensorDecodeError) as info:
        decode_plots(line)
    assert reason in str(info.value)
    assert isinstance(info.value, ValueError)


def test_a_track_snapshot_is_one_line_with_status_names() -> None:
    tracker = Tracker()
    for t in range(4):  # one target at 10 m/s east: confirmed by M-of-N after a few scans
        tracker.step(Plots("r1", float(t), np.zeros(3), np.array([[10.0 * t, 500.0, 50.0]]), np.array([3.0, 3, 3]),
                           frame="enu"))
    obj = json.loads(encode_tracks(tracker.table))
    assert obj["t"] == 3.0 and len(obj["tracks"]) == len(tracker.table)
    track = obj["tracks"][0]
    assert set(track) == {"id", "status", "position_enu_m", "velocity_enu_mps"}
    assert track["id"] == str(tracker.table.id[0])
    assert track["status"] == Status(int(tracker.table.status[0])).name.lower() == "confirmed"
    assert np.allclose(track["position_enu_m"], [30, 500, 50], atol=3)
    assert np.allclose(track["velocity_enu_mps"][:2], [10, 0], atol=3)
    assert track["position_enu_m"] == tracker.table.x[0, :3].tolist()  # written exactly
    with pytest.raises(ValueError, match="NaN or infinite"):
        encode_tracks(Tracker().table)  # no scan yet: no time to write


def test_coverage_survives_a_round_trip_and_is_checked() -> None:
    from skywarden.sensors import Coverage

    for coverage in (Coverage(30.0, 5000.0, -0.1, 1.0), Coverage(min_elevation_rad=0.0)):
        p = Plots("r1", 1.0, np.zeros(3), np.zeros((0, 3)), np.array([5.0, 0.01, 0.01]), coverage=coverage)
        assert decode_plots(encode_plots(p)).coverage == coverage
    base = '{"t": 1, "sensor": "r1", "frame": "enu", "sigma": [5, 5, 5], "plots": [], "coverage": '
    with pytest.raises(SensorDecodeError, match="coverage: need 0 <= min_range_m < max_range_m"):
        decode_plots(base + '{"range_m": [500, 100]}}')
    with pytest.raises(SensorDecodeError, match=r"coverage: expected \{"):
        decode_plots(base + '{"azimuth": [0, 1]}}')
    with pytest.raises(SensorDecodeError, match=r"coverage.elevation_rad\[1\]"):
        decode_plots(base + '{"elevation_rad": [0, "up"]}}')


def test_micro_doppler_keys_are_optional_and_written_only_when_measured() -> None:
    line = ('{"t": 12.0, "sensor": "r1", "sensor_enu_m": [0, 0, 10], "frame": "polar", "sigma": [5, 0.01, 0.02],'
            ' "plots": [[1000, 1.5, 0.1], [2000, 2.5, 0.05]], "md_spread_mps": [88.5, null], "md_rate_hz": [null, 6.2]}')
    p = decode_plots(line)
    assert p.md_spread_mps[0] == 88.5 and np.isnan(p.md_spread_mps[1])
    assert np.isnan(p.md_rate_hz[0]) and p.md_rate_hz[1] == 6.2
    obj = json.loads(encode_plots(p))
    assert obj["md_spread_mps"] == [88.5, None] and obj["md_rate_hz"] == [None, 6.2]
    bare = Plots("r1", 1.0, np.zeros(3), np.array([[1.0, 2.0, 3.0]]), np.array([3.0, 3, 3]), frame="enu")
    assert np.isnan(bare.md_spread_mps).all() and np.isnan(bare.md_rate_hz).all()
    assert "md_spread_mps" not in encode_plots(bare) and "md_rate_hz" not in encode_plots(bare)


@pytest.mark.parametrize(("name", "values", "reason"), [
    ("md_spread_mps", [1.0, -2.0], r"Plots.md_spread_mps\[1\] must be a finite non-negative number or NaN \(got -2.0\)"),
    ("md_rate_hz", [math.inf, 1.0], r"Plots.md_rate_hz\[0\] must be a finite non-negative number or NaN \(got inf\)"),
    ("md_rate_hz", [1.0], r"Plots.md_rate_hz has shape \(1,\), expected \(2,\)"),
])
def test_plots_refuse_bad_micro_doppler(name: str, values: list[float], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        Plots("r1", 1.0, np.zeros(3), np.ones((2, 3)), np.array([3.0, 3, 3]), frame="enu", **{name: np.array(values)})


COOP = {"t": 12.0, "uas_id": "RID-1", "position_enu_m": [1.0, 2.0, 3.0], "velocity_enu_mps": [0.0, 1.0, 0.0]}
HUGE = 10**400  # a 401-digit integer: valid JSON, but no float holds it


@pytest.mark.parametrize(("line", "reason"), [
    (_with(t=HUGE), "t: expected a finite number, got 1000000"),
    (_with(plots=[[1, HUGE, 3]]), "plots[0][1]: expected a finite number, got 1000000"),
    (_with(sigma=[3, -HUGE, 5]), "sigma[1]: expected a finite number, got -1000000"),
    (_with(snr_db=[1.0, HUGE]), "snr_db[1]: expected a finite number"),
    (json.dumps({**COOP, "position_enu_m": [0, HUGE, 0]}), "position_enu_m[1]: expected a finite number"),
    ('{"t": ' + "7" * 5000 + "}", "line is not JSON: an integer has more than 4300 digits"),
    ("[" * 100_000, "line is nested 100000 levels deep (at most 32 arrays and objects)"),
    (_with(plots=json.loads("[" * 40 + "]" * 40)), "line is nested 41 levels deep"),
    ('{"t": 1, "sensor": "\\ud800"}', "line is not JSON: a string holds an unpaired surrogate"),
    ('{"t": 1, "sensor": "r1', "line is not JSON: Unterminated string starting at column 20"),
])
def test_huge_numbers_deep_nesting_and_broken_text_are_refused_by_name(line: str, reason: str) -> None:
    with pytest.raises(SensorDecodeError) as info:
        decode_input(line.encode())
    assert reason in str(info.value)


@pytest.mark.parametrize(("change", "reason"), [
    ({"t": 1e12}, "t: expected a number from -1e+11 to 1e+11, got 1000000000000.0"),
    ({"sensor_enu_m": [0, 0, 1e9]}, "sensor_enu_m[2]: expected a number from -1e+08 to 1e+08"),
    ({"sigma": [5, 0.01, 5.0]}, "sigma[2]: expected a number from 1e-06 to 0.5, got 5.0"),
    ({"sigma": [1e-300, 0.01, 0.01]}, "sigma[0]: expected a number from 0.001 to 1e+06"),
    ({"plots": [[1000, 1.0, 0.1], [-5, 1.0, 0.1]]}, "plots[1][0]: expected a number from 0 to 1e+08, got -5.0"),
    ({"plots": [[1000, 1e300, 0.1]]}, "plots[0][1]: expected a number from -6.28319 to 6.28319"),
    ({"rcs_dbsm": [1e10]}, "rcs_dbsm[0]: expected a number from -300 to 300"),
])
def test_values_no_sensor_measures_are_refused_by_name(change: dict, reason: str) -> None:
    """Finite but absurd values (an angle error of 5 rad, a range of -5 m) would break the tracker's arithmetic."""
    line = {"t": 12.0, "sensor": "r1", "sensor_enu_m": [0, 0, 10], "frame": "polar", "sigma": [5, 0.01, 0.02],
            "plots": [[1000, 1.5, 0.1]], **change}
    with pytest.raises(SensorDecodeError) as info:
        decode_plots(json.dumps(line))
    assert reason in str(info.value)
    with pytest.raises(SensorDecodeError, match=r"velocity_enu_mps\[0\]: expected a number from -100000"):
        decode_input(json.dumps({**COOP, "velocity_enu_mps": [1e6, 0, 0]}))


def test_the_refusal_of_deep_nesting_does_not_depend_on_the_stack() -> None:
    """A live run and its re-run (at another stack depth) must refuse a line for the same reason."""
    line = "[" * 900 + "]" * 900

    def nested_call(depth: int) -> str:
        if depth:
            return nested_call(depth - 1)
        with pytest.raises(SensorDecodeError) as info:
            decode_input(line)
        return str(info.value)

    assert nested_call(0) == nested_call(400) == "line is nested 900 levels deep (at most 32 arrays and objects)"


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.sampled_from([HUGE, -HUGE, 2**64]) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
KEYS = ("t", "sensor", "sensor_enu_m", "frame", "sigma", "plots", "snr_db", "rcs_dbsm", "md_spread_mps",
        "md_rate_hz", "coverage", "uas_id", "source", "position_enu_m", "velocity_enu_mps")


@given(st.binary(max_size=300))
def test_any_bytes_give_a_scan_a_report_or_a_sensor_decode_error(data: bytes) -> None:
    try:
        decode_input(data)
    except SensorDecodeError as exc:
        assert str(exc)


@given(st.dictionaries(st.sampled_from(KEYS), json_values, max_size=8), st.sampled_from(["enu", "polar"]))
def test_any_json_object_gives_a_scan_a_report_or_a_sensor_decode_error(obj: dict, frame: str) -> None:
    """Objects with the real keys and any values (huge integers, NaN, nested arrays): the decoder's own error."""
    for line in (json.dumps(obj), json.dumps({**GOOD, "frame": frame, **obj}), json.dumps({**COOP, **obj})):
        try:
            decoded = decode_input(line)
        except SensorDecodeError as exc:
            assert str(exc)
        else:
            assert isinstance(decoded, Plots) or decoded.uas_id
