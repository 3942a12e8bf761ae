"""Fuzz targets: each feeds bytes to one parser of outside input and swallows only that parser's typed errors.

Anything else a parser raises is a finding. ``fuzz/run.py`` drives the targets under Atheris; the test
``tests/test_fuzz_targets.py`` runs them over their seeds and Hypothesis mutations of them. A new target is one
function ``(data: bytes) -> None`` that may raise the typed errors, and one line in :data:`TARGETS` naming them
and the function that gives the seed corpus (genuine, valid inputs).
"""

from __future__ import annotations

import functools
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from fuzz.bundle_target import bundle, bundle_seeds
from pydantic import ValidationError

from skywarden.config import (
    ConfigError,
    Zone,
    load_site,
    parse_site,
    parse_site_item,
    parse_toml,
    parse_zones_geojson,
)
from skywarden.runtime.bundle import BundleError
from skywarden.sensors.jsonl import SensorDecodeError, decode_input, encode_coop, encode_plots
from skywarden.service.app import ActionIn
from skywarden.sim.engine import Simulation
from skywarden.sim.scenario import SCENARIO_DIR, load_scenario, scenario_from_dict
from skywarden.tracking.stream import track_lines
from skywarden.tracking.tracker import Tracker

SITE_DIR = Path(str(files("skywarden"))) / "sites" / "kremlin"
API_KINDS = ("zones", "assets", "permits")  # the first byte of an api_bodies input picks one, or ActionIn


@dataclass
class Target:
    """One fuzz target: ``parse`` fed the bytes, its typed errors, and its seeds; calls are counted by outcome."""

    parse: Callable[[bytes], object]
    typed: tuple[type[Exception], ...]
    seeds: Callable[[], Iterable[bytes]]
    accepted: int = 0
    rejected: int = 0

    def __call__(self, data: bytes) -> None:
        """Feed ``data``; a typed error is counted as a rejection, any other exception propagates (a finding)."""
        try:
            self.parse(data)
        except self.typed:
            self.rejected += 1
        else:
            self.accepted += 1


def plots_jsonl(data: bytes) -> None:
    """The track command's reader (which must report bad lines, never raise), then decode_input on each line."""
    track_lines(io.BytesIO(data), lambda line: None, Tracker())
    for line in data.split(b"\n"):
        if line.strip():
            decode_input(line)


def plots_seeds() -> list[bytes]:
    """Scans and Remote ID reports of two built-in scenarios as the simulator encodes them: single lines, and
    runs of consecutive scans (so that the tracker initiates and confirms tracks)."""
    lines: list[bytes] = []
    for name, n_steps in (("kremlin-2023-05-03", 12), ("crossing-drones", 8)):
        steps = Simulation(load_scenario(name), 1).steps()
        scans = []
        for _, step in zip(range(n_steps), steps, strict=False):
            scans.append(encode_plots(step.scan.plots).encode())
            lines += [encode_coop(r).encode() for r in step.coop[:2]]
        lines += [*scans, b"\n".join(scans[:4]) + b"\n"]
    return lines


@functools.cache
def _kremlin_zones() -> list[Zone]:
    return load_site(SITE_DIR / "site.toml").zones


def _zones_from_memory(name: str) -> list[Zone]:
    """The site's ``zones_file``, served from memory: the built-in site's zones, or not found."""
    if name != "zones.geojson":
        raise ConfigError(f"{name}: zones file not found")
    return _kremlin_zones()


def site_toml(data: bytes) -> None:
    """A site file, through the same code as load_site; its zones file is the built-in site's, from memory."""
    parse_site(data, "site.toml", _zones_from_memory)


def site_seeds() -> list[bytes]:
    """The built-in site file, and a small site whose zone, written in the file, has a hole."""
    inline = (b'name = "ring"\n[reference]\nlat_deg = 52.5\nlon_deg = 13.4\n[[zones]]\nid = "ring"\nkind = "restricted"\n'
              b"polygon = [[13.38, 52.49], [13.42, 52.49], [13.42, 52.51], [13.38, 52.51]]\n"
              b"holes = [[[13.39, 52.495], [13.41, 52.495], [13.41, 52.505], [13.39, 52.505]]]\n")
    return [(SITE_DIR / "site.toml").read_bytes(), inline]


def zones_geojson(data: bytes) -> None:
    """A zones GeoJSON file."""
    parse_zones_geojson(data, "zones.geojson")


def zones_seeds() -> list[bytes]:
    """The built-in zones file, each of its zones alone, and a zone with a hole."""
    doc = json.loads((SITE_DIR / "zones.geojson").read_bytes())
    alone = [{**doc, "features": [f]} for f in doc["features"]]
    square = [[37.60, 55.74], [37.63, 55.74], [37.63, 55.76], [37.60, 55.76], [37.60, 55.74]]
    hole = [[37.61, 55.745], [37.62, 55.745], [37.62, 55.755], [37.61, 55.755], [37.61, 55.745]]
    holed = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"id": "ring"},
                                                        "geometry": {"type": "Polygon", "coordinates": [square, hole]}}]}
    return [(SITE_DIR / "zones.geojson").read_bytes(), *(json.dumps(d).encode() for d in [*alone, holed])]


def scenario_toml(data: bytes) -> None:
    """A scenario file, through the same code as load_scenario, as if it were one of the built-in ones."""
    path = SCENARIO_DIR / "fuzz.toml"
    scenario_from_dict(parse_toml(data, str(path)), path)


def api_bodies(data: bytes) -> None:
    """An API body: the first byte picks a zone, asset or permit PUT body, or an operator action."""
    if not data:
        return
    kind = data[0] % (len(API_KINDS) + 1)
    if kind < len(API_KINDS):
        parse_site_item(API_KINDS[kind], "fuzz-1", data[1:])
    else:
        ActionIn.model_validate_json(data[1:])


def api_seeds() -> list[bytes]:
    """The built-in site's zones, assets and permits as PUT bodies (the id is in the path), and one operator action
    of each kind."""
    site = load_site(SITE_DIR / "site.toml")
    seeds = [bytes([k]) + json.dumps(item.model_dump(mode="json", exclude={"id"})).encode()
             for k, kind in enumerate(API_KINDS) for item in getattr(site, kind)]
    actions = [{"kind": "acknowledge", "track_id": "T12"}, {"kind": "annotate", "incident_id": "I3", "note": "seen"},
               {"kind": "request_mitigation", "track_id": "T12", "effector": "jammer-1"},
               {"kind": "authorise_mitigation", "request_id": 4}, {"kind": "deny_mitigation", "request_id": 4}]
    return seeds + [bytes([len(API_KINDS)]) + json.dumps(a).encode() for a in actions]


TARGETS: dict[str, Target] = {
    "plots_jsonl": Target(plots_jsonl, (SensorDecodeError,), plots_seeds),
    "site_toml": Target(site_toml, (ConfigError,), site_seeds),
    "zones_geojson": Target(zones_geojson, (ConfigError,), zones_seeds),
    "scenario_toml": Target(scenario_toml, (ConfigError,), lambda: [p.read_bytes() for p in sorted(SCENARIO_DIR.glob("*.toml"))]),
    "api_bodies": Target(api_bodies, (ConfigError, ValidationError), api_seeds),
    "bundle": Target(bundle, (BundleError,), bundle_seeds),
}
