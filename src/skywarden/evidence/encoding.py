"""Canonical bytes of ledger entries, the record framing of the ledger file, and the framing scan.

Entry encoding (format version 1; all integers big-endian; this is what the Merkle leaf hashes)::

    offset  size  field
    0       1     format version, 0x01
    1       1     kind: 0x01 raw, 0x02 event, 0x03 action, 0x04 config
    2       8     t: IEEE-754 binary64, UTC seconds since the Unix epoch, finite
    10      2     S = length of source in bytes (u16)
    12      S     source: UTF-8 (sensor id / actor / config name / event kind)
    12+S    4     P = length of payload in bytes (u32)
    16+S    P     payload: raw input bytes as received, config bytes, or canonical JSON (event, action)

Decoding rejects a wrong version, an unknown kind, a non-finite t, lengths that do not match, invalid
UTF-8, trailing bytes, and (event, action) payloads that are not canonical JSON.

Canonical JSON: ``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
allow_nan=False)`` encoded as UTF-8; floats are written by ``repr`` (shortest round-trip form).

Record framing (every record of the ledger file; 16-byte header, body, 4-byte trailer)::

    offset  size  field
    0       2     magic b"\\xa9\\x1e"
    2       1     type: b"F" file header, b"E" entry, b"H" signed tree head, b"C" commit marker
    3       8     seq (u64): entry index (E), tree size (H, C), 0 (F)
    11      4     L = body length (u32)
    15      1     0x00 (the RFC 9162 leaf prefix: the leaf hash of an E record is SHA-256(record[15:16+L]))
    16      L     body: entry encoding (E), see ``signing`` (H), empty (C), see ``encode_file_header`` (F)
    16+L    4     CRC-32 (zlib / ISO-HDLC polynomial) of record[0:16+L]

A file is an F record then any E and H records; each group commit ends with a C record, and only
records up to the last C record are committed.
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any, Final, Literal

Kind = Literal["raw", "event", "action", "config"]

FORMAT_VERSION: Final = 1
KIND_CODES: Final[dict[str, int]] = {"raw": 1, "event": 2, "action": 3, "config": 4}
KIND_NAMES: Final[dict[int, Kind]] = {1: "raw", 2: "event", 3: "action", 4: "config"}
JSON_KINDS: Final = frozenset({"event", "action"})

MAGIC: Final = b"\xa9\x1e"
FILE, ENTRY, HEAD, COMMIT = b"F"[0], b"E"[0], b"H"[0], b"C"[0]
RECORD_TYPES: Final = frozenset({FILE, ENTRY, HEAD, COMMIT})
HEADER_SIZE: Final = 16
OVERHEAD: Final = 20  # header + CRC trailer
FILE_MAGIC: Final = b"skywarden-ledger"

_RECORD = struct.Struct(">2sBQIB")
_CRC = struct.Struct(">I")
_ENTRY_RECORD = struct.Struct(">2sBQIBBBdH")  # record header followed by the entry's fixed fields
_ENTRY_FIXED = struct.Struct(">BBdH")
_U32 = struct.Struct(">I")
_FILE_BODY = struct.Struct(">16sB16s32s")


class LedgerError(Exception):
    """Anything wrong with the evidence ledger: its bytes, its file, its keys or its proofs."""


class EncodingError(LedgerError):
    """Bytes that are not a canonical entry or record, or a value that cannot be encoded."""


class CorruptLedgerError(LedgerError):
    """The ledger file is damaged somewhere other than a torn tail."""


class TornTailError(LedgerError):
    """The ledger file ends in records that were never committed (a crash mid-write)."""


@dataclass(frozen=True)
class Entry:
    """One ledger entry: the leaf at ``index`` of the Merkle tree."""

    index: int
    kind: Kind
    t: float
    source: str
    payload: bytes

    def canonical(self) -> bytes:
        """The canonical bytes whose leaf hash is in the tree (index excluded: it is the leaf position)."""
        return encode_entry(self.kind, self.t, self.source, self.payload)

    def json(self) -> Any:
        """The decoded JSON payload of an event or action entry."""
        if self.kind not in JSON_KINDS:
            raise EncodingError(f"entry {self.index}: kind {self.kind!r} has a binary payload, not JSON")
        return json.loads(self.payload)


def canonical_json(obj: Any) -> bytes:
    """Canonical JSON bytes of ``obj``: sorted keys, no whitespace, UTF-8, shortest float repr."""
    try:
        text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise EncodingError(f"payload is not canonical-JSON encodable: {exc}") from exc
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise EncodingError(f"payload has a string that is not valid Unicode: {exc}") from exc


def _source_bytes(source: str) -> bytes:
    """UTF-8 bytes of an entry's source, checked to fit its u16 length."""
    try:
        raw = source.encode("utf-8")
    except (AttributeError, UnicodeEncodeError) as exc:
        raise EncodingError(f"entry source must be a valid str, got {source!r}") from exc
    if len(raw) > 0xFFFF:
        raise EncodingError(f"entry source is {len(raw)} bytes, more than 65535: {source[:40]!r}…")
    return raw


