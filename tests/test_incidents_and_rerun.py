"""Incidents from events, and a re-run of recorded input that notices any changed decision."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from skywarden.events import TrackConfirmed, TrackLost, ZoneViolation
from skywarden.evidence import Ledger, SiteKey
from skywarden.response.incidents import find_incidents
from skywarden.runtime.replay import replay
from skywarden.runtime.rerun import rerun

T0 = 1_683_072_000.0


def alert(t: float, track: str, zone: str = "z") -> ZoneViolation:
    return ZoneViolation(t=t, track_id=track, zone_id=zone, classification="drone", asset_id=None,
                         time_to_asset_s=None, position_enu_m=(0.0, 0.0, 0.0))


def test_alerts_with_overlapping_windows_are_one_incident() -> None:
    events = [
        TrackConfirmed(T0 + 10, "T1", (0.0, 0.0, 0.0)), alert(T0 + 20, "T1"), alert(T0 + 25, "T1", "y"),
        TrackConfirmed(T0 + 30, "T2", (0.0, 0.0, 0.0)), alert(T0 + 40, "T2"), TrackLost(T0 + 50, "T1"),
        TrackLost(T0 + 60, "T2"),
        TrackConfirmed(T0 + 300, "T3", (0.0, 0.0, 0.0)), alert(T0 + 310, "T3"),
    ]
    first, second = find_incidents(events, T0 + 400, margin_s=10.0)
    assert (first.id, first.t_start, first.t_end, first.first_alert_t) == ("INC-0001", T0, T0 + 70, T0 + 20)
    assert first.track_ids == ("T1", "T2") and first.zone_ids == ("z", "y") and len(first.alerts) == 3
    assert (second.id, second.t_start, second.t_end, second.track_ids) == ("INC-0002", T0 + 290, T0 + 410, ("T3",))
    assert find_incidents(events[:2], T0 + 100)[0].t_end == T0 + 110  # never lost: open till the run's end


def test_rerun_is_identical_and_names_a_changed_decision(tmp_path: Path) -> None:
    with Ledger.create(tmp_path / "ledger", SiteKey.generate()) as ledger:
        record = replay("crossing-drones", 3, ledger=ledger)
    with Ledger.open(tmp_path / "ledger") as ledger:
        entries = list(ledger.entries())
    same = rerun(entries)
    assert same.identical and same.scans == len(record.scan_times)
    assert [e.to_dict() for e in same.record.events] == [e.to_dict() for e in record.events]

    k = next(i for i, e in enumerate(entries) if e.kind == "event" and b"ZoneViolation" in e.payload)
    forged = entries[k].payload.replace(b'"zone_id":"', b'"zone_id":"not-')
    changed = [*entries[:k], dataclasses.replace(entries[k], payload=forged), *entries[k + 1:]]
    result = rerun(changed)
    assert not result.identical
    assert f"entry {k}: recorded ZoneViolation(" in result.differences[0] and "not-" in result.differences[0]


def test_the_recorded_model_and_policy_drive_the_rerun(tmp_path: Path) -> None:
    import json

    from skywarden.evidence import canonical_json
    from skywarden.picture.classify import ClassifierParams

    with Ledger.create(tmp_path / "ledger", SiteKey.generate()) as ledger:
        replay("crossing-drones", 1, ledger=ledger)
    with Ledger.open(tmp_path / "ledger") as ledger:
        entries = list(ledger.entries())
    assert any(e.kind == "raw" and b'"md_spread_mps"' in e.payload for e in entries), "no micro-Doppler recorded"
    config = json.loads(entries[0].payload)
    assert config["policy"]["harmless_probability"] == 0.95 and config["policy"]["min_observation_s"] == 15.0
    assert config["classifier"]["temperature"] == ClassifierParams().temperature
    assert rerun(entries).identical
    # another model in the config entry (a hotter temperature): the re-run notices the changed confidences
    config["classifier"]["temperature"] *= 3.0
    changed = [dataclasses.replace(entries[0], payload=canonical_json(config)), *entries[1:]]
    result = rerun(changed)
    assert not result.identical and "TrackClassified" in result.differences[0]


def test_a_forged_run_config_is_refused_by_name_not_a_traceback(tmp_path: Path) -> None:
    import json

    import pytest

    from skywarden.evidence import LedgerError, canonical_json

    with Ledger.create(tmp_path / "ledger", SiteKey.generate()) as ledger:
        replay("crossing-drones", 1, ledger=ledger)
    with Ledger.open(tmp_path / "ledger") as ledger:
        entries = list(ledger.entries())
    config = json.loads(entries[0].payload)
    forgeries = {
        "a model of the wrong shape": {**config, "classifier": {**config["classifier"], "hidden_bias": [[0.0]]}},
        "no policy": {k: v for k, v in config.items() if k != "policy"},
        "an impossible policy": {**config, "policy": {**config["policy"], "harmless_probability": 7}},
        "an unknown parameter": {**config, "tracker": {**config["tracker"], "nonsense": 1}},
    }
    for forged in forgeries.values():
        with pytest.raises(LedgerError, match="config cannot rebuild the pipeline"):
            rerun([dataclasses.replace(entries[0], payload=canonical_json(forged)), *entries[1:]])
    nested = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(LedgerError, match="config cannot rebuild the pipeline"):
        rerun([dataclasses.replace(entries[0], payload=nested), *entries[1:]])
