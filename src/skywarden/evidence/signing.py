"""The site's Ed25519 signing key, signed tree heads (STH), and their canonical signed bytes.

The signed message of a tree head is 81 bytes (integers big-endian)::

    b"skywarden-sth-v1" (16) ‖ log id (16) ‖ tree size u64 ‖ root hash (32) ‖ t f64 ‖ final u8

``final`` is 1 only for the head ``Ledger.close()`` signs: no entry may follow a final head until a
non-final head (signed on reopen) does. The H record body in the ledger file is
t f64 ‖ final u8 ‖ root (32) ‖ signature (64); its seq field is the tree size; the log id is the file's.
"""

from __future__ import annotations

import hashlib
import math
import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from skywarden.evidence.encoding import EncodingError, LedgerError

STH_CONTEXT: Final = b"skywarden-sth-v1"
_MESSAGE = struct.Struct(">16s16sQ32sdB")
_HEAD_BODY = struct.Struct(">dB32s64s")
HEAD_BODY_SIZE: Final = _HEAD_BODY.size


class SigningError(LedgerError):
    """A key file that cannot be used, a public key that cannot be read, or a signature that fails."""


@dataclass(frozen=True)
class SignedTreeHead:
    """A signed statement that the log ``log_id`` had ``tree_size`` entries with root ``root_hash`` at ``t``."""

    tree_size: int
    root_hash: bytes
    t: float
    final: bool
    log_id: bytes
    signature: bytes

    def message(self) -> bytes:
        """The canonical bytes the signature covers."""
        return sth_message(self.log_id, self.tree_size, self.root_hash, self.t, self.final)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (hex strings) for keeping a head outside the ledger, e.g. in a report."""
        return {"tree_size": self.tree_size, "root_hash": self.root_hash.hex(), "t": self.t, "final": self.final,
                "log_id": self.log_id.hex(), "signature": self.signature.hex()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SignedTreeHead:
        """Inverse of ``to_dict``."""
        try:
            return cls(int(d["tree_size"]), bytes.fromhex(d["root_hash"]), float(d["t"]), bool(d["final"]),
                       bytes.fromhex(d["log_id"]), bytes.fromhex(d["signature"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise EncodingError(f"signed tree head: bad field in {d!r}: {exc!r}") from exc


def sth_message(log_id: bytes, tree_size: int, root_hash: bytes, t: float, final: bool) -> bytes:
    """The 81-byte message an STH signature covers (layout in the module docstring)."""
    if len(log_id) != 16 or len(root_hash) != 32 or not math.isfinite(t) or not 0 <= tree_size < 1 << 64:
        raise EncodingError(f"tree head fields out of range: log_id {log_id.hex()}, tree_size {tree_size}, "
                            f"root_hash {root_hash.hex()}, t {t!r}")
    return _MESSAGE.pack(STH_CONTEXT, log_id, tree_size, root_hash, t, int(final))


def encode_head_body(sth: SignedTreeHead) -> bytes:
    """Body of the H record of a head in the ledger file."""
    return _HEAD_BODY.pack(sth.t, int(sth.final), sth.root_hash, sth.signature)


def decode_head_body(tree_size: int, body: bytes, log_id: bytes) -> SignedTreeHead:
    """Head from an H record's seq and body; raises EncodingError when the body is not canonical."""
    if len(body) != HEAD_BODY_SIZE:
        raise EncodingError(f"tree head at size {tree_size}: body is {len(body)} bytes, expected {HEAD_BODY_SIZE}")
    t, final, root, signature = _HEAD_BODY.unpack(body)
    if final not in (0, 1) or not math.isfinite(t):
        raise EncodingError(f"tree head at size {tree_size}: final flag {final}, t {t!r}")
    return SignedTreeHead(tree_size, root, t, bool(final), log_id, signature)


