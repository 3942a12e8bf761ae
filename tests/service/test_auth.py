"""Token auth: hashed tokens, initial tokens per role, 401 for missing or unknown tokens, 403 by role."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from skywarden.service.auth import ROLES, Auth, AuthError, Principal, hash_token, new_token
from skywarden.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "store.db") as store:
        yield store


def test_tokens_are_random_and_hashed_with_sha256() -> None:
    assert hash_token("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100 and all(len(t) == 43 for t in tokens)


def test_a_created_token_identifies_its_role_and_only_its_hash_is_stored(store: Store) -> None:
    auth = Auth(store)
    token = auth.create_token("operator", "alice")
    assert auth.identify(token) == Principal(name="alice", role="operator")
    unnamed = auth.create_token("viewer")
    assert auth.identify(unnamed) == Principal(name=f"viewer-{hash_token(unnamed)[:8]}", role="viewer")
    conn = sqlite3.connect(store.path)
    stored = conn.execute("SELECT * FROM tokens").fetchall()
    conn.close()
    assert len(stored) == 2 and not any(token in str(v) or unnamed in str(v) for row in stored for v in row)


def test_initial_tokens_are_made_once_one_per_role(store: Store) -> None:
    auth = Auth(store)
    initial = auth.ensure_initial_tokens()
    assert list(initial) == list(ROLES)
    assert [auth.identify(initial[role]) for role in ROLES] == [Principal(f"initial-{r}", r) for r in ROLES]
    assert auth.ensure_initial_tokens() == {} and store.token_count() == 3


def test_a_missing_or_unknown_token_is_401(store: Store) -> None:
    auth = Auth(store)
    for token in (None, ""):
        with pytest.raises(AuthError) as missing:
            auth.identify(token)
        assert (missing.value.status, missing.value.detail) == (
            401, "missing token: send Authorization: Bearer <token>")
    with pytest.raises(AuthError) as unknown:
        auth.identify(new_token())
    assert (unknown.value.status, unknown.value.detail) == (401, "unknown token")


def test_roles_are_ordered_and_a_lesser_role_is_403(store: Store) -> None:
    auth = Auth(store)
    viewer, operator, commander = (Principal("p", role) for role in ROLES)
    assert [[p.allows(role) for role in ROLES] for p in (viewer, operator, commander)] == [
        [True, False, False], [True, True, False], [True, True, True]]
    auth.require(commander, "operator", "acknowledge")
    with pytest.raises(AuthError) as denied:
        auth.require(viewer, "operator", "acknowledge")
    assert (denied.value.status, denied.value.detail) == (403, "role viewer may not acknowledge; needs operator")
    with pytest.raises(AuthError) as denied:
        auth.require(operator, "commander", "authorise mitigation")
    assert denied.value.detail == "role operator may not authorise mitigation; needs commander"
    with pytest.raises(dataclasses.FrozenInstanceError):
        operator.role = "commander"  # type: ignore[misc]


def test_an_unknown_role_is_refused_listing_the_valid_ones(store: Store) -> None:
    auth = Auth(store)
    with pytest.raises(AuthError, match="role 'admin' is not one of viewer, operator, commander") as bad:
        auth.create_token("admin")
    assert bad.value.status == 400 and store.token_count() == 0
    store.add_token(hash_token("old"), "admin", "legacy", 0.0)
    with pytest.raises(AuthError) as legacy:
        auth.identify("old")
    assert legacy.value.status == 401
