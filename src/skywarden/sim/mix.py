"""Randomised labelled scenes for training and evaluating the classifier, written in the scenario format.

:func:`random_scene` draws drones of several types (small multirotors that hover and dash, large
multirotors, fixed-wings; most fly at one of the site's assets from 2–4.5 km out, the others loiter or
survey), birds of every species and behaviour (loitering, crossing, thermalling, flocks; some near
the assets) and traffic on the site's roads, all from the seed, and loads them through the same
validated :class:`ScenarioSpec` as a file would be; :func:`scenario_toml` writes any scenario as a
TOML file to inspect and replay. Each drone and bird group has its own stream, so a scene with one
more drone keeps the others.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from skywarden.config import ConfigError, Site, load_site
from skywarden.sim.scenario import SITES_DIR, Scenario, ScenarioSpec, scenario_from_dict, site_roads
from skywarden.sim.streams import rng_stream

DRONE_TYPES: dict[str, dict[str, Any]] = {
    # airframe, mean RCS band (m²), cruise speed band (m/s), height band (m above the reference)
    "small-multirotor": {"airframe": "multirotor", "rcs_m2": (0.01, 0.05), "speed_mps": (5.0, 16.0),
                         "alt_m": (40.0, 150.0)},
    "large-multirotor": {"airframe": "multirotor", "rcs_m2": (0.1, 0.5), "speed_mps": (8.0, 20.0),
                         "alt_m": (50.0, 200.0)},
    "fixed-wing": {"airframe": "fixed-wing", "rcs_m2": (0.05, 0.5), "speed_mps": (18.0, 35.0),
                   "alt_m": (60.0, 250.0)},
}
DRONE_TYPE_SHARES = {"small-multirotor": 0.5, "large-multirotor": 0.25, "fixed-wing": 0.25}
ATTACK_SHARE = 0.7
# height band (m above the reference) each species keeps to in a scene
BIRD_ALT_M: dict[str, tuple[float, float]] = {
    "gull": (15.0, 250.0), "pigeon": (15.0, 150.0), "crow": (10.0, 150.0), "swift": (50.0, 400.0),
    "raptor": (60.0, 500.0), "starling": (20.0, 200.0), "duck": (30.0, 300.0), "generic": (20.0, 200.0),
}
FLOCKING = ("starling", "pigeon", "duck")


def random_scene(seed: int, *, drones: int, birds: int, traffic: int, duration_s: float, aircraft: int = 0,
                 site: str = "kremlin", start: str = "2024-06-01T09:00:00Z") -> Scenario:
    """A random labelled scene on a built-in ``site``: ``drones`` drones, ``birds`` birds, ``traffic`` vehicles and
    ``aircraft`` manned aircraft crossing."""
    raw = random_scene_dict(seed, drones=drones, birds=birds, traffic=traffic, duration_s=duration_s,
                            aircraft=aircraft, site=site, start=start)
    return scenario_from_dict(raw, Path(f"random-scene-{seed}.toml"))


def random_scene_dict(seed: int, *, drones: int, birds: int, traffic: int, duration_s: float, aircraft: int = 0,
                      site: str = "kremlin", start: str = "2024-06-01T09:00:00Z") -> dict[str, Any]:
    """The contents of a random scene's scenario file (see :func:`random_scene`)."""
    if min(drones, birds, traffic, aircraft) < 0 or duration_s <= 0.0:
        raise ValueError(f"counts must be >= 0 and the duration positive (got drones={drones}, birds={birds}, "
                         f"traffic={traffic}, aircraft={aircraft}, duration_s={duration_s})")
    site_path = SITES_DIR / site / "site.toml"
    if not site_path.is_file():
        raise ConfigError(f"random_scene: site: no built-in site of that name (got {site!r})")
    s = load_site(site_path)
    geo = _Geometry(s)
    raw: dict[str, Any] = {
        "description": f"Random scene {seed}: {drones} drones, {birds} birds, {traffic} vehicles on {site}",
        "site": site, "start": start, "duration_s": float(duration_s), "seed": int(seed),
        "targets": [_drone(rng_stream(seed, "mix", "drone", str(i)), f"drone-{i + 1:03d}", geo, duration_s)
                    for i in range(drones)]
        + [_aircraft(rng_stream(seed, "mix", "aircraft", str(i)), f"aircraft-{i + 1:02d}", geo, duration_s)
           for i in range(aircraft)],
        "bird_groups": _bird_groups(seed, birds, geo, duration_s),
        "traffic": _traffic(rng_stream(seed, "mix", "traffic"), traffic, sorted(site_roads(site_path))),
    }
    return raw


