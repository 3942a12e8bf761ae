"""`skywarden simulate` → `skywarden track` as a user chains them: real processes, real files."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from conftest import sw


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """crossing-drones simulated once into plots.jsonl and truth.jsonl."""
    cwd = tmp_path_factory.mktemp("chain")
    res = sw("simulate", "crossing-drones", "--plots-out", "plots.jsonl", "--truth-out", "truth.jsonl", "--seed", "7",
             cwd=cwd)
    assert res.returncode == 0, res.stderr
    return cwd


def test_simulate_then_track_follows_both_drones(recorded: Path) -> None:
    res = sw("track", "plots.jsonl", "--out", "tracks.jsonl", "--stats", cwd=recorded)
    assert res.returncode == 0, res.stderr
    plots, truth, tracks = (read(recorded / f"{name}.jsonl") for name in ("plots", "truth", "tracks"))
    assert len(plots) == len(truth) == len(tracks) == 300
    assert [p["t"] for p in plots] == [t["t"] for t in truth] == [t["t"] for t in tracks]
    assert plots[0]["frame"] == "polar" and len(plots[0]["sigma"]) == 3
    assert {o["id"] for o in truth[0]["truth"]} == {"drone-a", "drone-b"}
    held_by = []
    for drone in ("drone-a", "drone-b"):
        ids, errors = [], []
        for snap, out in zip(truth[20:], tracks[20:], strict=True):
            pos = np.array(next(o["position_enu_m"] for o in snap["truth"] if o["id"] == drone))
            confirmed = [t for t in out["tracks"] if t["status"] != "tentative"]
            dist = [float(np.linalg.norm(np.array(t["position_enu_m"]) - pos)) for t in confirmed]
            if dist:
                ids.append(confirmed[int(np.argmin(dist))]["id"])
                errors.append(min(dist))
        assert len(errors) == 280 and np.percentile(errors, 95) < 50.0, drone
        track_id, count = Counter(ids).most_common(1)[0]
        assert count >= 0.9 * len(ids), (drone, Counter(ids))  # one track holds the drone through the crossing
        held_by.append(track_id)
    assert held_by[0] != held_by[1]
    for figure in ("scans", "300", "plots", "tracks created", "tracks confirmed", "ms per scan p50",
                   "ms per scan p99", "plots per s"):
        assert figure in res.stdout, figure


def test_garbage_lines_are_reported_by_number_and_the_run_goes_on(recorded: Path) -> None:
    lines = (recorded / "plots.jsonl").read_text().splitlines()[:40]
    bad = json.loads(lines[10])
    bad["plots"] = [row[:2] for row in bad["plots"]]
    lines.insert(5, "this is not json")                                               # line 6
    lines.insert(12, json.dumps(bad))                                                 # line 13
    nan = json.loads(lines[20])
    nan["plots"][0][1] = float("nan")
    lines.insert(20, json.dumps(nan))                                                 # line 21
    lines.insert(30, lines[2])                                                        # line 31: back in time
    lines.insert(35, lines[36].replace('"t":', '"t":1' + "0" * 400 + ',"x":', 1))    # line 36: a 401-digit number
    lines.insert(37, "[" * 100_000 + "]" * 100_000)                                   # line 38: nested deeply
    (recorded / "dirty.jsonl").write_text("\n".join(lines) + "\n")
    res = sw("track", "dirty.jsonl", "--out", "dirty-tracks.jsonl", "--stats", cwd=recorded)
    assert res.returncode == 1 and "6 of 46 lines rejected" in res.stderr, res.stderr  # the rest was tracked
    reports = [line for line in res.stderr.splitlines() if "rejected:" in line and "line " in line]
    numbers = [int(line.split("line ")[1].split()[0]) for line in reports]
    assert numbers == [6, 13, 21, 31, 36, 38], res.stderr
    assert "not JSON" in reports[0] and "expected 3 components, got 2" in reports[1]
    assert "plots[0][1]: expected a finite number, got NaN" in reports[2]
    assert "before the track states" in reports[3]
    assert "t: expected a finite number" in reports[4] and "nested 100000 levels deep" in reports[5]
    assert len(read(recorded / "dirty-tracks.jsonl")) == 40
    assert "rejected lines" in res.stdout and "Traceback" not in res.stderr


def test_streams_through_pipes_and_refuses_bad_inputs_cleanly(recorded: Path) -> None:
    head = "".join((recorded / "plots.jsonl").read_text().splitlines(keepends=True)[:5])
    res = sw("track", "-", "--out", "-", "--confirm", "2/3", "--max-misses", "3", "--param", "gate_probability=0.999",
             cwd=recorded, stdin=head)
    assert res.returncode == 0, res.stderr
    assert [json.loads(line)["t"] for line in res.stdout.splitlines()] == [json.loads(h)["t"] for h in head.splitlines()]
    res = sw("track", "missing.jsonl", "--out", "x.jsonl", cwd=recorded)
    assert res.returncode == 2 and "cannot read missing.jsonl" in res.stderr and "Traceback" not in res.stderr
    res = sw("track", "plots.jsonl", "--param", "no_such=1", cwd=recorded)
    assert res.returncode == 2 and "unknown tracker parameter 'no_such'" in res.stderr
    res = sw("track", "plots.jsonl", "--confirm", "5/4", cwd=recorded)
    assert res.returncode == 2 and "confirm_m <= confirm_n" in res.stderr
    res = sw("simulate", "no-such-scenario", "--plots-out", "p.jsonl", cwd=recorded)
    assert res.returncode == 2 and "no-such-scenario" in res.stderr
    res = sw("track", "--list-params", cwd=recorded)
    assert res.returncode == 0 and "gate_probability" in res.stdout


def test_a_generated_polar_scenario_chains_too(tmp_path: Path) -> None:
    res = sw("simulate", "--generate", "--targets", "20", "--duration", "15", "--frame", "polar", "--seed", "3",
             "--plots-out", "g.jsonl", "--truth-out", "gt.jsonl", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    res = sw("track", "g.jsonl", "--out", "gtr.jsonl", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    plots, truth, tracks = (read(tmp_path / name) for name in ("g.jsonl", "gt.jsonl", "gtr.jsonl"))
    assert len(plots) == len(truth) == len(tracks) == 15 and plots[0]["frame"] == "polar"
    assert len(truth[-1]["truth"]) == 20
    confirmed = [t for t in tracks[-1]["tracks"] if t["status"] == "confirmed"]
    targets = np.array([o["position_enu_m"] for o in truth[-1]["truth"]])
    nearest = [np.linalg.norm(targets - np.array(t["position_enu_m"]), axis=1).min() for t in confirmed]
    assert len(confirmed) >= 18 and np.median(nearest) < 30.0
