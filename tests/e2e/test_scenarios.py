"""The outcomes the built-in scenarios exist to show, over the default seed and ten others."""

from __future__ import annotations

import pytest

from conftest import run
from skywarden.metrics import held_by_one_track, track_swaps

KREMLIN_SEEDS = [None, *range(1, 11)]


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
def test_kremlin_only_the_two_drones_alert(seed: int | None) -> None:
    record, summary = run("kremlin-2023-05-03", seed)
    kinds = {tid: t.kind for tid, t in record.truths.items()}
    assert summary["alerts"], "no alert at all"
    for alert in summary["alerts"]:
        assert alert["truth_id"] in ("drone-1", "drone-2"), f"alert on {alert['truth_id']} ({kinds.get(alert['truth_id'])})"
    assert {a["zone"] for a in summary["alerts"]} >= {"moscow-uas-ban", "kremlin"}


def test_kremlin_permitted_survey_drone_is_identified() -> None:
    record, _ = run("kremlin-2023-05-03")
    identified = [e for e in record.events if e.kind == "TrackIdentified"]
    assert identified and {e.uas_id for e in identified} == {"RU-FSO-0007"}
    assert all(e.permit_id == "fso-night-survey" for e in identified)


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


@pytest.mark.parametrize("seed", [None, 1])
def test_birds_only_raises_no_alert(seed: int | None) -> None:
    record, summary = run("birds-only", seed)
    assert summary["scans"] >= 3600
    assert summary["alerts"] == []
    assert not [e for e in record.events if e.kind in ("ZoneViolation", "ThreatRaised")]
    birds = [row for row in summary["per_truth"] if row["kind"] == "bird"]
    assert birds and any(row["confirmed_t"] is not None for row in birds), "the birds were never tracked"
