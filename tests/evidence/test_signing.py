"""Site key files (0600, refused when others may read them) and signed tree heads."""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from skywarden.evidence.encoding import EncodingError
from skywarden.evidence.signing import (
    SignedTreeHead,
    SigningError,
    SiteKey,
    key_id,
    load_public_key,
    sth_message,
    verify_sth,
)

LOG_ID = bytes(range(16))
ROOT = bytes(range(32))


def test_key_is_created_owner_only_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "site_key.pem"
    key = SiteKey.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in path.read_bytes()
    again = SiteKey.load_or_create(path)
    assert again.public_key_raw == key.public_key_raw and again.key_id == key.key_id
    assert len(key.key_id) == 16 and key.key_id == key_id(key.public_key_raw)
    assert [p.name for p in tmp_path.iterdir()] == ["site_key.pem"]  # no temporary file left behind


def test_key_created_under_a_permissive_umask_is_still_0600(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        SiteKey.load_or_create(tmp_path / "k.pem")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "k.pem").stat().st_mode) == 0o600


def test_readable_or_foreign_key_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    SiteKey.load_or_create(path)
    path.chmod(0o644)
    with pytest.raises(SigningError, match="mode 0o644: group/others may access it; chmod 600"):
        SiteKey.load_or_create(path)
    path.chmod(0o600)
    path.write_bytes(b"not a key")
    with pytest.raises(SigningError, match="not an unencrypted PKCS#8 PEM"):
        SiteKey.load_or_create(path)


def test_public_key_export_and_formats(tmp_path: Path) -> None:
    key = SiteKey.generate()
    key.export_public(tmp_path / "k.pub.pem")
    pem = (tmp_path / "k.pub.pem").read_bytes()
    assert pem == key.public_key_pem() and pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    assert load_public_key(pem) == load_public_key(key.public_key_raw)
    with pytest.raises(SigningError, match="neither PEM nor 32 raw bytes"):
        load_public_key(b"junk")


def test_signed_head_verifies_and_every_field_is_covered() -> None:
    key = SiteKey.generate()
    head = key.sign_head(LOG_ID, 42, ROOT, 1.7e9 + 0.25, final=False)
    verify_sth(key.public_key_raw, head)
    verify_sth(key.public_key_pem(), head)
    assert len(head.message()) == 81 and head.message().startswith(b"skywarden-sth-v1" + LOG_ID)
    for changed in (replace(head, tree_size=43), replace(head, root_hash=bytes(32)), replace(head, t=1.7e9),
                    replace(head, final=True), replace(head, log_id=bytes(16))):
        with pytest.raises(SigningError, match="signature does not verify"):
            verify_sth(key.public_key_raw, changed)
    with pytest.raises(SigningError, match="does not verify"):
        verify_sth(SiteKey.generate().public_key_raw, head)
    assert SignedTreeHead.from_dict(head.to_dict()) == head


def test_head_fields_out_of_range_are_named() -> None:
    with pytest.raises(EncodingError, match="tree_size -1"):
        sth_message(LOG_ID, -1, ROOT, 0.0, False)
    with pytest.raises(EncodingError, match="t nan"):
        sth_message(LOG_ID, 1, ROOT, float("nan"), False)


def test_document_signatures_are_bound_to_their_kind_and_bytes(tmp_path: Path) -> None:
    from skywarden.evidence.signing import document_message, verify_document

    key = SiteKey.generate()
    sig = key.sign_document(b"skywarden-incident-manifest-v2", b'{"a": 1}')
    verify_document(key.public_key_pem(), b"skywarden-incident-manifest-v2", b'{"a": 1}', sig)
    for context, data, signature in [(b"skywarden-other-v1", b'{"a": 1}', sig), (b"skywarden-incident-manifest-v2", b'{"a": 2}', sig),
                                     (b"skywarden-incident-manifest-v2", b'{"a": 1}', sig[:-1] + bytes([sig[-1] ^ 1])),
                                     (b"skywarden-incident-manifest-v2", b'{"a": 1}', b"")]:
        with pytest.raises(SigningError, match="signature does not verify"):
            verify_document(key.public_key_raw, context, data, signature)
    with pytest.raises(SigningError, match="context"):
        document_message(b"a\0b", b"")
    assert len(document_message(b"x", b"")) == 34  # never 81 bytes starting with the tree heads' context


def test_loading_a_key_never_creates_one(tmp_path: Path) -> None:
    with pytest.raises(SigningError, match="no site key at"):
        SiteKey.load(tmp_path / "missing.pem")
    assert not (tmp_path / "missing.pem").exists()
    made = SiteKey.load_or_create(tmp_path / "k.pem")
    assert SiteKey.load(tmp_path / "k.pem").key_id == made.key_id
