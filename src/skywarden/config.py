"""Site configuration: ``site.toml`` plus a GeoJSON file of zones, validated with pydantic.

Heights in a site file (``alt_m``, ``floor_m``, ``ceiling_m``) are metres above the site reference
point, i.e. the site ENU "up" coordinate; the reference point carries the WGS84 ellipsoidal height.
A wrong file raises :class:`ConfigError` naming the file, the field and the offending value.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import shapely
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from shapely.validation import explain_validity

from skywarden.geo import LocalFrame
from skywarden.jsontext import parse_json

Latitude = Annotated[float, Field(ge=-90.0, le=90.0)]
Longitude = Annotated[float, Field(ge=-180.0, le=180.0)]
_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ConfigError(ValueError):
    """A site or scenario file is missing, unreadable or invalid; the message names field and value."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Reference(_Model):
    """The site reference point: origin of the site ENU frame."""

    lat_deg: Latitude
    lon_deg: Longitude
    height_m: float = Field(0.0, ge=-500.0, le=9000.0, description="WGS84 ellipsoidal height")


class RadarConfig(_Model):
    """A surveillance radar: where it is, how it scans and how well it measures."""

    id: str = Field(pattern=_ID)
    kind: Literal["radar"] = "radar"
    lat_deg: Latitude
    lon_deg: Longitude
    alt_m: float = 0.0
    scan_period_s: float = Field(1.0, gt=0.0, le=60.0)
    min_range_m: float = Field(30.0, ge=0.0)
    max_range_m: float = Field(5000.0, gt=0.0, le=500_000.0)
    min_elevation_deg: float = Field(-5.0, ge=-90.0, le=90.0)
    max_elevation_deg: float = Field(60.0, ge=-90.0, le=90.0)
    sigma_range_m: float = Field(5.0, gt=0.0)
    sigma_azimuth_deg: float = Field(0.5, gt=0.0)
    sigma_elevation_deg: float = Field(1.0, gt=0.0)
    pfa: float = Field(1e-6, gt=0.0, lt=1.0, description="false-alarm probability per resolution cell")
    snr_1m2_1km_db: float = Field(
        55.0, description="mean SNR (dB) of a 1 m^2 target at 1 km; SNR scales as RCS / R^4"
    )
    false_alarms_per_scan: float = Field(5.0, ge=0.0, description="mean of the Poisson clutter count")
    md_integration_gain_db: float = Field(
        10.0, ge=0.0, description="coherent gain of the micro-Doppler processing over the plot's SNR"
    )
    md_threshold_db: float = Field(13.0, description="SNR the moving parts' echo needs for micro-Doppler to be measured")
    md_resolution_mps: float = Field(
        0.5, gt=0.0, description="velocity resolution of the micro-Doppler spectrum: narrower spreads are not seen"
    )
    md_dwell_s: float = Field(1.0, gt=0.0, description="time on target per scan: a rate needs two periods in it")
    md_max_rate_hz: float = Field(
        1000.0, gt=0.0, description="fastest modulation the spectrogram resolves in time; above, spread only"
    )

    @model_validator(mode="after")
    def _limits(self) -> RadarConfig:
        if self.min_range_m >= self.max_range_m:
            raise ValueError(f"min_range_m ({self.min_range_m}) must be below max_range_m ({self.max_range_m})")
        if self.min_elevation_deg >= self.max_elevation_deg:
            raise ValueError(
                f"min_elevation_deg ({self.min_elevation_deg}) must be below "
                f"max_elevation_deg ({self.max_elevation_deg})"
            )
        return self


class Asset(_Model):
    """A protected asset: a point with a protective radius (the volume an intruder must not reach)."""

    id: str = Field(pattern=_ID)
    name: str = ""
    lat_deg: Latitude
    lon_deg: Longitude
    alt_m: float = 0.0
    radius_m: float = Field(50.0, gt=0.0)


