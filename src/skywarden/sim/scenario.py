"""Scenario files: TOML naming a site, a start time, a duration, a seed, targets and bird groups.

A scenario is data, validated with pydantic; a wrong file raises :class:`ConfigError` naming the file,
the field and the value. Positions are ``{ lat_deg, lon_deg, alt_m }`` (height above the site
reference, as in site files) or ``{ enu_m = [e, n, u] }`` in site ENU metres. Times inside a scenario
(``start_s``, ``duration_s``) are seconds after the scenario's start.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

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
    read_toml,
)
from skywarden.geo import LocalFrame

SCENARIO_DIR = Path(__file__).parent / "scenarios"
SITES_DIR = Path(__file__).parent.parent / "sites"
_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
    waypoints: list[Point] = Field(min_length=2, description="the first is where the object appears")
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
    """Birds loitering around a centre; each bird's start, speed and RCS are drawn from the seed."""

    id: str = Field(pattern=_ID)
    count: int = Field(ge=1, le=1000)
    centre: Point
    radius_m: float = Field(gt=0.0, le=50_000.0)
    alt_m: tuple[float, float] = Field(description="altitude band above the site reference (low, high)")
    speed_mps: tuple[float, float] = Field(description="speed band (low, high)")
    rcs_m2: float | tuple[float, float] = Field(description="mean RCS, or a band each bird's mean is drawn from")

    @field_validator("alt_m", "speed_mps")
    @classmethod
    def _band(cls, v: tuple[float, float]) -> tuple[float, float]:
        if v[0] >= v[1]:
            raise ValueError(f"the low end must be below the high end (got {list(v)})")
        return v

    @field_validator("speed_mps", "rcs_m2")
    @classmethod
    def _positive(cls, v: float | tuple[float, float]) -> float | tuple[float, float]:
        values = v if isinstance(v, tuple) else (v,)
        if min(values) <= 0.0:
            raise ValueError(f"must be positive (got {list(values) if isinstance(v, tuple) else v})")
        if isinstance(v, tuple) and v[0] > v[1]:
            raise ValueError(f"the low end must not be above the high end (got {list(v)})")
        return v

    def bird_ids(self) -> list[str]:
        """The ids of this group's birds: ``<group>-1`` … ``<group>-<count>``."""
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
    """What a field alone cannot say: ids are unique, targets appear before the scenario ends."""
    seen: set[str] = set()
    where = [(f"targets.{i}.id", t.id) for i, t in enumerate(spec.targets)]
    where += [(f"bird_groups.{i}.id", b) for i, g in enumerate(spec.bird_groups) for b in g.bird_ids()]
    for loc, obj_id in where:
        if obj_id in seen:
            raise ConfigError(f"{path}: {loc}: object id {obj_id!r} is used twice (got {obj_id!r})")
        seen.add(obj_id)
    for i, t in enumerate(spec.targets):
        if t.start_s >= spec.duration_s:
            raise ConfigError(f"{path}: targets.{i}.start_s: must be before the end of the scenario "
                              f"(duration_s = {spec.duration_s}) (got {t.start_s!r})")


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
    raw = read_toml(path)
    try:
        spec = ScenarioSpec.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(path))) from exc
    _check_consistency(spec, path)
    site_path = _resolve_site(spec.site, path)
    site = load_site(site_path)
    return Scenario(name=path.stem, path=path, spec=spec, site=site, site_path=site_path,
                    start_utc=spec.start.timestamp())
