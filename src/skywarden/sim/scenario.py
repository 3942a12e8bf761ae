"""Scenario files: TOML naming a site, a start time, a duration, a seed, targets, bird groups and traffic.

A scenario is data, validated with pydantic; a wrong file raises :class:`ConfigError` naming the file,
the field and the value. Positions are ``{ lat_deg, lon_deg, alt_m }`` (height above the site
reference, as in site files) or ``{ enu_m = [e, n, u] }`` in site ENU metres. Times inside a scenario
(``start_s``, ``duration_s``) are seconds after the scenario's start. A traffic ``road`` is a list of
points or the id of a road in the site's ``roads.geojson`` (beside its ``site.toml``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from skywarden.config import (
    ConfigError,
    Latitude,
    Longitude,
    Site,
    format_validation_error,
    load_site,
    read_bytes,
    read_toml,
)
from skywarden.geo import LocalFrame
from skywarden.jsontext import parse_json

SCENARIO_DIR = Path(__file__).parent / "scenarios"
SITES_DIR = Path(__file__).parent.parent / "sites"
ROADS_FILE = "roads.geojson"
_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"

Species = Literal["gull", "pigeon", "crow", "swift", "raptor", "starling", "duck", "generic"]
FlightStyle = Literal["wander", "flapping", "erratic", "flap-glide", "soaring"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Point(_Model):
    """A position: WGS84 ``lat_deg``/``lon_deg`` with ``alt_m`` above the site reference, or ``enu_m``."""

    lat_deg: Latitude | None = None
    lon_deg: Longitude | None = None
    alt_m: float | None = None
    enu_m: tuple[float, float, float] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Point:
        geo = (self.lat_deg, self.lon_deg, self.alt_m)
        if self.enu_m is not None and any(v is not None for v in geo):
            raise ValueError("give either lat_deg/lon_deg/alt_m or enu_m, not both")
        if self.enu_m is None and (self.lat_deg is None or self.lon_deg is None):
            raise ValueError("a point needs lat_deg and lon_deg (alt_m optional), or enu_m")
        return self

    def to_enu(self, frame: LocalFrame) -> NDArray[np.float64]:
        """This point in the site ENU frame, shape (3,)."""
        if self.lat_deg is None or self.lon_deg is None:
            return np.array(self.enu_m, float)
        return frame.to_enu(self.lat_deg, self.lon_deg, self.alt_m or 0.0).reshape(3)


class Waypoint(Point):
    """A waypoint; ``hold_s`` > 0 makes a multirotor stop and hover there that long (a fixed-wing circles)."""

    hold_s: float = Field(0.0, ge=0.0, le=86_400.0)


def _band(v: tuple[float, float]) -> tuple[float, float]:
    """A (low, high) band with low below high."""
    if v[0] >= v[1]:
        raise ValueError(f"the low end must be below the high end (got {list(v)})")
    return v


def _positive(v: float | tuple[float, float] | None) -> float | tuple[float, float] | None:
    """A positive value, or a positive band whose low end is not above its high end."""
    if v is None:
        return v
    values = v if isinstance(v, tuple) else (v,)
    if min(values) <= 0.0:
        raise ValueError(f"must be positive (got {list(values) if isinstance(v, tuple) else v})")
    if isinstance(v, tuple) and v[0] > v[1]:
        raise ValueError(f"the low end must not be above the high end (got {list(v)})")
    return v


class ConstantVelocityMotion(_Model):
    """Straight, level or climbing flight from ``start`` on a compass heading."""

    type: Literal["constant-velocity"]
    start: Point
    heading_deg: float = Field(ge=0.0, lt=360.0, description="clockwise from north")
    speed_mps: float = Field(gt=0.0, le=400.0)
    climb_rate_mps: float = Field(0.0, ge=-50.0, le=50.0)
    duration_s: float | None = Field(None, gt=0.0, description="default: until the scenario ends")


class TurnMotion(_Model):
    """A coordinated turn: constant speed and turn rate (positive = counter-clockwise seen from above)."""

    type: Literal["coordinated-turn"]
    start: Point
    heading_deg: float = Field(ge=0.0, lt=360.0, description="initial heading, clockwise from north")
    speed_mps: float = Field(gt=0.0, le=400.0)
    turn_rate_dps: float = Field(ge=-90.0, le=90.0)
    climb_rate_mps: float = Field(0.0, ge=-50.0, le=50.0)
    duration_s: float | None = Field(None, gt=0.0)


class HoverMotion(_Model):
    """Holding still at one position."""

    type: Literal["hover"]
    position: Point
    duration_s: float | None = Field(None, gt=0.0)


class WaypointMotion(_Model):
    """Waypoint following within the airframe's limits (defaults from the airframe and the speed)."""

    type: Literal["waypoints"]
    waypoints: list[Waypoint] = Field(min_length=2, description="the first is where the object appears")
    speed_mps: float = Field(gt=0.0, le=400.0)
    loop: bool = False
    on_arrival: Literal["vanish", "hold"] = "vanish"
    accept_radius_m: float = Field(10.0, gt=0.0)
    min_speed_mps: float | None = Field(None, gt=0.0)
    max_speed_mps: float | None = Field(None, gt=0.0)
    max_turn_rate_dps: float | None = Field(None, gt=0.0, le=360.0)
    max_climb_rate_mps: float | None = Field(None, gt=0.0)
    max_accel_mps2: float | None = Field(None, gt=0.0)

    @model_validator(mode="after")
    def _speeds(self) -> WaypointMotion:
        if self.min_speed_mps is not None and self.min_speed_mps > self.speed_mps:
            raise ValueError(f"min_speed_mps ({self.min_speed_mps}) is above speed_mps ({self.speed_mps})")
        if self.max_speed_mps is not None and self.max_speed_mps < self.speed_mps:
            raise ValueError(f"max_speed_mps ({self.max_speed_mps}) is below speed_mps ({self.speed_mps})")
        return self


