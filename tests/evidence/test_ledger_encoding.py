"""Canonical entry bytes: exact layout, round trips, and a named rejection of every non-canonical form."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skywarden.evidence.encoding import (
    HEAD,
    OVERHEAD,
    CorruptLedgerError,
    EncodingError,
    Entry,
    canonical_json,
    decode_entry,
    encode_entry,
    entry_record,
    frame_record,
    record_entry,
    scan_records,
)

finite = st.floats(allow_nan=False, allow_infinity=False)


def test_layout_is_exactly_as_documented() -> None:
    data = encode_entry("raw", 1.5, "rdr", b"\x01\x02")
    assert data == b"\x01\x01" + struct.pack(">d", 1.5) + b"\x00\x03rdr" + b"\x00\x00\x00\x02\x01\x02"
    record = entry_record(7, "raw", 1.5, "rdr", b"\x01\x02")
    assert record[:16] == b"\xa9\x1eE" + (7).to_bytes(8, "big") + len(data).to_bytes(4, "big") + b"\x00"
    assert record[16:-4] == data and len(record) == len(data) + OVERHEAD
    assert record == frame_record(b"E"[0], 7, data)


@given(kind=st.sampled_from(["raw", "config"]), t=finite, source=st.text(max_size=30), payload=st.binary(max_size=200))
def test_binary_entries_round_trip(kind: str, t: float, source: str, payload: bytes) -> None:
    data = encode_entry(kind, t, source, payload)
    assert decode_entry(3, data) == Entry(3, kind, t, source, payload)  # type: ignore[arg-type]
    assert record_entry(3, entry_record(3, kind, t, source, payload)) == Entry(3, kind, t, source, payload)  # type: ignore[arg-type]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | finite | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12)


@given(obj=st.dictionaries(st.text(max_size=8), json_values, max_size=5), t=finite)
def test_json_entries_round_trip_and_are_canonical(obj: dict[str, object], t: float) -> None:
    payload = canonical_json(obj)
    entry = decode_entry(0, encode_entry("event", t, "TrackConfirmed", payload))
    assert entry.json() == obj and canonical_json(entry.json()) == payload


def test_canonical_json_form() -> None:
    assert canonical_json({"b": 1, "a": [1.0, 0.1, "é"], "c": None}) == '{"a":[1.0,0.1,"é"],"b":1,"c":null}'.encode()
    with pytest.raises(EncodingError, match="not canonical-JSON encodable"):
        canonical_json({"t": math.nan})
    with pytest.raises(EncodingError, match="not canonical-JSON encodable"):
        canonical_json({"x": object()})


GOOD = encode_entry("raw", 2.0, "s", b"abc")


@pytest.mark.parametrize(("data", "match"), [
    (GOOD[:15], "shorter than the 16-byte minimum"),
    (b"\x02" + GOOD[1:], "format version 2"),
    (GOOD[:1] + b"\x09" + GOOD[2:], "unknown kind code 9"),
    (GOOD[:2] + struct.pack(">d", math.inf) + GOOD[10:], "not finite"),
    (GOOD + b"\x00", "payload length 3 does not match the 4 bytes"),
    (GOOD[:-1], "payload length 3 does not match the 2 bytes"),
    (GOOD[:10] + b"\x00\x20" + GOOD[12:], "source length 32 runs past"),
    (GOOD[:12] + b"\xff" + GOOD[13:], "source is not UTF-8"),
    (encode_entry("event", 0.0, "E", b'{"b":1, "a":2}'), "not canonical JSON"),
    (encode_entry("action", 0.0, "op", b'{"a":1,"a":2}'), "not canonical JSON"),
    (encode_entry("event", 0.0, "E", b"{nope"), "payload is not JSON"),
])
def test_non_canonical_entries_are_rejected_with_the_field_named(data: bytes, match: str) -> None:
    with pytest.raises(EncodingError, match=match):
        decode_entry(4, data)


def test_values_that_cannot_be_encoded_are_named() -> None:
    with pytest.raises(EncodingError, match="kind must be one of"):
        encode_entry("video", 0.0, "s", b"")
    with pytest.raises(EncodingError, match="t must be finite"):
        encode_entry("raw", math.nan, "s", b"")
    with pytest.raises(EncodingError, match="more than 65535"):
        encode_entry("raw", 0.0, "s" * 70_000, b"")
    with pytest.raises(EncodingError, match="valid str"):
        encode_entry("raw", 0.0, "\ud800", b"")
    with pytest.raises(EncodingError, match="binary payload"):
        Entry(0, "raw", 0.0, "s", b"{}").json()


def test_damaged_records_are_refused_on_read() -> None:
    record = entry_record(5, "raw", 1.0, "s", b"payload")
    with pytest.raises(CorruptLedgerError, match="CRC-32 mismatch"):
        record_entry(5, record[:20] + bytes([record[20] ^ 0x40]) + record[21:])
    with pytest.raises(CorruptLedgerError, match="carries index 5"):
        record_entry(6, record)
    with pytest.raises(CorruptLedgerError, match="framing is damaged"):
        record_entry(5, record[:-1])


def test_scan_finds_torn_tails_and_mid_file_damage() -> None:
    from skywarden.evidence.encoding import COMMIT, FILE
    records = [frame_record(FILE, 0, b"hdr"), entry_record(0, "raw", 0.0, "s", b"a"),
               entry_record(1, "raw", 0.0, "s", b"b"), frame_record(COMMIT, 2, b""),
               frame_record(HEAD, 2, b"h")]
    buf = b"".join(records)
    clean = scan_records(buf)
    assert clean.damage is None and clean.entry_seqs == [0, 1] and len(clean.head_offsets) == 1
    assert clean.committed_end == sum(map(len, records[:4])) and clean.committed_entries == 2
    torn = scan_records(buf[:-1])
    assert torn.damage is not None and not torn.damage.valid_after and "runs past" in torn.damage.problem
    at = len(records[0]) + 20
    flipped = scan_records(buf[:at] + bytes([buf[at] ^ 1]) + buf[at + 1:])
    assert flipped.damage is not None and flipped.damage.valid_after and flipped.damage.complete
    assert flipped.damage.problem == "CRC-32 mismatch" and flipped.entry_offsets == []
