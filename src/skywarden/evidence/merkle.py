"""RFC 9162 Merkle tree: leaf and node hashes, an incremental tree with proofs, and the proof verifiers.

Hashes (RFC 9162 §2.1.1): leaf = SHA-256(0x00 ‖ entry bytes), node = SHA-256(0x01 ‖ left ‖ right);
MTH of n > 1 leaves splits at k, the largest power of two smaller than n; MTH of no leaves is SHA-256("").
"""

from __future__ import annotations

from collections.abc import Sequence
from hashlib import sha256
from typing import Final

from skywarden.evidence.encoding import LedgerError

HASH_SIZE: Final = 32
EMPTY_ROOT: Final = sha256(b"").digest()


class ProofError(LedgerError):
    """An inclusion or consistency proof that does not verify, or a proof asked for impossible sizes."""


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash of one entry's canonical bytes."""
    return sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash."""
    return sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _parents(level: bytearray | bytes) -> bytearray:
    """Node hashes of every complete pair in a level of 32-byte hashes (adjacent pairs are contiguous)."""
    mv = memoryview(level)
    end = len(level) // (2 * HASH_SIZE) * 2 * HASH_SIZE
    return bytearray(b"".join([sha256(b"\x01" + mv[i:i + 2 * HASH_SIZE]).digest()
                               for i in range(0, end, 2 * HASH_SIZE)]))


class MerkleTree:
    """Append-only RFC 9162 tree keeping every complete subtree hash, level by level.

    Level 0 holds the leaf hashes, level j the roots of the aligned complete subtrees of 2**j leaves;
    each level is one bytearray of 32-byte rows (about 64 bytes per leaf in all). An append costs
    O(1) amortised node hashes (O(log n) worst case); roots of past sizes and proofs cost O(log n).
    """

    def __init__(self, leaf_hashes: bytes = b"") -> None:
        if len(leaf_hashes) % HASH_SIZE:
            raise ProofError(f"leaf_hashes is {len(leaf_hashes)} bytes, not a multiple of {HASH_SIZE}")
        self._levels: list[bytearray] = [bytearray(leaf_hashes)]
        while len(self._levels[-1]) >= 2 * HASH_SIZE:
            self._levels.append(_parents(self._levels[-1]))

    @property
    def size(self) -> int:
        """Number of leaves."""
        return len(self._levels[0]) // HASH_SIZE

    def append(self, leaf: bytes) -> None:
        """Add one leaf hash, completing every subtree it closes."""
        levels = self._levels
        levels[0] += leaf
        i, lvl = self.size - 1, 0
        while i & 1:
            parent = sha256(b"\x01" + levels[lvl][-2 * HASH_SIZE:]).digest()
            if lvl + 1 == len(levels):
                levels.append(bytearray())
            levels[lvl + 1] += parent
            i >>= 1
            lvl += 1

    def leaf(self, index: int) -> bytes:
        """Leaf hash at ``index``."""
        self._check_size(index + 1, "index + 1")
        return self._node(0, index)

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (default: all)."""
        size = self.size if size is None else size
        self._check_size(size, "size")
        return self._range_root(0, size) if size else EMPTY_ROOT

    def inclusion_proof(self, index: int, tree_size: int) -> list[bytes]:
        """PATH(index, D[tree_size]) of RFC 9162 §2.1.3.1."""
        self._check_size(tree_size, "tree_size")
        if not 0 <= index < tree_size:
            raise ProofError(f"inclusion proof: index {index} is not in a tree of size {tree_size}")
        return self._path(index, 0, tree_size)

    def consistency_proof(self, m: int, n: int) -> list[bytes]:
        """PROOF(m, D[n]) of RFC 9162 §2.1.4.1; empty when m == 0 or m == n."""
        self._check_size(n, "n")
        if not 0 <= m <= n:
            raise ProofError(f"consistency proof: need 0 <= m <= n, got m = {m}, n = {n}")
        return [] if m in (0, n) else self._subproof(m, 0, n, True)

    def _check_size(self, size: int, name: str) -> None:
        """Raise unless 0 <= size <= the number of leaves."""
        if not 0 <= size <= self.size:
            raise ProofError(f"{name} = {size} is outside a tree of {self.size} leaves")

    def _node(self, level: int, index: int) -> bytes:
        """Root of the complete subtree of 2**level leaves starting at leaf index * 2**level."""
        return bytes(self._levels[level][index * HASH_SIZE:(index + 1) * HASH_SIZE])

    def _range_root(self, offset: int, size: int) -> bytes:
        """MTH of leaves [offset, offset + size), offset a multiple of the power of two >= size.

        Such a range is its binary decomposition of complete subtrees, folded from the right.
        """
        roots = []
        pos = offset
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                roots.append(self._node(level, pos >> level))
                pos += 1 << level
        h = roots.pop()
        while roots:
            h = node_hash(roots.pop(), h)
        return h

    def _path(self, m: int, offset: int, size: int) -> list[bytes]:
        """PATH(m, D[offset:offset + size])."""
        if size == 1:
            return []
        k = _split(size)
        if m < k:
            return [*self._path(m, offset, k), self._range_root(offset + k, size - k)]
        return [*self._path(m - k, offset + k, size - k), self._range_root(offset, k)]

    def _subproof(self, m: int, offset: int, size: int, whole: bool) -> list[bytes]:
        """SUBPROOF(m, D[offset:offset + size], whole)."""
        if m == size:
            return [] if whole else [self._range_root(offset, size)]
        k = _split(size)
        if m <= k:
            return [*self._subproof(m, offset, k, whole), self._range_root(offset + k, size - k)]
        return [*self._subproof(m - k, offset + k, size - k, False), self._range_root(offset, k)]


