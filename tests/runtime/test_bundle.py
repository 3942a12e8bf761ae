"""Incident bundles under attack: every forged, truncated, oversized or foreign bundle is refused with a reason,
never a traceback; a genuine one verifies."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from skywarden.evidence import Ledger, SignedTreeHead, SiteKey
from skywarden.evidence.signing import key_id
from skywarden.response.incidents import find_incidents
from skywarden.runtime import bundle as bundle_module
from skywarden.runtime.bundle import MANIFEST_CONTEXT, BundleError, export_bundle, verify_bundle
from skywarden.runtime.replay import replay

Members = dict[str, bytes]


@pytest.fixture(scope="module")
def genuine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A bundle of crossing-drones' first incident, and the site's public key PEM."""
    folder = tmp_path_factory.mktemp("bundle")
    key = SiteKey.generate()
    with Ledger.create(folder / "ledger", key) as ledger:
        record = replay("crossing-drones", 7, ledger=ledger)
    incidents = find_incidents(record.events, float(record.scan_times[-1]))
    with Ledger.open(folder / "ledger") as ledger:
        entries = list(ledger.entries())
        export_bundle(ledger, entries, incidents[0], folder / "inc.zip", "<html>the report</html>", key)
    return folder / "inc.zip", key.public_key_pem()


