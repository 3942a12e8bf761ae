"""Site configuration: the built-in site loads; wrong files and API bodies are refused naming field and value,
whatever their bytes; zones keep their holes."""

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skywarden.config import (
    SITE_ITEMS,
    ConfigError,
    Zone,
    load_site,
    parse_site,
    parse_site_item,
    parse_zones_geojson,
)

KREMLIN = Path(__file__).resolve().parents[1] / "src/skywarden/sites/kremlin/site.toml"

MINIMAL = """
name = "test"
timezone = "Europe/Berlin"
[reference]
lat_deg = 52.5
lon_deg = 13.4
"""


def write(tmp_path: Path, text: str, zones: dict | None = None) -> Path:
    p = tmp_path / "site.toml"
    p.write_text(text)
    if zones is not None:
        (tmp_path / "zones.geojson").write_text(json.dumps(zones))
    return p


def test_builtin_kremlin_site_loads() -> None:
    site = load_site(KREMLIN)
    assert site.timezone == "Europe/Moscow"
    assert [s.id for s in site.sensors] == ["kremlin-radar"]
    assert {"senate-dome", "ivan-bell-tower"} <= {a.id for a in site.assets}
    zones = {z.id: z for z in site.zones}
    assert zones["moscow-uas-ban"].kind == "no-fly" and zones["kremlin"].ceiling_m == 1000
    assert zones["red-square-evenings"].schedule
    assert site.permits[0].zone == "kremlin"
    assert len(site.digest()) == 64 and site.digest() == load_site(KREMLIN).digest()


def test_minimal_site_has_defaults(tmp_path: Path) -> None:
    site = load_site(write(tmp_path, MINIMAL))
    assert site.sensors == [] and site.zones == [] and site.reference.height_m == 0.0


@pytest.mark.parametrize(
    ("extra", "field", "value"),
    [
        ("[[sensors]]\nid='r'\nlat_deg=52.5\nlon_deg=13.4\nmax_range_m=-5\n", "sensors.0.max_range_m", "-5"),
        ("[[sensors]]\nid='r'\nlat_deg=95\nlon_deg=13.4\n", "sensors.0.lat_deg", "95"),
        ("[[assets]]\nid='a'\nlat_deg=52.5\nlon_deg=13.4\nradius_m=0\n", "assets.0.radius_m", "0"),
        ("[[sensors]]\nid='r'\nlat_deg=52.5\nlon_deg=13.4\nmin_range_m=900\nmax_range_m=800\n",
         "sensors.0", "900"),
        ("[[sensors]]\nid='r'\nlat_deg=52.5\nlon_deg=13.4\nbogus=1\n", "sensors.0.bogus", "1"),
        ("[[permits]]\nid='p'\nuas_id='X'\nstart=2023-05-02T18:00:00Z\nend=2023-05-02T17:00:00Z\n",
         "permits.0", "2023-05-02T17:00:00"),
        ("[[permits]]\nid='p'\nuas_id='X'\nstart=2023-05-02T18:00:00\nend=2023-05-02T19:00:00Z\n",
         "permits.0.start", "no time zone"),
        ("[[permits]]\nid='p'\nuas_id='X'\nzone='nowhere'\nstart=2023-05-02T18:00:00Z\nend=2023-05-02T19:00:00Z\n",
         "permit 'p' names zone", "nowhere"),
    ],
)
def test_wrong_values_are_named(tmp_path: Path, extra: str, field: str, value: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_site(write(tmp_path, MINIMAL + extra))
    msg = str(exc.value)
    assert "site.toml" in msg and field in msg and value in msg


@pytest.mark.parametrize("name", ["Mars/Olympus", "Europe", "a" * 300, "UTC\\u0000"])
def test_unknown_timezone(tmp_path: Path, name: str) -> None:
    """Including names that are folders of the time zone database, or too long to be a file name."""
    with pytest.raises(ConfigError, match=r"timezone: unknown time zone '"):
        load_site(write(tmp_path, MINIMAL.replace("Europe/Berlin", name)))


def test_duplicate_ids(tmp_path: Path) -> None:
    text = MINIMAL + "[[assets]]\nid='a'\nlat_deg=52.5\nlon_deg=13.4\n" * 2
    with pytest.raises(ConfigError, match=r"assets: id 'a' is used twice"):
        load_site(write(tmp_path, text))


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_site(tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_site(write(tmp_path, "name = \n"))
    with pytest.raises(ConfigError, match="zones file not found"):
        load_site(write(tmp_path, MINIMAL.replace('name = "test"', 'name = "test"\nzones_file = "zones.geojson"')))


def test_zone_errors_name_the_feature(tmp_path: Path) -> None:
    text = MINIMAL.replace('name = "test"', 'name = "test"\nzones_file = "zones.geojson"')
    square = [[13.4, 52.5], [13.41, 52.5], [13.41, 52.51], [13.4, 52.51], [13.4, 52.5]]
    bad_band = {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {
        "type": "Polygon", "coordinates": [square]}, "properties": {"id": "z", "floor_m": 300, "ceiling_m": 100}}]}
    with pytest.raises(ConfigError, match=r"zones\.geojson: features\.0: ceiling_m \(100.0\) must be above floor_m \(300.0\)"):
        load_site(write(tmp_path, text, bad_band))
    point = {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {
        "type": "Point", "coordinates": [13.4, 52.5]}, "properties": {"id": "z"}}]}
    with pytest.raises(ConfigError, match=r"features\.0\.geometry\.type: expected 'Polygon' \(got 'Point'\)"):
        load_site(write(tmp_path, text, point))
    bad_day = {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {
        "type": "Polygon", "coordinates": [square]}, "properties": {"id": "z", "schedule": [{"days": ["funday"]}]}}]}
    with pytest.raises(ConfigError, match=r"features\.0\.schedule\.0\.days\.0.*'funday'"):
        load_site(write(tmp_path, text, bad_day))