def load_public_key(data: bytes) -> Ed25519PublicKey:
    """Ed25519 public key from PEM (SubjectPublicKeyInfo) or its 32 raw bytes."""
    try:
        if len(data) == 32:
            return Ed25519PublicKey.from_public_bytes(data)
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise SigningError(f"public key is neither PEM nor 32 raw bytes ({len(data)} bytes): {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise SigningError(f"public key is a {type(key).__name__}, not Ed25519")
    return key


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of an Ed25519 public key."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_pem(key: Ed25519PublicKey) -> bytes:
    """PEM (SubjectPublicKeyInfo) of an Ed25519 public key."""
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_id(public_key: bytes) -> str:
    """Short id of a raw public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def verify_sth(public_key: bytes | Ed25519PublicKey, sth: SignedTreeHead) -> None:
    """Check an STH's signature; raises SigningError naming the head if it does not verify."""
    key = public_key if isinstance(public_key, Ed25519PublicKey) else load_public_key(public_key)
    try:
        key.verify(sth.signature, sth.message())
    except InvalidSignature as exc:
        raise SigningError(f"tree head at size {sth.tree_size} (t {sth.t!r}): signature does not verify under "
                           f"key id {key_id(raw_public_key(key))}") from exc


def document_message(context: bytes, data: bytes) -> bytes:
    """What a document signature covers: a context string that names the kind of document, then its SHA-256."""
    if not context or b"\0" in context:
        raise SigningError(f"a document's signing context must be non-empty text without NUL (got {context!r})")
    return context + b"\0" + hashlib.sha256(data).digest()


def verify_document(public_key: bytes | Ed25519PublicKey, context: bytes, data: bytes, signature: bytes) -> None:
    """Check a :meth:`SiteKey.sign_document` signature; SigningError when it does not verify."""
    key = public_key if isinstance(public_key, Ed25519PublicKey) else load_public_key(public_key)
    try:
        key.verify(signature, document_message(context, data))
    except InvalidSignature as exc:
        raise SigningError(f"the {context.decode(errors='replace')} signature does not verify under key id "
                           f"{key_id(raw_public_key(key))}") from exc


def default_key_path() -> Path:
    """Where the site's signing key lives unless a command is told otherwise: ``$SKYWARDEN_KEY``, else
    ``~/.skywarden/site-key.pem``."""
    return Path(os.environ.get("SKYWARDEN_KEY", Path.home() / ".skywarden" / "site-key.pem"))


def _write_new_private(path: Path, pem: bytes) -> None:
    """Write ``pem`` to a new file at ``path`` readable by the owner only, atomically (never overwrites)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails if another process created the key meanwhile: theirs wins
    finally:
        tmp.unlink()
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class SiteKey:
    """The site's Ed25519 private key: signs tree heads."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private = private_key
        self.public_key = private_key.public_key()
        self.public_key_raw = raw_public_key(self.public_key)
        self.key_id = key_id(self.public_key_raw)

    @classmethod
    def generate(cls) -> SiteKey:
        """A fresh random key, not stored anywhere."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, path: Path) -> SiteKey:
        """Key from the PKCS#8 PEM file at ``path``, generated (mode 0600, in a folder made 0700 if missing) if
        the file does not exist.

        Refuses a key file that the group or others may read, since anyone who reads it can forge heads.
        """
        path = Path(path)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            key = cls.generate()
            pem = key._private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption())
            try:
                _write_new_private(path, pem)
                return key
            except FileExistsError:
                pass
        return cls.load(path)

    @classmethod
    def load(cls, path: Path) -> SiteKey:
        """Key from the PKCS#8 PEM file at ``path``; SigningError when it is missing, unreadable, not Ed25519,
        or readable by the group or others (anyone who reads it can forge heads)."""
        path = Path(path)
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError as exc:
            raise SigningError(f"no site key at {path}: {exc.strerror}") from None
        if mode & 0o077:
            raise SigningError(f"site key {path} has mode {mode:#o}: group/others may access it; chmod 600 it")
        try:
            private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except OSError as exc:
            raise SigningError(f"site key {path} cannot be read: {exc.strerror}") from None
        except (ValueError, TypeError) as exc:
            raise SigningError(f"site key {path} is not an unencrypted PKCS#8 PEM private key: {exc}") from exc
        if not isinstance(private, Ed25519PrivateKey):
            raise SigningError(f"site key {path} holds a {type(private).__name__}, not an Ed25519 key")
        return cls(private)

    def public_key_pem(self) -> bytes:
        """PEM of the public key, for verifiers."""
        return public_key_pem(self.public_key)

    def export_public(self, path: Path) -> None:
        """Write the public key PEM to ``path``."""
        Path(path).write_bytes(self.public_key_pem())

    def sign_document(self, context: bytes, data: bytes) -> bytes:
        """An Ed25519 signature over ``context`` ‖ SHA-256(``data``): the context keeps a document's signature
        from ever passing as a tree head's, or another kind of document's."""
        return self._private.sign(document_message(context, data))

    def sign_head(self, log_id: bytes, tree_size: int, root_hash: bytes, t: float,
                  final: bool = False) -> SignedTreeHead:
        """A signed tree head over the canonical message."""
        signature = self._private.sign(sth_message(log_id, tree_size, root_hash, t, final))
        return SignedTreeHead(tree_size, root_hash, t, final, log_id, signature)