def members_of(path: Path) -> Members:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def write(path: Path, members: Members | list[tuple[str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in (members.items() if isinstance(members, dict) else members):
            z.writestr(name, data)
    return path


def resigned(members: Members, change: Callable[[dict], None], key: SiteKey | None = None) -> Members:
    """The attacker's bundle: the manifest changed, then the head and the manifest signed with a key of their own."""
    key = key or SiteKey.generate()
    manifest = json.loads(members["manifest.json"])
    original = manifest["tree_head"]
    change(manifest)
    if manifest["tree_head"] == original:
        head = SignedTreeHead.from_dict(original)
        manifest["tree_head"] = key.sign_head(head.log_id, head.tree_size, head.root_hash, head.t, head.final).to_dict()
    manifest["key_id"] = key.key_id
    text = json.dumps(manifest).encode()
    return {**members, "manifest.json": text, "manifest.sig": key.sign_document(MANIFEST_CONTEXT, text),
            "public_key.pem": key.public_key_pem()}


def refused(path: Path, *needles: str, trusted: bytes | None = None) -> str:
    report = verify_bundle(path, trusted, replay=False)
    assert not report.ok and report.problems
    text = " ".join(report.problems)
    for needle in needles:
        assert needle in text, text
    return text


def test_a_genuine_bundle_verifies_and_says_when_it_trusted_its_own_key(genuine: tuple[Path, bytes]) -> None:
    path, pem = genuine
    report = verify_bundle(path, pem)
    assert report.ok, report.problems
    assert not report.warnings and report.incident == "INC-0001"
    assert any("bit for bit" in c for c in report.checks) and any("is what the bundled events give" in c
                                                                    for c in report.checks)
    alone = verify_bundle(path, None, replay=False)
    assert alone.ok and "trusted the key inside the bundle" in alone.warnings[0]


def test_the_issue_forgery_rewritten_incident_and_report_is_refused(genuine: tuple[Path, bytes], tmp_path: Path) -> None:
    path, pem = genuine
    parts = members_of(path)

    def forge(m: dict) -> None:
        m["incident"]["track_ids"] = ["T9999"]
        m["incident"]["zone_ids"] = ["somewhere-else"]
        m["incident"]["t_start"] -= 600.0

    # the manifest changed in place: its signature no longer holds
    manifest = json.loads(parts["manifest.json"])
    forge(manifest)
    refused(write(tmp_path / "a.zip", {**parts, "manifest.json": json.dumps(manifest).encode()}), "signature")
    # re-signed with the forger's own key: the incident is not what the events give
    text = refused(write(tmp_path / "b.zip", resigned(parts, forge)), "is not the one the bundled events give")
    assert "t_start" in text and "track_ids" in text and "zone_ids" in text
    # and under the site's key it is not even signed by the site
    refused(write(tmp_path / "b.zip", resigned(parts, forge)), "key mismatch", trusted=pem)
    # a replaced report
    refused(write(tmp_path / "c.zip", {**parts, "report.html": b"<html>all is well</html>"}), "report_sha256")


@pytest.mark.parametrize(("change", "needle"), [
    (lambda m: m.pop("incident"), "incident: Field required"),
    (lambda m: m.update(window_entries=m["window_entries"][1:]), "inclusion_proofs"),
    (lambda m: m.update(report_sha256="0" * 64), "report_sha256"),
    (lambda m: m.update(extra="field"), "extra: Extra inputs are not permitted"),
    (lambda m: m.update(bundled_entries=m["bundled_entries"] - 1), "entries.bin holds"),
    (lambda m: m.update(software_version="9.9"), "software_version"),
    (lambda m: m["incident"].update(id="INC-0042"), "no incident 'INC-0042'"),
    (lambda m: m.update(tree_head={"tree_size": "many"}), "tree_head"),
    (lambda m: m.update(consistency_proof=["zz"]), "consistency_proof"),
    (lambda m: m.update(bundled_entries=10 ** 400), "bundled_entries"),
])
def test_a_resigned_manifest_that_lies_is_refused(genuine: tuple[Path, bytes], tmp_path: Path,
                                                  change: Callable[[dict], None], needle: str) -> None:
    refused(write(tmp_path / "x.zip", resigned(members_of(genuine[0]), change)), needle)


@pytest.mark.parametrize(("manifest", "needle"), [
    (b"[1, 2, 3]", "manifest.json"),
    (b"{", "manifest.json"),
    (b"[" * 100_000 + b"]" * 100_000, "manifest.json"),
    (b'{"format": "skywarden-incident-bundle-1"}', "format"),
    (b"\xff\xfe", "manifest.json"),
])
def test_a_manifest_of_the_wrong_shape_is_refused_not_a_traceback(genuine: tuple[Path, bytes], tmp_path: Path,
                                                                  manifest: bytes, needle: str) -> None:
    key = SiteKey.generate()
    parts = {**members_of(genuine[0]), "manifest.json": manifest, "manifest.sig": key.sign_document(MANIFEST_CONTEXT, manifest),
             "public_key.pem": key.public_key_pem()}
    refused(write(tmp_path / "x.zip", parts), needle)


def test_members_other_than_the_five_and_missing_or_doubled_ones_are_refused(genuine: tuple[Path, bytes],
                                                                             tmp_path: Path) -> None:
    parts = members_of(genuine[0])
    refused(write(tmp_path / "a.zip", {**parts, "evil.sh": b"rm -rf /"}), "unexpected member 'evil.sh'")
    refused(write(tmp_path / "b.zip", {**parts, "../manifest.json": b"{}"}), "unexpected member")
    refused(write(tmp_path / "c.zip", {k: v for k, v in parts.items() if k != "manifest.sig"}), "missing member manifest.sig")
    with pytest.warns(UserWarning, match="Duplicate name"):
        doubled = write(tmp_path / "d.zip", [*parts.items(), ("report.html", b"second")])
    refused(doubled, "appears 2 times")
    inner = write(tmp_path / "inner.zip", parts)
    refused(write(tmp_path / "e.zip", {**parts, "report.html": inner.read_bytes()}), "report_sha256")


def test_a_zip_bomb_is_refused_before_it_is_inflated(genuine: tuple[Path, bytes], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(bundle_module.MEMBER_LIMITS, "entries.bin", 1 << 20)
    parts = members_of(genuine[0])
    path = write(tmp_path / "bomb.zip", {**parts, "entries.bin": bytes(64 << 20)})
    assert path.stat().st_size < 1 << 20  # 64 MiB of zeros in well under a megabyte
    refused(path, "entries.bin would inflate to 67108864 bytes, over the limit of 1048576")
    # a member whose header understates its size is cut off at the limit all the same
    raw = bytearray(path.read_bytes())
    for sig in (b"PK\x01\x02", b"PK\x03\x04"):  # patch the declared size in both headers of entries.bin
        at = 0
        while (at := raw.find(sig, at + 1)) >= 0:
            name_len = int.from_bytes(raw[at + (28 if sig == b"PK\x01\x02" else 26):][:2], "little")
            start = at + (46 if sig == b"PK\x01\x02" else 30)
            if raw[start:start + name_len] == b"entries.bin":
                size_at = at + (24 if sig == b"PK\x01\x02" else 22)
                raw[size_at:size_at + 4] = (1000).to_bytes(4, "little")
    (tmp_path / "liar.zip").write_bytes(bytes(raw))
    refused(tmp_path / "liar.zip")


@pytest.mark.parametrize("cut", [0, 10, 100, 1000, -200, -22, -1])
def test_truncated_or_garbage_bundles_are_refused(genuine: tuple[Path, bytes], tmp_path: Path, cut: int) -> None:
    data = genuine[0].read_bytes()
    (tmp_path / "t.zip").write_bytes(data[:cut])
    refused(tmp_path / "t.zip")


def test_flipped_bytes_in_any_member_are_refused(genuine: tuple[Path, bytes], tmp_path: Path) -> None:
    data = genuine[0].read_bytes()
    for k in range(0, len(data), max(1, len(data) // 60)):
        bad = bytearray(data)
        bad[k] ^= 0x55
        (tmp_path / "f.zip").write_bytes(bytes(bad))
        report = verify_bundle(tmp_path / "f.zip", genuine[1], replay=False)
        # the zip's own metadata (times, attributes) is not evidence; the members' content is
        assert not report.ok or members_of(tmp_path / "f.zip") == members_of(genuine[0]), k


def test_export_needs_the_ledgers_own_key(genuine: tuple[Path, bytes], tmp_path: Path) -> None:
    folder = genuine[0].parent
    with Ledger.open(folder / "ledger") as ledger:
        entries = list(ledger.entries())
        incidents = find_incidents([], 0.0)
        assert incidents == []
        stranger = SiteKey.generate()
        from skywarden.response.incidents import Incident

        incident = Incident("INC-0001", entries[0].t, entries[-1].t, entries[0].t, (), (), ())
        with pytest.raises(BundleError, match=f"key id {key_id(stranger.public_key_raw)}"):
            export_bundle(ledger, entries, incident, tmp_path / "x.zip", "", stranger)