class _Geometry:
    """What a scene needs of its site: the first radar's position and reach, and the assets, in ENU."""

    def __init__(self, site: Site) -> None:
        frame = site.frame
        radar = site.sensors[0]
        self.radar = frame.to_enu(radar.lat_deg, radar.lon_deg, radar.alt_m).reshape(3)
        self.reach_m = 0.92 * radar.max_range_m
        self.assets = [frame.to_enu(a.lat_deg, a.lon_deg, a.alt_m).reshape(3) for a in site.assets]
        if not self.assets:
            raise ConfigError(f"random_scene: site {site.name!r} has no asset to fly at")

    def inside(self, e: float, n: float) -> tuple[float, float]:
        """(e, n) pulled in towards the radar to lie within its reach."""
        d = np.array([e, n]) - self.radar[:2]
        r = float(np.hypot(*d))
        if r <= self.reach_m:
            return e, n
        e2, n2 = self.radar[:2] + d * (self.reach_m / r)
        return float(e2), float(n2)


def _pt(e: float, n: float, u: float, hold_s: float = 0.0) -> dict[str, Any]:
    """A waypoint in ENU metres (rounded to 0.1 m), with a hold when positive."""
    p: dict[str, Any] = {"enu_m": [round(e, 1), round(n, 1), round(u, 1)]}
    if hold_s > 0.0:
        p["hold_s"] = round(hold_s, 1)
    return p


def _drone(rng: np.random.Generator, drone_id: str, geo: _Geometry, duration_s: float) -> dict[str, Any]:
    """One drone: its type, size, speed, start time and route (an attack on an asset, or a loiter/survey)."""
    kind = str(rng.choice(list(DRONE_TYPE_SHARES), p=list(DRONE_TYPE_SHARES.values())))
    t = DRONE_TYPES[kind]
    rcs = math.exp(rng.uniform(math.log(t["rcs_m2"][0]), math.log(t["rcs_m2"][1])))
    speed = float(rng.uniform(*t["speed_mps"]))
    alt = float(rng.uniform(*t["alt_m"]))
    multirotor = t["airframe"] == "multirotor"
    motion: dict[str, Any] = {"type": "waypoints", "speed_mps": round(speed, 1), "accept_radius_m": 20.0}
    if rng.uniform() < ATTACK_SHARE:
        asset = geo.assets[int(rng.integers(len(geo.assets)))]
        bearing = rng.uniform(0.0, 2.0 * math.pi)
        dist = rng.uniform(2000.0, 4500.0)
        e0, n0 = geo.inside(asset[0] + dist * math.sin(bearing), asset[1] + dist * math.cos(bearing))
        route = [_pt(e0, n0, alt)]
        if multirotor and rng.uniform() < 0.6:  # a hover 1.5–3 km out, then the dash
            d_hold = min(rng.uniform(1500.0, 3000.0), 0.8 * math.hypot(e0 - asset[0], n0 - asset[1]))
            b = bearing + rng.uniform(-0.3, 0.3)
            route.append(_pt(asset[0] + d_hold * math.sin(b), asset[1] + d_hold * math.cos(b),
                             alt + rng.uniform(-20.0, 20.0), rng.uniform(20.0, 90.0)))
        elif rng.uniform() < 0.4:  # a dog-leg
            b = bearing + rng.uniform(-0.6, 0.6)
            d_mid = 0.5 * math.hypot(e0 - asset[0], n0 - asset[1])
            route.append(_pt(asset[0] + d_mid * math.sin(b), asset[1] + d_mid * math.cos(b), alt))
        route.append(_pt(float(asset[0]), float(asset[1]), float(asset[2])))
        motion["waypoints"] = route
    else:  # loiter or survey: a loop of 3–5 points around a centre in coverage, stop-and-go for multirotors
        r0 = geo.reach_m * math.sqrt(rng.uniform(0.05, 0.8))
        a0 = rng.uniform(0.0, 2.0 * math.pi)
        ce, cn = geo.radar[0] + r0 * math.cos(a0), geo.radar[1] + r0 * math.sin(a0)
        size = rng.uniform(150.0, 800.0)
        k = int(rng.integers(3, 6))
        angles = np.sort(rng.uniform(0.0, 2.0 * math.pi, k))
        motion["waypoints"] = [
            _pt(*geo.inside(ce + size * math.cos(a), cn + size * math.sin(a)), alt + rng.uniform(-15.0, 15.0),
                rng.uniform(5.0, 40.0) if multirotor and rng.uniform() < 0.5 else 0.0)
            for a in angles]
        motion["loop"] = True
    start = rng.uniform(0.0, 0.7 * duration_s)
    return {"id": drone_id, "kind": "drone", "airframe": t["airframe"], "rcs_m2": round(rcs, 4),
            "start_s": round(start, 1), "motion": motion}


