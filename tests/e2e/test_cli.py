"""The command line as a user runs it: real processes, real files."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import sw


def test_scenarios_lists_the_builtins(tmp_path: Path) -> None:
    res = sw("scenarios", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    for name in ("kremlin-2023-05-03", "crossing-drones", "birds-only", "quadcopter-raid"):
        assert name in res.stdout


def test_replay_writes_events_summary_and_report(tmp_path: Path) -> None:
    res = sw("replay", "crossing-drones", "--seed", "7", "--out", "run", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "INTRUSION" in res.stdout and "report:" in res.stdout
    out = tmp_path / "run"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"] == "crossing-drones" and summary["seed"] == 7
    assert set(summary) == {"scenario", "seed", "scans", "gospa_mean_m", "per_truth", "alerts"}
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    assert {"TrackConfirmed", "ZoneViolation"} <= {e["kind"] for e in events}
    assert len([e for e in events if e["kind"] == "ZoneViolation"]) == len(summary["alerts"])
    html = (out / "report.html").read_text()
    assert html.lstrip().lower().startswith("<!doctype html")


def test_replay_is_deterministic(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert sw("replay", "crossing-drones", "--out", name, cwd=tmp_path).returncode == 0
    assert (tmp_path / "a/events.jsonl").read_bytes() == (tmp_path / "b/events.jsonl").read_bytes()
    assert (tmp_path / "a/summary.json").read_bytes() == (tmp_path / "b/summary.json").read_bytes()


def test_bad_scenarios_get_clear_errors(tmp_path: Path) -> None:
    res = sw("replay", "no-such-scenario", cwd=tmp_path)
    assert res.returncode == 2 and "no-such-scenario" in res.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\nsite = "kremlin"\nstart = "2023-05-02T23:00:00Z"\nduration_s = -10\n')
    res = sw("replay", str(bad), cwd=tmp_path)
    assert res.returncode == 2 and "duration_s" in res.stderr and "-10" in res.stderr
    assert "Traceback" not in res.stderr


def test_bad_options_and_unwritable_output_are_refused_cleanly(tmp_path: Path) -> None:
    res = sw("replay", "crossing-drones", "--seed", "-5", cwd=tmp_path)
    assert res.returncode == 2 and "--seed" in res.stderr
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    res = sw("replay", "crossing-drones", "--out", str(blocker / "run"), cwd=tmp_path)
    assert res.returncode == 2 and "cannot write the results" in res.stderr and "Traceback" not in res.stderr
