"""A hand-built, Kremlin-like run record (no simulator or tracker needed) for the report tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import Point, Polygon

from skywarden.config import Site, load_site
from skywarden.events import (
    Event,
    ThreatRaised,
    TrackClassified,
    TrackConfirmed,
    TrackIdentified,
    TrackLost,
    ZoneViolation,
)
from skywarden.history import RunRecord, TrackHistory, TruthHistory
from skywarden.metrics import summarize

SITE_TOML = Path(__file__).resolve().parents[2] / "src/skywarden/sites/kremlin/site.toml"
T0 = dt.datetime(2023, 5, 2, 23, 16, tzinfo=dt.UTC).timestamp()


def _waypoints(scans: np.ndarray, knots: list[tuple[int, float, float, float]]) -> np.ndarray:
    """Piecewise-linear ENU path through (scan, e, n, u) knots, sampled at ``scans``."""
    k = np.array(knots, float)
    return np.stack([np.interp(scans, k[:, 0], k[:, i]) for i in (1, 2, 3)], axis=1)


def _truths(site: Site, n_scans: int, rng: np.random.Generator) -> dict[str, TruthHistory]:
    dome = site.frame.to_enu(site.assets[0].lat_deg, site.assets[0].lon_deg, site.assets[0].alt_m)
    s = n_scans / 1320
    paths: dict[str, tuple[str, np.ndarray, np.ndarray]] = {}
    sc = np.arange(int(300 * s), int(645 * s))
    paths["D1"] = ("drone", sc, _waypoints(sc, [(sc[0], -4200, 2600, 180), (int(500 * s), -1500, 900, 120),
                                                (sc[-1], dome[0] - 20, dome[1] - 10, dome[2] + 5)]))
    sc = np.arange(int(900 * s), int(1235 * s))
    paths["D2"] = ("drone", sc, _waypoints(sc, [(sc[0], 3800, -2500, 200), (int(1100 * s), 800, -500, 100),
                                                (sc[-1], dome[0] + 15, dome[1] - 15, dome[2] + 3)]))
    sc = np.arange(n_scans)
    ang = sc * 2 * np.pi / 240
    paths["F1"] = ("drone", sc, np.stack([250 * np.cos(ang), 250 * np.sin(ang), 100 + 0 * ang], axis=1))
    for i in range(4):
        start = rng.uniform([-1500, -1500, 40], [1500, 1500, 120])
        steps = rng.normal(0, 1.0, (n_scans, 3)) * [1, 1, 0.1]
        vel = np.cumsum(steps, axis=0)
        vel = 7 * vel / np.maximum(np.linalg.norm(vel, axis=1, keepdims=True), 1e-9)
        paths[f"B{i + 1}"] = ("bird", sc, start + np.cumsum(vel, axis=0))
    sc = np.arange(int(100 * s), int(500 * s))
    paths["AC1"] = ("aircraft", sc, _waypoints(sc, [(sc[0], -9000, -3000, 1200), (sc[-1], 9000, 4000, 1200)]))
    sc = np.arange(int(700 * s), int(1300 * s))
    paths["AC2"] = ("aircraft", sc, _waypoints(sc, [(sc[0], 2000, 8000, 900), (sc[-1], -3000, -9000, 700)]))
    radar = site.sensors[0]
    r_enu = site.frame.to_enu(radar.lat_deg, radar.lon_deg, radar.alt_m)
    out = {}
    for tid, (kind, scans, pos) in paths.items():
        d = pos - r_enu
        rng_m = np.linalg.norm(d, axis=1)
        el = np.degrees(np.arcsin(d[:, 2] / np.maximum(rng_m, 1e-9)))
        cov = (rng_m < radar.max_range_m) & (rng_m > radar.min_range_m) & (el < radar.max_elevation_deg)
        p_d = 0.75 if kind == "bird" else 0.92
        out[tid] = TruthHistory(tid, kind, scans.astype(np.int64), pos, np.gradient(pos, axis=0),
                                cov & (rng.random(len(scans)) < p_d), cov)
    return out


class _Tracks:
    """Ground-truth-fed stand-in for the tracker: M-of-N-like confirmation, coasting, deletion."""

    def __init__(self, site: Site, times: np.ndarray, rng: np.random.Generator) -> None:
        self.site, self.times, self.rng = site, times, rng
        self.tracks: dict[str, TrackHistory] = {}
        self.events: list[Event] = []
        self.zones = [(z, Polygon(site.frame.to_enu([p[1] for p in z.polygon], [p[0] for p in z.polygon])[:, :2]))
                      for z in site.zones if z.kind == "no-fly"]
        self.dome = site.frame.to_enu(site.assets[0].lat_deg, site.assets[0].lon_deg, site.assets[0].alt_m)

    def follow(self, truth: TruthHistory) -> None:
        """Tracks on one truth: start at a detection, confirm after 3 hits, delete after 5 misses."""
        i, n = 0, len(truth.scan)
        while i < n:
            if not truth.detected[i]:
                i += 1
                continue
            j, misses = i, 0
            while j < n and misses < 5:
                misses = 0 if truth.detected[j] else misses + 1
                j += 1
            self._one(truth, i, j - misses)
            i = j

    def _one(self, truth: TruthHistory, a: int, b: int) -> None:
        kid = f"T{len(self.tracks) + 1:03d}"
        sl = slice(a, b)
        pos = truth.pos[sl] + self.rng.normal(0, 6.0, (b - a, 3))
        k = np.arange(b - a)
        status = np.where(k < 2, 0, np.where(truth.detected[sl], 1, 2)).astype(np.int8)
        known = truth.kind in ("drone", "bird", "aircraft")
        cls = [truth.kind if known and x >= 10 else "unknown" for x in k]
        self.tracks[kid] = TrackHistory(kid, truth.scan[sl], pos, truth.vel[sl], status, cls)
        t = self.times[truth.scan[sl]]
        if b - a <= 2:
            return
        self.events.append(TrackConfirmed(float(t[2]), kid, tuple(map(float, pos[2]))))
        if truth.id == "F1":
            self.events.append(TrackIdentified(float(t[3]), kid, "RU-FSO-0007", "fso-night-survey"))
        if known and b - a > 10:
            self.events.append(TrackClassified(float(t[10]), kid, truth.kind, 0.9))
        seen: set[str] = set()
        threat = False
        for x in range(10, b - a):
            if truth.kind != "drone" or truth.id == "F1":
                break
            dist = float(np.linalg.norm(pos[x] - self.dome))
            speed = max(float(np.linalg.norm(truth.vel[a + x])), 1.0)
            for z, poly in self.zones:
                if z.id not in seen and poly.contains(Point(pos[x, :2])) and z.floor_m <= pos[x, 2] <= z.ceiling_m:
                    seen.add(z.id)
                    self.events.append(ZoneViolation(float(t[x]), kid, z.id, "drone", "senate-dome", dist / speed,
                                                     tuple(map(float, pos[x]))))
            if not threat and dist < 800:
                threat = True
                self.events.append(ThreatRaised(float(t[x]), kid, "senate-dome", "high", dist / speed, 12.0))
        self.events.append(TrackLost(float(t[-1]) + 5.0, kid))

    def clutter(self, n: int, n_scans: int) -> None:
        """Short false tracks at random places (confirmed, then lost)."""
        for _ in range(n):
            a = int(self.rng.integers(0, n_scans - 30))
            life = int(self.rng.integers(8, 25))
            pos = self.rng.uniform([-4000, -4000, 20], [4000, 4000, 400]) + np.cumsum(
                self.rng.normal(0, 4, (life, 3)), axis=0)
            scans = np.arange(a, a + life)
            truth = TruthHistory("clutter", "clutter", scans, pos, np.zeros((life, 3)), np.ones(life, bool),
                                 np.ones(life, bool))
            self._one(truth, 0, life)


def build_kremlin_record(n_scans: int = 1320, seed: int = 7) -> RunRecord:
    """A deterministic Kremlin-like night: two attack drones, a permitted survey drone, birds, aircraft, clutter."""
    site = load_site(SITE_TOML)
    rng = np.random.default_rng(seed)
    times = T0 + np.arange(n_scans, dtype=float)
    truths = _truths(site, n_scans, rng)
    tracks = _Tracks(site, times, rng)
    for h in truths.values():
        tracks.follow(h)
    tracks.clutter(6, n_scans)
    return RunRecord("kremlin-2023-05-03", seed, site, times, truths, tracks.tracks,
                     sorted(tracks.events, key=lambda e: e.t))


@pytest.fixture(scope="session")
def kremlin_record() -> RunRecord:
    return build_kremlin_record()


@pytest.fixture(scope="session")
def kremlin_summary(kremlin_record: RunRecord) -> dict:
    return summarize(kremlin_record)