def verify_inclusion(leaf: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check an inclusion proof by RFC 9162 §2.1.3.2; raises ProofError with both roots if it fails."""
    if not 0 <= index < tree_size:
        raise ProofError(f"inclusion: index {index} is not in a tree of size {tree_size}")
    fn, sn, r = index, tree_size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError(f"inclusion: proof for index {index} of {tree_size} has too many hashes "
                             f"({len(proof)})")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn:
        raise ProofError(f"inclusion: proof for index {index} of {tree_size} has too few hashes ({len(proof)})")
    if r != root:
        raise ProofError(f"inclusion: calculated root {r.hex()} != expected root {root.hex()} "
                         f"(index {index}, tree size {tree_size})")


def verify_consistency(m: int, n: int, root_m: bytes, root_n: bytes, proof: Sequence[bytes]) -> None:
    """Check a consistency proof by RFC 9162 §2.1.4.2; raises ProofError with the roots if it fails.

    Beyond the RFC (which defines 0 < m < n): m == n needs an empty proof and equal roots, m == 0 an
    empty proof and root_m the empty-tree root.
    """
    if not 0 <= m <= n:
        raise ProofError(f"consistency: need 0 <= m <= n, got m = {m}, n = {n}")
    if m in (0, n):
        expected = EMPTY_ROOT if m == 0 else root_n
        if proof or root_m != expected:
            raise ProofError(f"consistency {m} -> {n}: needs an empty proof (got {len(proof)} hashes) and "
                             f"root_m {expected.hex()} (got {root_m.hex()})")
        return
    if not proof:
        raise ProofError(f"consistency {m} -> {n}: empty proof")
    path = [root_m, *proof] if m & (m - 1) == 0 else list(proof)
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError(f"consistency {m} -> {n}: proof has too many hashes ({len(proof)})")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn:
        raise ProofError(f"consistency {m} -> {n}: proof has too few hashes ({len(proof)})")
    if fr != root_m or sr != root_n:
        raise ProofError(f"consistency {m} -> {n}: calculated roots {fr.hex()} / {sr.hex()} != expected "
                         f"{root_m.hex()} / {root_n.hex()}")
