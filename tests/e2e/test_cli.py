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


def test_a_broken_site_is_refused_by_name_from_the_command_line(tmp_path: Path) -> None:
    """The site a scenario names, broken each way an attacker or a typo might: exit 2, the file, the field and the
    reason, and never a traceback."""
    import json

    from skywarden.config import load_site

    builtin = Path(load_site.__code__.co_filename).parent / "sites" / "kremlin"
    site_toml = (builtin / "site.toml").read_text()
    zones = json.loads((builtin / "zones.geojson").read_text())
    square = [[37.60, 55.74], [37.63, 55.74], [37.63, 55.76], [37.60, 55.76], [37.60, 55.74]]
    bowtie = [[37.60, 55.74], [37.63, 55.76], [37.63, 55.74], [37.60, 55.76], [37.60, 55.74]]

    def feature(coordinates: object) -> dict[str, object]:
        return {"type": "Feature", "properties": {"id": "z1", "kind": "no-fly"},
                "geometry": {"type": "Polygon", "coordinates": coordinates}}

    cases: dict[str, tuple[bytes | None, object, str]] = {
        "latin1": (("# caf\xe9\n" + site_toml).encode("latin-1"), zones, "UTF-8"),
        "notlist": (None, {"type": "FeatureCollection", "features": {"a": 1}}, "features"),
        "flat": (None, {"type": "FeatureCollection", "features": [feature([37.6, 55.74, 37.63, 55.74])]},
                 "coordinates"),
        "props": (None, {"type": "FeatureCollection", "features": [{**feature([square]), "properties": [1]}]},
                  "properties"),
        "bowtie": (None, {"type": "FeatureCollection", "features": [feature([bowtie])]}, "Self-intersection"),
        "folder": (None, "folder", "zones"),
    }
    for name, (toml_bytes, geojson, reason) in cases.items():
        site_dir = tmp_path / name
        site_dir.mkdir()
        (site_dir / "site.toml").write_bytes(toml_bytes if toml_bytes is not None else site_toml.encode())
        if geojson == "folder":
            (site_dir / "zones.geojson").mkdir()
        else:
            (site_dir / "zones.geojson").write_text(json.dumps(geojson))
        (tmp_path / f"{name}.toml").write_text(f'description = "broken"\nsite = "{name}/site.toml"\n'
                                               'start = "2023-05-02T23:00:00Z"\nduration_s = 10\n')
        res = sw("replay", f"{name}.toml", "--out", f"out-{name}", cwd=tmp_path)
        assert res.returncode == 2 and reason in res.stderr and "Traceback" not in res.stderr, (name, res.stderr)
