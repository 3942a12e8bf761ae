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
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from skywarden.geo import LocalFrame

Latitude = Annotated[float, Field(ge=-90.0, le=90.0)]
Longitude = Annotated[float, Field(ge=-180.0, le=180.0)]
_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ConfigError(ValueError):
    """A site or scenario file is missing, unreadable or invalid; the message names field and value."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


class Zone(_Model):
    """An airspace zone: a polygon footprint with an altitude band and optional active windows."""

    id: str = Field(pattern=_ID)
    name: str = ""
    kind: Literal["no-fly", "restricted", "advisory"] = "no-fly"
    floor_m: float = 0.0
    ceiling_m: float = 10_000.0
    schedule: list[Schedule] = Field(default_factory=list, description="empty = always active")
    polygon: list[tuple[Longitude, Latitude]] = Field(min_length=3, description="outer ring, (lon, lat)")

    @model_validator(mode="after")
    def _band(self) -> Zone:
        if self.ceiling_m <= self.floor_m:
            raise ValueError(f"ceiling_m ({self.ceiling_m}) must be above floor_m ({self.floor_m})")
        return self


class Safety(_Model):
    """The site's safety policy: how confident a harmless label must be, and after how long, to silence an alert
    (``airspace.rules.SafetyPolicy``)."""

    harmless_probability: float = Field(0.95, ge=0.5, le=1.0)
    min_observation_s: float = Field(15.0, ge=0.0, le=600.0)


class Site(_Model):
    """A whole site: reference point, sensors, assets, permits, zones and its safety policy."""

    name: str
    timezone: str = "UTC"
    safety: Safety = Field(default_factory=lambda: Safety.model_validate({}))
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
        except (ZoneInfoNotFoundError, ValueError) as exc:
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


def format_validation_error(exc: ValidationError, source: str) -> str:
    """One line per problem: ``source: field.path: message (got value)``."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = re.sub(r"^Value error, ", "", err["msg"])
        got = err.get("input")
        shown = "" if isinstance(got, dict | list) or got is None else f" (got {got!r})"
        lines.append(f"{source}: {loc}: {msg}{shown}")
    return "\n".join(lines)


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file, turning every failure into a ConfigError naming the file."""
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc


def read_zones_geojson(path: Path) -> list[dict[str, Any]]:
    """GeoJSON FeatureCollection of Polygon features -> zone dicts (properties + outer ring)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: zones file not found") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise ConfigError(f"{path}: type: expected 'FeatureCollection' (got {doc.get('type') if isinstance(doc, dict) else doc!r})")
    zones = []
    for i, feat in enumerate(doc.get("features", [])):
        geom = (feat or {}).get("geometry") or {}
        if geom.get("type") != "Polygon":
            raise ConfigError(f"{path}: features.{i}.geometry.type: expected 'Polygon' (got {geom.get('type')!r})")
        rings = geom.get("coordinates") or []
        if not rings:
            raise ConfigError(f"{path}: features.{i}.geometry.coordinates: empty polygon")
        ring = [tuple(p[:2]) for p in rings[0]]
        if len(ring) > 1 and ring[0] == ring[-1]:
            ring = ring[:-1]
        zones.append({**(feat.get("properties") or {}), "polygon": ring})
    return zones


def load_site(path: str | Path) -> Site:
    """Load ``site.toml`` (and the zones GeoJSON it names, relative to it) into a validated Site."""
    path = Path(path)
    raw = read_toml(path)
    zones_file = raw.pop("zones_file", None)
    if zones_file is not None:
        if not isinstance(zones_file, str):
            raise ConfigError(f"{path}: zones_file: expected a path string (got {zones_file!r})")
        raw.setdefault("zones", [])
        raw["zones"] = list(raw["zones"]) + read_zones_geojson(path.parent / zones_file)
    try:
        return Site.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(path))) from exc
