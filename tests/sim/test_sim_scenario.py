"""Scenario files: the built-ins load; a wrong file, whatever its bytes, names the file, the field and the value."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skywarden.config import ConfigError
from skywarden.sim.scenario import SITES_DIR, WaypointMotion, builtin_scenarios, load_scenario

GOOD = """
description = "a test scenario"
site = "kremlin"
start = "2023-05-02T23:22:00Z"
duration_s = 120.0
seed = 3

[[targets]]
id = "d1"
kind = "drone"
airframe = "multirotor"
rcs_m2 = 0.05
start_s = 10.0
[targets.motion]
type = "waypoints"
speed_mps = 12.0
waypoints = [
  { lat_deg = 55.7480, lon_deg = 37.6100, alt_m = 80.0 },
  { enu_m = [100.0, 50.0, 60.0] },
]

[[bird_groups]]
id = "b"
count = 2
centre = { enu_m = [0.0, 0.0, 0.0] }
radius_m = 300.0
alt_m = [20.0, 120.0]
speed_mps = [6.0, 12.0]
rcs_m2 = 0.01

[[traffic]]
id = "cars"
count = 40
kind = "mix"
road = "tverskaya"
directions = "both"
speed_mps = [8.0, 14.0]
rcs_m2 = [1.0, 10.0]
signals = [1]
signal_red_s = 30.0
"""


def _write(tmp_path: Path, text: str, name: str = "sc.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _error(tmp_path: Path, text: str) -> str:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    msg = str(info.value)
    assert str(path) in msg
    return msg


def test_builtin_scenarios_all_load_with_one_line_descriptions() -> None:
    names = builtin_scenarios()
    assert {"kremlin-2023-05-03", "crossing-drones", "birds-only", "quadcopter-raid"} <= set(names)
    for name, path in names.items():
        sc = load_scenario(name)
        assert sc.name == name and sc.path == path
        assert sc.description and "\n" not in sc.description
        assert sc.site.name == "Moscow Kremlin"
        assert sc.duration_s > 0


def test_kremlin_scenario_facts() -> None:
    sc = load_scenario("kremlin-2023-05-03")
    assert sc.start_utc == 1683069720.0  # 2023-05-02T23:22:00Z
    assert sc.duration_s == 1320.0
    targets = {t.id: t for t in sc.spec.targets}
    assert targets["fso-survey"].remote_id == "RU-FSO-0007"
    assert any(p.uas_id == "RU-FSO-0007" for p in sc.site.permits)
    assert {targets["drone-1"].airframe, targets["drone-2"].airframe} == {"fixed-wing"}
    assert sum(g.count for g in sc.spec.bird_groups) == 11
    assert {r.id for r in sc.spec.traffic} >= {"embankments", "tverskaya", "novy-arbat"}


def test_a_good_file_loads_and_points_convert(tmp_path: Path) -> None:
    sc = load_scenario(_write(tmp_path, GOOD))
    assert sc.name == "sc" and sc.seed == 3
    motion = sc.spec.targets[0].motion
    assert isinstance(motion, WaypointMotion)
    frame = sc.site.frame
    np.testing.assert_allclose(motion.waypoints[0].to_enu(frame), frame.to_enu(55.7480, 37.6100, 80.0))
    np.testing.assert_allclose(motion.waypoints[1].to_enu(frame), [100.0, 50.0, 60.0])
    assert sc.spec.bird_groups[0].bird_ids() == ["b-1", "b-2"]
    road = sc.spec.traffic[0].road  # the site's road, resolved to its points
    assert isinstance(road, list) and len(road) == 4 and road[0].lat_deg == pytest.approx(55.7572)
    assert sc.spec.traffic[0].vehicle_ids()[-1] == "cars-40"


def test_species_defaults_and_a_named_road_with_its_own_signals(tmp_path: Path) -> None:
    text = GOOD.replace("speed_mps = [6.0, 12.0]\nrcs_m2 = 0.01\n", "species = 'swift'\n").replace("signals = [1]\n", "")
    sc = load_scenario(_write(tmp_path, text))
    g = sc.spec.bird_groups[0]
    assert g.speed_mps is None and g.rcs_m2 is None and g.style is None and g.motion == "loiter"
    assert sc.spec.traffic[0].signals == [1, 2]  # tverskaya's lights, from roads.geojson


def test_site_may_be_a_path_relative_to_the_scenario(tmp_path: Path) -> None:
    rel = os.path.relpath(SITES_DIR / "kremlin", tmp_path)
    sc = load_scenario(_write(tmp_path, GOOD.replace('site = "kremlin"', f'site = "{rel}"')))
    assert sc.site_path == tmp_path / rel / "site.toml"
    sc = load_scenario(_write(tmp_path, GOOD.replace('site = "kremlin"', f'site = "{rel}/site.toml"')))
    assert sc.site.name == "Moscow Kremlin"


@pytest.mark.parametrize(("old", "new", "field", "value"), [
    ("speed_mps = 12.0", "speed_mps = -5.0", "targets.0.motion.waypoints.speed_mps", "-5.0"),
    ('kind = "drone"', 'kind = "helicopter"', "targets.0.kind", "'helicopter'"),
    ('site = "kremlin"\n', "", "site", "Field required"),
    ('site = "kremlin"', 'site = "atlantis"', "site", "'atlantis'"),
    ('start = "2023-05-02T23:22:00Z"', 'start = "2023-05-02T23:22:00"', "start", "no time zone"),
    ("rcs_m2 = 0.05", "rcs_m2 = 0.05\ncolour = 'red'", "targets.0.colour", "'red'"),
    ('type = "waypoints"', 'type = "teleport"', "targets.0.motion", "teleport"),
    ("alt_m = [20.0, 120.0]", "alt_m = [120.0, 20.0]", "bird_groups.0.alt_m", "[120.0, 20.0]"),
    ("count = 2", "count = 0", "bird_groups.0.count", "0"),
    ("start_s = 10.0", "start_s = 500.0", "targets.0.start_s", "500.0"),
    ("{ enu_m = [100.0, 50.0, 60.0] }", "{ enu_m = [100.0, 50.0, 60.0], lat_deg = 55.0 }",
     "targets.0.motion.waypoints.waypoints.1", "not both"),
    ("lon_deg = 37.6100", "lon_deg = 237.6", "targets.0.motion.waypoints.waypoints.0.lon_deg", "237.6"),
    ("60.0] },", "60.0], hold_s = -3.0 },", "targets.0.motion.waypoints.waypoints.1.hold_s", "-3.0"),
    ("count = 2", "count = 2\nspecies = 'eagle'", "bird_groups.0.species", "'eagle'"),
    ("count = 2", "count = 2\nstyle = 'hovering'", "bird_groups.0.style", "'hovering'"),
    ("count = 2", "count = 2\nmotion = 'transit'", "bird_groups.0", "heading_deg is needed"),
    ("count = 2", "count = 2\nheading_deg = 400.0", "bird_groups.0.heading_deg", "400.0"),
    ("count = 2", "count = 2\nspacing_m = 0.0", "bird_groups.0.spacing_m", "0.0"),
    ("count = 2", "count = 2\nstart_s = [50.0, 10.0]", "bird_groups.0.start_s", "[50.0, 10.0]"),
    ("count = 2", "count = 2\nstart_s = [50.0, 500.0]", "bird_groups.0.start_s", "[50.0, 500.0]"),
    ("speed_mps = [6.0, 12.0]", "speed_mps = [12.0, 6.0]", "bird_groups.0.speed_mps", "[12.0, 6.0]"),
    ("count = 40", "count = 0", "traffic.0.count", "0"),
    ('kind = "mix"', 'kind = "tram"', "traffic.0.kind", "'tram'"),
    ('road = "tverskaya"', 'road = "arbat"', "traffic.0.road", "'arbat'"),
    ('road = "tverskaya"', "road = [{ enu_m = [0.0, 0.0, 0.0] }]", "traffic.0.road", "at least 2 points"),
    ("speed_mps = [8.0, 14.0]", "speed_mps = [14.0, 8.0]", "traffic.0.speed_mps", "[14.0, 8.0]"),
    ("rcs_m2 = [1.0, 10.0]", "rcs_m2 = [-1.0, 10.0]", "traffic.0.rcs_m2", "-1.0"),
    ("signals = [1]", "signals = [3]", "traffic.0.signals.0", "3"),
    ("signal_red_s = 30.0", "signal_red_s = 120.0", "traffic.0", "signal_red_s (120.0)"),
    ('directions = "both"', 'directions = "sideways"', "traffic.0.directions", "'sideways'"),
])
def test_errors_name_the_field_and_the_value(tmp_path: Path, old: str, new: str, field: str, value: str) -> None:
    assert old in GOOD
    msg = _error(tmp_path, GOOD.replace(old, new, 1))
    assert field in msg, msg
    assert value in msg, msg


def test_duplicate_ids_are_named(tmp_path: Path) -> None:
    msg = _error(tmp_path, GOOD.replace('id = "b"', 'id = "d1"').replace('id = "d1"\nkind', 'id = "d1-1"\nkind'))
    assert "bird_groups.0.id" in msg and "'d1-1'" in msg and "twice" in msg


def test_missing_or_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_scenario(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="unknown scenario 'no-such-scenario'"):
        load_scenario("no-such-scenario")
    msg = _error(tmp_path, "description = 'x'\nsite = [")
    assert "not valid TOML" in msg


@pytest.mark.parametrize(("text", "reason"), [
    (GOOD.replace("seed = 3", "seed = 1" + "0" * 400), "seed: Input should be less than 9223372036854775808"),
    (GOOD.replace("seed = 3", "seed = " + "1" * 5000), "not valid TOML"),
    (GOOD.replace("duration_s = 120.0", "duration_s = nan"), "duration_s: Input should be a finite number"),
    (GOOD.replace("radius_m = 300.0", "radius_m = inf"), "bird_groups.0.radius_m: Input should be a finite number"),
    (GOOD.replace("alt_m = [20.0, 120.0]", "alt_m = " + "[" * 3000 + "]" * 3000), "nested too deeply"),
    (GOOD.replace("seed = 3", "seed = [[1, 2], [3]]"), "seed: Input should be a valid integer"),
    (GOOD.replace("signals = [1]", "signals = [1" + "0" * 400 + "]"), "traffic.0.signals.0: must index an interior"),
])
def test_huge_numbers_nan_and_deep_nesting_are_refused_by_name(tmp_path: Path, text: str, reason: str) -> None:
    assert reason in _error(tmp_path, text)


def test_unreadable_scenario_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"sc.toml: not UTF-8 text: invalid start byte at byte 1"):
        load_scenario(_write(tmp_path, "#\xff", "sc.toml").with_name("sc.toml").write_bytes(b"#\xff") and
                      tmp_path / "sc.toml")
    (tmp_path / "folder.toml").mkdir()
    with pytest.raises(ConfigError, match=r"folder.toml: file is a folder, not a file"):
        load_scenario(tmp_path / "folder.toml")


@pytest.mark.parametrize(("change", "reason"), [
    (lambda doc: doc["features"][5]["geometry"].update(coordinates=[[37.6, 55.7]]),
     "features.5.geometry.coordinates: List should have at least 2 items"),
    (lambda doc: doc["features"][5]["geometry"]["coordinates"][1].__setitem__(1, 95.0),
     "features.5.geometry: coordinates.1: expected [lon, lat] within ±180 and ±90 degrees (got [37.6094, 95.0])"),
    (lambda doc: doc["features"][5]["geometry"]["coordinates"][1].append(1.0),
     "features.5.geometry.coordinates.1: List should have at most 3 items"),
    (lambda doc: doc["features"][5]["properties"].update(signals="all"), "features.5.properties.signals"),
    (lambda doc: doc["features"].__setitem__(5, "tverskaya"), "features.5: Input should be a valid dictionary"),
    (lambda doc: doc.update(features={}), "features: Input should be a valid list"),
])
def test_a_broken_roads_file_is_refused_naming_the_feature(tmp_path: Path, change: object, reason: str) -> None:
    site = tmp_path / "site"
    shutil.copytree(SITES_DIR / "kremlin", site)
    doc = json.loads((site / "roads.geojson").read_text())
    assert doc["features"][5]["properties"]["id"] == "tverskaya"
    change(doc)  # type: ignore[operator]
    (site / "roads.geojson").write_text(json.dumps(doc))
    with pytest.raises(ConfigError) as info:
        load_scenario(_write(tmp_path, GOOD.replace('site = "kremlin"', 'site = "site"')))
    assert str(info.value).startswith(f"{site / 'roads.geojson'}: ") and reason in str(info.value), info.value


TOML_VALUES = st.one_of(
    st.sampled_from(["nan", "inf", "-inf", "1" + "0" * 400, "[]", "[[1], [2, [3]]]", "{}", "true", "''", "1979-05-27",
                     "2023-05-02T23:22:00+23:59", "0001-01-01T00:00:00-23:59", "9999-12-31T23:59:59Z", "'../../..'"]),
    st.integers().map(str), st.floats(allow_nan=False).map(repr).filter(lambda s: "e" not in s or "." in s),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\\'\n\r"), max_size=10).map(lambda s: f"'{s}'"),
)
GOOD_LINES = GOOD.splitlines(keepends=True)
VALUE_LINES = [i for i, line in enumerate(GOOD_LINES) if " = " in line]


@settings(deadline=None, max_examples=60)
@given(st.lists(st.tuples(st.sampled_from(VALUE_LINES), TOML_VALUES), min_size=1, max_size=3))
def test_any_value_anywhere_gives_a_scenario_or_a_config_error(tmp_path_factory: pytest.TempPathFactory,
                                                                changes: list[tuple[int, str]]) -> None:
    """Each changed line keeps its key and takes a value of any type: huge, NaN, nested, a date, a path."""
    lines = list(GOOD_LINES)
    for i, value in changes:
        lines[i] = lines[i].split(" = ")[0] + " = " + value + "\n"
    path = tmp_path_factory.mktemp("sc") / "sc.toml"
    path.write_text("".join(lines), encoding="utf-8")
    try:
        load_scenario(path)
    except ConfigError as exc:
        assert str(path) in str(exc)
