"""The outcomes the built-in scenarios exist to show, over the default seed and ten others."""

from __future__ import annotations

import pytest

from conftest import run
from skywarden.metrics import held_by_one_track, track_swaps

KREMLIN_SEEDS = [None, *range(1, 11)]
CONFIRMED_BEFORE_S, WARNING_S = 90.0, 60.0


def assert_intruders_warned(summary: dict) -> int:
    """Every intruding drone confirmed >= 90 s before its asset alerted >= 60 s before it; returns how many."""
    checked = 0
    for row in summary["per_truth"]:
        reached, confirmed, alert = row["reached_asset_t"], row["confirmed_t"], row["alert_t"]
        if row["kind"] != "drone" or reached is None or confirmed is None or reached - confirmed < CONFIRMED_BEFORE_S:
            continue
        checked += 1
        assert alert is not None, f"{row['truth_id']} reached its asset without an alert"
        assert reached - alert >= WARNING_S, f"{row['truth_id']}: alert only {reached - alert:.0f} s before its asset"
    return checked


@pytest.mark.parametrize("seed", KREMLIN_SEEDS, ids=lambda s: f"seed-{s}")
def test_kremlin_drones_are_held_and_alerted_in_time(seed: int | None) -> None:
    record, summary = run("kremlin-2023-05-03", seed)
    drones = {row["truth_id"]: row for row in summary["per_truth"] if row["kind"] == "drone"
              and row["truth_id"].startswith("drone-")}
    assert sorted(drones) == ["drone-1", "drone-2"]
    for truth_id, row in drones.items():
        assert row["reached_asset_t"] is not None, f"{truth_id} never reached the dome"
        assert row["confirmed_t"] is not None, f"{truth_id} was never held by a confirmed track"
        assert row["alert_t"] is not None, f"{truth_id} raised no alert"
        margin = row["reached_asset_t"] - row["alert_t"]
        assert margin >= 60.0, f"{truth_id}: alert only {margin:.0f} s before the dome"
        held = held_by_one_track(record, truth_id, row["confirmed_t"], row["reached_asset_t"])
        assert held.held, f"{truth_id}: {held}"


@pytest.mark.parametrize("seed", KREMLIN_SEEDS, ids=lambda s: f"seed-{s}")
def test_kremlin_alerts_are_the_two_drones_but_for_at_most_one(seed: int | None) -> None:
    record, summary = run("kremlin-2023-05-03", seed)
    kinds = {tid: t.kind for tid, t in record.truths.items()}
    assert summary["alerts"], "no alert at all"
    other = [a for a in summary["alerts"] if a["truth_id"] not in ("drone-1", "drone-2")]
    # fail safe: a track that is not confidently harmless alerts; one such track in the 22 minutes is the budget
    assert len({a["track_id"] for a in other}) <= 1, [(a["truth_id"], kinds.get(a["truth_id"])) for a in other]
    assert {a["zone"] for a in summary["alerts"] if a not in other} >= {"moscow-uas-ban", "kremlin"}


def test_kremlin_permitted_survey_drone_is_identified() -> None:
    record, _ = run("kremlin-2023-05-03")
    identified = [e for e in record.events if e.kind == "TrackIdentified"]
    assert identified and {e.uas_id for e in identified} == {"RU-FSO-0007"}
    assert all(e.permit_id == "fso-night-survey" for e in identified)


@pytest.mark.parametrize("seed", KREMLIN_SEEDS, ids=lambda s: f"seed-{s}")
def test_quadcopter_raid_every_intruder_is_warned_in_time(seed: int | None) -> None:
    record, summary = run("quadcopter-raid", seed)
    assert assert_intruders_warned(summary) >= 3
    kinds = {tid: t.kind for tid, t in record.truths.items()}
    assert {"drone", "bird", "vehicle"} <= set(kinds.values())
    false = [a for a in summary["alerts"] if kinds.get(a["truth_id"]) != "drone"]
    assert len(false) <= 3, f"false alerts: {false}"  # 87 vehicles and 40 birds in 19 minutes


@pytest.mark.parametrize("seed", KREMLIN_SEEDS, ids=lambda s: f"seed-{s}")
def test_crossing_drones_both_alert(seed: int | None) -> None:
    _, summary = run("crossing-drones", seed)
    drones = [row for row in summary["per_truth"] if row["kind"] == "drone"]
    assert len(drones) == 2 and all(row["alert_t"] is not None for row in drones), drones
    assert_intruders_warned(summary)


@pytest.mark.parametrize("seed", [None, 1, 2, 3])
def test_crossing_drones_do_not_swap(seed: int | None) -> None:
    record, summary = run("crossing-drones", seed)
    drones = [row for row in summary["per_truth"] if row["kind"] == "drone"]
    assert len(drones) == 2
    assert track_swaps(record) == {}
    for row in drones:
        assert row["confirmed_t"] is not None
        end = record.scan_times[record.truths[row["truth_id"]].scan[-1]]
        held = held_by_one_track(record, row["truth_id"], row["confirmed_t"], float(end))
        assert held.held, f"{row['truth_id']}: {held}"


def test_birds_only_with_traffic_raises_at_most_one_false_alert_an_hour() -> None:
    alerts, hours = [], 0.0
    for seed in (None, 1, 2):  # a rate, so judged over several hours
        _, summary = run("birds-only", seed)
        assert summary["scans"] >= 3600
        alerts += summary["alerts"]
        hours += summary["scans"] / 3600.0
        for kind in ("bird", "vehicle"):
            rows = [row for row in summary["per_truth"] if row["kind"] == kind]
            assert rows and any(row["confirmed_t"] is not None for row in rows), f"no {kind} was ever tracked"
    assert len(alerts) <= hours, alerts


@pytest.mark.parametrize("seed", KREMLIN_SEEDS, ids=lambda s: f"seed-{s}")
def test_kremlin_permitted_survey_drone_never_alerts(seed: int | None) -> None:
    record, summary = run("kremlin-2023-05-03", seed)
    survey = next(row for row in summary["per_truth"] if row["truth_id"] == "fso-survey")
    assert survey["alert_t"] is None
    tracks = set(survey["track_ids"])
    assert not [e for e in record.events if e.kind in ("ZoneViolation", "ThreatRaised") and e.track_id in tracks]