Motion = Annotated[ConstantVelocityMotion | TurnMotion | HoverMotion | WaypointMotion, Field(discriminator="type")]


class TargetSpec(_Model):
    """One scripted object: what it is, how big it looks to radar, whether it broadcasts, how it moves."""

    id: str = Field(pattern=_ID)
    kind: Literal["drone", "bird", "aircraft"]
    airframe: Literal["fixed-wing", "multirotor", "bird"] = "fixed-wing"
    rcs_m2: float = Field(gt=0.0, le=1000.0, description="mean radar cross-section")
    start_s: float = Field(0.0, ge=0.0, description="seconds after the scenario start when it appears")
    remote_id: str | None = Field(None, min_length=1, description="UAS id it broadcasts (cooperative)")
    motion: Motion


class BirdGroupSpec(_Model):
    """Birds of one species loitering around a centre or crossing it; each bird's draws come from the seed.

    ``species`` sets the speed band, flight style and RCS band (``sim/birds.py``); ``speed_mps``,
    ``style`` and ``rcs_m2`` override them. ``motion = "transit"`` birds cross the disc of ``radius_m``
    on ``heading_deg``, each entering at a time drawn from ``start_s`` (default: the whole scenario);
    loitering birds all start at ``start_s[0]`` (default 0). With ``flock`` the group flies as one
    flock about ``spacing_m`` apart.
    """

    id: str = Field(pattern=_ID)
    count: int = Field(ge=1, le=1000)
    species: Species = "generic"
    style: FlightStyle | None = Field(None, description="default: the species' style")
    centre: Point
    radius_m: float = Field(gt=0.0, le=50_000.0)
    alt_m: tuple[float, float] = Field(description="altitude band above the site reference (low, high)")
    speed_mps: tuple[float, float] | None = Field(None, description="speed band (low, high); default: species'")
    rcs_m2: float | tuple[float, float] | None = Field(None, description="mean RCS or band; default: species'")
    motion: Literal["loiter", "transit"] = "loiter"
    heading_deg: float | None = Field(None, ge=0.0, lt=360.0, description="transit: clockwise from north")
    heading_spread_deg: float = Field(10.0, ge=0.0, le=90.0, description="transit: each bird's scatter")
    start_s: tuple[float, float] | None = Field(None, description="window the birds appear in (s)")
    flock: bool = False
    spacing_m: float = Field(3.0, gt=0.0, le=100.0, description="flock: distance between neighbours")

    @field_validator("alt_m", "speed_mps")
    @classmethod
    def _bands(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        return v if v is None else _band(v)

    @field_validator("speed_mps", "rcs_m2")
    @classmethod
    def _positives(cls, v: float | tuple[float, float] | None) -> float | tuple[float, float] | None:
        return _positive(v)

    @field_validator("start_s")
    @classmethod
    def _window(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None and not 0.0 <= v[0] <= v[1]:
            raise ValueError(f"need 0 <= start <= end (got {list(v)})")
        return v

    @model_validator(mode="after")
    def _transit_heading(self) -> BirdGroupSpec:
        if (self.motion == "transit") != (self.heading_deg is not None):
            raise ValueError(f"heading_deg is needed for motion = 'transit' and only then (motion = "
                             f"{self.motion!r}, heading_deg = {self.heading_deg})")
        return self

    def bird_ids(self) -> list[str]:
        """The ids of this group's birds: ``<group>-1`` … ``<group>-<count>``."""
        return [f"{self.id}-{i + 1}" for i in range(self.count)]


class TrafficSpec(_Model):
    """Ground vehicles driving along a road both ways (or one), with traffic lights, entering over the run.

    ``count`` vehicles use the road over the scenario, entering at times drawn over it (the road starts
    partly filled); ``road`` is a polyline (points at road height) or a road id of the site's
    ``roads.geojson``; ``signals`` are indices of interior road points with traffic lights (default:
    the named road's), red for ``signal_red_s`` of every ``signal_cycle_s``.
    """

    id: str = Field(pattern=_ID)
    count: int = Field(ge=1, le=5000)
    kind: Literal["car", "lorry", "mix"] = "mix"
    lorry_fraction: float = Field(0.1, ge=0.0, le=1.0, description="mix: share of lorries")
    road: str | list[Point] = Field(description="polyline (>= 2 points) or a road id of the site")
    directions: Literal["both", "forward", "backward"] = "both"
    speed_mps: tuple[float, float] = Field((8.0, 16.0), description="desired speed band (low, high)")
    rcs_m2: tuple[float, float] | None = Field(None, description="mean RCS band; default by kind")
    signals: list[int] | None = Field(None, description="indices of road points with traffic lights")
    signal_cycle_s: float = Field(90.0, gt=0.0, le=600.0)
    signal_red_s: float = Field(40.0, ge=0.0, le=600.0)

    @field_validator("speed_mps", "rcs_m2")
    @classmethod
    def _bands(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        _positive(v)
        return v if v is None else _band(v)

    @field_validator("road")
    @classmethod
    def _polyline(cls, v: str | list[Point]) -> str | list[Point]:
        if isinstance(v, list) and len(v) < 2:
            raise ValueError(f"a road needs at least 2 points (got {len(v)})")
        if isinstance(v, str) and not v:
            raise ValueError("a road id must not be empty")
        return v

    @model_validator(mode="after")
    def _signal_times(self) -> TrafficSpec:
        if self.signal_red_s >= self.signal_cycle_s:
            raise ValueError(f"signal_red_s ({self.signal_red_s}) must be below signal_cycle_s "
                             f"({self.signal_cycle_s})")
        return self

    def vehicle_ids(self) -> list[str]:
        """The ids of this road's vehicles: ``<id>-1`` … ``<id>-<count>``."""
        return [f"{self.id}-{i + 1}" for i in range(self.count)]


class ScenarioSpec(_Model):
    """The validated contents of a scenario file."""

    description: str = Field(min_length=1, max_length=200, pattern=r"^[^\n]*$", description="one line")
    site: str = Field(min_length=1, description="built-in site name, or a path relative to this file")
    start: dt.datetime = Field(description="ISO 8601 with a time zone, e.g. 2023-05-02T23:22:00Z")
    duration_s: float = Field(gt=0.0, le=86_400.0)
    seed: int = Field(0, ge=0, lt=2**63)
    targets: list[TargetSpec] = Field(default_factory=list)
    bird_groups: list[BirdGroupSpec] = Field(default_factory=list)
    traffic: list[TrafficSpec] = Field(default_factory=list)

    @field_validator("start")
    @classmethod
    def _aware(cls, v: dt.datetime) -> dt.datetime:
        if v.tzinfo is None:
            raise ValueError(f"{v.isoformat()} has no time zone; write it with Z or an offset")
        return v

@dataclass(frozen=True)
class Scenario:
    """A loaded scenario: its spec, the site it runs on, and the start as UTC seconds."""

    name: str
    path: Path
    spec: ScenarioSpec
    site: Site
    site_path: Path
    start_utc: float

    @property
    def description(self) -> str:
        return self.spec.description

    @property
    def duration_s(self) -> float:
        return self.spec.duration_s

    @property
    def seed(self) -> int:
        return self.spec.seed


def _check_consistency(spec: ScenarioSpec, path: Path) -> None:
    """What a field alone cannot say: ids are unique, targets and birds appear before the scenario ends."""
    seen: set[str] = set()
    where = [(f"targets.{i}.id", t.id) for i, t in enumerate(spec.targets)]
    where += [(f"bird_groups.{i}.id", b) for i, g in enumerate(spec.bird_groups) for b in g.bird_ids()]
    where += [(f"traffic.{i}.id", v) for i, r in enumerate(spec.traffic) for v in r.vehicle_ids()]
    for loc, obj_id in where:
        if obj_id in seen:
            raise ConfigError(f"{path}: {loc}: object id {obj_id!r} is used twice (got {obj_id!r})")
        seen.add(obj_id)
    for i, t in enumerate(spec.targets):
        if t.start_s >= spec.duration_s:
            raise ConfigError(f"{path}: targets.{i}.start_s: must be before the end of the scenario "
                              f"(duration_s = {spec.duration_s}) (got {t.start_s!r})")
    for i, g in enumerate(spec.bird_groups):
        if g.start_s is not None and g.start_s[1] >= spec.duration_s:
            raise ConfigError(f"{path}: bird_groups.{i}.start_s: must end before the end of the scenario "
                              f"(duration_s = {spec.duration_s}) (got {list(g.start_s)})")


class _Open(_Model):
    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)  # GeoJSON may say more


class _LineString(_Model):
    type: Literal["LineString"]
    coordinates: list[Annotated[list[float], Field(min_length=2, max_length=3)]] = Field(min_length=2)

    @model_validator(mode="after")
    def _on_earth(self) -> _LineString:
        for k, (lon, lat, *_) in enumerate(self.coordinates):
            if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
                raise ValueError(f"coordinates.{k}: expected [lon, lat] within ±180 and ±90 degrees (got {[lon, lat]})")
        return self


class _RoadProperties(_Open):
    id: str = Field(min_length=1)
    signals: list[int] = Field(default_factory=list, description="indices of road points with traffic lights")


class Road(_Open):
    """A named road of the site: a GeoJSON LineString feature (heights above the site reference, default 0)
    whose properties give its id and its traffic lights."""

    properties: _RoadProperties
    geometry: _LineString

    def points(self) -> list[Point]:
        """The polyline as scenario points."""
        return [Point(lon_deg=c[0], lat_deg=c[1], alt_m=c[2] if len(c) > 2 else 0.0) for c in self.geometry.coordinates]


class _Roads(_Open):
    type: Literal["FeatureCollection"]
    features: list[Road]


def site_roads(site_path: Path) -> dict[str, Road]:
    """The site's named roads (``roads.geojson`` beside its site file) by id; none if absent."""
    path = site_path.parent / ROADS_FILE
    if not path.is_file():
        return {}
    data = read_bytes(path, "roads file")
    try:
        doc = parse_json(data)
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    try:
        roads = _Roads.model_validate(doc)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(path))) from None
    return {road.properties.id: road for road in roads.features}


