"""Rules: who raises an intrusion, when, and how often."""

import datetime as dt
import json
from pathlib import Path

import numpy as np

from skywarden.airspace.rules import AirspaceRules, SafetyPolicy
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


def apply(rules: AirspaceRules, t: float, x: np.ndarray, label: str = "drone", confirmed: bool = True,
          permit: str | None = None, confidence: float = 0.99, age_s: float = 60.0) -> tuple:
    """One track through the rules: (assessment, events)."""
    return rules.apply(t, ["T1"], x, np.array([confirmed]), [label], [permit], confidence=np.array([confidence]),
                       age_s=np.array([age_s]))


def run(rules: AirspaceRules, t: float, x: np.ndarray, label: str = "drone", confirmed: bool = True,
        permit: str | None = None, confidence: float = 0.99, age_s: float = 60.0) -> list:
    return apply(rules, t, x, label, confirmed, permit, confidence, age_s)[1]


def test_drone_entering_zones_alerts_once_per_entry_rearmed_after_30_s_out() -> None:
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
    ev = run(rules, T0 + 5, state(inside_walls, vel))  # back after 1 s out: a wavering track, not a new entry
    assert not [e for e in ev if isinstance(e, ZoneViolation)]
    for k in range(6, 36):  # out for 30 s
        assert not [e for e in run(rules, T0 + k, state(outside_city, vel)) if isinstance(e, ZoneViolation)]
    ev = run(rules, T0 + 36, state(inside_walls, vel))
    assert sorted(e.zone_id for e in ev if isinstance(e, ZoneViolation)) == ["kremlin", "moscow-uas-ban"]


INSIDE_WALLS = state(DOME + np.array([-50.0, -50.0, 10.0]), np.array([10.0, 0.0, 0.0]))


def test_confident_harmless_permitted_and_tentative_tracks_never_alert() -> None:
    for kwargs in ({"label": "bird"}, {"label": "aircraft"}, {"label": "vehicle"}, {"permit": "fso-night-survey"},
                   {"confirmed": False}, {"label": "unknown", "confirmed": False}):
        assessment, ev = apply(AirspaceRules(SITE), T0, INSIDE_WALLS, **kwargs)
        assert not [e for e in ev if isinstance(e, ZoneViolation)], kwargs
        assert not assessment.intruder.any(), kwargs


def test_fail_safe_unknown_track_in_the_zone_alerts_as_unidentified() -> None:
    assessment, ev = apply(AirspaceRules(SITE), T0, INSIDE_WALLS, label="unknown", confidence=0.4)
    alerts = [e for e in ev if isinstance(e, ZoneViolation)]
    assert sorted(e.zone_id for e in alerts) == ["kremlin", "moscow-uas-ban"]
    assert all(e.classification == "unidentified" for e in alerts)
    assert assessment.intruder.all() and not assessment.harmless.any()


def test_a_bird_label_below_the_threshold_does_not_silence_the_alert() -> None:
    policy = SafetyPolicy()
    for confidence in (0.5, 0.9, policy.harmless_probability - 1e-6):
        _, ev = apply(AirspaceRules(SITE), T0, INSIDE_WALLS, label="bird", confidence=confidence)
        assert [e.classification for e in ev if isinstance(e, ZoneViolation)], confidence
    _, ev = apply(AirspaceRules(SITE), T0, INSIDE_WALLS, label="bird", confidence=policy.harmless_probability)
    assert not [e for e in ev if isinstance(e, ZoneViolation)]


def test_a_confident_label_counts_only_after_the_minimum_observation_time() -> None:
    policy = SafetyPolicy(min_observation_s=10.0)
    young = apply(AirspaceRules(SITE, policy=policy), T0, INSIDE_WALLS, label="bird", confidence=0.999, age_s=5.0)
    assert not young[0].harmless.any()
    assert not young[1], "a young non-drone track is given the classifier's time before it alerts"
    old = apply(AirspaceRules(SITE, policy=policy), T0, INSIDE_WALLS, label="bird", confidence=0.999, age_s=10.0)
    assert old[0].harmless.all() and not old[1]
    # a confident drone alerts at once, whatever its age; an unsure one once the classifier had its time
    _, ev = apply(AirspaceRules(SITE, policy=policy), T0, INSIDE_WALLS, label="drone", confidence=0.97, age_s=1.0)
    assert {e.classification for e in ev if isinstance(e, ZoneViolation)} == {"drone"}
    _, ev = apply(AirspaceRules(SITE, policy=policy), T0, INSIDE_WALLS, label="drone", confidence=0.7, age_s=1.0)
    assert not ev
    _, ev = apply(AirspaceRules(SITE, policy=policy), T0, INSIDE_WALLS, label="drone", confidence=0.7, age_s=10.0)
    assert {e.classification for e in ev if isinstance(e, ZoneViolation)} == {"drone"}


