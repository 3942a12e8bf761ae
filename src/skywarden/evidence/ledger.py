"""The evidence ledger: one append-only file of framed entry records, signed tree heads and commit markers.

``append_*`` frames an entry and adds its leaf to the in-memory Merkle tree; ``commit()`` is the group
commit (one write + fdatasync) after which the entries are acknowledged; a signed tree head (STH) is
added to the commit when ``sign_every_s`` of data time has passed since the last one, and ``close()``
signs a final head over everything. See ``encoding`` for the bytes and docs/ledger.md for the design.
"""

from __future__ import annotations

import fcntl
import math
import os
import sys
import time
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from skywarden.evidence.encoding import (
    COMMIT,
    FILE,
    HEAD,
    OVERHEAD,
    CorruptLedgerError,
    EncodingError,
    Entry,
    LedgerError,
    Scan,
    TornTailError,
    canonical_json,
    decode_file_header,
    encode_file_header,
    entry_record,
    frame_record,
    record_body,
    record_entry,
    record_seq,
    scan_records,
)
from skywarden.evidence.merkle import MerkleTree
from skywarden.evidence.signing import (
    SignedTreeHead,
    SigningError,
    SiteKey,
    decode_head_body,
    encode_head_body,
    key_id,
    load_public_key,
    public_key_pem,
    verify_sth,
)

CHUNK: Final = 8 << 20  # bytes read at a time when iterating over entries
_sync = getattr(os, "fdatasync", os.fsync)


@dataclass(frozen=True)
class TailRepair:
    """What ``Ledger.open(repair=True)`` cut off the end of a torn ledger file."""

    offset: int  # the file now ends here, after its last commit marker
    dropped_bytes: int
    dropped_entries: int  # complete but uncommitted entry records among the dropped bytes
    problem: str


def public_key_path(path: Path) -> Path:
    """Where ``Ledger.create`` writes the public key PEM: ``<ledger file name>.pub.pem`` beside it."""
    return path.with_name(path.name + ".pub.pem")


