"""A raw input that is refused stays in the ledger as evidence, with its refusal; a re-run refuses it the same way."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from skywarden.evidence import Ledger, SiteKey
from skywarden.pipeline import Pipeline
from skywarden.runtime.recorder import EvidenceRecorder, RawInput, ScanRejected, raw_inputs
from skywarden.runtime.rerun import rerun
from skywarden.sim.engine import Simulation
from skywarden.sim.scenario import load_scenario


def record_with_bad_inputs(path: Path) -> tuple[list[str], int]:
    """crossing-drones with a garbage report, a garbage scan, a scan back in time and a huge number fed in;
    returns the refusals the live run raised and the number of scans that ran."""
    scenario = load_scenario("crossing-drones")
    sim = Simulation(scenario, 2)
    refused: list[str] = []
    ran = 0
    with Ledger.create(path, SiteKey.generate()) as ledger:
        runner = EvidenceRecorder(Pipeline(sim.site), ledger, float(scenario.start_utc))
        last_t = 0.0
        for k, step in enumerate(sim.steps()):
            inputs = raw_inputs(step.scan.plots, step.coop)
            if k == 5:
                inputs = [RawInput(step.t, "rid-1", b'{"type": "coop", "t": '), *inputs]
            if k == 8:
                inputs = [RawInput(step.t, "radar-1", b"\xff\xfe not a scan")]
            if k == 11:
                inputs = [RawInput(step.t, "radar-1", b'{"type": "plots", "t": 1' + b"0" * 400 + b"}")]
            if k == 14:  # a correct line whose time went back: the tracker refuses it before changing state
                back = json.loads(inputs[-1].data)
                back["t"] = last_t - 30.0
                inputs = [RawInput(step.t, inputs[-1].source, json.dumps(back).encode())]
            try:
                outcome = runner.scan(inputs)
                last_t = outcome.picture.t
                ran += 1
            except ScanRejected as exc:
                refused.append(str(exc))
            if k == 40:
                break
    return refused, ran


def test_refused_inputs_are_kept_with_their_reason_and_rerun_alike(tmp_path: Path) -> None:
    refused, ran = record_with_bad_inputs(tmp_path / "ledger")
    assert len(refused) == 3 and ran == 38
    assert "radar-1" in refused[0] and "before the track states' time" in refused[2]
    with Ledger.open(tmp_path / "ledger") as ledger:
        entries = list(ledger.entries())
    rejections = [json.loads(e.payload) for e in entries if e.kind == "event" and b'"InputRejected"' in e.payload]
    assert len(rejections) == 4
    for r in rejections:  # each names the raw entry it refused, which is still in the ledger
        assert entries[r["entry"]].kind == "raw" and r["reason"]
    assert entries[rejections[0]["entry"]].payload == b'{"type": "coop", "t": '
    result = rerun(entries)
    assert result.identical, result.differences
    assert result.scans == ran
    assert sum(e.kind == "InputRejected" for e in result.record.events) == 4


def test_a_forged_refusal_is_a_difference_not_a_crash(tmp_path: Path) -> None:
    import dataclasses

    record_with_bad_inputs(tmp_path / "ledger")
    with Ledger.open(tmp_path / "ledger") as ledger:
        entries = list(ledger.entries())
    k = next(i for i, e in enumerate(entries) if e.kind == "event" and b'"InputRejected"' in e.payload)
    forged = entries[k].payload.replace(b'"reason":"', b'"reason":"forged ')
    result = rerun([*entries[:k], dataclasses.replace(entries[k], payload=forged), *entries[k + 1:]])
    assert not result.identical and f"entry {k}: recorded InputRejected(" in result.differences[0]


def test_a_scan_of_reports_alone_waits_for_a_sensor_scan() -> None:
    scenario = load_scenario("crossing-drones")
    sim = Simulation(scenario, 1)
    runner = EvidenceRecorder(Pipeline(sim.site), None, float(scenario.start_utc))
    step = next(iter(sim.steps()))
    inputs = raw_inputs(step.scan.plots, step.coop)
    with pytest.raises(ScanRejected, match="no sensor scan"):
        runner.scan(inputs[:-1])
    assert runner.scan(inputs[-1:]).picture.t == step.t


@pytest.mark.parametrize("payload", [b"[1]", b'"zone"', b'{"id": 5}', b"{}"])
def test_a_forged_site_edit_in_a_ledger_is_refused_naming_its_entry(tmp_path: Path, payload: bytes) -> None:
    import dataclasses

    from skywarden.evidence import LedgerError

    record_with_bad_inputs(tmp_path / "ledger")
    with Ledger.open(tmp_path / "ledger") as ledger:
        entries = list(ledger.entries())
    edit = dataclasses.replace(entries[3], kind="config", source="site/zones/x", payload=payload)
    with pytest.raises(LedgerError, match="entry 3: the config 'site/zones/x' cannot be applied"):
        rerun([*entries[:3], edit, *entries[4:]])
