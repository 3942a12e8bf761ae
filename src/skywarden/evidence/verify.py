"""Verify a ledger file from its bytes alone: framing, index sequence, every leaf, every signed head.

Checks run in file order and the first failure is reported with a named reason:

1. framing and CRC of every record → "modified" (a damaged entry, at its index), "bad head" (a damaged
   head), "torn" (an incomplete or uncommitted tail, at the first entry not committed);
2. the ledger header and its key against a trusted key → "key mismatch";
3. the entry index sequence → "missing", "reordered", "duplicated", "inserted";
4. each head in file order: its signature ("bad signature"), its order and place ("bad head"), its size
   against the entries ("truncated"), its root against the root recomputed from the leaves ("modified",
   localised to the entries since the previous head), the consistency proof from the previous head
   ("bad head"), and no entry straight after a final head ("inserted").

What this proves, and what it cannot, is in docs/ledger.md.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from skywarden.evidence.encoding import (
    COMMIT,
    HEAD,
    LedgerError,
    Scan,
    decode_file_header,
    record_body,
    record_seq,
    scan_records,
)
from skywarden.evidence.ledger import leaf_hashes, writer_active
from skywarden.evidence.merkle import HASH_SIZE, MerkleTree, verify_consistency
from skywarden.evidence.signing import (
    SignedTreeHead,
    decode_head_body,
    key_id,
    load_public_key,
    raw_public_key,
    verify_sth,
)

Reason = Literal["modified", "missing", "reordered", "inserted", "duplicated", "bad signature", "truncated",
                 "torn", "key mismatch", "bad head"]


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of ``verify_ledger``: ok, or the first failure with its reason and entry index."""

    ok: bool
    entries: int  # entry records in the file (up to the first damage)
    heads: int  # head records in the file (up to the first damage)
    first_bad_index: int | None
    reason: Reason | None
    message: str
    unsigned: int = 0  # entries after the last signed head: not covered by any signature
    closed: bool = False  # the last head is a final head covering every entry (a clean close)


class _Failed(Exception):
    """Internal: the first failure found, unwinding to verify_ledger."""

    def __init__(self, reason: Reason, index: int | None, message: str) -> None:
        super().__init__(message)
        self.reason, self.index, self.message = reason, index, message