def _resolve_roads(spec: ScenarioSpec, path: Path, site_path: Path) -> ScenarioSpec:
    """Named roads replaced by their polylines and default signals; every signal index checked."""
    if not spec.traffic:
        return spec
    roads = site_roads(site_path)
    resolved = []
    for i, r in enumerate(spec.traffic):
        road, signals = r.road, r.signals
        if isinstance(road, str):
            if road not in roads:
                raise ConfigError(f"{path}: traffic.{i}.road: no road of that id in {site_path.parent / ROADS_FILE} "
                                  f"(known: {', '.join(sorted(roads)) or 'none'}) (got {road!r})")
            named = roads[road]
            road = named.points()
            if signals is None:
                signals = named.properties.signals
        signals = signals or []
        for k, s in enumerate(signals):
            if not 0 < s < len(road) - 1:
                raise ConfigError(f"{path}: traffic.{i}.signals.{k}: must index an interior road point "
                                  f"(1 to {len(road) - 2}) (got {s!r})")
        resolved.append(r.model_copy(update={"road": road, "signals": sorted(set(signals))}))
    return spec.model_copy(update={"traffic": resolved})


def builtin_scenarios() -> dict[str, Path]:
    """Built-in scenario names -> their files (``sim/scenarios/*.toml``)."""
    return {p.stem: p for p in sorted(SCENARIO_DIR.glob("*.toml"))}


