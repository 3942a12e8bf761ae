"""Evidence from the command line: replay into a signed ledger, verify it, export an incident, verify the bundle."""

from __future__ import annotations

import contextlib
import json
import shutil
import stat
import zipfile
from pathlib import Path

import pytest

from conftest import sw


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cwd = tmp_path_factory.mktemp("evidence")
    res = sw("replay", "crossing-drones", "--seed", "7", "--out", "run", "--key", "keys/site.pem", cwd=cwd)
    assert res.returncode == 0, res.stderr
    assert "ledger: run/ledger" in res.stdout.replace("\n", " ")
    return cwd


def test_replay_writes_a_signed_ledger_and_its_public_key(run_dir: Path) -> None:
    assert (run_dir / "run" / "ledger").stat().st_size > 0
    assert (run_dir / "run" / "ledger.pub.pem").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert stat.S_IMODE((run_dir / "keys" / "site.pem").stat().st_mode) == 0o600
    res = sw("verify", "run/ledger", cwd=run_dir)
    assert res.returncode == 0 and "verified" in res.stdout, res.stdout + res.stderr


def test_a_flipped_byte_in_the_ledger_is_named(run_dir: Path, tmp_path: Path) -> None:
    data = bytearray((run_dir / "run" / "ledger").read_bytes())
    data[len(data) // 2] ^= 0x40
    (tmp_path / "ledger").write_bytes(bytes(data))
    res = sw("verify", "ledger", cwd=tmp_path)
    assert res.returncode == 1 and "NOT verified:" in res.stdout, res.stdout + res.stderr


def test_replay_of_the_ledger_gives_the_same_events_bit_for_bit(run_dir: Path) -> None:
    res = sw("replay", "run/ledger", "--out", "rerun", cwd=run_dir)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "identical" in res.stdout and "bit for bit" in res.stdout
    recorded = (run_dir / "run" / "events.jsonl").read_text()
    assert (run_dir / "rerun" / "events.jsonl").read_text() == recorded
    assert json.loads((run_dir / "rerun" / "summary.json").read_text())["gospa_mean_m"] is None


def test_incident_bundle_verifies_elsewhere_and_tampering_is_caught(run_dir: Path, tmp_path: Path) -> None:
    res = sw("incident", "list", "--ledger", "run/ledger", cwd=run_dir)
    assert res.returncode == 0 and "INC-0001" in res.stdout, res.stdout + res.stderr
    res = sw("incident", "export", "INC-0001", "--ledger", "run/ledger", "--out", "inc.zip", cwd=run_dir)
    assert res.returncode == 2 and ("did not sign run/ledger" in res.stderr or "no site key at" in res.stderr), res.stderr
    res = sw("incident", "export", "INC-0001", "--ledger", "run/ledger", "--out", "inc.zip", "--key", "keys/site.pem",
             cwd=run_dir)
    assert res.returncode == 0, res.stdout + res.stderr
    with zipfile.ZipFile(run_dir / "inc.zip") as z:
        assert set(z.namelist()) == {"manifest.json", "manifest.sig", "entries.bin", "public_key.pem", "report.html"}
        manifest = json.loads(z.read("manifest.json"))
    assert manifest["incident"]["id"] == "INC-0001" and manifest["inclusion_proofs"]
    assert manifest["software_version"] and len(manifest["site_config_sha256"]) == 64

    elsewhere = tmp_path / "elsewhere"  # nothing of the run but the bundle
    elsewhere.mkdir()
    shutil.copy(run_dir / "inc.zip", elsewhere / "inc.zip")
    res = sw("verify", "inc.zip", "--public-key", str(run_dir / "run" / "ledger.pub.pem"), cwd=elsewhere)
    assert res.returncode == 0 and "bit for bit" in res.stdout and "verified" in res.stdout, res.stdout + res.stderr

    with zipfile.ZipFile(run_dir / "inc.zip") as z:
        parts = {name: z.read(name) for name in z.namelist()}
    genuine = dict(parts)
    blob = bytearray(parts["entries.bin"])
    blob[len(blob) // 3] ^= 0x01
    parts["entries.bin"] = bytes(blob)
    with zipfile.ZipFile(elsewhere / "bad.zip", "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    res = sw("verify", "bad.zip", cwd=elsewhere)
    assert res.returncode == 1 and "NOT verified:" in res.stdout and "Traceback" not in res.stderr, res.stdout + res.stderr
    res = sw("verify", "inc.zip", cwd=elsewhere)  # no key given: it verifies, and says whose key it trusted
    assert res.returncode == 0 and "WARNING no --public-key given: trusted the key inside the bundle" in res.stdout

    # the forgery: the incident's tracks, zone and start rewritten and the report replaced
    manifest = json.loads(parts["manifest.json"])
    manifest["incident"].update(track_ids=["T0001"], zone_ids=["elsewhere"], t_start=manifest["incident"]["t_start"] - 60)
    forged = {**genuine, "manifest.json": json.dumps(manifest).encode(), "report.html": b"<html>nothing happened</html>"}
    for name, members in {"forged.zip": forged,
                          "array.zip": {**forged, "manifest.json": b"[]"},
                          "noincident.zip": {**forged, "manifest.json": json.dumps({k: v for k, v in manifest.items()
                                                                                  if k != "incident"}).encode()}}.items():
        with zipfile.ZipFile(elsewhere / name, "w") as z:
            for member, data in members.items():
                z.writestr(member, data)
        res = sw("verify", name, cwd=elsewhere)
        assert res.returncode == 1 and "NOT verified:" in res.stdout, res.stdout + res.stderr
        assert "Traceback" not in res.stderr and "signature does not verify" in res.stdout, res.stdout

    res = sw("incident", "export", "INC-9999", "--ledger", "run/ledger", "--out", "x.zip", "--key", "keys/site.pem",
             cwd=run_dir)
    assert res.returncode == 2 and "no incident 'INC-9999'" in res.stderr


def test_the_signing_cadence_is_an_option(tmp_path: Path) -> None:
    res = sw("replay", "crossing-drones", "--seed", "7", "--out", "run", "--sign-every", "30", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    heads = int(res.stdout.replace("\n", " ").split("entries, ")[1].split(" signed")[0])
    assert 300 / 30 <= heads <= 300 / 30 + 3  # one per 30 s of a 300 s run, plus the final head


def test_a_ledger_with_refused_inputs_replays_exports_and_verifies(tmp_path: Path) -> None:
    """A live input the decoder refused stays in the ledger; replay LEDGER, incident export and verify all go on."""
    from skywarden.evidence import Ledger, SiteKey
    from skywarden.pipeline import Pipeline
    from skywarden.runtime.recorder import EvidenceRecorder, RawInput, ScanRejected, raw_inputs
    from skywarden.sim.engine import Simulation
    from skywarden.sim.scenario import load_scenario

    scenario = load_scenario("crossing-drones")
    sim = Simulation(scenario, 7)
    key = SiteKey.load_or_create(tmp_path / "site.pem")
    with Ledger.create(tmp_path / "ledger", key) as ledger:
        runner = EvidenceRecorder(Pipeline(sim.site), ledger, float(scenario.start_utc))
        for k, step in enumerate(sim.steps()):
            inputs = raw_inputs(step.scan.plots, step.coop)
            if k % 50 == 7:  # now and then a line of garbage instead of the scan, or beside it
                inputs = [RawInput(step.t, "radar-1", b'{"type": "plots", "t": ' + b"[" * 5000)]
            elif k % 50 == 30:
                inputs = [RawInput(step.t, "rid-9", b"\x00\xff"), *inputs]
            with contextlib.suppress(ScanRejected):
                runner.scan(inputs)
    res = sw("verify", "ledger", "--public-key", "ledger.pub.pem", cwd=tmp_path)
    assert res.returncode == 0 and "WARNING" not in res.stdout, res.stdout + res.stderr
    res = sw("replay", "ledger", "--out", "rerun", cwd=tmp_path)
    assert res.returncode == 0 and "identical" in res.stdout, res.stdout + res.stderr
    rejected = [json.loads(x) for x in (tmp_path / "rerun" / "events.jsonl").read_text().splitlines()
                if '"InputRejected"' in x]
    assert len(rejected) >= 10 and all(r["reason"] for r in rejected)
    res = sw("incident", "export", "INC-0001", "--ledger", "ledger", "--out", "inc.zip", "--key", "site.pem",
             cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    res = sw("verify", "inc.zip", "--public-key", "ledger.pub.pem", cwd=tmp_path)
    assert res.returncode == 0 and "bit for bit" in res.stdout, res.stdout + res.stderr