class Permit(_Model):
    """A flight permit: one cooperative UAS id may fly inside a volume during a time window."""

    id: str = Field(pattern=_ID)
    holder: str = ""
    uas_id: str = Field(min_length=1)
    zone: str | None = Field(None, description="zone id whose footprint bounds the permit; none = anywhere")
    floor_m: float = 0.0
    ceiling_m: float = Field(120.0)
    start: dt.datetime
    end: dt.datetime

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, v: dt.datetime) -> dt.datetime:
        if v.tzinfo is None:
            raise ValueError(f"{v.isoformat()} has no time zone; write it with Z or an offset")
        return v

    @model_validator(mode="after")
    def _order(self) -> Permit:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end.isoformat()}) must be after start ({self.start.isoformat()})")
        if self.ceiling_m <= self.floor_m:
            raise ValueError(f"ceiling_m ({self.ceiling_m}) must be above floor_m ({self.floor_m})")
        return self


class Schedule(_Model):
    """A weekly window, in the site's time zone, when a zone is active."""

    days: list[Day] = Field(default_factory=lambda: list(_DAYS))
    start: str = Field("00:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field("24:00", pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$")


Ring = list[tuple[Longitude, Latitude]]


class Zone(_Model):
    """An airspace zone: a polygon footprint (holes are outside it) with an altitude band and optional active
    windows. The footprint must be a valid polygon: a self-intersecting ring or a hole outside the shell is
    refused with Shapely's reason rather than repaired into a shape nobody drew."""

    id: str = Field(pattern=_ID)
    name: str = ""
    kind: Literal["no-fly", "restricted", "advisory"] = "no-fly"
    floor_m: float = 0.0
    ceiling_m: float = 10_000.0
    schedule: list[Schedule] = Field(default_factory=list, description="empty = always active")
    polygon: Ring = Field(min_length=3, description="outer ring, (lon, lat)")
    holes: list[Annotated[Ring, Field(min_length=3)]] = Field(default_factory=list, description="inner rings")

    @model_validator(mode="after")
    def _band(self) -> Zone:
        if self.ceiling_m <= self.floor_m:
            raise ValueError(f"ceiling_m ({self.ceiling_m}) must be above floor_m ({self.floor_m})")
        return self

    @model_validator(mode="after")
    def _footprint(self) -> Zone:
        shape = self.shape()
        if not shape.is_valid:
            raise ValueError(f"polygon: not a valid polygon: {explain_validity(shape)}")
        return self

    def shape(self, frame: LocalFrame | None = None) -> shapely.Polygon:
        """The footprint with its holes, in (lon, lat) degrees, or in site ENU metres (east, north) in ``frame``."""
        if frame is None:
            return shapely.Polygon(self.polygon, self.holes)
        rings = [np.asarray(ring, float) for ring in (self.polygon, *self.holes)]
        shell, *holes = (frame.to_enu(r[:, 1], r[:, 0], 0.0)[:, :2] for r in rings)
        return shapely.Polygon(shell, holes)


class Safety(_Model):
    """The site's safety policy: how confident a harmless label must be, and after how long, to silence an alert
    (``airspace.rules.SafetyPolicy``)."""

    harmless_probability: float = Field(0.95, ge=0.5, le=1.0)
    min_observation_s: float = Field(15.0, ge=0.0, le=600.0)


class Access(_Model):
    """Who may change the site's rules through the API: with ``two_person_rule``, a change (zones, assets,
    permits, safety) is only a proposal until a second commander approves it."""

    two_person_rule: bool = Field(False, strict=True)


