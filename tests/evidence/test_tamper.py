"""Tampering with a closed ledger is detected and named: 200 seeded cases over every kind of edit."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from skywarden.evidence import Ledger, SignedTreeHead, SiteKey, VerifyReport, verify_ledger
from skywarden.evidence.encoding import COMMIT, ENTRY, FILE, HEAD, entry_record, frame_record
from skywarden.evidence.signing import encode_head_body

N = 240


@dataclass(frozen=True)
class Rec:
    """One framed record of the clean file."""

    start: int
    end: int
    rtype: int
    seq: int


@dataclass(frozen=True)
class Clean:
    """The untouched ledger: its bytes, records, heads and the key that signed it."""

    data: bytes
    records: list[Rec]
    heads: list[SignedTreeHead]
    key: SiteKey
    work: Path

    def entry(self, index: int) -> Rec:
        return [r for r in self.records if r.rtype == ENTRY][index]

    def raw(self, r: Rec) -> bytes:
        return self.data[r.start:r.end]

    def verify(self, data: bytes, **kwargs: object) -> VerifyReport:
        path = self.work / "tampered.ledger"
        path.write_bytes(data)
        return verify_ledger(path, **kwargs)  # type: ignore[arg-type]


def split(data: bytes) -> list[Rec]:
    """The records of a well-framed file."""
    out, pos = [], 0
    while pos < len(data):
        end = pos + 20 + int.from_bytes(data[pos + 11:pos + 15], "big")
        out.append(Rec(pos, end, data[pos + 2], int.from_bytes(data[pos + 3:pos + 11], "big")))
        pos = end
    return out


def with_crc(record: bytes) -> bytes:
    """The record with its CRC-32 recomputed (a careful forger)."""
    return record[:-4] + zlib.crc32(record[:-4]).to_bytes(4, "big")


def with_seq(record: bytes, seq: int) -> bytes:
    return with_crc(record[:3] + seq.to_bytes(8, "big") + record[11:])


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory, site_key: SiteKey) -> Clean:
    work = tmp_path_factory.mktemp("tamper")
    path = work / "site.ledger"
    with Ledger.create(path, site_key, sign_every_s=0.5) as ledger:
        for i in range(N):
            t = 1.7e9 + 0.02 * i
            if i % 5 == 4:
                ledger.append_event(t, {"kind": "TrackConfirmed", "track_id": f"T{i}", "t": t})
            else:
                ledger.append_raw(t, f"radar-{i % 3}", bytes([i % 256]) * (30 + i % 50))
            if i % 8 == 7:
                ledger.commit()
    with Ledger.open(path) as ledger:
        heads = list(ledger.heads)
    data = path.read_bytes()
    assert verify_ledger(path).ok and len(heads) > 5 and heads[-1].final
    return Clean(data, split(data), heads, site_key, work)


def test_byte_flips_anywhere_are_detected_and_payload_flips_named(clean: Clean) -> None:
    rng = np.random.default_rng(1)
    for _ in range(60):
        pos = int(rng.integers(len(clean.data)))
        data = bytearray(clean.data)
        data[pos] ^= int(rng.integers(1, 256))
        report = clean.verify(bytes(data))
        rec = next(r for r in clean.records if r.start <= pos < r.end)
        assert not report.ok, (pos, rec)
        if rec.rtype == ENTRY and rec.start + 16 <= pos < rec.end - 4:
            assert (report.reason, report.first_bad_index) == ("modified", rec.seq), (pos, report)
        elif rec.rtype == ENTRY and report.reason == "modified":
            assert report.first_bad_index == rec.seq, (pos, report)
        elif rec.rtype == HEAD and pos != rec.start + 2:
            assert report.reason == "bad head", (pos, report)
        elif rec.rtype == FILE:
            assert report.reason == "modified" and report.first_bad_index is None


def test_deleted_entries_are_missing(clean: Clean) -> None:
    rng = np.random.default_rng(2)
    for k in [*rng.choice(N - 1, 24, replace=False).tolist(), N - 1]:
        r = clean.entry(k)
        report = clean.verify(clean.data[:r.start] + clean.data[r.end:])
        expected = ("missing", k) if k < N - 1 else ("truncated", k)  # the last one: the heads outnumber the entries
        assert (report.ok, report.reason, report.first_bad_index) == (False, *expected), report


def test_duplicated_entries_are_named(clean: Clean) -> None:
    rng = np.random.default_rng(3)
    for _ in range(25):
        k = int(rng.integers(N))
        r = clean.entry(k)
        at = clean.records[int(rng.integers(clean.records.index(r) + 1, len(clean.records) + 1)) - 1].end
        report = clean.verify(clean.data[:at] + clean.raw(r) + clean.data[at:])
        assert (report.reason, report.first_bad_index) == ("duplicated", k), report


def test_swapped_entries_are_reordered(clean: Clean) -> None:
    rng = np.random.default_rng(4)
    for _ in range(25):
        i, j = sorted(rng.choice(N, 2, replace=False).tolist())
        a, b = clean.entry(i), clean.entry(j)
        data = (clean.data[:a.start] + clean.raw(b) + clean.data[a.end:b.start] + clean.raw(a)
                + clean.data[b.end:])
        report = clean.verify(data)
        assert (report.reason, report.first_bad_index) == ("reordered", i), report


def test_forged_entries_are_inserted_or_break_the_signed_roots(clean: Clean) -> None:
    rng = np.random.default_rng(5)
    for case in range(25):
        p = int(rng.integers(N))
        forged = entry_record(p, "raw", 1.7e9 + 0.02 * p, "radar-0", b"forged " + bytes(rng.bytes(20)))
        at = clean.entry(p).start
        if case % 3 == 0:  # the index of the place it was put, the original keeps its own
            report = clean.verify(clean.data[:at] + forged + clean.data[at:])
            assert (report.reason, report.first_bad_index) == ("inserted", p), report
        elif case % 3 == 1:  # after the final head, with a commit marker of its own
            tail = with_seq(forged, N) + frame_record(COMMIT, N + 1, b"")
            report = clean.verify(clean.data + tail)
            assert (report.reason, report.first_bad_index) == ("inserted", N), report
        else:  # every later entry renumbered and re-CRC'd: only the signed roots can tell
            later = b"".join(with_seq(clean.raw(r), r.seq + 1) if r.rtype == ENTRY else clean.raw(r)
                             for r in clean.records if r.start >= at)
            report = clean.verify(clean.data[:at] + forged + later)
            start = max((h.tree_size for h in clean.heads if h.tree_size <= p), default=0)
            assert (report.reason, report.first_bad_index) == ("modified", start), report


def test_truncation_is_detected_mid_record_and_against_a_kept_head(clean: Clean) -> None:
    rng = np.random.default_rng(6)
    boundaries = {r.end for r in clean.records if r.rtype == COMMIT}
    for _ in range(20):
        cut = int(rng.integers(clean.records[0].end, len(clean.data)))
        data = clean.data[:cut]
        kept = clean.verify(data, trusted_head=clean.heads[-1])
        assert not kept.ok and kept.reason in ("torn", "truncated"), kept
        plain = clean.verify(data)
        if cut not in boundaries:
            assert plain.reason == "torn", plain
        else:
            assert not plain.closed and (kept.reason, kept.first_bad_index) == ("truncated", plain.entries)


def _resigned(clean: Clean, attacker: SiteKey) -> bytes:
    """The whole ledger re-signed by another key, header included: consistent, but not the site's."""
    out = []
    for r in clean.records:
        raw = clean.raw(r)
        if r.rtype == FILE:
            raw = with_crc(raw[:16 + 33] + attacker.public_key_raw + raw[16 + 65:])
        elif r.rtype == HEAD:
            h = next(h for h in clean.heads if h.tree_size == r.seq and encode_head_body(h) == raw[16:-4])
            forged = attacker.sign_head(h.log_id, h.tree_size, h.root_hash, h.t, h.final)
            raw = frame_record(HEAD, h.tree_size, encode_head_body(forged))
        out.append(raw)
    return b"".join(out)