def verify_ledger(path: Path, public_key: bytes | None = None, *,
                  trusted_head: SignedTreeHead | None = None) -> VerifyReport:
    """Verify the ledger at ``path``; ``public_key`` (PEM or raw) pins the key, ``trusted_head`` a head
    kept elsewhere (it catches truncation back to an earlier, self-consistent state)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            in_flight = writer_active(f.fileno())
            buf = f.read()
    except FileNotFoundError as exc:
        raise LedgerError(f"no ledger at {path}") from exc
    scan = scan_records(buf)
    checker = _Checker(buf, scan)
    try:
        checker.run(in_flight, public_key, trusted_head)
    except _Failed as failure:
        return VerifyReport(False, len(scan.entry_offsets), len(scan.head_offsets), failure.index, failure.reason,
                            failure.message)
    return checker.report()


class _Checker:
    """One verification pass over a scanned file."""

    def __init__(self, buf: bytes, scan: Scan) -> None:
        self.buf, self.scan = buf, scan
        self.n_entries, self.n_heads = len(scan.entry_offsets), len(scan.head_offsets)
        self.heads: list[SignedTreeHead] = []
        self.key_text = ""

    def run(self, in_flight: bool, public_key: bytes | None, trusted_head: SignedTreeHead | None) -> None:
        """All checks in order; raises _Failed at the first failure."""
        self.check_framing(in_flight)
        log_id, key = self.check_header(public_key)
        leaves = leaf_hashes(self.buf, self.scan.entry_offsets[:self.n_entries],
                             self.scan.entry_lengths[:self.n_entries])
        self.check_sequence(leaves, log_id)
        tree = MerkleTree(leaves)
        self.check_heads(tree, log_id, key)
        if trusted_head is not None:
            self.check_trusted(tree, log_id, key, trusted_head)

    def report(self) -> VerifyReport:
        """The report of a ledger that passed every check."""
        covered = max((h.tree_size for h in self.heads), default=0)
        unsigned = self.n_entries - covered
        closed = bool(self.heads) and self.heads[-1].final and self.heads[-1].tree_size == self.n_entries
        state = ("closed cleanly by a final head" if closed else
                 f"not closed (a crash, a live writer, or truncation); {unsigned} entries after the last head "
                 "are not covered by a signature")
        return VerifyReport(True, self.n_entries, self.n_heads, None, None,
                            f"{self.n_entries} entries and {self.n_heads} heads verified under {self.key_text}; "
                            f"{state}", unsigned, closed)

    def check_framing(self, in_flight: bool) -> None:
        """Damage and uncommitted tails; a live writer's in-flight tail is left out instead."""
        scan, nxt = self.scan, len(self.scan.entry_offsets)
        damage = scan.damage
        if damage is not None and damage.offset == 0:
            reason: Reason = "modified" if damage.complete or damage.valid_after else "torn"
            raise _Failed(reason, None, f"ledger header record: {damage.problem}")
        if damage is not None and damage.valid_after:
            where = f"{damage.problem} at offset {damage.offset}, valid records follow"
            if damage.record_type == HEAD:
                raise _Failed("bad head", None, f"head record {len(scan.head_offsets)}: {where}")
            if damage.record_type == COMMIT and self.buf[damage.offset + 11:damage.offset + 15] == bytes(4):
                raise _Failed("modified", None, f"commit marker: {where}")
            raise _Failed("modified", nxt, f"entry {nxt}: {where}")  # an E record, or one whose type byte changed
        if scan.committed_end == 0 and not in_flight:
            raise _Failed("torn", None, "no committed ledger header: the file was cut or never finished")
        if scan.committed_end < len(self.buf):
            if not in_flight:
                problem = damage.problem if damage else "records with no commit marker after them"
                raise _Failed("torn", scan.committed_entries,
                              f"torn tail: {len(self.buf) - scan.committed_end} bytes after the last commit at "
                              f"offset {scan.committed_end} ({problem})")
            self.n_entries, self.n_heads = scan.committed_entries, scan.committed_heads

    def check_header(self, public_key: bytes | None) -> tuple[bytes, Ed25519PublicKey]:
        """The header record, and its key against the trusted one."""
        try:
            log_id, raw = decode_file_header(record_body(self.buf, 0))
            key = load_public_key(raw)
        except LedgerError as exc:
            raise _Failed("modified", None, f"ledger header: {exc}") from exc
        if public_key is not None:
            trusted = raw_public_key(load_public_key(public_key))
            if trusted != raw:
                raise _Failed("key mismatch", None, f"the ledger names key id {key_id(raw)}, the trusted key is "
                                                    f"{key_id(trusted)}")
        self.key_text = f"key id {key_id(raw)}" + (" (trusted)" if public_key is not None else " (from the ledger)")
        return log_id, key

    def check_sequence(self, leaves: bytes, log_id: bytes) -> None:
        """Entry records must carry indices 0, 1, 2, … in file order; name the first departure."""
        q = self.scan.entry_seqs[:self.n_entries]
        expected = list(range(len(q)))
        if q == expected:
            return
        p = next(i for i, s in enumerate(q) if s != i)
        s = q[p]
        same = [i for i, x in enumerate(q) if x == s]
        if len(same) > 1:
            a, b = same[0], same[1]
            if leaves[a * HASH_SIZE:(a + 1) * HASH_SIZE] == leaves[b * HASH_SIZE:(b + 1) * HASH_SIZE]:
                raise _Failed("duplicated", s, f"entry {s} appears twice (positions {a} and {b} in file order)")
            extra = self.extra_of(a, b, s, leaves, log_id)
            raise _Failed("inserted", extra, f"two different records claim index {s}: the one at position "
                                             f"{extra} was inserted")
        if p not in q[p + 1:]:
            raise _Failed("missing", p, f"entry {p} is missing (the record at position {p} has index {s})")
        if sorted(q) == expected:
            raise _Failed("reordered", p, f"entries are out of order: index {s} is at position {p}")
        raise _Failed("inserted", p, f"an entry claiming index {s} was inserted at position {p}")

    def extra_of(self, a: int, b: int, s: int, leaves: bytes, log_id: bytes) -> int:
        """Of two records claiming index ``s`` (file positions a < b), the one the signed roots leave out.

        The tree without ``a`` is checked against the first head past ``s``; ``b`` when that fails or
        no head can tell.
        """
        for off in self.scan.head_offsets[:self.n_heads]:
            try:
                head = decode_head_body(record_seq(self.buf, off), record_body(self.buf, off), log_id)
            except LedgerError:
                continue
            if head.tree_size > s:
                without_a = leaves[:a * HASH_SIZE] + leaves[(a + 1) * HASH_SIZE:(head.tree_size + 1) * HASH_SIZE]
                if len(without_a) < head.tree_size * HASH_SIZE:
                    return b
                return a if MerkleTree(without_a).root() == head.root_hash else b
        return b

    def check_heads(self, tree: MerkleTree, log_id: bytes, key: Ed25519PublicKey) -> None:
        """Every head: body, signature, order, place, size, root, consistency, final."""
        offsets, previous = self.scan.head_offsets[:self.n_heads], None
        entry_offsets = self.scan.entry_offsets[:self.n_entries]
        for i, off in enumerate(offsets):
            try:
                head = decode_head_body(record_seq(self.buf, off), record_body(self.buf, off), log_id)
            except LedgerError as exc:
                raise _Failed("bad head", None, f"head {i}: {exc}") from exc
            label = f"head {i} (size {head.tree_size}, t {head.t!r})"
            try:
                verify_sth(key, head)
            except LedgerError as exc:
                raise _Failed("bad signature", None, f"{label}: signature does not verify") from exc
            if previous is not None and (head.tree_size < previous.tree_size or head.t < previous.t):
                raise _Failed("bad head", None, f"{label} goes back from size {previous.tree_size}, t {previous.t!r}")
            if head.tree_size > self.n_entries:
                raise _Failed("truncated", self.n_entries, f"{label} was signed over {head.tree_size} entries but "
                                                           f"the file holds {self.n_entries}")
            if bisect_left(entry_offsets, off) < head.tree_size:
                raise _Failed("bad head", None, f"{label} comes before entries it covers")
            start = previous.tree_size if previous is not None else 0
            if tree.root(head.tree_size) != head.root_hash:
                raise _Failed("modified", start, f"entries {start}..{head.tree_size - 1} do not hash to the root "
                                                 f"signed in {label}")
            if previous is not None:
                try:
                    verify_consistency(start, head.tree_size, previous.root_hash, head.root_hash,
                                       tree.consistency_proof(start, head.tree_size))
                except LedgerError as exc:
                    raise _Failed("bad head", None, f"{label} is not consistent with head {i - 1}: {exc}") from exc
            next_off = offsets[i + 1] if i + 1 < len(offsets) else len(self.buf)
            if head.final and head.tree_size < self.n_entries and entry_offsets[head.tree_size] < next_off:
                raise _Failed("inserted", head.tree_size, f"entry {head.tree_size} follows the final {label} "
                                                          "with no reopen head")
            self.heads.append(head)
            previous = head

    def check_trusted(self, tree: MerkleTree, log_id: bytes, key: Ed25519PublicKey,
                      head: SignedTreeHead) -> None:
        """A head kept outside the file must verify and be a prefix of the file's tree."""
        label = f"trusted head (size {head.tree_size})"
        try:
            if head.log_id != log_id:
                raise LedgerError(f"log id {head.log_id.hex()} is not this ledger's {log_id.hex()}")
            verify_sth(key, head)
        except LedgerError as exc:
            raise _Failed("bad signature", None, f"{label}: {exc}") from exc
        if head.tree_size > self.n_entries:
            raise _Failed("truncated", self.n_entries, f"{label} covers {head.tree_size} entries, the file "
                                                       f"holds {self.n_entries}")
        if tree.root(head.tree_size) != head.root_hash:
            covered = [h.tree_size for h in self.heads if h.tree_size <= head.tree_size]
            start = max(covered, default=0)
            raise _Failed("modified", start, f"entries up to {head.tree_size - 1} do not hash to the {label} root")