class Site(_Model):
    """A whole site: reference point, sensors, assets, permits, zones, its safety policy and access rule."""

    name: str
    timezone: str = "UTC"
    safety: Safety = Field(default_factory=lambda: Safety.model_validate({}))
    access: Access = Field(default_factory=lambda: Access.model_validate({}))
    reference: Reference
    sensors: list[RadarConfig] = Field(default_factory=list)
    assets: list[Asset] = Field(default_factory=list)
    permits: list[Permit] = Field(default_factory=list)
    zones: list[Zone] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a folder or too long a name
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v

    @model_validator(mode="after")
    def _unique_and_linked(self) -> Site:
        for what, items in (("sensors", self.sensors), ("assets", self.assets), ("permits", self.permits),
                            ("zones", self.zones)):
            seen: set[str] = set()
            for item in items:
                if item.id in seen:
                    raise ValueError(f"{what}: id {item.id!r} is used twice")
                seen.add(item.id)
        zone_ids = {z.id for z in self.zones}
        for p in self.permits:
            if p.zone is not None and p.zone not in zone_ids:
                raise ValueError(f"permit {p.id!r} names zone {p.zone!r}, which is not among {sorted(zone_ids)}")
        return self

    @model_validator(mode="after")
    def _zones_in_frame(self) -> Site:
        for i, z in enumerate(self.zones):  # a zone reaching round the globe folds over when flattened
            shape = z.shape(self.frame)
            if not shape.is_valid:
                raise ValueError(f"zones.{i} ({z.id}): polygon: not a valid polygon in the site frame, is it too "
                                 f"far from the reference point? {explain_validity(shape)}")
        return self

    @property
    def frame(self) -> LocalFrame:
        return LocalFrame(self.reference.lat_deg, self.reference.lon_deg, self.reference.height_m)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def digest(self) -> str:
        """SHA-256 of the canonical JSON of the validated site (what a record says it ran with)."""
        canon = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canon.encode()).hexdigest()


def _short(value: Any, limit: int = 80) -> str:
    """``repr`` of a bad value, cut to ``limit`` characters for an error message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_validation_error(exc: ValidationError, source: str, at: tuple[str | int, ...] = ()) -> str:
    """One line per problem: ``source: field.path: message (got value)``; ``at`` is where the validated value
    sits in ``source`` (the field path starts with it)."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in (*at, *err["loc"]))
        msg = re.sub(r"^Value error, ", "", err["msg"])
        got = err.get("input")
        shown = "" if isinstance(got, dict | list) or got is None else f" (got {_short(got)})"
        lines.append(f"{source}: {loc + ': ' if loc else ''}{msg}{shown}")  # no loc: the message names the fields
    return "\n".join(lines)


def read_bytes(path: Path, what: str = "file") -> bytes:
    """A whole file's bytes; ConfigError naming it if it is missing, a folder or unreadable."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: {what} is a folder, not a file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except ValueError as exc:  # a NUL byte in the name
        raise ConfigError(f"{str(path)!r}: not a file name: {exc}") from None


def parse_toml(data: bytes, source: str) -> dict[str, Any]:
    """TOML bytes -> a dict; any failure (not UTF-8, not TOML, nested too deeply) is a ConfigError naming ``source``."""
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source}: not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    except ValueError as exc:  # TOMLDecodeError, or an integer of more digits than int() reads
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{source}: not valid TOML: arrays or tables nested too deeply") from None


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file, turning every failure into a ConfigError naming the file."""
    return parse_toml(read_bytes(path), str(path))


def _json_object(value: Any, where: str) -> dict[str, Any]:
    """``value`` if it is a JSON object, else a ConfigError naming ``where``."""
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected an object (got {_short(value)})")
    return value


def _finite(value: Any) -> bool:
    """Whether a JSON value is a finite number (booleans are not numbers; an integer may overflow a float)."""
    try:
        return isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(float(value))
    except OverflowError:
        return False


def _geojson_ring(value: Any, where: str) -> list[tuple[float, float]]:
    """A GeoJSON linear ring -> (lon, lat) points without the closing repeat of the first."""
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected an array of [lon, lat] positions (got {_short(value)})")
    ring = []
    for k, p in enumerate(value):
        if not (isinstance(p, list) and len(p) in (2, 3) and all(_finite(v) for v in p)):
            raise ConfigError(f"{where}.{k}: expected a position [lon, lat] or [lon, lat, height] of finite "
                              f"numbers (got {_short(p)})")
        ring.append((float(p[0]), float(p[1])))
    return ring[:-1] if len(ring) > 1 and ring[0] == ring[-1] else ring


