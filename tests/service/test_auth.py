"""Token auth: hashed tokens that expire and can be revoked, initial tokens per role, 401 for missing, unknown,
expired or revoked tokens, 403 by role."""

from __future__ import annotations

import dataclasses
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from skywarden.service.auth import (
    DEFAULT_LIFETIME_S,
    INITIAL_LIFETIME_S,
    ROLES,
    Auth,
    AuthError,
    Principal,
    hash_token,
    new_token,
    parse_lifetime,
)
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


def test_initial_tokens_are_made_once_one_per_role_for_a_day(store: Store) -> None:
    auth = Auth(store)
    before = time.time()
    initial = auth.ensure_initial_tokens()
    assert list(initial) == list(ROLES)
    assert [auth.identify(initial[role]) for role in ROLES] == [Principal(f"initial-{r}", r) for r in ROLES]
    assert auth.ensure_initial_tokens() == {} and len(store.tokens()) == 3
    for record in store.tokens():
        assert record.expires_t is not None
        assert before + INITIAL_LIFETIME_S <= record.expires_t <= time.time() + INITIAL_LIFETIME_S


def test_a_store_whose_tokens_all_expired_or_were_revoked_gets_new_initial_tokens(store: Store) -> None:
    auth = Auth(store)
    now = time.time()
    store.add_token(hash_token("old"), "commander", "initial-commander", now - 2 * 86_400, expires_t=now - 86_400)
    store.add_token(hash_token("gone"), "operator", "alice", now - 10, expires_t=None)
    auth.revoke("alice")
    fresh = auth.ensure_initial_tokens()  # nobody could sign in: a new set, so `make run` is never locked out
    assert list(fresh) == list(ROLES) and auth.identify(fresh["commander"]).name == "initial-commander"
    assert auth.ensure_initial_tokens() == {}
    for role in ROLES:
        auth.revoke(f"initial-{role}")
    auth.create_token("viewer", "wall", lifetime_s=None)
    assert auth.ensure_initial_tokens() == {}  # one live token, of any role, is enough


def test_tokens_expire_after_their_lifetime_and_revoked_ones_are_refused(store: Store) -> None:
    auth = Auth(store)
    default = auth.create_token("viewer", "v")
    [record] = store.tokens()
    assert record.expires_t == pytest.approx(record.created_t + DEFAULT_LIFETIME_S)
    forever = auth.create_token("viewer", "forever", lifetime_s=None)
    assert store.token(hash_token(forever)).expires_t is None  # type: ignore[union-attr]
    brief = auth.create_token("operator", "brief", lifetime_s=0.05)
    assert auth.identify(brief).name == "brief"
    time.sleep(0.1)
    with pytest.raises(AuthError) as expired:
        auth.identify(brief)
    assert (expired.value.status, expired.value.detail) == (401, "token expired")
    assert auth.revoke("forever").name == "forever"
    with pytest.raises(AuthError) as revoked:
        auth.identify(forever)
    assert (revoked.value.status, revoked.value.detail) == (401, "token revoked")
    assert auth.identify(default).name == "v"


def test_a_token_is_revoked_by_its_name_or_hash_prefix_and_only_when_that_is_one_live_token(store: Store) -> None:
    auth = Auth(store)
    alice = auth.create_token("operator", "alice")
    twins = [auth.create_token("viewer", "screen") for _ in range(2)]
    assert auth.revoke(hash_token(twins[0])[:8]).name == "screen"  # a hash prefix picks one of two namesakes
    assert auth.revoke("screen").token_hash == hash_token(twins[1])  # now the name is unique among live ones
    with pytest.raises(AuthError, match="'screen': its token is already revoked") as again:
        auth.revoke("screen")
    assert again.value.status == 409
    auth.create_token("commander", "carl")
    auth.create_token("commander", "carl")
    with pytest.raises(AuthError, match=r"'carl' matches 2 live tokens: carl \([0-9a-f]{12}\), carl") as ambiguous:
        auth.revoke("carl")
    assert ambiguous.value.status == 409
    for unknown in ("nobody", hash_token(alice)[:5], "zzzzzzzz"):  # 5 hex digits are too few to be a prefix
        with pytest.raises(AuthError, match=f"no token is named '{unknown}' or has a hash starting with it") as none:
            auth.revoke(unknown)
        assert none.value.status == 404
    assert auth.identify(alice).name == "alice"


def test_lifetimes_are_days_hours_minutes_or_never() -> None:
    assert [parse_lifetime(t) for t in ("30d", "12h", "90m", "never", " 1D ", "NEVER")] == [
        30 * 86_400, 12 * 3_600, 90 * 60, None, 86_400, None]
    for bad in ("", "30", "0d", "-1d", "1.5h", "3w", "1000000d", "forever"):
        with pytest.raises(AuthError, match=f"expires: expected .* got {bad!r}") as refused:
            parse_lifetime(bad)
        assert refused.value.status == 400


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
    assert bad.value.status == 400 and store.tokens() == []
    store.add_token(hash_token("old"), "admin", "legacy", 0.0)
    with pytest.raises(AuthError) as legacy:
        auth.identify("old")
    assert legacy.value.status == 401
