"""Incident bundles: one zip anyone can check without the site's systems or its word.

Members, and nothing else (each under a size limit, so that a zip bomb is refused before it is inflated):

- ``entries.bin``: ledger entries ``0 .. k-1`` in their canonical encoding, each preceded by its length
  (u32, big-endian): the run's config entry, every raw input and event up to the end of the incident
  window (the pipeline's state at the window depends on all earlier input, so a bit-for-bit re-run
  starts at the beginning of the run);
- ``manifest.json``: the incident (id, window, tracks, zones, alerts); the entries of its window and how
  many are bundled; the software version; the SHA-256 of the run's config entry and of the report; the
  signed tree head (``tree_size = n >= k``); a consistency proof from the tree of the bundled ``k`` entries
  to that head (so the bundled prefix is exactly the signed log's first ``k`` entries); and, for every entry
  of the window, its RFC 9162 inclusion proof against the head;
- ``manifest.sig``: the site key's Ed25519 signature over the manifest (context :data:`MANIFEST_CONTEXT`);
- ``public_key.pem``: the site key the head and the manifest are signed with;
- ``report.html``: the incident report.

:func:`verify_bundle` checks the members, both signatures and every proof; derives the incident again from
the bundled events and compares it with the manifest's, field by field; then re-runs the bundled raw inputs
through the pipeline and compares every event and track digest bit for bit. It reports every refusal as a
problem, never as another exception.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from skywarden import __version__
from skywarden.config import format_validation_error
from skywarden.events import Event, TrackConfirmed, TrackLost, ZoneViolation
from skywarden.evidence.encoding import Entry, LedgerError, decode_entry
from skywarden.evidence.ledger import Ledger
from skywarden.evidence.merkle import MerkleTree, ProofError, leaf_hash, verify_consistency, verify_inclusion
from skywarden.evidence.signing import (
    SignedTreeHead,
    SiteKey,
    key_id,
    load_public_key,
    raw_public_key,
    verify_document,
    verify_sth,
)
from skywarden.response.incidents import Incident, find_incidents
from skywarden.runtime.recorder import RUN_CONFIG
from skywarden.runtime.rerun import Rerun, rerun

BUNDLE_FORMAT: Final = "skywarden-incident-bundle-2"
MANIFEST_CONTEXT: Final = b"skywarden-incident-manifest-v2"
MiB: Final = 1 << 20
# The members a bundle holds, and the most bytes each may inflate to.
MEMBER_LIMITS: Final = {"manifest.json": 256 * MiB, "manifest.sig": 64, "entries.bin": 2048 * MiB,
                        "public_key.pem": 4096, "report.html": 256 * MiB}
_LEN = struct.Struct(">I")
_HEX64 = r"^[0-9a-f]{64}$"
Hash = Annotated[str, Field(pattern=_HEX64)]


class BundleError(LedgerError):
    """A bundle that cannot be read or does not verify; the message says what and where."""


class _Head(BaseModel):
    """The signed tree head, as the manifest holds it."""

    model_config = ConfigDict(extra="forbid", strict=True)
    tree_size: int = Field(ge=1, lt=1 << 63)
    root_hash: Hash
    t: float = Field(allow_inf_nan=False)
    final: bool
    log_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    signature: str = Field(pattern=r"^[0-9a-f]{128}$")


class Manifest(BaseModel):
    """``manifest.json``: what a bundle claims; every field is checked against the bundled evidence."""

    model_config = ConfigDict(extra="forbid", strict=True)
    format: Literal["skywarden-incident-bundle-2"]
    incident: dict[str, Any]
    software_version: str = Field(max_length=64)
    exported_by_version: str = Field(max_length=64)
    site_config_sha256: Hash
    report_sha256: Hash
    key_id: str = Field(pattern=r"^[0-9a-f]{16}$")
    tree_head: _Head
    bundled_entries: int = Field(ge=1, lt=1 << 32)
    consistency_proof: list[Hash] = Field(max_length=64)
    window_entries: list[Annotated[int, Field(ge=0)]]
    inclusion_proofs: dict[str, list[Hash]]


def incident_window(entries: Sequence[Entry], incident: Incident) -> tuple[list[int], int]:
    """The indices of the entries inside ``incident``'s window, and how many entries a bundle of it holds: up
    to the last of those, and the rest of that scan's events (its digest last), so a re-run compares whole
    scans."""
    in_window = [e.index for e in entries if incident.t_start <= e.t <= incident.t_end]
    if not in_window:
        return [], 0
    k = in_window[-1] + 1
    while k < len(entries) and entries[k].kind == "event" and entries[k - 1].kind == "event":
        k += 1
    return in_window, k


def export_bundle(ledger: Ledger, entries: Sequence[Entry], incident: Incident, out: Path, report_html: str,
                  key: SiteKey) -> dict[str, Any]:
    """Write the bundle of ``incident`` from ``ledger`` (which must hold a signed head covering the window), given
    its ``entries`` as already read; ``key`` (the ledger's own) signs the manifest. Returns the manifest."""
    if key.public_key_pem() != ledger.public_key_pem():
        raise BundleError(f"the key given (key id {key.key_id}) did not sign {ledger.path} "
                          f"(key id {key_id(raw_public_key(load_public_key(ledger.public_key_pem())))})")
    in_window, k = incident_window(entries, incident)
    if not in_window:
        raise BundleError(f"{incident.id}: the ledger holds no entry between t={incident.t_start} and {incident.t_end}")
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
    report = report_html.encode("utf-8")
    manifest = Manifest(
        format=BUNDLE_FORMAT,
        incident=json.loads(json.dumps(incident.to_dict())),
        software_version=str(json.loads(config.payload).get("software_version")),
        exported_by_version=__version__,
        site_config_sha256=hashlib.sha256(config.payload).hexdigest(),
        report_sha256=hashlib.sha256(report).hexdigest(),
        key_id=key.key_id,
        tree_head=_Head.model_validate(head.to_dict()),
        bundled_entries=k,
        consistency_proof=[p.hex() for p in ledger.consistency_proof(k, head.tree_size)],
        window_entries=in_window,
        inclusion_proofs={str(i): [p.hex() for p in ledger.inclusion_proof(i, head.tree_size)] for i in in_window},
    ).model_dump(mode="json")
    text = (json.dumps(manifest, indent=1) + "\n").encode()
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", text)
        z.writestr("manifest.sig", key.sign_document(MANIFEST_CONTEXT, text))
        z.writestr("entries.bin", blob.getvalue())
        z.writestr("public_key.pem", key.public_key_pem())
        z.writestr("report.html", report)
    return manifest


@dataclass
class BundleReport:
    """Outcome of :func:`verify_bundle`: what held, what to beware of, and the problems if any."""

    ok: bool
    incident: str
    checks: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    rerun: Rerun | None = None


def read_members(path: Path | bytes) -> dict[str, bytes]:
    """The members of the bundle at ``path`` (or in these bytes), each checked against :data:`MEMBER_LIMITS`
    before it is inflated; BundleError for anything else in the zip, a member missing or twice, encryption, or
    damage."""
    try:
        with zipfile.ZipFile(io.BytesIO(path) if isinstance(path, bytes) else path) as z:
            infos = z.infolist()
            names = [i.filename for i in infos]
            for name in names:
                if name not in MEMBER_LIMITS:
                    raise BundleError(f"unexpected member {name[:80]!r}: a bundle holds only "
                                      f"{', '.join(MEMBER_LIMITS)}")
                if names.count(name) > 1:
                    raise BundleError(f"member {name} appears {names.count(name)} times")
            missing = [n for n in MEMBER_LIMITS if n not in names]
            if missing:
                raise BundleError(f"missing member{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
            members = {}
            for info in infos:
                limit = MEMBER_LIMITS[info.filename]
                if info.flag_bits & 0x1:
                    raise BundleError(f"member {info.filename} is encrypted")
                if info.file_size > limit:
                    raise BundleError(f"member {info.filename} would inflate to {info.file_size} bytes, over the "
                                      f"limit of {limit}")
                with z.open(info) as f:
                    data = f.read(limit + 1)
                if len(data) > limit:
                    raise BundleError(f"member {info.filename} inflates past the limit of {limit} bytes")
                members[info.filename] = data
            return members
    except BundleError:
        raise
    except FileNotFoundError:
        raise BundleError(f"{path!s}: no such file") from None
    except (OSError, EOFError, ValueError, NotImplementedError, RuntimeError, zipfile.BadZipFile,
            zipfile.LargeZipFile, zlib.error) as exc:
        where = "the bundle" if isinstance(path, bytes) else str(path)
        raise BundleError(f"{where}: not a readable zip: {type(exc).__name__}: {exc}") from None


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


def verify_bundle(path: Path | bytes, trusted_public_key: bytes | None = None, replay: bool = True,
                  on_entry: Callable[[int], None] | None = None) -> BundleReport:
    """Check a bundle: its members, the manifest's signature and fields, the head signature, the bundled prefix
    against the head, the window's inclusion proofs, the report's hash, the incident against the one its
    events give, then (``replay``) a bit-for-bit re-run of its raw inputs. Every failure is a problem in the
    report."""
    report = BundleReport(ok=False, incident="?")
    try:
        members = read_members(path)
        manifest, public = _check_manifest(members, trusted_public_key, report)
        report.incident = str(manifest.incident.get("id", "?"))[:40]
        entries = list(_entries(members["entries.bin"]))
        _check_proofs(manifest, public, entries, report)
        _check_incident(manifest, entries, members["report.html"], report)
    except (LedgerError, ValueError) as exc:
        report.problems.append(str(exc))
        return report
    if replay:
        try:
            result = rerun(entries, on_entry)
        except LedgerError as exc:
            report.problems.append(f"re-run: {exc}")
            return report
        report.rerun = result
        if result.identical:
            report.checks.append(f"re-run of {result.scans} scans gave the same {result.compared_events} events and "
                                 f"track digests, bit for bit")
        report.problems += [f"re-run: {d}" for d in result.differences]
    else:
        report.warnings.append("--no-replay: the events were not re-derived from the raw inputs")
    report.ok = not report.problems
    return report


def _check_manifest(members: dict[str, bytes], trusted: bytes | None,
                    report: BundleReport) -> tuple[Manifest, bytes]:
    """The key to trust, the manifest's signature under it, then the manifest's structure."""
    public = raw_public_key(load_public_key(members["public_key.pem"]))
    if trusted is None:
        report.warnings.append(f"no --public-key given: trusted the key inside the bundle (key id {key_id(public)}); "
                               "anyone can make a bundle that verifies under a key of their own: check the key id "
                               "against the site's published key")
    elif raw_public_key(load_public_key(trusted)) != public:
        raise BundleError(f"key mismatch: the bundle is signed by key id {key_id(public)}, the trusted key is "
                          f"{key_id(raw_public_key(load_public_key(trusted)))}")
    verify_document(public, MANIFEST_CONTEXT, members["manifest.json"], members["manifest.sig"])
    report.checks.append(f"manifest signed by key id {key_id(public)}" + (" (trusted)" if trusted else ""))
    try:
        manifest = Manifest.model_validate_json(members["manifest.json"])
    except ValidationError as exc:
        raise BundleError(format_validation_error(exc, "manifest.json")) from None
    if manifest.key_id != key_id(public):
        raise BundleError(f"manifest.json: key_id {manifest.key_id} is not the bundle's key id {key_id(public)}")
    return manifest, public


def _check_proofs(manifest: Manifest, public: bytes, entries: list[Entry], report: BundleReport) -> None:
    """The head's signature, the bundled prefix against it, each window entry's inclusion proof, the config."""
    head = SignedTreeHead.from_dict(manifest.tree_head.model_dump())
    verify_sth(public, head)
    report.checks.append(f"tree head of {head.tree_size} entries signed by key id {key_id(public)}")
    k = manifest.bundled_entries
    if len(entries) != k:
        raise BundleError(f"entries.bin holds {len(entries)} entries, the manifest says {k}")
    if k > head.tree_size:
        raise BundleError(f"the manifest bundles {k} entries, more than the {head.tree_size} its head signs")
    leaves = [leaf_hash(e.canonical()) for e in entries]
    try:
        verify_consistency(k, head.tree_size, MerkleTree(b"".join(leaves)).root(), head.root_hash,
                           [bytes.fromhex(p) for p in manifest.consistency_proof])
    except ProofError as exc:
        raise BundleError(f"the bundled entries 0..{k - 1} are not the signed log's first {k} entries "
                          f"(modified, missing, reordered or inserted): {exc}") from None
    report.checks.append(f"entries 0..{k - 1} are the signed log's first {k} (consistency proof)")
    proofs = manifest.inclusion_proofs
    if set(proofs) != {str(i) for i in manifest.window_entries}:
        raise BundleError("manifest.json: inclusion_proofs are not exactly one for each window entry")
    for i in manifest.window_entries:
        if i >= k:
            raise BundleError(f"window entry {i} is not among the {k} bundled entries")
        try:
            verify_inclusion(leaves[i], i, head.tree_size, [bytes.fromhex(p) for p in proofs[str(i)]],
                             head.root_hash)
        except ProofError as exc:
            raise BundleError(f"entry {i}: inclusion proof fails: {exc}") from None
    report.checks.append(f"{len(manifest.window_entries)} entries of the incident window each proven included "
                         "(RFC 9162)")
    config = entries[0]
    if config.kind != "config" or config.source != RUN_CONFIG:
        raise BundleError(f"entry 0 is not the run's {RUN_CONFIG!r} config entry")
    if hashlib.sha256(config.payload).hexdigest() != manifest.site_config_sha256:
        raise BundleError("the run's config entry does not match the manifest's site_config_sha256")
    try:
        recorded_version = json.loads(config.payload).get("software_version")
    except (ValueError, AttributeError):
        recorded_version = None
    if recorded_version != manifest.software_version:
        raise BundleError(f"manifest.json: software_version {manifest.software_version!r} is not the "
                          f"{recorded_version!r} the run's config entry records")
    report.checks.append(f"site config sha256 {manifest.site_config_sha256[:16]}…, recorded by Skywarden "
                         f"{manifest.software_version}")


_INCIDENT_EVENTS: Final[dict[str, TypeAdapter[Any]]] = {"TrackConfirmed": TypeAdapter(TrackConfirmed), "TrackLost": TypeAdapter(TrackLost),
                           "ZoneViolation": TypeAdapter(ZoneViolation)}


def _recorded_events(entries: Sequence[Entry]) -> tuple[list[Event], float]:
    """The confirmations, losses and alerts among the bundled event entries (what incidents are made of), each
    checked field by field, and the time of the last scan."""
    events: list[Event] = []
    last_scan = entries[-1].t
    for e in entries:
        if e.kind != "event":
            continue
        kind = json.loads(e.payload).get("kind") if e.payload.startswith(b"{") else None
        if kind == "ScanDigest":
            last_scan = e.t
        elif isinstance(kind, str) and kind in _INCIDENT_EVENTS:
            try:
                events.append(_INCIDENT_EVENTS[kind].validate_json(e.payload, strict=True))
            except ValidationError as exc:
                raise BundleError(format_validation_error(exc, f"entry {e.index} ({kind})")) from None
    return events, last_scan


def _check_incident(manifest: Manifest, entries: list[Entry], report_html: bytes, report: BundleReport) -> None:
    """The report's hash, and the incident the manifest describes against the one the bundled events give."""
    if hashlib.sha256(report_html).hexdigest() != manifest.report_sha256:
        raise BundleError("report.html does not match the manifest's report_sha256: the report was replaced")
    report.checks.append(f"report.html sha256 {manifest.report_sha256[:16]}…")
    events, last_scan = _recorded_events(entries)
    claimed = manifest.incident.get("id")
    derived = next((i for i in find_incidents(events, last_scan) if i.id == claimed), None)
    if derived is None:
        raise BundleError(f"the bundled events give no incident {str(claimed)[:40]!r}")
    mine = json.loads(json.dumps(derived.to_dict()))
    if mine != manifest.incident:
        fields = sorted({*mine, *manifest.incident} - {k for k in mine if mine.get(k) == manifest.incident.get(k)})
        raise BundleError(f"manifest.json: the incident {derived.id} it describes is not the one the bundled events "
                          f"give (differs in {', '.join(f[:40] for f in fields)})")
    in_window, k = incident_window(entries, derived)
    if in_window != manifest.window_entries or k != len(entries):
        raise BundleError(f"manifest.json: window_entries are not the entries of {derived.id}'s window "
                          f"({in_window[0] if in_window else '-'}..{in_window[-1] if in_window else '-'}), or the "
                          "bundle does not end with its last scan")
    report.checks.append(f"incident {derived.id} (tracks {', '.join(derived.track_ids)}; zones "
                         f"{', '.join(derived.zone_ids)}; {len(derived.alerts)} alerts) is what the bundled events give")