def parse_zones_geojson(data: bytes, source: str) -> list[Zone]:
    """A GeoJSON FeatureCollection of Polygon features -> validated zones: the properties, the outer ring as
    ``polygon`` and the inner rings as ``holes``; a ConfigError names ``source``, the feature and the field."""
    try:
        parsed = parse_json(data)
    except ValueError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    doc = _json_object(parsed, source)
    if doc.get("type") != "FeatureCollection":
        raise ConfigError(f"{source}: type: expected 'FeatureCollection' (got {_short(doc.get('type'))})")
    features = doc.get("features")
    if not isinstance(features, list):
        raise ConfigError(f"{source}: features: expected an array of Features (got {_short(features)})")
    zones = []
    for i, feature in enumerate(features):
        where = f"{source}: features.{i}"
        geom = _json_object(_json_object(feature, where).get("geometry"), f"{where}.geometry")
        if geom.get("type") != "Polygon":
            raise ConfigError(f"{where}.geometry.type: expected 'Polygon' (got {_short(geom.get('type'))})")
        rings = geom.get("coordinates")
        if not isinstance(rings, list) or not rings:
            raise ConfigError(f"{where}.geometry.coordinates: expected an array of rings, the outer ring first "
                              f"(got {_short(rings)})")
        shell, *holes = (_geojson_ring(r, f"{where}.geometry.coordinates.{k}") for k, r in enumerate(rings))
        props = feature.get("properties")
        props = {} if props is None else _json_object(props, f"{where}.properties")
        for key in ("polygon", "holes"):
            if key in props:
                raise ConfigError(f"{where}.properties.{key}: the footprint comes from the geometry, not a property")
        try:
            zones.append(Zone.model_validate({**props, "polygon": shell, "holes": holes}))
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, source, ("features", i))) from None
    return zones


def read_zones_geojson(path: Path) -> list[Zone]:
    """The zones of a GeoJSON file (see :func:`parse_zones_geojson`)."""
    return parse_zones_geojson(read_bytes(path, "zones file"), str(path))


def parse_site(data: bytes, source: str, read_zones: Callable[[str], list[Zone]]) -> Site:
    """``site.toml`` bytes -> a validated Site; ``read_zones`` turns the ``zones_file`` the site names into its
    zones (:func:`load_site` reads that file beside the site's; a fuzzer serves it from memory)."""
    raw = parse_toml(data, source)
    zones_file = raw.pop("zones_file", None)
    if zones_file is not None:
        if not isinstance(zones_file, str):
            raise ConfigError(f"{source}: zones_file: expected a path string (got {_short(zones_file)})")
        zones = raw.get("zones", [])
        if not isinstance(zones, list):
            raise ConfigError(f"{source}: zones: expected an array of tables (got {_short(zones)})")
        raw["zones"] = [*zones, *read_zones(zones_file)]
    try:
        return Site.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from None


def load_site(path: str | Path) -> Site:
    """Load ``site.toml`` (and the zones GeoJSON it names, relative to it) into a validated Site."""
    path = Path(path)
    return parse_site(read_bytes(path), str(path), lambda name: read_zones_geojson(path.parent / name))


SITE_ITEMS: dict[str, type[Zone] | type[Asset] | type[Permit]] = {"zones": Zone, "assets": Asset, "permits": Permit}


def parse_site_item(kind: str, item_id: str, body: bytes) -> Zone | Asset | Permit:
    """An API request body (a JSON object) -> the zone, asset or permit ``<kind>/<item_id>`` it describes; the
    body may leave out the id. Anything else is a ConfigError ``<kind>/<item_id>: field: reason``."""
    where = f"{kind}/{item_id}"
    model = SITE_ITEMS.get(kind)
    if model is None:
        raise ConfigError(f"{where}: kind: expected one of {', '.join(SITE_ITEMS)} (got {_short(kind)})")
    item = _body_object(where, body)
    if item.setdefault("id", item_id) != item_id:
        raise ConfigError(f"{where}: id: differs from the id in the path (got {_short(item['id'])})")
    try:
        return model.model_validate(item)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, where)) from None


def parse_safety(body: bytes) -> Safety:
    """A ``PUT /api/safety`` body (a JSON object) -> the site's safety table; a ConfigError ``safety: field:
    reason`` otherwise."""
    try:
        return Safety.model_validate(_body_object("safety", body))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, "safety")) from None


def _body_object(where: str, body: bytes) -> dict[str, Any]:
    """An API request body parsed as a JSON object; a ConfigError ``<where>: body: reason`` otherwise."""
    try:
        item = parse_json(body)
    except ValueError as exc:
        raise ConfigError(f"{where}: body: {exc}") from None
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: body: expected a JSON object (got {_short(item)})")
    return item
