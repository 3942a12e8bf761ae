"""Rules: who raises an intrusion, when, and how often."""

import datetime as dt
import json
from pathlib import Path

import numpy as np

from skywarden.airspace.rules import AirspaceRules
from skywarden.airspace.threat import ThreatLevel, ThreatParams
from skywarden.config import load_site
from skywarden.events import ThreatRaised, ZoneViolation
from skywarden.pipeline import Pipeline
from skywarden.runtime.recorder import run_config
from skywarden.runtime.rerun import pipeline_from_config

SITE = load_site(Path(__file__).resolve().parents[2] / "src/skywarden/sites/kremlin/site.toml")
T0 = dt.datetime(2023, 5, 2, 23, 25, tzinfo=dt.UTC).timestamp()
DOME = SITE.frame.to_enu(55.7525, 37.6188, 25.0)


def state(pos: np.ndarray, vel: np.ndarray) -> np.ndarray:
    return np.concatenate([pos, vel])[None, :]


def run(rules: AirspaceRules, t: float, x: np.ndarray, label: str = "drone", confirmed: bool = True,
        permit: str | None = None) -> list:
    return rules.apply(t, ["T1"], x, np.array([confirmed]), [label], [permit])[1]


def test_drone_entering_zones_alerts_once_per_entry() -> None:
    rules = AirspaceRules(SITE)
    inbound = DOME + np.array([600.0, -1500.0, 100.0])  # in the city, outside the walls
    vel = (DOME - inbound) / 60.0
    ev = run(rules, T0, state(inbound, vel))
    zv = [e for e in ev if isinstance(e, ZoneViolation)]
    assert [e.zone_id for e in zv] == ["moscow-uas-ban"]
    assert zv[0].asset_id == "senate-dome" and 50 < zv[0].time_to_asset_s < 60
    assert run(rules, T0 + 1, state(inbound + vel, vel)) == [] or all(
        not isinstance(e, ZoneViolation) for e in run(rules, T0 + 2, state(inbound + 2 * vel, vel)))
    inside_walls = DOME + np.array([-50.0, -50.0, 10.0])
    ev = run(rules, T0 + 3, state(inside_walls, vel))
    assert [e.zone_id for e in ev if isinstance(e, ZoneViolation)] == ["kremlin"]
    outside_city = SITE.frame.to_enu(56.3, 37.6, 100.0)
    assert not [e for e in run(rules, T0 + 4, state(outside_city, vel)) if isinstance(e, ZoneViolation)]
    ev = run(rules, T0 + 5, state(inside_walls, vel))
    assert sorted(e.zone_id for e in ev if isinstance(e, ZoneViolation)) == ["kremlin", "moscow-uas-ban"]


def test_birds_permitted_and_tentative_tracks_never_alert() -> None:
    x = state(DOME + np.array([-50.0, -50.0, 10.0]), np.array([10.0, 0.0, 0.0]))
    for kwargs in ({"label": "bird"}, {"label": "unknown"}, {"label": "aircraft"}, {"permit": "fso-night-survey"},
                   {"confirmed": False}):
        rules = AirspaceRules(SITE)
        assessment, ev = rules.apply(T0, ["T1"], x, np.array([kwargs.get("confirmed", True)]),
                                     [kwargs.get("label", "drone")], [kwargs.get("permit")])
        assert ev == [], kwargs
        assert not assessment.intruder.any()


def test_threat_events_only_on_rises() -> None:
    rules = AirspaceRules(SITE)
    start = DOME + np.array([0.0, -4000.0, 100.0])
    vel = np.array([0.0, 20.0, 0.0])
    levels = []
    for k in range(0, 200, 5):
        levels += [e.level for e in run(rules, T0 + k, state(start + k * vel, vel)) if isinstance(e, ThreatRaised)]
    assert levels == ["medium", "high", "critical"]


def test_label_flicker_does_not_repeat_the_alert() -> None:
    rules = AirspaceRules(SITE)
    x = state(DOME + np.array([600.0, -1500.0, 100.0]), np.array([-10.0, 25.0, 0.0]))
    alerts = []
    for k, label in enumerate(["drone", "unknown", "drone", "bird", "drone"]):
        alerts += [e for e in run(rules, T0 + k, x, label=label) if isinstance(e, ZoneViolation)]
    assert len(alerts) == 1


def fly_at_dome(rules: AirspaceRules, label: str = "drone", permit: str | None = None) -> tuple[list[int], list[str]]:
    """Levels shown and ThreatRaised levels of a track flying straight at the dome from 4 km out."""
    start, vel = DOME + np.array([0.0, -4000.0, 100.0]), np.array([0.0, 20.0, 0.0])
    shown, raised = [], []
    for k in range(0, 200, 5):
        assessment, ev = rules.apply(T0 + k, ["T1"], state(start + k * vel, vel), np.array([True]), [label],
                                     [permit])
        shown.append(int(assessment.threat.level[0]))
        raised += [e.level for e in ev if isinstance(e, ThreatRaised)]
    return shown, raised


def test_threat_level_is_capped_by_what_the_track_is() -> None:
    shown, raised = fly_at_dome(AirspaceRules(SITE), "drone")
    assert max(shown) == ThreatLevel.CRITICAL and raised == ["medium", "high", "critical"]
    shown, raised = fly_at_dome(AirspaceRules(SITE), "unknown")
    assert max(shown) == ThreatLevel.CRITICAL  # an unclassified track may be a drone
    shown, raised = fly_at_dome(AirspaceRules(SITE), "bird")
    assert max(shown) == ThreatLevel.LOW and raised == []  # shown, never alarming
    shown, raised = fly_at_dome(AirspaceRules(SITE), "drone", permit="fso-night-survey")
    assert max(shown) == ThreatLevel.LOW and raised == []
    shown, raised = fly_at_dome(AirspaceRules(SITE), "aircraft")
    assert max(shown) == ThreatLevel.MEDIUM and raised == []


def test_threat_events_respect_the_cap() -> None:
    rules = AirspaceRules(SITE, ThreatParams(max_level=(("drone", ThreatLevel.HIGH),)))
    shown, raised = fly_at_dome(rules, "drone")
    assert max(shown) == ThreatLevel.HIGH and raised == ["medium", "high"]


def test_caps_survive_the_ledger_config() -> None:
    params = ThreatParams(max_level=(("bird", ThreatLevel.NONE), ("aircraft", ThreatLevel.HIGH)))
    config = json.loads(json.dumps(run_config(Pipeline(SITE, threat_params=params))))
    again = pipeline_from_config(config).rules.threat_params
    assert again == params and hash(again) == hash(params)
