"""Evidence: the signed, tamper-evident, crash-safe ledger of raw input, events, actions and config."""

from skywarden.evidence.encoding import (
    CorruptLedgerError,
    EncodingError,
    Entry,
    LedgerError,
    TornTailError,
    canonical_json,
    decode_entry,
    encode_entry,
)
from skywarden.evidence.ledger import Ledger, TailRepair, public_key_path
from skywarden.evidence.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    ProofError,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)
from skywarden.evidence.signing import SignedTreeHead, SigningError, SiteKey, default_key_path, verify_sth
from skywarden.evidence.verify import VerifyReport, verify_ledger

__all__ = [
    "EMPTY_ROOT",
    "CorruptLedgerError",
    "EncodingError",
    "Entry",
    "Ledger",
    "LedgerError",
    "MerkleTree",
    "ProofError",
    "SignedTreeHead",
    "SigningError",
    "SiteKey",
    "TailRepair",
    "TornTailError",
    "VerifyReport",
    "canonical_json",
    "decode_entry",
    "default_key_path",
    "encode_entry",
    "leaf_hash",
    "node_hash",
    "public_key_path",
    "verify_consistency",
    "verify_inclusion",
    "verify_ledger",
    "verify_sth",
]
