"""Bearer-token auth: tokens map to a role (viewer ⊂ operator ⊂ commander); only their SHA-256 is stored.

Tokens are 256-bit random strings, so a plain SHA-256 (no salt, no slow hash) is enough to make a
stolen store useless, and looking a token up by its hash leaks nothing through timing. A token expires
(``token create`` default: 30 days) and can be revoked; either way it is refused from then on.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from hashlib import sha256
from typing import Final

from skywarden.store.sqlite import Store, TokenRecord

ROLES: Final = ("viewer", "operator", "commander")  # each role may do all that the ones before it may
_RANK: Final = {role: rank for rank, role in enumerate(ROLES)}
_UNITS: Final = {"d": 86_400.0, "h": 3_600.0, "m": 60.0}
DEFAULT_LIFETIME_S: Final = 30 * _UNITS["d"]  # a token made without a lifetime (`token create`: --expires 30d)
INITIAL_LIFETIME_S: Final = _UNITS["d"]  # serve's printed initial tokens: a day, to get started
MIN_HASH_PREFIX: Final = 6  # hex digits a revocation by hash prefix must give


class AuthError(Exception):
    """A request is not authenticated (401) or not allowed (403), or a token command cannot be done (400,
    404, 409); ``detail`` says why, for the client."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _rank(role: str, status: int) -> int:
    """The rank of ``role`` in ``ROLES``, or an AuthError with ``status`` listing the valid roles."""
    if role not in _RANK:
        raise AuthError(status, f"role {role!r} is not one of {', '.join(ROLES)}")
    return _RANK[role]


@dataclass(frozen=True)
class Principal:
    """Who made a request: the token's name and role."""

    name: str
    role: str

    def allows(self, role: str) -> bool:
        """Whether this principal's role includes ``role`` (a commander may all an operator may, …)."""
        return _rank(self.role, 403) >= _rank(role, 500)


def new_token() -> str:
    """A new random API token (256 bits, URL-safe text)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The SHA-256 hex digest of a token: what the store keeps instead of the token."""
    return sha256(token.encode("utf-8")).hexdigest()


def parse_lifetime(text: str) -> float | None:
    """A token lifetime as written on the command line: ``30d``, ``12h``, ``90m`` -> seconds, ``never`` -> None;
    AuthError 400 naming the value otherwise."""
    if text.strip().lower() == "never":
        return None
    found = re.fullmatch(r"\s*([1-9][0-9]{0,5})\s*([dhm])\s*", text.lower())
    if found is None:
        raise AuthError(400, f"expires: expected a number of days, hours or minutes (30d, 12h, 90m) or never, "
                             f"got {text!r}")
    return int(found[1]) * _UNITS[found[2]]


class Auth:
    """Creates, checks and revokes API tokens against the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create_token(self, role: str, name: str = "", lifetime_s: float | None = DEFAULT_LIFETIME_S) -> str:
        """A new token for ``role`` that expires after ``lifetime_s`` (None: never), stored as its hash under
        ``name`` (default ``<role>-<hash prefix>``)."""
        _rank(role, 400)
        token = new_token()
        token_hash = hash_token(token)
        now = time.time()
        self.store.add_token(token_hash, role, name or f"{role}-{token_hash[:8]}", now,
                             None if lifetime_s is None else now + lifetime_s)
        return token

    def ensure_initial_tokens(self) -> dict[str, str]:
        """When no stored token is accepted any more (a new store, or every one expired or was revoked): one
        token per role named ``initial-<role>``, good for a day, by role; else {}.

        Whoever can start the service on a store can make tokens with ``skywarden token create`` anyway, so
        this gives no one more, and a local ``make run`` is never locked out.
        """
        if self.store.live_token_count(time.time()):
            return {}
        return {role: self.create_token(role, f"initial-{role}", INITIAL_LIFETIME_S) for role in ROLES}

    def identify(self, token: str | None) -> Principal:
        """The principal a bearer token stands for; AuthError 401 if it is missing, unknown, revoked or expired."""
        if not token:
            raise AuthError(401, "missing token: send Authorization: Bearer <token>")
        found = self.store.token(hash_token(token))
        if found is None:
            raise AuthError(401, "unknown token")
        if found.revoked_t is not None:
            raise AuthError(401, "token revoked")
        if not found.live_at(time.time()):
            raise AuthError(401, "token expired")
        _rank(found.role, 401)
        return Principal(name=found.name, role=found.role)

    def require(self, principal: Principal, role: str, action: str) -> None:
        """Let ``principal`` do ``action`` only if its role includes ``role``; else AuthError 403."""
        if not principal.allows(role):
            raise AuthError(403, f"role {principal.role} may not {action}; needs {role}")

    def revoke(self, name_or_prefix: str) -> TokenRecord:
        """Revoke the one live token named ``name_or_prefix`` or whose hash starts with it (at least
        ``MIN_HASH_PREFIX`` hex digits); the token as it was. AuthError 404 when none matches, 409 when the
        match is ambiguous or already revoked or expired."""
        key = name_or_prefix.strip()
        prefix = key.lower() if len(key) >= MIN_HASH_PREFIX and re.fullmatch(r"[0-9a-fA-F]+", key) else None
        now = time.time()
        matches = [r for r in self.store.tokens()
                   if r.name == key or (prefix is not None and r.token_hash.startswith(prefix))]
        live = [r for r in matches if r.live_at(now)]
        if len(live) == 1:
            self.store.revoke_token(live[0].token_hash, now)
            return live[0]
        if len(live) > 1:
            listed = ", ".join(f"{r.name} ({r.token_hash[:12]})" for r in live)
            raise AuthError(409, f"{key!r} matches {len(live)} live tokens: {listed}; give a longer hash prefix")
        if matches:
            state = "revoked" if all(r.revoked_t is not None for r in matches) else "revoked or expired"
            raise AuthError(409, f"{key!r}: its token is already {state}")
        raise AuthError(404, f"no token is named {key!r} or has a hash starting with it (see skywarden token list)")
