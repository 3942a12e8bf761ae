"""Incident bundles: one zip anyone can check without the site's systems or its word.

Contents:

- ``entries.bin``: ledger entries ``0 .. k-1`` in their canonical encoding, each preceded by its length
  (u32, big-endian): the run's config entry, every raw input and event up to the end of the incident
  window (the pipeline's state at the window depends on all earlier input, so a bit-for-bit re-run
  starts at the beginning of the run);
- ``manifest.json``: the incident; the software version and the SHA-256 of the run's config entry; the
  signed tree head (``tree_size = n >= k``); a consistency proof from the tree of the bundled ``k``
  entries to that head (so the bundled prefix is exactly the signed log's first ``k`` entries); and,
  for every entry inside the incident window, its RFC 9162 inclusion proof against the head;
- ``public_key.pem``: the site key the head is signed with;
- ``report.html``: the incident report.

:func:`verify_bundle` checks the signature, every proof, and then re-runs the bundled raw inputs through
the pipeline and compares every event and track digest bit for bit.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skywarden import __version__
from skywarden.evidence.encoding import Entry, LedgerError, decode_entry
from skywarden.evidence.ledger import Ledger
from skywarden.evidence.merkle import MerkleTree, ProofError, leaf_hash, verify_consistency, verify_inclusion
from skywarden.evidence.signing import SignedTreeHead, key_id, load_public_key, raw_public_key, verify_sth
from skywarden.response.incidents import Incident
from skywarden.runtime.recorder import RUN_CONFIG
from skywarden.runtime.rerun import Rerun, rerun

BUNDLE_FORMAT = "skywarden-incident-bundle-1"
_LEN = struct.Struct(">I")


class BundleError(LedgerError):
    """A bundle that cannot be read or does not verify; the message says what and where."""


def export_bundle(ledger: Ledger, entries: Sequence[Entry], incident: Incident, out: Path,
                  report_html: str) -> dict[str, Any]:
    """Write the bundle of ``incident`` from ``ledger`` (which must hold a signed head covering the window), given
    its ``entries`` as already read."""
    in_window = [e.index for e in entries if incident.t_start <= e.t <= incident.t_end]
    if not in_window:
        raise BundleError(f"{incident.id}: the ledger holds no entry between t={incident.t_start} and {incident.t_end}")
    k = in_window[-1] + 1
    while k < len(entries) and entries[k].kind == "event" and entries[k - 1].kind == "event":
        k += 1  # the scan's remaining events (its digest last), so the re-run compares whole scans
    head = next((h for h in reversed(ledger.heads) if h.tree_size >= k), None)
    if head is None:
        raise BundleError(f"{incident.id}: no signed tree head covers entry {k - 1} yet; sign one first")
    config = entries[0]
    if config.kind != "config" or config.source != RUN_CONFIG:
        raise BundleError(f"{ledger.path}: entry 0 is not the run's config entry")
    blob = io.BytesIO()
    for e in entries[:k]:
        data = e.canonical()
        blob.write(_LEN.pack(len(data)) + data)
    manifest = {
        "format": BUNDLE_FORMAT,
        "incident": incident.to_dict(),
        "software_version": json.loads(config.payload).get("software_version"),
        "exported_by_version": __version__,
        "site_config_sha256": hashlib.sha256(config.payload).hexdigest(),
        "key_id": key_id(raw_public_key(load_public_key(ledger.public_key_pem()))),
        "tree_head": head.to_dict(),
        "bundled_entries": k,
        "consistency_proof": [p.hex() for p in ledger.consistency_proof(k, head.tree_size)],
        "window_entries": in_window,
        "inclusion_proofs": {str(i): [p.hex() for p in ledger.inclusion_proof(i, head.tree_size)] for i in in_window},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", json.dumps(manifest, indent=1) + "\n")
        z.writestr("entries.bin", blob.getvalue())
        z.writestr("public_key.pem", ledger.public_key_pem())
        z.writestr("report.html", report_html)
    return manifest


@dataclass
class BundleReport:
    """Outcome of :func:`verify_bundle`: what held, and the first problem if any."""

    ok: bool
    incident: str
    checks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    rerun: Rerun | None = None


def _entries(blob: bytes) -> Iterator[Entry]:
    """The length-prefixed canonical entries of ``entries.bin``, indexed from 0."""
    pos, index = 0, 0
    while pos < len(blob):
        if pos + 4 > len(blob):
            raise BundleError(f"entries.bin: truncated length prefix at byte {pos}")
        (n,) = _LEN.unpack_from(blob, pos)
        if pos + 4 + n > len(blob):
            raise BundleError(f"entries.bin: entry {index} is truncated (needs {n} bytes at byte {pos + 4})")
        yield decode_entry(index, blob[pos + 4:pos + 4 + n])
        pos, index = pos + 4 + n, index + 1


def verify_bundle(path: Path, trusted_public_key: bytes | None = None, replay: bool = True,
                  on_entry: Callable[[int], None] | None = None) -> BundleReport:
    """Check a bundle: head signature, the bundled prefix against the head, the window's inclusion proofs,
    then (``replay``) a bit-for-bit re-run of its raw inputs."""
    try:
        with zipfile.ZipFile(path) as z:
            manifest = json.loads(z.read("manifest.json"))
            blob, pem = z.read("entries.bin"), z.read("public_key.pem")
    except (OSError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise BundleError(f"{path}: not a readable incident bundle: {exc}") from exc
    if manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{path}: unknown bundle format {manifest.get('format')!r}")
    report = BundleReport(ok=False, incident=str(manifest["incident"]["id"]))
    try:
        entries = list(_entries(blob))
        _check(manifest, entries, pem, trusted_public_key, report)
    except (LedgerError, ValueError, KeyError) as exc:
        report.problems.append(str(exc))
        return report
    if replay:
        result = rerun(entries, on_entry)
        report.rerun = result
        if result.identical:
            report.checks.append(f"re-run of {result.scans} scans gave the same {result.compared_events} events and "
                                 f"track digests, bit for bit")
        report.problems += [f"re-run: {d}" for d in result.differences]
    report.ok = not report.problems
    return report


def _check(manifest: dict[str, Any], entries: list[Entry], pem: bytes, trusted: bytes | None,
           report: BundleReport) -> None:
    """The cryptographic checks of :func:`verify_bundle`; raises on the first failure."""
    public = raw_public_key(load_public_key(pem))
    if trusted is not None and raw_public_key(load_public_key(trusted)) != public:
        raise BundleError(f"key mismatch: the bundle is signed by key id {key_id(public)}, the trusted key is "
                          f"{key_id(raw_public_key(load_public_key(trusted)))}")
    head = SignedTreeHead.from_dict(manifest["tree_head"])
    verify_sth(public, head)
    report.checks.append(f"tree head of {head.tree_size} entries signed by key id {key_id(public)}")
    k = int(manifest["bundled_entries"])
    if len(entries) != k:
        raise BundleError(f"entries.bin holds {len(entries)} entries, the manifest says {k}")
    tree = MerkleTree()
    leaves = [leaf_hash(e.canonical()) for e in entries]
    for leaf in leaves:
        tree.append(leaf)
    proof = [bytes.fromhex(p) for p in manifest["consistency_proof"]]
    try:
        verify_consistency(k, head.tree_size, tree.root(), head.root_hash, proof)
    except ProofError as exc:
        raise BundleError(f"the bundled entries 0..{k - 1} are not the signed log's first {k} entries "
                          f"(modified, missing, reordered or inserted): {exc}") from exc
    report.checks.append(f"entries 0..{k - 1} are the signed log's first {k} (consistency proof)")
    window = [int(i) for i in manifest["window_entries"]]
    for i in window:
        if not 0 <= i < k:
            raise BundleError(f"window entry {i} is not among the bundled entries")
        try:
            verify_inclusion(leaves[i], i, head.tree_size, [bytes.fromhex(p) for p in manifest["inclusion_proofs"][str(i)]],
                             head.root_hash)
        except ProofError as exc:
            raise BundleError(f"entry {i}: inclusion proof fails: {exc}") from exc
    report.checks.append(f"{len(window)} entries of the incident window each proven included (RFC 9162)")
    config = entries[0]
    if hashlib.sha256(config.payload).hexdigest() != manifest["site_config_sha256"]:
        raise BundleError("the run's config entry does not match the manifest's site_config_sha256")
    report.checks.append(f"site config sha256 {manifest['site_config_sha256'][:16]}…")