def test_a_stricter_policy_keeps_the_alert() -> None:
    strict = SafetyPolicy(harmless_probability=0.999)
    _, ev = apply(AirspaceRules(SITE, policy=strict), T0, INSIDE_WALLS, label="bird", confidence=0.99)
    assert [e for e in ev if isinstance(e, ZoneViolation)]


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


def fly_at_dome(rules: AirspaceRules, label: str = "drone", permit: str | None = None,
                confidence: float = 0.99) -> tuple[list[int], list[str]]:
    """Levels shown and ThreatRaised levels of a track flying straight at the dome from 4 km out."""
    start, vel = DOME + np.array([0.0, -4000.0, 100.0]), np.array([0.0, 20.0, 0.0])
    shown, raised = [], []
    for k in range(0, 200, 5):
        assessment, ev = apply(rules, T0 + k, state(start + k * vel, vel), label, True, permit, confidence)
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
    shown, raised = fly_at_dome(AirspaceRules(SITE), "vehicle")
    assert max(shown) == ThreatLevel.LOW and raised == []
    # a confident aircraft is capped at medium, but never below high inside the critical bounds
    shown, raised = fly_at_dome(AirspaceRules(SITE), "aircraft")
    assert set(shown) == {ThreatLevel.MEDIUM, ThreatLevel.HIGH} and shown[-1] == ThreatLevel.HIGH
    assert raised == ["medium", "high"]


def test_a_label_below_the_threshold_caps_nothing() -> None:
    for label in ("bird", "aircraft", "vehicle", "unknown"):
        shown, raised = fly_at_dome(AirspaceRules(SITE), label, confidence=0.8)
        assert max(shown) == ThreatLevel.CRITICAL and raised == ["medium", "high", "critical"], label


def test_threat_events_respect_the_cap() -> None:
    rules = AirspaceRules(SITE, ThreatParams(max_level=(("drone", ThreatLevel.HIGH),)))
    shown, raised = fly_at_dome(rules, "drone")
    assert max(shown) == ThreatLevel.HIGH and raised == ["medium", "high"]


def test_caps_and_policy_survive_the_ledger_config() -> None:
    params = ThreatParams(max_level=(("bird", ThreatLevel.NONE), ("aircraft", ThreatLevel.HIGH)))
    policy = SafetyPolicy(harmless_labels=("bird",), harmless_probability=0.99, min_observation_s=20.0)
    config = json.loads(json.dumps(run_config(Pipeline(SITE, threat_params=params, policy=policy))))
    again = pipeline_from_config(config).rules
    assert again.threat_params == params and hash(again.threat_params) == hash(params)
    assert again.policy == policy and hash(again.policy) == hash(policy)


def test_policy_refuses_impossible_values() -> None:
    import pytest

    for kwargs in ({"harmless_probability": 0.3}, {"harmless_probability": 1.5}, {"min_observation_s": -1.0},
                   {"critical_floor_level": 7}, {"rearm_s": -5.0}):
        with pytest.raises(ValueError, match="SafetyPolicy"):
            SafetyPolicy(**kwargs)


def test_the_site_file_sets_the_policy(tmp_path: Path) -> None:
    import shutil

    import pytest

    from skywarden.config import ConfigError

    folder = Path(__file__).resolve().parents[2] / "src/skywarden/sites/kremlin"
    for name in ("site.toml", "zones.geojson"):
        shutil.copy(folder / name, tmp_path / name)
    text = (tmp_path / "site.toml").read_text()
    (tmp_path / "site.toml").write_text(text.replace("harmless_probability = 0.95", "harmless_probability = 0.99"))
    assert Pipeline(load_site(tmp_path / "site.toml")).rules.policy.harmless_probability == 0.99
    (tmp_path / "site.toml").write_text(text.replace("min_observation_s = 15.0", "min_observation_s = -1.0"))
    with pytest.raises(ConfigError, match=r"safety\.min_observation_s"):
        load_site(tmp_path / "site.toml")