def _check_fields(kind: str, t: float) -> int:
    """Kind code of ``kind`` after checking that ``t`` is a finite float."""
    code = KIND_CODES.get(kind)
    if code is None:
        raise EncodingError(f"entry kind must be one of {sorted(KIND_CODES)}, got {kind!r}")
    if not isinstance(t, float | int) or not math.isfinite(t):
        raise EncodingError(f"entry t must be finite UTC seconds, got {t!r}")
    return code


def encode_entry(kind: str, t: float, source: str, payload: bytes) -> bytes:
    """Canonical bytes of one entry (the layout in the module docstring)."""
    code = _check_fields(kind, t)
    src = _source_bytes(source)
    if len(payload) > 0xFFFFFFFF - 16 - len(src):
        raise EncodingError(f"entry payload is {len(payload)} bytes, too long for a u32 length")
    return _ENTRY_FIXED.pack(FORMAT_VERSION, code, float(t), len(src)) + src + _U32.pack(len(payload)) + payload


def entry_record(index: int, kind: str, t: float, source: str, payload: bytes) -> bytes:
    """The framed E record of one entry, CRC included (``encode_entry`` inside ``frame_record``, fused)."""
    code = _check_fields(kind, t)
    src = _source_bytes(source)
    body_len = 16 + len(src) + len(payload)
    if body_len > 0xFFFFFFFF:
        raise EncodingError(f"entry payload is {len(payload)} bytes, too long for a u32 length")
    rec = (_ENTRY_RECORD.pack(MAGIC, ENTRY, index, body_len, 0, FORMAT_VERSION, code, float(t), len(src))
           + src + _U32.pack(len(payload)) + payload)
    return rec + _CRC.pack(zlib.crc32(rec))


def decode_entry(index: int, data: bytes | memoryview) -> Entry:
    """Entry from its canonical bytes; raises EncodingError naming the first non-canonical field."""
    data = bytes(data)
    if len(data) < 16:
        raise EncodingError(f"entry {index}: {len(data)} bytes is shorter than the 16-byte minimum")
    version, code, t, src_len = _ENTRY_FIXED.unpack_from(data, 0)
    if version != FORMAT_VERSION:
        raise EncodingError(f"entry {index}: format version {version}, expected {FORMAT_VERSION}")
    kind = KIND_NAMES.get(code)
    if kind is None:
        raise EncodingError(f"entry {index}: unknown kind code {code}")
    if not math.isfinite(t):
        raise EncodingError(f"entry {index}: t is {t!r}, not finite")
    if 12 + src_len + 4 > len(data):
        raise EncodingError(f"entry {index}: source length {src_len} runs past the {len(data)}-byte entry")
    try:
        source = data[12:12 + src_len].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EncodingError(f"entry {index}: source is not UTF-8: {exc}") from exc
    (pay_len,) = _U32.unpack_from(data, 12 + src_len)
    if 16 + src_len + pay_len != len(data):
        raise EncodingError(f"entry {index}: payload length {pay_len} does not match the "
                            f"{len(data) - 16 - src_len} bytes that follow it")
    payload = data[16 + src_len:]
    if kind in JSON_KINDS:
        try:
            canonical = canonical_json(json.loads(payload))
        except (ValueError, RecursionError, EncodingError) as exc:
            raise EncodingError(f"entry {index}: {kind} payload is not JSON: {type(exc).__name__}: {exc}") from None
        if canonical != payload:
            raise EncodingError(f"entry {index}: {kind} payload is JSON but not canonical JSON")
    return Entry(index, kind, t, source, payload)


def frame_record(rtype: int, seq: int, body: bytes) -> bytes:
    """One framed record: header, body and CRC-32 trailer."""
    rec = _RECORD.pack(MAGIC, rtype, seq, len(body), 0) + body
    return rec + _CRC.pack(zlib.crc32(rec))


def record_entry(index: int, record: bytes | memoryview) -> Entry:
    """The entry in one framed E record, after checking its framing, CRC and index."""
    if len(record) < OVERHEAD:
        raise CorruptLedgerError(f"entry {index}: record is {len(record)} bytes, shorter than its framing")
    magic, rtype, seq, length, zero = _RECORD.unpack_from(record, 0)
    if magic != MAGIC or rtype != ENTRY or zero or length + OVERHEAD != len(record):
        raise CorruptLedgerError(f"entry {index}: record framing is damaged (type {rtype}, length {length})")
    if zlib.crc32(record[:HEADER_SIZE + length]) != _CRC.unpack_from(record, HEADER_SIZE + length)[0]:
        raise CorruptLedgerError(f"entry {index}: record CRC-32 mismatch (the bytes changed on disk)")
    if seq != index:
        raise CorruptLedgerError(f"entry {index}: record carries index {seq}")
    return decode_entry(index, record[HEADER_SIZE:HEADER_SIZE + length])


