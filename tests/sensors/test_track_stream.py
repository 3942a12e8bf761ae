"""The streaming tracker: one output line per good scan, bad lines reported by number, bounded state."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Literal

import numpy as np
import pytest

from skywarden.sensors import Plots
from skywarden.sensors.jsonl import encode_plots
from skywarden.tracking import Tracker, TrackerParams
from skywarden.tracking.stream import (
    Reservoir,
    param_fields,
    parse_value,
    track_lines,
    tracker_params,
    type_name,
)


def scan(t: float, *positions: tuple[float, float, float]) -> str:
    return encode_plots(Plots("r1", t, np.zeros(3), np.array(positions, float).reshape(-1, 3), np.full(3, 3.0),
                              frame="enu"))


def two_targets(n: int) -> list[str]:
    return [scan(float(t), (10.0 * t, 0.0, 50.0), (0.0, 2000.0 - 8.0 * t, 80.0)) for t in range(n)]


def test_parameters_come_from_text_checked_against_the_dataclass() -> None:
    p = tracker_params({"confirm_m": "2", "confirm_n": "3", "gate_probability": "0.99",
                        "q_m2s3": "0.2, 20", "q_vertical_m2s3": "0.1,2"})
    assert (p.confirm_m, p.confirm_n, p.gate_probability) == (2, 3, 0.99)
    assert p.q_m2s3 == (0.2, 20.0) and p.q_vertical_m2s3 == (0.1, 2.0)
    assert tracker_params({}) == TrackerParams()
    assert set(param_fields()) == {f.name for f in dataclasses.fields(TrackerParams)}
    with pytest.raises(ValueError, match="unknown tracker parameter 'gate'"):
        tracker_params({"gate": "0.9"})
    with pytest.raises(ValueError, match="max_misses: expected int, got 'three'"):
        tracker_params({"max_misses": "three"})
    with pytest.raises(ValueError, match="confirm_m <= confirm_n"):  # the dataclass's own rules still apply
        tracker_params({"confirm_m": "5", "confirm_n": "4"})


def test_values_parse_by_field_type() -> None:
    assert parse_value("a", Literal["gnn", "jpda"], "jpda") == "jpda"
    with pytest.raises(ValueError, match="a: expected one of gnn, jpda, got 'hungarian'"):
        parse_value("a", Literal["gnn", "jpda"], "hungarian")
    assert parse_value("w", tuple[float, ...] | None, "none") is None
    assert parse_value("w", tuple[float, ...] | None, "0.1,-0.1") == (0.1, -0.1)
    assert parse_value("b", bool, "yes") is True and parse_value("b", bool, "off") is False
    with pytest.raises(ValueError, match="b: expected true or false"):
        parse_value("b", bool, "maybe")
    with pytest.raises(ValueError, match="cannot be set from the command line"):
        parse_value("d", dict[str, int], "{}")
    assert type_name(float) == "float" and type_name(tuple[float, ...] | None) == "tuple[float, ...] | None"


def test_the_reservoir_is_exact_when_small_and_bounded_when_large() -> None:
    small = Reservoir(size=100)
    for v in range(1, 51):
        small.add(float(v))
    assert small.quantile(0.5) == 25.5 and small.quantile(1.0) == 50.0
    big = Reservoir(size=1000)
    for v in np.random.default_rng(1).uniform(size=50_000):
        big.add(float(v))
    assert big.values.shape == (1000,) and big.seen == 50_000
    assert abs(big.quantile(0.5) - 0.5) < 0.05 and abs(big.quantile(0.99) - 0.99) < 0.02
    assert np.isnan(Reservoir(size=4).quantile(0.5))


def test_good_scans_give_one_line_each_and_bad_lines_are_skipped_by_number() -> None:
    lines = two_targets(12)
    lines.insert(3, "{oops")                     # line 4: not JSON
    lines.insert(6, "")                          # line 7: blank, skipped silently
    lines.insert(8, scan(1.0, (0.0, 0.0, 0.0)))  # line 9: older than the tracker state
    lines.append('{"t": 20, "sensor": "r1", "frame": "enu", "sigma": [3, 3, 5], "plots": [[1, NaN, 3]]}')
    written: list[str] = []
    rejected: list[tuple[int, str]] = []
    stats = track_lines(lines, written.append, Tracker(), lambda n, why: rejected.append((n, why)))
    assert [n for n, _ in rejected] == [4, 9, 16]
    assert "not JSON" in rejected[0][1] and "before the track states" in rejected[1][1] and "NaN" in rejected[2][1]
    assert len(written) == stats.scans == 12 and stats.lines == 16 and stats.rejected == 3
    assert all(w.endswith("\n") and w.count("\n") == 1 for w in written)
    last = json.loads(written[-1])
    assert last["t"] == 11.0
    confirmed = [tr for tr in last["tracks"] if tr["status"] == "confirmed"]
    assert len(confirmed) == 2 and stats.tracks_confirmed == 2 and stats.tracks_created >= 2
    assert stats.plots == 24
    summary = stats.summary()
    assert summary["scans"] == 12 and summary["ms_per_scan_p99"] >= summary["ms_per_scan_p50"] > 0
    assert summary["plots_per_s"] > 0


def test_each_line_is_written_before_the_next_is_read() -> None:
    written: list[str] = []

    def source() -> Iterator[bytes]:
        for i, line in enumerate(two_targets(6)):
            assert len(written) == i  # the stream never reads ahead nor holds back output
            yield line.encode() + b"\n"

    stats = track_lines(source(), written.append, Tracker())
    assert stats.scans == len(written) == 6
