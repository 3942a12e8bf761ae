"""Site configuration: the built-in site loads; wrong files are refused naming field and value."""

import json
from pathlib import Path

import pytest

from skywarden.config import ConfigError, load_site

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
         "(top level)", "nowhere"),
    ],
)
def test_wrong_values_are_named(tmp_path: Path, extra: str, field: str, value: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_site(write(tmp_path, MINIMAL + extra))
    msg = str(exc.value)
    assert "site.toml" in msg and field in msg and value in msg


def test_unknown_timezone(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"timezone: unknown time zone 'Mars/Olympus'"):
        load_site(write(tmp_path, MINIMAL.replace("Europe/Berlin", "Mars/Olympus")))


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
    with pytest.raises(ConfigError, match=r"zones\.0: ceiling_m \(100.0\) must be above floor_m \(300.0\)"):
        load_site(write(tmp_path, text, bad_band))
    point = {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {
        "type": "Point", "coordinates": [13.4, 52.5]}, "properties": {"id": "z"}}]}
    with pytest.raises(ConfigError, match=r"features\.0\.geometry\.type: expected 'Polygon' \(got 'Point'\)"):
        load_site(write(tmp_path, text, point))
    bad_day = {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {
        "type": "Polygon", "coordinates": [square]}, "properties": {"id": "z", "schedule": [{"days": ["funday"]}]}}]}
    with pytest.raises(ConfigError, match=r"zones\.0\.schedule\.0\.days\.0.*'funday'"):
        load_site(write(tmp_path, text, bad_day))
