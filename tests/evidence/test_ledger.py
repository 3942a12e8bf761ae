"""The ledger API: appends, reads, heads and their cadence, reopening, locking, torn tails and repair."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from pathlib import Path

import pytest

import skywarden.evidence.ledger as ledger_module
from skywarden.evidence import (
    CorruptLedgerError,
    EncodingError,
    Ledger,
    LedgerError,
    SigningError,
    SiteKey,
    TornTailError,
    leaf_hash,
    public_key_path,
    verify_consistency,
    verify_inclusion,
    verify_ledger,
    verify_sth,
)
from skywarden.evidence.encoding import entry_record

T0 = 1_700_000_000.0
Fill = Callable[..., None]


def test_append_every_kind_and_read_it_back(tmp_path: Path, site_key: SiteKey) -> None:
    path = tmp_path / "a.ledger"
    with Ledger.create(path, site_key) as ledger:
        assert ledger.append_raw(T0, "radar-1", b"\x00\xffraw") == 0
        assert ledger.append_event(T0 + 1, {"kind": "ZoneViolation", "track_id": "T1", "t": T0 + 1}) == 1
        assert ledger.append_action(T0 + 2, "alice", {"role": "commander", "what": "authorise"}) == 2
        assert ledger.append_config(T0 + 3, "site.toml", b"[site]\n") == 3
        assert ledger.entry(1).json() == {"kind": "ZoneViolation", "track_id": "T1", "t": T0 + 1}  # uncommitted
    with Ledger.open(path) as ledger:
        got = [(e.index, e.kind, e.t, e.source, e.payload) for e in ledger.entries()]
        assert got == [(0, "raw", T0, "radar-1", b"\x00\xffraw"),
                       (1, "event", T0 + 1, "ZoneViolation", b'{"kind":"ZoneViolation","t":1700000001.0,"track_id":"T1"}'),
                       (2, "action", T0 + 2, "alice", b'{"role":"commander","what":"authorise"}'),
                       (3, "config", T0 + 3, "site.toml", b"[site]\n")]
        assert [e.index for e in ledger.window(T0 + 1, T0 + 2)] == [1, 2]
        assert ledger.window(T0 + 10, T0 + 20) == []
    assert verify_ledger(path).ok


def test_create_refuses_an_existing_file_and_writes_the_public_key_beside_it(tmp_path: Path,
                                                                              site_key: SiteKey) -> None:
    path = tmp_path / "a.ledger"
    with Ledger.create(path, site_key) as ledger:
        assert ledger.public_key_pem() == site_key.public_key_pem()
    assert public_key_path(path) == tmp_path / "a.ledger.pub.pem"
    assert public_key_path(path).read_bytes() == site_key.public_key_pem()
    with pytest.raises(LedgerError, match="already exists"):
        Ledger.create(path, site_key)
    with pytest.raises(LedgerError, match="no ledger at"):
        Ledger.open(tmp_path / "missing.ledger")
    with pytest.raises(LedgerError, match="sign_every_s must be finite"):
        Ledger.create(tmp_path / "b.ledger", site_key, sign_every_s=-1.0)


def test_heads_follow_the_data_time_cadence_and_close_signs_a_final_head(tmp_path: Path, site_key: SiteKey,
                                                                         fill: Fill) -> None:
    path = tmp_path / "a.ledger"
    with Ledger.create(path, site_key, sign_every_s=1.0) as ledger:
        fill(ledger, 500, commit_every=10, dt=0.01)  # 5 s of data, a commit every 0.1 s
        heads = list(ledger.heads)
        size, root = ledger.size, ledger.root
    assert heads[0].tree_size == 10  # the first commit signs
    assert [h.tree_size for h in heads] == sorted({h.tree_size for h in heads})
    assert all(b.t - a.t >= 1.0 - 1e-9 for a, b in itertools.pairwise(heads))
    assert len(heads) == 5 and not any(h.final for h in heads)
    with Ledger.open(path) as reopened:
        final = reopened.heads[-1]
        assert reopened.heads[:-1] == heads and final.final and final.tree_size == size == 500
        assert final.root_hash == root and final.t == T0 + 499 * 0.01
        verify_sth(site_key.public_key_raw, final)


def test_proofs_from_the_ledger_verify_against_its_signed_heads(make_ledger: Callable[..., Path]) -> None:
    with Ledger.open(make_ledger(120)) as ledger:
        heads = ledger.heads
        for head in heads:
            for i in (0, head.tree_size // 2, head.tree_size - 1):
                leaf = leaf_hash(ledger.entry(i).canonical())
                verify_inclusion(leaf, i, head.tree_size, ledger.inclusion_proof(i, head.tree_size), head.root_hash)
        for a, b in itertools.pairwise(heads):
            verify_consistency(a.tree_size, b.tree_size, a.root_hash, b.root_hash,
                               ledger.consistency_proof(a.tree_size, b.tree_size))


def test_sign_head_on_demand(tmp_path: Path, site_key: SiteKey) -> None:
    with Ledger.create(tmp_path / "a.ledger", site_key, sign_every_s=3600) as ledger:
        ledger.append_raw(T0, "s", b"x")
        ledger.commit()
        ledger.append_raw(T0 + 5, "s", b"y")
        ledger.commit()
        assert [h.tree_size for h in ledger.heads] == [1]  # not yet an hour of data
        head = ledger.sign_head()
        assert (head.tree_size, head.t, head.root_hash) == (2, T0 + 5, ledger.root)
        assert ledger.sign_head(T0 + 6).t == T0 + 6
        with pytest.raises(LedgerError, match="not before the last head's t"):
            ledger.sign_head(T0)


def test_reopen_appends_after_a_reopen_head(make_ledger: Callable[..., Path], site_key: SiteKey) -> None:
    path = make_ledger(50)
    with Ledger.open(path, site_key) as ledger:
        reopen = ledger.heads[-1]
        assert not reopen.final and reopen.tree_size == 50 and ledger.heads[-2].final
        assert ledger.append_raw(T0 + 10, "radar-9", b"more") == 50
    report = verify_ledger(path, site_key.public_key_pem())
    assert report.ok and report.closed and report.entries == 51
    with Ledger.open(path) as ledger:
        assert ledger.entry(50).payload == b"more" and ledger.entry(49).index == 49


def test_read_only_ledgers_and_key_checks(make_ledger: Callable[..., Path]) -> None:
    path = make_ledger(20)
    with Ledger.open(path) as ledger:
        with pytest.raises(LedgerError, match="read-only"):
            ledger.append_raw(T0, "s", b"")
        with pytest.raises(LedgerError, match="outside the ledger's 20 entries"):
            ledger.entry(20)
    with pytest.raises(SigningError, match="key mismatch"):
        Ledger.open(path, SiteKey.generate())


def test_one_writer_at_a_time(make_ledger: Callable[..., Path], site_key: SiteKey) -> None:
    path = make_ledger(10)
    with Ledger.open(path, site_key):
        with pytest.raises(LedgerError, match="open for appending by another writer"):
            Ledger.open(path, site_key)
        with Ledger.open(path) as reader:  # readers are fine
            assert reader.size == 10


def test_closed_ledger_refuses_work_and_closing_twice_is_harmless(tmp_path: Path, site_key: SiteKey) -> None:
    ledger = Ledger.create(tmp_path / "a.ledger", site_key)
    ledger.close()
    ledger.close()
    with pytest.raises(LedgerError, match="closed"):
        ledger.append_raw(T0, "s", b"")
    with pytest.raises(LedgerError, match="closed"):
        list(ledger.entries())


def test_an_empty_ledger_closes_with_a_signed_empty_head(tmp_path: Path, site_key: SiteKey) -> None:
    path = tmp_path / "a.ledger"
    Ledger.create(path, site_key).close()
    report = verify_ledger(path)
    assert report.ok and report.entries == 0 and report.heads == 1 and report.closed


def test_bad_values_are_refused_before_anything_is_written(tmp_path: Path, site_key: SiteKey) -> None:
    with Ledger.create(tmp_path / "a.ledger", site_key) as ledger:
        with pytest.raises(EncodingError, match="t must be finite"):
            ledger.append_raw(float("nan"), "s", b"")
        with pytest.raises(EncodingError, match="event kind must be a str"):
            ledger.append_event(T0, {"kind": 3})
        with pytest.raises(EncodingError, match="not canonical-JSON encodable"):
            ledger.append_action(T0, "bob", {"what": {1, 2}})
        assert ledger.size == 0


def test_entries_are_read_in_chunks(make_ledger: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_ledger(200)
    with Ledger.open(path) as ledger:
        whole = list(ledger.entries())
        monkeypatch.setattr(ledger_module, "CHUNK", 150)
        assert list(ledger.entries()) == whole
        assert list(ledger.entries(17, 33)) == whole[17:33]
        assert ledger.window(whole[5].t, whole[9].t) == whole[5:10]


def _append_bytes(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


def test_a_torn_tail_is_refused_then_repaired(make_ledger: Callable[..., Path], site_key: SiteKey) -> None:
    path = make_ledger(30)
    clean = path.read_bytes()
    partial = entry_record(30, "raw", T0 + 1, "radar-0", b"half written")
    _append_bytes(path, entry_record(30, "raw", T0, "radar-0", b"complete") + partial[:17])
    with pytest.raises(TornTailError, match="torn tail"):
        Ledger.open(path)
    report = verify_ledger(path)
    assert (report.ok, report.reason, report.first_bad_index) == (False, "torn", 30)
    with Ledger.open(path, site_key, repair=True) as ledger:
        assert ledger.repaired is not None and ledger.repaired.dropped_entries == 1
        assert ledger.repaired.offset == len(clean) and ledger.size == 30
    assert path.read_bytes().startswith(clean) and verify_ledger(path).ok


def test_complete_but_uncommitted_records_are_a_torn_tail(make_ledger: Callable[..., Path]) -> None:
    path = make_ledger(30)
    _append_bytes(path, entry_record(30, "raw", T0, "radar-0", b"no commit marker"))
    with pytest.raises(TornTailError, match="1 complete entries uncommitted"):
        Ledger.open(path)
    with Ledger.open(path, repair=True) as ledger:
        assert ledger.size == 30 and ledger.repaired is not None
    assert verify_ledger(path).ok


def test_damage_in_the_middle_is_never_repaired_away(make_ledger: Callable[..., Path]) -> None:
    path = make_ledger(30)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptLedgerError, match="damaged in the middle, not torn"):
        Ledger.open(path, repair=True)
    assert len(path.read_bytes()) == len(data)


def test_a_reader_of_a_live_ledger_sees_the_last_commit(tmp_path: Path, site_key: SiteKey, fill: Fill) -> None:
    path = tmp_path / "live.ledger"
    with Ledger.create(path, site_key) as writer:
        fill(writer, 16)
        writer.commit()
        committed = path.stat().st_size
        _append_bytes(path, b"\xa9\x1eE in flight")  # what a reader may see mid-write
        with Ledger.open(path) as reader:
            assert reader.size == 16
        report = verify_ledger(path)
        assert report.ok and not report.closed
        os.truncate(path, committed)  # undo the simulated write before the writer closes


def test_a_failed_commit_stops_the_writer_and_repair_recovers(tmp_path: Path, site_key: SiteKey,
                                                              monkeypatch: pytest.MonkeyPatch, fill: Fill) -> None:
    path = tmp_path / "a.ledger"
    ledger = Ledger.create(path, site_key)
    fill(ledger, 8)
    ledger.append_raw(T0 + 1, "s", b"lost")

    def disk_full(fd: int, data: bytes) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", disk_full)
    with pytest.raises(LedgerError, match=r"commit failed: .*No space left"):
        ledger.commit()
    monkeypatch.undo()
    with pytest.raises(LedgerError, match="an earlier commit failed"):
        ledger.append_raw(T0 + 2, "s", b"")
    ledger.close()
    with Ledger.open(path, site_key, repair=True) as reopened:
        assert reopened.size == 8
    assert verify_ledger(path).ok


def test_a_new_ledger_is_the_owners_alone_whatever_the_umask(tmp_path: Path) -> None:
    import stat

    old = os.umask(0)
    try:
        with Ledger.create(tmp_path / "ledger", SiteKey.generate()):
            pass
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "ledger").stat().st_mode) == 0o600