def _resolve_site(value: str, scenario_path: Path) -> Path:
    """A built-in site name (``sites/<name>/site.toml``) or a file or folder relative to the scenario."""
    builtin = SITES_DIR / value / "site.toml"
    if "/" not in value and "\\" not in value and not value.endswith(".toml") and builtin.is_file():
        return builtin
    path = scenario_path.parent / value
    if path.is_dir():
        path = path / "site.toml"
    if not path.is_file():
        known = sorted(p.parent.name for p in SITES_DIR.glob("*/site.toml"))
        raise ConfigError(f"{scenario_path}: site: no built-in site (known: {', '.join(known)}) and no file "
                          f"{path} (got {value!r})")
    return path


def scenario_from_dict(raw: dict[str, Any], path: Path) -> Scenario:
    """Validate a scenario's contents (as read from TOML) named by ``path``, and load its site."""
    try:
        spec = ScenarioSpec.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(path))) from exc
    _check_consistency(spec, path)
    site_path = _resolve_site(spec.site, path)
    site = load_site(site_path)
    spec = _resolve_roads(spec, path, site_path)
    return Scenario(name=path.stem, path=path, spec=spec, site=site, site_path=site_path,
                    start_utc=spec.start.timestamp())


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a built-in scenario by name, or a scenario ``.toml`` file, with its site."""
    builtin = builtin_scenarios()
    if isinstance(name_or_path, str) and name_or_path in builtin:
        path = builtin[name_or_path]
    else:
        path = Path(name_or_path)
        if not path.is_file() and path.suffix != ".toml":
            raise ConfigError(f"unknown scenario {str(name_or_path)!r}: not a built-in "
                              f"({', '.join(builtin)}) nor a .toml file")
    return scenario_from_dict(read_toml(path), path)
