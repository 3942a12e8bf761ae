"""`skywarden token create|list|revoke` as a user types them: a token printed once and stored as its hash with
an expiry, a list that never shows a token, revocation by name or hash prefix with clear refusals."""

from __future__ import annotations

import re
import time
from pathlib import Path

from typer.testing import CliRunner, Result

from skywarden.cli import app
from skywarden.service.auth import hash_token
from skywarden.store.sqlite import Store


def token(*args: str) -> Result:
    return CliRunner().invoke(app, ["token", *args], env={"COLUMNS": "200", "NO_COLOR": "1"})


def test_create_prints_only_the_token_and_stores_its_hash_with_an_expiry(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    made = token("create", "--role", "operator", "--name", "alice", "--expires", "12h", "--data", data)
    assert made.exit_code == 0, made.output
    printed = made.stdout.strip()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", printed) and "operator token, expires 20" in made.stderr
    assert token("create", "--role", "viewer", "--expires", "never", "--data", data).exit_code == 0
    assert token("create", "--role", "commander", "--data", data).exit_code == 0  # the default: 30 days
    with Store.open(tmp_path / "data" / "skywarden.db") as store:
        alice = store.token(hash_token(printed))
        records = store.tokens()
    assert alice is not None and alice.expires_t is not None
    assert abs(alice.expires_t - (time.time() + 12 * 3600)) < 60
    assert [r.expires_t is None for r in records] == [False, True, False]
    assert abs(records[2].expires_t - records[2].created_t - 30 * 86_400) < 1  # type: ignore[operator]
    assert records[1].name.startswith("viewer-")  # unnamed: role and hash prefix, so that it can be revoked by name


def test_create_refuses_a_bad_lifetime_or_role_clearly(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    bad = token("create", "--role", "operator", "--expires", "3w", "--data", data)
    assert bad.exit_code == 2 and "expires: expected a number of days, hours or minutes" in bad.stderr
    bad = token("create", "--role", "admin", "--data", data)
    assert bad.exit_code == 2 and "role 'admin' is not one of viewer, operator, commander" in bad.stderr


def test_list_shows_every_token_but_never_the_token_itself(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    secret = token("create", "--role", "operator", "--name", "alice", "--data", data).stdout.strip()
    token("create", "--role", "viewer", "--name", "wall", "--expires", "never", "--data", data)
    with Store.open(tmp_path / "data" / "skywarden.db") as store:
        store.add_token(hash_token("x"), "commander", "old", time.time() - 100, expires_t=time.time() - 1)
    assert token("revoke", "wall", "--data", data).exit_code == 0
    listed = token("list", "--data", data)
    assert listed.exit_code == 0, listed.output
    rows = {line.split("│")[1].strip(): line for line in listed.stdout.splitlines() if line.count("│") > 5}
    assert set(rows) == {"alice", "wall", "old"}
    assert hash_token(secret)[:12] in rows["alice"] and "operator" in rows["alice"]
    assert "never" in rows["wall"] and re.search(r"20\d\d-\d\d-\d\d \d\d:\d\d\s*│\s*[0-9a-f]{12}", rows["wall"])
    assert "(expired)" in rows["old"]
    assert secret not in listed.stdout and hash_token(secret) not in listed.stdout  # a prefix only


def test_revoke_by_name_or_hash_prefix_refusing_none_and_ambiguous_matches(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    first = token("create", "--role", "viewer", "--name", "screen", "--data", data).stdout.strip()
    token("create", "--role", "viewer", "--name", "screen", "--data", data)
    ambiguous = token("revoke", "screen", "--data", data)
    assert ambiguous.exit_code == 2 and "'screen' matches 2 live tokens" in ambiguous.stderr
    done = token("revoke", hash_token(first)[:10], "--data", data)
    assert done.exit_code == 0 and f"revoked screen (viewer, hash {hash_token(first)[:12]})" in done.stdout
    assert token("revoke", "screen", "--data", data).exit_code == 0  # the other one, now the only live one
    none = token("revoke", "nobody", "--data", data)
    assert none.exit_code == 2 and "no token is named 'nobody'" in none.stderr
    missing = token("revoke", "screen", "--data", str(tmp_path / "elsewhere"))
    assert missing.exit_code == 2 and "no store at" in missing.stderr
    assert not (tmp_path / "elsewhere").exists()  # list and revoke never make an empty store