def encode_file_header(log_id: bytes, public_key: bytes) -> bytes:
    """Body of the F record: b"skywarden-ledger", format version u8, 16-byte log id, raw Ed25519 key."""
    return _FILE_BODY.pack(FILE_MAGIC, FORMAT_VERSION, log_id, public_key)


def decode_file_header(body: bytes | memoryview) -> tuple[bytes, bytes]:
    """(log id, raw public key) from the F record body."""
    if len(body) != _FILE_BODY.size:
        raise EncodingError(f"file header body is {len(body)} bytes, expected {_FILE_BODY.size}")
    magic, version, log_id, public_key = _FILE_BODY.unpack(body)
    if magic != FILE_MAGIC or version != FORMAT_VERSION:
        raise EncodingError(f"file header: magic {magic!r} version {version}, expected {FILE_MAGIC!r} "
                            f"version {FORMAT_VERSION}")
    return log_id, public_key


@dataclass(frozen=True)
class Damage:
    """Where and how the framing scan stopped before the end of the file."""

    offset: int
    problem: str
    record_type: int | None  # the type byte, when the header was readable
    complete: bool  # the declared record lies inside the file (its bytes are there but wrong)
    valid_after: bool  # a valid record starts after it: damage in the middle, not a torn tail


@dataclass
class Scan:
    """Offsets of every framed record up to the first damage, and the last commit point."""

    entry_offsets: list[int] = field(default_factory=list)
    entry_lengths: list[int] = field(default_factory=list)
    entry_seqs: list[int] = field(default_factory=list)
    head_offsets: list[int] = field(default_factory=list)
    committed_end: int = 0  # file offset just after the last C record
    committed_entries: int = 0  # E records before it
    committed_heads: int = 0  # H records before it
    damage: Damage | None = None


def _valid_record_at(buf: bytes, pos: int) -> bool:
    """Whether a complete, CRC-correct record of a known type starts at ``pos``."""
    if len(buf) - pos < OVERHEAD:
        return False
    magic, rtype, _, length, zero = _RECORD.unpack_from(buf, pos)
    end = pos + HEADER_SIZE + length
    return (magic == MAGIC and rtype in RECORD_TYPES and not zero and end + 4 <= len(buf)
            and zlib.crc32(memoryview(buf)[pos:end]) == _CRC.unpack_from(buf, end)[0])


def _damage(buf: bytes, pos: int, problem: str, rtype: int | None, complete: bool) -> Damage:
    """A Damage at ``pos``, looking for any valid record after it (resynchronising on the magic)."""
    hit = buf.find(MAGIC, pos + 1)
    while hit >= 0 and not _valid_record_at(buf, hit):
        hit = buf.find(MAGIC, hit + 1)
    return Damage(pos, problem, rtype, complete, hit >= 0)


def scan_records(buf: bytes) -> Scan:
    """Walk the framing of a whole ledger file, checking magic, type, lengths and every CRC."""
    scan = Scan()
    mv = memoryview(buf)
    n = len(buf)
    unpack, crc_unpack, crc32 = _RECORD.unpack_from, _CRC.unpack_from, zlib.crc32
    e_off, e_len, e_seq, h_off = scan.entry_offsets, scan.entry_lengths, scan.entry_seqs, scan.head_offsets
    pos = 0
    while pos < n:
        if n - pos < OVERHEAD:
            scan.damage = _damage(buf, pos, f"{n - pos} bytes left, less than a record", None, False)
            break
        magic, rtype, seq, length, zero = unpack(buf, pos)
        end = pos + HEADER_SIZE + length
        if magic != MAGIC or zero or rtype not in RECORD_TYPES or (rtype == FILE) != (pos == 0):
            problem = f"bad record header (magic {magic.hex()}, type {rtype}, pad {zero})"
            scan.damage = _damage(buf, pos, problem, rtype if rtype in RECORD_TYPES else None, False)
            break
        if end + 4 > n:
            scan.damage = _damage(buf, pos, f"record of {length} bytes runs past the end of the file", rtype,
                                  False)
            break
        if crc32(mv[pos:end]) != crc_unpack(buf, end)[0]:
            scan.damage = _damage(buf, pos, "CRC-32 mismatch", rtype, True)
            break
        if rtype == ENTRY:
            e_off.append(pos)
            e_len.append(length)
            e_seq.append(seq)
        elif rtype == HEAD:
            h_off.append(pos)
        elif rtype == COMMIT:
            scan.committed_end, scan.committed_entries, scan.committed_heads = end + 4, len(e_off), len(h_off)
        pos = end + 4
    return scan


def record_body(buf: bytes, offset: int) -> bytes:
    """The body of the (already scanned) record at ``offset``."""
    (length,) = _U32.unpack_from(buf, offset + 11)
    return buf[offset + HEADER_SIZE:offset + HEADER_SIZE + length]


def record_seq(buf: bytes, offset: int) -> int:
    """The seq field of the (already scanned) record at ``offset``."""
    return int.from_bytes(buf[offset + 3:offset + 11], "big")