AIRCRAFT_TYPES: dict[str, dict[str, tuple[float, float]]] = {
    # mean RCS band (m²), speed band (m/s), height band (m above the reference): orders of magnitude
    "light-aircraft": {"rcs_m2": (1.0, 5.0), "speed_mps": (40.0, 70.0), "alt_m": (300.0, 1500.0)},
    "helicopter": {"rcs_m2": (3.0, 10.0), "speed_mps": (25.0, 70.0), "alt_m": (150.0, 600.0)},
    "airliner": {"rcs_m2": (10.0, 50.0), "speed_mps": (90.0, 150.0), "alt_m": (1500.0, 3500.0)},
}


def _aircraft(rng: np.random.Generator, aircraft_id: str, geo: _Geometry, duration_s: float) -> dict[str, Any]:
    """One manned aircraft crossing the coverage on a straight line, level."""
    t = AIRCRAFT_TYPES[str(rng.choice(list(AIRCRAFT_TYPES)))]
    speed, alt = float(rng.uniform(*t["speed_mps"])), float(rng.uniform(*t["alt_m"]))
    bearing, offset = rng.uniform(0.0, 2.0 * math.pi), rng.uniform(-0.7, 0.7) * geo.reach_m
    heading = (bearing + math.pi) % (2.0 * math.pi)  # from the edge across the coverage
    e0 = geo.radar[0] + geo.reach_m * math.sin(bearing) + offset * math.cos(bearing)
    n0 = geo.radar[1] + geo.reach_m * math.cos(bearing) - offset * math.sin(bearing)
    return {"id": aircraft_id, "kind": "aircraft", "airframe": "fixed-wing",
            "rcs_m2": round(math.exp(rng.uniform(*np.log(t["rcs_m2"]))), 2),
            "start_s": round(rng.uniform(0.0, 0.7 * duration_s), 1),
            "motion": {"type": "constant-velocity", "start": {"enu_m": [round(e0, 1), round(n0, 1), round(alt, 1)]},
                       "heading_deg": round(math.degrees(heading), 2) % 360.0, "speed_mps": round(speed, 1),
                       "duration_s": round(2.0 * geo.reach_m / speed, 1)}}