def writer_active(fd: int) -> bool:
    """Whether another open file description holds the ledger's writer lock (a live writer)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    fcntl.flock(fd, fcntl.LOCK_UN)
    return False


def leaf_hashes(buf: bytes, offsets: Sequence[int], lengths: Sequence[int]) -> bytes:
    """Leaf hashes of the E records at ``offsets``, concatenated (record[15] is the 0x00 leaf prefix)."""
    mv = memoryview(buf)
    return b"".join([sha256(mv[o + 15:o + 16 + n]).digest() for o, n in zip(offsets, lengths, strict=True)])


def _entry_times(buf: bytes, offsets: Sequence[int]) -> array[float]:
    """The t field (bytes 18..25, big-endian binary64) of the E records at ``offsets``."""
    times = array("d")
    times.frombytes(b"".join([buf[o + 18:o + 26] for o in offsets]))
    if sys.byteorder == "little":
        times.byteswap()
    return times


def _read_all(fd: int) -> bytes:
    """The whole file behind ``fd``."""
    size = os.fstat(fd).st_size
    parts, offset = [], 0
    while offset < size:
        part = os.pread(fd, size - offset, offset)
        if not part:
            break
        parts.append(part)
        offset += len(part)
    return b"".join(parts)


def _check_cadence(sign_every_s: float) -> None:
    """Raise unless the signing cadence is a finite, non-negative number of seconds."""
    if not (isinstance(sign_every_s, float | int) and math.isfinite(sign_every_s) and sign_every_s >= 0):
        raise LedgerError(f"sign_every_s must be finite seconds >= 0, got {sign_every_s!r}")


def _settle_tail(path: Path, buf: bytes, scan: Scan, repair: bool, in_flight: bool) -> TailRepair | None:
    """Accept, cut (repair) or refuse what follows the last commit marker; refuse damage mid-file."""
    damage = scan.damage
    if damage is not None and damage.valid_after:
        raise CorruptLedgerError(
            f"{path}: {damage.problem} at offset {damage.offset} (after {len(scan.entry_offsets)} entries) and "
            "valid records follow: the file is damaged in the middle, not torn; run verify_ledger to name it")
    if scan.committed_end == 0:
        raise CorruptLedgerError(f"{path}: no committed ledger header "
                                 f"({damage.problem if damage else 'no commit marker'}); not a Skywarden ledger")
    tail = len(buf) - scan.committed_end
    if tail == 0 or in_flight:
        return None
    dropped = len(scan.entry_offsets) - scan.committed_entries
    problem = damage.problem if damage else "complete records with no commit marker after them"
    if not repair:
        raise TornTailError(f"{path}: torn tail: {tail} bytes after the last commit at offset {scan.committed_end} "
                            f"({problem}; {dropped} complete entries uncommitted); open with repair=True to drop it")
    with open(path, "r+b") as f:
        f.truncate(scan.committed_end)
        f.flush()
        os.fsync(f.fileno())
    return TailRepair(scan.committed_end, tail, dropped, problem)


@dataclass
class _Contents:
    """What a ledger file holds up to its last commit marker."""

    log_id: bytes
    public_key: bytes
    tree: MerkleTree
    offsets: array[int]
    lengths: array[int]
    times: array[float]
    heads: list[SignedTreeHead]
    file_len: int


def _load(path: Path, buf: bytes, scan: Scan) -> _Contents:
    """Committed contents of a scanned file, checking indices, head roots, head signatures, final heads."""
    n = scan.committed_entries
    try:
        log_id, public_key = decode_file_header(record_body(buf, 0))
        pub = load_public_key(public_key)
    except LedgerError as exc:
        raise CorruptLedgerError(f"{path}: ledger header: {exc}") from exc
    offsets, lengths = scan.entry_offsets[:n], scan.entry_lengths[:n]
    if scan.entry_seqs[:n] != list(range(n)):
        i = next(i for i, s in enumerate(scan.entry_seqs[:n]) if s != i)
        raise CorruptLedgerError(f"{path}: entry record at offset {offsets[i]} carries index "
                                 f"{scan.entry_seqs[i]}, expected {i}; run verify_ledger to name the damage")
    tree = MerkleTree(leaf_hashes(buf, offsets, lengths))
    head_offsets = scan.head_offsets[:scan.committed_heads]
    heads = []
    for i, off in enumerate(head_offsets):
        try:
            head = decode_head_body(record_seq(buf, off), record_body(buf, off), log_id)
            verify_sth(pub, head)
        except LedgerError as exc:
            raise CorruptLedgerError(f"{path}: head record at offset {off}: {exc}") from exc
        if head.tree_size > n or tree.root(head.tree_size) != head.root_hash:
            raise CorruptLedgerError(f"{path}: head at size {head.tree_size} does not match the entries "
                                     f"({n} entries); run verify_ledger")
        next_head = head_offsets[i + 1] if i + 1 < len(head_offsets) else len(buf)
        if head.final and head.tree_size < n and offsets[head.tree_size] < next_head:
            raise CorruptLedgerError(f"{path}: entry {head.tree_size} follows the final head with no reopen "
                                     "head: it was inserted; run verify_ledger")
        heads.append(head)
    return _Contents(log_id, public_key, tree, array("q", offsets), array("I", lengths),
                     _entry_times(buf, offsets), heads, scan.committed_end)


def _lock(fd: int, path: Path) -> None:
    """Take the exclusive writer lock on the ledger file, or raise if another writer has it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        raise LedgerError(f"{path} is open for appending by another writer") from exc


