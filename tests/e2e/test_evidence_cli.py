"""Evidence from the command line: replay into a signed ledger, verify it, export an incident, verify the bundle."""

from __future__ import annotations

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
    assert res.returncode == 0, res.stdout + res.stderr
    with zipfile.ZipFile(run_dir / "inc.zip") as z:
        assert {"manifest.json", "entries.bin", "public_key.pem", "report.html"} <= set(z.namelist())
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
    blob = bytearray(parts["entries.bin"])
    blob[len(blob) // 3] ^= 0x01
    parts["entries.bin"] = bytes(blob)
    with zipfile.ZipFile(elsewhere / "bad.zip", "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    res = sw("verify", "bad.zip", cwd=elsewhere)
    assert res.returncode != 0 and "not verified" in (res.stdout + res.stderr).lower(), res.stdout + res.stderr

    res = sw("incident", "export", "INC-9999", "--ledger", "run/ledger", "--out", "x.zip", cwd=run_dir)
    assert res.returncode == 2 and "no incident 'INC-9999'" in res.stderr


def test_the_signing_cadence_is_an_option(tmp_path: Path) -> None:
    res = sw("replay", "crossing-drones", "--seed", "7", "--out", "run", "--sign-every", "30", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    heads = int(res.stdout.replace("\n", " ").split("entries, ")[1].split(" signed")[0])
    assert 300 / 30 <= heads <= 300 / 30 + 3  # one per 30 s of a 300 s run, plus the final head