def test_swapped_keys_are_caught(clean: Clean) -> None:
    site_pem = clean.key.public_key_pem()
    for case in range(10):
        attacker = SiteKey.generate()
        if case % 4 == 0:  # the header names another key, the heads are the site's
            header = clean.raw(clean.records[0])
            data = with_crc(header[:16 + 33] + attacker.public_key_raw + header[16 + 65:]) + clean.data[len(header):]
            assert clean.verify(data).reason == "bad signature"
        elif case % 4 == 1:  # a verifier handed another key
            assert clean.verify(clean.data, public_key=attacker.public_key_pem()).reason == "key mismatch"
        elif case % 4 == 2:  # everything re-signed: only a trusted key tells
            data = _resigned(clean, attacker)
            assert clean.verify(data, public_key=site_pem).reason == "key mismatch"
            assert clean.verify(data).ok  # documented: without a trusted key this is a valid ledger of another key
        else:  # the public key file beside the ledger swapped, the ledger untouched
            assert clean.verify(clean.data, public_key=attacker.public_key_raw).reason == "key mismatch"
            assert clean.verify(clean.data, public_key=site_pem).ok


def test_edited_heads_are_caught(clean: Clean) -> None:
    rng = np.random.default_rng(7)
    head_recs = [r for r in clean.records if r.rtype == HEAD]
    for case in range(10):
        r = head_recs[int(rng.integers(len(head_recs)))]
        raw = bytearray(clean.raw(r))
        if case % 5 in (0, 1):  # a byte of t / flag / root / signature, with and without a fixed CRC
            raw[16 + int(rng.integers(105))] ^= 1 << int(rng.integers(8))
            edited = bytes(raw) if case % 5 == 0 else with_crc(bytes(raw))
            expected = "bad head" if case % 5 == 0 else "bad signature"
        elif case % 5 == 2:  # the tree size it claims
            edited, expected = with_seq(bytes(raw), r.seq - 1), "bad signature"
        elif case % 5 == 3:  # two genuine heads swapped
            other = head_recs[(head_recs.index(r) + 1) % len(head_recs)]
            a, b = sorted([r, other], key=lambda x: x.start)
            data = (clean.data[:a.start] + clean.raw(b) + clean.data[a.end:b.start] + clean.raw(a)
                    + clean.data[b.end:])
            report = clean.verify(data)
            assert (report.ok, report.reason) == (False, "bad head"), report
            continue
        else:  # the final head removed: still a valid log, but no longer a cleanly closed one
            last = head_recs[-1]
            report = clean.verify(clean.data[:last.start] + clean.data[last.end:])
            assert report.ok and not report.closed and report.unsigned == N - head_recs[-2].seq
            continue
        report = clean.verify(clean.data[:r.start] + edited + clean.data[r.end:])
        assert (report.ok, report.reason) == (False, expected), (case, report)