class Ledger:
    """Signed, tamper-evident, crash-safe append-only evidence log (one file; not thread-safe)."""

    def __init__(self, path: Path, fd: int, key: SiteKey | None, sign_every_s: float, c: _Contents) -> None:
        if key is not None and key.public_key_raw != c.public_key:
            raise SigningError(f"{path}: key mismatch: the ledger is signed by key id {key_id(c.public_key)}, "
                               f"the key given is {key.key_id}")
        self.path = path
        self._fd = fd
        self._key = key
        self._sign_every_s = float(sign_every_s)
        self._log_id, self._public_key = c.log_id, c.public_key
        self._tree, self._offsets, self._lengths, self._times = c.tree, c.offsets, c.lengths, c.times
        self.heads: list[SignedTreeHead] = c.heads
        self._file_len = c.file_len
        self._pending = bytearray()
        self._t_max = max(c.times, default=-math.inf)
        self._closed = False
        self._broken: str | None = None
        self.repaired: TailRepair | None = None

    @classmethod
    def create(cls, path: Path, key: SiteKey, sign_every_s: float = 1.0) -> Ledger:
        """A new, empty ledger at ``path`` (error if it exists); its public key PEM is written beside it."""
        _check_cadence(sign_every_s)
        path = Path(path)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o600)
        except FileExistsError as exc:
            raise LedgerError(f"ledger {path} already exists; use Ledger.open to append to it") from exc
        try:
            os.fchmod(fd, 0o600)  # evidence: the owner's alone, whatever the umask
            _lock(fd, path)
            log_id = os.urandom(16)
            data = frame_record(FILE, 0, encode_file_header(log_id, key.public_key_raw)) + frame_record(COMMIT, 0, b"")
            os.write(fd, data)
            os.fsync(fd)
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
            key.export_public(public_key_path(path))
            contents = _Contents(log_id, key.public_key_raw, MerkleTree(), array("q"), array("I"), array("d"), [],
                                 len(data))
            return cls(path, fd, key, sign_every_s, contents)
        except BaseException:
            os.close(fd)
            raise

    @classmethod
    def open(cls, path: Path, key: SiteKey | None = None, sign_every_s: float = 1.0, *,
             repair: bool = False) -> Ledger:
        """Reopen a ledger: for appending with ``key``, read-only without.

        The framing and every CRC are checked, and the heads against the entries. A torn tail (bytes
        after the last commit marker) raises TornTailError, or with ``repair=True`` is cut off and
        described in ``.repaired``. Read-only, while a live writer holds the lock, the uncommitted tail
        is ignored instead (a snapshot at the last commit).
        """
        _check_cadence(sign_every_s)
        path = Path(path)
        flags = os.O_RDWR | os.O_APPEND if key is not None else os.O_RDONLY
        try:
            fd = os.open(path, flags | os.O_CLOEXEC)
        except FileNotFoundError as exc:
            raise LedgerError(f"no ledger at {path}") from exc
        try:
            if key is not None:
                _lock(fd, path)
            in_flight = key is None and writer_active(fd)
            buf = _read_all(fd)
            scan = scan_records(buf)
            repaired = _settle_tail(path, buf, scan, repair, in_flight)
            ledger = cls(path, fd, key, sign_every_s, _load(path, buf, scan))
            ledger.repaired = repaired
            if key is not None and ledger.heads and ledger.heads[-1].final:
                ledger._add_head(ledger.heads[-1].t, final=False)  # the reopen head: entries may follow
                ledger._write_pending()
            return ledger
        except BaseException:
            os.close(fd)
            raise

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def size(self) -> int:
        """Number of entries, including appended but not yet committed ones."""
        return self._tree.size

    @property
    def root(self) -> bytes:
        """Merkle root over all entries."""
        return self._tree.root()

    def append_raw(self, t: float, sensor_id: str, data: bytes) -> int:
        """Append raw sensor input exactly as received at ``t``; returns its index."""
        return self._append("raw", t, sensor_id, bytes(data))

    def append_event(self, t: float, event: dict[str, Any]) -> int:
        """Append a pipeline event (its ``to_dict()``) as canonical JSON; source is its ``kind``."""
        kind = event.get("kind", "")
        if not isinstance(kind, str):
            raise EncodingError(f"event kind must be a str, got {kind!r}")
        return self._append("event", t, kind, canonical_json(event))

    def append_action(self, t: float, actor: str, action: dict[str, Any]) -> int:
        """Append an operator action (role, what, …) by ``actor`` as canonical JSON."""
        return self._append("action", t, actor, canonical_json(action))

    def append_config(self, t: float, name: str, data: bytes) -> int:
        """Append a config change: the config's bytes under ``name``."""
        return self._append("config", t, name, bytes(data))

    def commit(self) -> None:
        """Group commit (one write + fdatasync): entries appended before it returns are acknowledged.

        Signs a tree head first if ``sign_every_s`` of data time passed since the last one (or none exists).
        """
        self._check_writable()
        last = self.heads[-1] if self.heads else None
        if (self.size > 0 and last is None) or (
                last is not None and self.size > last.tree_size and self._t_max - last.t >= self._sign_every_s):
            self._add_head(self._head_t(None), final=False)
        self._write_pending()

    def sign_head(self, t: float | None = None) -> SignedTreeHead:
        """Sign a head over all entries now (data time ``t``, default the latest entry's) and commit it."""
        self._check_writable()
        head = self._add_head(self._head_t(t), final=False)
        self._write_pending()
        return head

    def close(self) -> None:
        """Commit, sign a final head covering every entry, and release the file."""
        if self._closed:
            return
        try:
            if self._key is not None and self._broken is None:
                last = self.heads[-1] if self.heads else None
                if last is None or not last.final or last.tree_size != self.size:
                    self._add_head(self._head_t(None), final=True)
                self._write_pending()
        finally:
            self._closed = True
            os.close(self._fd)

    def entry(self, index: int) -> Entry:
        """The entry at ``index``."""
        if not 0 <= index < self.size:
            raise LedgerError(f"entry index {index} is outside the ledger's {self.size} entries")
        return next(self._read([index]))

    def entries(self, start: int = 0, stop: int | None = None) -> Iterator[Entry]:
        """Entries ``start`` .. ``stop - 1`` in order, read in large chunks."""
        stop = self.size if stop is None else min(stop, self.size)
        return self._read(range(max(start, 0), stop))

    def window(self, t0: float, t1: float) -> list[Entry]:
        """Entries with t0 <= t <= t1, in index order."""
        return list(self._read([i for i, t in enumerate(self._times) if t0 <= t <= t1]))

    def inclusion_proof(self, index: int, tree_size: int) -> list[bytes]:
        """RFC 9162 inclusion proof of entry ``index`` in the tree of ``tree_size`` entries."""
        return self._tree.inclusion_proof(index, tree_size)

    def consistency_proof(self, m: int, n: int) -> list[bytes]:
        """RFC 9162 consistency proof from the tree of ``m`` entries to the tree of ``n``."""
        return self._tree.consistency_proof(m, n)

    def public_key_pem(self) -> bytes:
        """PEM of the public key recorded in the ledger header (the key its heads must verify under)."""
        return public_key_pem(load_public_key(self._public_key))

    def _check_writable(self) -> None:
        """Raise unless entries may be appended."""
        if self._closed:
            raise LedgerError(f"{self.path}: ledger is closed")
        if self._key is None:
            raise LedgerError(f"{self.path}: ledger was opened read-only (no key)")
        if self._broken is not None:
            raise LedgerError(f"{self.path}: an earlier commit failed ({self._broken}); reopen with repair=True")

    def _append(self, kind: str, t: float, source: str, payload: bytes) -> int:
        """Frame one entry into the pending commit and add its leaf to the tree."""
        self._check_writable()
        index = self._tree.size
        rec = entry_record(index, kind, t, source, payload)
        self._offsets.append(self._file_len + len(self._pending))
        self._lengths.append(len(rec) - OVERHEAD)
        self._times.append(t)
        self._pending += rec
        self._tree.append(sha256(memoryview(rec)[15:-4]).digest())
        if t > self._t_max:
            self._t_max = float(t)
        return index

    def _head_t(self, t: float | None) -> float:
        """Data time of a new head: ``t`` if given (not before the last head), else the latest entry's."""
        floor = self.heads[-1].t if self.heads else -math.inf
        if t is None:
            latest = max(self._t_max, floor)
            return latest if math.isfinite(latest) else time.time()
        if not math.isfinite(t) or t < floor:
            raise LedgerError(f"sign_head: t = {t!r} must be finite and not before the last head's t = {floor!r}")
        return float(t)

    def _add_head(self, t: float, final: bool) -> SignedTreeHead:
        """Sign a head over all entries and put its H record in the pending commit."""
        assert self._key is not None
        head = self._key.sign_head(self._log_id, self.size, self._tree.root(), t, final)
        self._pending += frame_record(HEAD, head.tree_size, encode_head_body(head))
        self.heads.append(head)
        return head

    def _write_pending(self) -> None:
        """Write the pending records and a commit marker with one write, then fdatasync."""
        if not self._pending:
            return
        self._pending += frame_record(COMMIT, self.size, b"")
        data = memoryview(self._pending)
        written = 0
        try:
            while written < len(data):
                written += os.write(self._fd, data[written:])
            _sync(self._fd)
        except OSError as exc:
            self._broken = f"{exc} at offset {self._file_len + written}"
            raise LedgerError(f"{self.path}: commit failed: {self._broken}; reopen with repair=True") from exc
        finally:
            data.release()
        self._file_len += len(self._pending)
        self._pending = bytearray()

    def _read(self, indices: Sequence[int]) -> Iterator[Entry]:
        """Entries at ascending ``indices``, reading the file in chunks of up to CHUNK bytes."""
        if self._closed:
            raise LedgerError(f"{self.path}: ledger is closed")
        if not len(indices):
            return
        last = indices[-1]
        span_end = self._offsets[last] + self._lengths[last] + OVERHEAD
        chunk, base = b"", 0
        for i in indices:
            off = self._offsets[i]
            end = off + self._lengths[i] + OVERHEAD
            if off >= self._file_len:
                start = off - self._file_len
                yield record_entry(i, bytes(self._pending[start:start + end - off]))
                continue
            if off < base or end > base + len(chunk):
                chunk = os.pread(self._fd, max(end, min(off + CHUNK, span_end, self._file_len)) - off, off)
                base = off
                if len(chunk) < end - off:
                    raise CorruptLedgerError(f"{self.path}: file ends inside entry {i} (was it truncated?)")
            yield record_entry(i, memoryview(chunk)[off - base:end - base])
