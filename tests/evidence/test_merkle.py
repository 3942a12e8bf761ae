"""RFC 9162 Merkle tree: hand-computed roots, published vectors, and every proof for small trees."""

from __future__ import annotations

import hashlib

import pytest

from skywarden.evidence.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    ProofError,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)

DATA = [bytes([i]) * (i + 1) for i in range(20)]


def sha(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def lf(i: int) -> bytes:
    return sha(b"\x00" + DATA[i])


def nd(a: bytes, b: bytes) -> bytes:
    return sha(b"\x01" + a + b)


def tree_of(n: int) -> MerkleTree:
    tree = MerkleTree()
    for i in range(n):
        tree.append(leaf_hash(DATA[i]))
    return tree


def test_roots_of_sizes_1_to_8_match_hand_computed_trees() -> None:
    n01, n23, n45, n67 = nd(lf(0), lf(1)), nd(lf(2), lf(3)), nd(lf(4), lf(5)), nd(lf(6), lf(7))
    n0123 = nd(n01, n23)
    expected = {
        1: lf(0),
        2: n01,
        3: nd(n01, lf(2)),
        4: n0123,
        5: nd(n0123, lf(4)),
        6: nd(n0123, n45),
        7: nd(n0123, nd(n45, lf(6))),
        8: nd(n0123, nd(n45, n67)),
    }
    tree = tree_of(8)
    for size, root in expected.items():
        assert tree.root(size) == root, size
        assert MerkleTree(b"".join(lf(i) for i in range(size))).root() == root, size
    assert tree.root(0) == EMPTY_ROOT == sha(b"")


# The reference tree of the RFC 6962 / Certificate Transparency test suites (widely republished).
CT_LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                        "606162636465666768696a6b6c6d6e6f")]
CT_ROOTS = ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"]
CT_INCLUSION = {
    (0, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (5, 8): ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
}


def test_published_reference_roots_and_proofs() -> None:
    tree = MerkleTree()
    for data, root in zip(CT_LEAVES, CT_ROOTS, strict=True):
        tree.append(leaf_hash(data))
        assert tree.root().hex() == root
    for (index, size), proof in CT_INCLUSION.items():
        assert [h.hex() for h in tree.inclusion_proof(index, size)] == proof
        verify_inclusion(leaf_hash(CT_LEAVES[index]), index, size, [bytes.fromhex(h) for h in proof],
                         bytes.fromhex(CT_ROOTS[size - 1]))


def test_incremental_and_bulk_trees_agree_at_every_size() -> None:
    leaves = [leaf_hash(d) for d in DATA]
    tree = MerkleTree()
    for n, leaf in enumerate(leaves, start=1):
        tree.append(leaf)
        bulk = MerkleTree(b"".join(leaves[:n]))
        assert all(bulk.root(m) == tree.root(m) for m in range(n + 1))
        bulk.append(leaf)  # a bulk-built tree keeps growing correctly
        assert bulk.root(n) == tree.root(n)


def _altered(proof: list[bytes]) -> list[list[bytes]]:
    """Every one-hash byte flip, plus a dropped, an extra and a swapped hash."""
    out = [[*proof[:i], bytes([proof[i][0] ^ 1]) + proof[i][1:], *proof[i + 1:]] for i in range(len(proof))]
    out += [proof[:-1], [*proof, proof[-1] if proof else EMPTY_ROOT]]
    if len(proof) > 1:
        out.append([proof[1], proof[0], *proof[2:]])
    return [p for p in out if p != proof]


def test_every_inclusion_proof_up_to_20_verifies_and_every_alteration_fails() -> None:
    tree = tree_of(20)
    for n in range(1, 21):
        root = tree.root(n)
        for i in range(n):
            proof = tree.inclusion_proof(i, n)
            verify_inclusion(tree.leaf(i), i, n, proof, root)
            for bad in _altered(proof):
                with pytest.raises(ProofError):
                    verify_inclusion(tree.leaf(i), i, n, bad, root)
            with pytest.raises(ProofError):
                verify_inclusion(tree.leaf((i + 1) % 20), i, n, proof, root)  # another leaf
            if n > 1:
                with pytest.raises(ProofError):
                    verify_inclusion(tree.leaf(i), (i + 1) % n, n, proof, root)  # another index
            with pytest.raises(ProofError):
                verify_inclusion(tree.leaf(i), i, n, proof, tree.root(n - 1) if n > 1 else EMPTY_ROOT)


def test_every_consistency_proof_up_to_20_verifies_and_every_alteration_fails() -> None:
    tree = tree_of(20)
    for n in range(0, 21):
        for m in range(0, n + 1):
            proof = tree.consistency_proof(m, n)
            verify_consistency(m, n, tree.root(m), tree.root(n), proof)
            for bad in _altered(proof):
                with pytest.raises(ProofError):
                    verify_consistency(m, n, tree.root(m), tree.root(n), bad)
            if 0 < m < n:
                wrong = nd(tree.root(m), tree.root(m))
                with pytest.raises(ProofError):
                    verify_consistency(m, n, wrong, tree.root(n), proof)
                with pytest.raises(ProofError):
                    verify_consistency(m, n, tree.root(m), wrong, proof)
                if m > 1:
                    with pytest.raises(ProofError):
                        verify_consistency(m - 1, n, tree.root(m - 1), tree.root(n), proof)


def test_consistency_edge_cases_beyond_the_rfc() -> None:
    tree = tree_of(5)
    assert tree.consistency_proof(0, 5) == [] and tree.consistency_proof(5, 5) == []
    verify_consistency(0, 5, EMPTY_ROOT, tree.root(), [])
    verify_consistency(5, 5, tree.root(), tree.root(), [])
    with pytest.raises(ProofError, match="empty proof"):
        verify_consistency(5, 5, tree.root(4), tree.root(), [])
    with pytest.raises(ProofError, match="0 <= m <= n"):
        verify_consistency(6, 5, tree.root(), tree.root(), [])


def test_proofs_for_sizes_outside_the_tree_are_refused() -> None:
    tree = tree_of(4)
    with pytest.raises(ProofError, match="tree_size = 5"):
        tree.inclusion_proof(0, 5)
    with pytest.raises(ProofError, match="index 4"):
        tree.inclusion_proof(4, 4)
    with pytest.raises(ProofError, match="m = 3, n = 2"):
        tree.consistency_proof(3, 2)
    with pytest.raises(ProofError, match="not a multiple"):
        MerkleTree(b"x" * 33)


def test_proofs_in_a_large_tree_are_fast_and_correct() -> None:
    n = 100_003
    tree = MerkleTree(b"".join(sha(i.to_bytes(4, "big")) for i in range(n)))
    for i in (0, 1, 65_535, 65_536, n - 1):
        verify_inclusion(tree.leaf(i), i, n, tree.inclusion_proof(i, n), tree.root())
    for m in (1, 65_536, 99_999):
        verify_consistency(m, n, tree.root(m), tree.root(n), tree.consistency_proof(m, n))