def _bird_groups(seed: int, birds: int, geo: _Geometry, duration_s: float) -> list[dict[str, Any]]:
    """``birds`` birds in groups of one species each: loitering (some at the assets), crossing, thermalling, flocks."""
    groups: list[dict[str, Any]] = []
    left = birds
    while left > 0:
        g_rng = rng_stream(seed, "mix", "bird-group", str(len(groups)))
        species = str(g_rng.choice(list(BIRD_ALT_M)))
        flock = species in FLOCKING and g_rng.uniform() < 0.4
        count = min(left, int(g_rng.integers(5, 16)) if flock else int(g_rng.integers(1, 5)))
        left -= count
        alt = BIRD_ALT_M[species]
        g: dict[str, Any] = {"id": f"birds-{len(groups) + 1:02d}", "count": count, "species": species,
                             "alt_m": [alt[0], alt[1]]}
        if flock:
            g["flock"] = True
            g["spacing_m"] = round(float(g_rng.uniform(1.5, 4.0)), 1)
        if g_rng.uniform() < 0.35:  # crossing the whole coverage on a straight course
            g["motion"] = "transit"
            g["heading_deg"] = round(float(g_rng.uniform(0.0, 360.0)), 1)
            g["centre"] = _pt(float(geo.radar[0]), float(geo.radar[1]), 0.0)
            g["radius_m"] = round(geo.reach_m, 1)
            g["start_s"] = [0.0, round(0.9 * duration_s, 1)]
        else:
            if g_rng.uniform() < 0.3:  # around an asset
                asset = geo.assets[int(g_rng.integers(len(geo.assets)))]
                ce, cn, radius = float(asset[0]), float(asset[1]), float(g_rng.uniform(200.0, 800.0))
            else:
                r0 = geo.reach_m * math.sqrt(g_rng.uniform(0.0, 0.8))
                a0 = g_rng.uniform(0.0, 2.0 * math.pi)
                ce, cn = geo.radar[0] + r0 * math.cos(a0), geo.radar[1] + r0 * math.sin(a0)
                radius = float(g_rng.uniform(300.0, 1500.0))
            g["centre"] = _pt(ce, cn, 0.0)
            g["radius_m"] = round(radius, 1)
            if species == "gull" and g_rng.uniform() < 0.4:
                g["style"] = "soaring"
        groups.append(g)
    return groups


def _traffic(rng: np.random.Generator, vehicles: int, roads: list[str]) -> list[dict[str, Any]]:
    """``vehicles`` vehicles shared over the site's roads at random."""
    if vehicles == 0:
        return []
    if not roads:
        raise ConfigError(f"random_scene: traffic: the site has no roads.geojson (got {vehicles} vehicles)")
    counts = rng.multinomial(vehicles, np.full(len(roads), 1.0 / len(roads)))
    return [{"id": road, "count": int(c), "road": road, "kind": "mix",
             "speed_mps": [round(float(rng.uniform(7.0, 10.0)), 1), round(float(rng.uniform(13.0, 17.0)), 1)]}
            for road, c in zip(roads, counts, strict=True) if c > 0]


def scenario_toml(spec: ScenarioSpec) -> str:
    """A scenario as the text of a TOML scenario file (values left at their defaults are left out)."""
    data = spec.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    data["start"] = spec.start.isoformat().replace("+00:00", "Z")
    lines = [f"# {spec.description}"]
    tables = {k: v for k, v in data.items() if isinstance(v, list) and v and isinstance(v[0], dict)}
    for key, value in data.items():
        if key not in tables:
            lines.append(f"{key} = {value}" if key == "start" else f"{key} = {_toml(value)}")
    for key, items in tables.items():
        for item in items:
            lines += ["", f"[[{key}]]"]
            lines += [f"{k} = {_toml(v)}" for k, v in item.items() if not isinstance(v, dict)]
            for k, v in item.items():
                if isinstance(v, dict):
                    lines += [f"[{key}.{k}]"] + [f"{kk} = {_toml(vv)}" for kk, vv in v.items()]
    return "\n".join(lines) + "\n"


def _toml(v: Any) -> str:
    """One TOML value; lists of tables go one to a line."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list) and v and isinstance(v[0], dict):
        return "[\n" + "".join(f"  {_toml(x)},\n" for x in v) + "]"
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    raise TypeError(f"no TOML form for {v!r}")