ZONES_SITE = MINIMAL.replace('name = "test"', 'name = "test"\nzones_file = "zones.geojson"')
SQUARE = [[13.4, 52.5], [13.41, 52.5], [13.41, 52.51], [13.4, 52.51], [13.4, 52.5]]
HOLE = [[13.403, 52.503], [13.407, 52.503], [13.407, 52.507], [13.403, 52.507], [13.403, 52.503]]


def feature(coordinates: object = None, **changes: object) -> dict:
    return {"type": "Feature", "properties": {"id": "z"},
            "geometry": {"type": "Polygon", "coordinates": [SQUARE] if coordinates is None else coordinates}, **changes}


def collection(*features: object, **changes: object) -> dict:
    return {"type": "FeatureCollection", "features": list(features), **changes}


@pytest.mark.parametrize(("doc", "reason"), [
    (collection(features={"a": 1}), "features: expected an array of Features (got {'a': 1})"),
    (collection(features=None), "features: expected an array of Features (got None)"),
    ([1, 2], "zones.geojson: expected an object (got [1, 2])"),
    (collection(type="Feature"), "zones.geojson: type: expected 'FeatureCollection' (got 'Feature')"),
    (collection(7), "features.0: expected an object (got 7)"),
    (collection(feature(geometry="Polygon")), "features.0.geometry: expected an object (got 'Polygon')"),
    (collection(feature(properties=[1])), "features.0.properties: expected an object (got [1])"),
    (collection(feature([[13.4, 52.5, 13.41, 52.5, 13.41, 52.51]])),
     "features.0.geometry.coordinates.0.0: expected a position [lon, lat] or [lon, lat, height] of finite numbers"),
    (collection(feature(SQUARE)), "features.0.geometry.coordinates.0.0: expected a position [lon, lat] or [lon, lat, "
                                  "height] of finite numbers (got 13.4)"),
    (collection(feature([5])), "features.0.geometry.coordinates.0: expected an array of [lon, lat] positions (got 5)"),
    (collection(feature([[["13.4", "52.5"], [13.41, 52.5], [13.41, 52.51]]])),
     "features.0.geometry.coordinates.0.0: expected a position [lon, lat] or [lon, lat, height] of finite numbers "
     "(got ['13.4', '52.5'])"),
    (collection(feature([[[13.4], [13.41, 52.5], [13.41, 52.51]]])), "coordinates.0.0: expected a position"),
    (collection(feature([[[True, 52.5], [13.41, 52.5], [13.41, 52.51]]])), "coordinates.0.0: expected a position"),
    (collection(feature([[[13.4, 52.5], [13.41, 52.5], [13.41, 10**400]]])), "coordinates.0.2: expected a position"),
    (collection(feature([])), "features.0.geometry.coordinates: expected an array of rings, the outer ring first"),
    (collection(feature(properties={"id": "z", "polygon": SQUARE})),
     "features.0.properties.polygon: the footprint comes from the geometry, not a property"),
    (collection(feature([[[200.0, 52.5], [13.41, 52.5], [13.41, 52.51]]])),
     "features.0.polygon.0.0: Input should be less than or equal to 180 (got 200.0)"),
    (collection(feature(properties={"id": "z", "name": ["x"] * 40})), "features.0.name: Input should be a valid string"),
])
def test_malformed_geojson_is_refused_naming_file_and_field(tmp_path: Path, doc: object, reason: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_site(write(tmp_path, ZONES_SITE, doc))  # type: ignore[arg-type]
    assert str(info.value).startswith(f"{tmp_path / 'zones.geojson'}: ") and reason in str(info.value)
    assert str(info.value).count("zones.geojson") == 1


@pytest.mark.parametrize(("text", "reason"), [
    ('{"type": "FeatureCollection", "features": [{"geometry": {"coordinates": [[[NaN, 1]]]}}]}', "expected 'Polygon'"),
    ('{"type": "FeatureCollection", "features": [' + json.dumps(feature([[[float("nan"), 52.5], [13.41, 52.5],
                                                                               [13.41, 52.51]]])) + "]}",
     "coordinates.0.0: expected a position [lon, lat] or [lon, lat, height] of finite numbers (got [nan, 52.5])"),
    ('{"type": "FeatureCollection", "features": [' + json.dumps(feature([[[13.4, float("inf")], [13.41, 52.5],
                                                                               [13.41, 52.51]]])) + "]}",
     "coordinates.0.0: expected a position"),
    ("[" * 50, "nested 50 levels deep"),
    ('{"type": "FeatureCollection", "features": [}', "not JSON: Expecting value at column 44"),
    ("\xff", "not UTF-8 text"),
])
def test_broken_geojson_text_is_refused(text: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=f"^zones.geojson: .*{re.escape(reason)}"):
        parse_zones_geojson(text.encode("latin-1"), "zones.geojson")


def test_files_that_cannot_be_read_are_refused(tmp_path: Path) -> None:
    (tmp_path / "zones.geojson").mkdir()
    with pytest.raises(ConfigError, match=r"zones.geojson: zones file is a folder, not a file"):
        load_site(write(tmp_path, ZONES_SITE))
    (tmp_path / "site.toml").write_bytes(MINIMAL.encode().replace(b'"test"', b'"t\xe9st"'))
    with pytest.raises(ConfigError, match=r"site.toml: not UTF-8 text: invalid continuation byte at byte 10"):
        load_site(tmp_path / "site.toml")
    with pytest.raises(ConfigError, match=r"zones.geojson: file is a folder, not a file"):
        load_site(tmp_path / "zones.geojson")
    for extra, reason in (('zones_file = "a\\u0000b"\n', "not a file name"),
                          ("zones_file = 'zones.geojson'\nzones = 5\n", "zones: expected an array of tables (got 5)"),
                          ("x = " + "[" * 2000 + "]" * 2000 + "\n", "nested too deeply"),
                          ("x = " + "1" * 5000 + "\n", "not valid TOML"),
                          ("[safety]\nmin_observation_s = nan\n", "safety.min_observation_s: Input should be a finite number")):
        with pytest.raises(ConfigError, match=re.escape(reason)):
            load_site(write(tmp_path, extra + MINIMAL))


def test_geojson_inner_rings_become_holes_and_toml_zones_take_holes_too(tmp_path: Path) -> None:
    site = load_site(write(tmp_path, ZONES_SITE, collection(feature([SQUARE, HOLE]))))
    assert site.zones[0].holes == [[tuple(p) for p in HOLE[:-1]]] and len(site.zones[0].polygon) == 4
    toml_zone = "[[zones]]\nid = 'z'\npolygon = " + json.dumps(SQUARE[:-1]) + "\nholes = [" + json.dumps(HOLE[:-1]) + "]\n"
    assert load_site(write(tmp_path, MINIMAL + toml_zone)).zones[0].holes == site.zones[0].holes


def test_an_invalid_zone_polygon_is_refused_with_shapelys_reason(tmp_path: Path) -> None:
    bowtie = [[13.4, 52.5], [13.41, 52.51], [13.41, 52.5], [13.4, 52.51], [13.4, 52.5]]
    with pytest.raises(ConfigError, match=r"zones.geojson: features.0: polygon: not a valid polygon: Self-intersection\["):
        load_site(write(tmp_path, ZONES_SITE, collection(feature([bowtie]))))
    outside = [[13.5, 52.5], [13.51, 52.5], [13.51, 52.51], [13.5, 52.5]]
    with pytest.raises(ConfigError, match=r"features.0: polygon: not a valid polygon: Hole lies outside shell"):
        load_site(write(tmp_path, ZONES_SITE, collection(feature([SQUARE, outside]))))


BODIES = {
    "zones": {"name": "ring", "kind": "restricted", "polygon": SQUARE[:-1], "holes": [HOLE[:-1]]},
    "assets": {"lat_deg": 52.5, "lon_deg": 13.4, "radius_m": 30.0},
    "permits": {"uas_id": "X-1", "start": "2023-05-02T18:00:00Z", "end": "2023-05-02T19:00:00Z"},
}


@pytest.mark.parametrize("kind", list(BODIES))
def test_api_bodies_parse_into_their_model_with_the_id_of_the_path(kind: str) -> None:
    item = parse_site_item(kind, "x-1", json.dumps(BODIES[kind]).encode())
    assert isinstance(item, SITE_ITEMS[kind]) and item.id == "x-1"
    assert parse_site_item(kind, "x-1", json.dumps({**BODIES[kind], "id": "x-1"}).encode()) == item


@pytest.mark.parametrize(("kind", "body", "reason"), [
    ("zones", b"[1, 2]", "zones/x-1: body: expected a JSON object (got [1, 2])"),
    ("zones", b"\xff{}", "zones/x-1: body: not UTF-8 text: invalid start byte at byte 0"),
    ("zones", b'{"name": ' + b"[" * 100 + b"]" * 100 + b"}", "zones/x-1: body: nested 101 levels deep"),
    ("assets", b'{"lat_deg": 1' + b"0" * 400 + b', "lon_deg": 13.4}', "assets/x-1: lat_deg: Input should be a valid number"),
    ("assets", b'{"lat_deg": NaN, "lon_deg": 13.4}', "assets/x-1: lat_deg: Input should be a finite number"),
    ("assets", b'{"lat_deg": 52.5, "lon_deg": 13.4, "id": "other"}', "assets/x-1: id: differs from the id in the path"),
    ("permits", b'{"uas_id": "X", "start": "2023-05-02T18:00:00Z", "end": "2023-05-02T17:00:00Z"}',
     "permits/x-1: end (2023-05-02T17:00:00+00:00) must be after start"),
    ("zones", json.dumps({"polygon": [[13.4, 52.5], [13.41, 52.51], [13.41, 52.5], [13.4, 52.51]]}).encode(),
     "zones/x-1: polygon: not a valid polygon: Self-intersection"),
    ("sensors", b"{}", "sensors/x-1: kind: expected one of zones, assets, permits (got 'sensors')"),
])
def test_bad_api_bodies_are_refused_as_kind_id_field_reason(kind: str, body: bytes, reason: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_site_item(kind, "x-1", body)
    assert reason in str(info.value)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.sampled_from([10**400, -(10**400)]) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=30,
)
GEOJSON_KEYS = ("type", "features", "geometry", "properties", "coordinates")
ZONE_KEYS = ("id", "name", "kind", "floor_m", "ceiling_m", "schedule", "polygon", "holes")


@settings(deadline=None)
@given(st.dictionaries(st.sampled_from(GEOJSON_KEYS), json_values, max_size=5), json_values)
def test_any_json_gives_zones_or_a_config_error(doc: dict, props: object) -> None:
    """Structures built from GeoJSON's own keys, a real collection with any feature, and one with any properties."""
    for value in (doc, collection(doc), collection(feature(properties=props)), collection(feature(doc))):
        try:
            zones = parse_zones_geojson(json.dumps(value).encode(), "zones.geojson")
        except ConfigError as exc:
            assert str(exc).startswith("zones.geojson: ")
        else:
            assert all(isinstance(z, Zone) for z in zones)


@settings(deadline=None)
@given(st.sampled_from([*BODIES, "sensors"]), st.dictionaries(st.sampled_from(ZONE_KEYS), json_values, max_size=4))
def test_any_body_gives_a_site_item_or_a_config_error(kind: str, changes: dict) -> None:
    for body in (json.dumps({**BODIES.get(kind, {}), **changes}).encode(), json.dumps(changes).encode()):
        try:
            parse_site_item(kind, "x-1", body)
        except ConfigError as exc:
            assert str(exc).startswith(f"{kind}/x-1: ")


@settings(deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_give_a_site_or_a_config_error(data: bytes) -> None:
    for parse in (lambda: parse_site(data, "site.toml", lambda name: []), lambda: parse_zones_geojson(data, "z.json"),
                  lambda: parse_site_item("zones", "z", data)):
        try:
            parse()
        except ConfigError as exc:
            assert str(exc)
