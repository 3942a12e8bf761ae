"""Bearer-token auth: tokens map to a role (viewer ⊂ operator ⊂ commander); only their SHA-256 is stored.

Tokens are 256-bit random strings, so a plain SHA-256 (no salt, no slow hash) is enough to make a
stolen store useless, and looking a token up by its hash leaks nothing through timing.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from hashlib import sha256
from typing import Final

from skywarden.store.sqlite import Store

ROLES: Final = ("viewer", "operator", "commander")  # each role may do all that the ones before it may
_RANK: Final = {role: rank for rank, role in enumerate(ROLES)}


class AuthError(Exception):
    """A request is not authenticated (401) or not allowed (403); ``detail`` says why, for the client."""

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


class Auth:
    """Creates and checks API tokens against the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create_token(self, role: str, name: str = "") -> str:
        """A new token for ``role``, stored as its hash under ``name`` (default ``<role>-<hash prefix>``)."""
        _rank(role, 400)
        token = new_token()
        token_hash = hash_token(token)
        self.store.add_token(token_hash, role, name or f"{role}-{token_hash[:8]}", time.time())
        return token

    def ensure_initial_tokens(self) -> dict[str, str]:
        """On a store without tokens, one token per role named ``initial-<role>``, by role; else {}."""
        if self.store.token_count():
            return {}
        return {role: self.create_token(role, f"initial-{role}") for role in ROLES}

    def identify(self, token: str | None) -> Principal:
        """The principal a bearer token stands for; AuthError 401 if it is missing or unknown."""
        if not token:
            raise AuthError(401, "missing token: send Authorization: Bearer <token>")
        found = self.store.token_role(hash_token(token))
        if found is None:
            raise AuthError(401, "unknown token")
        role, name = found
        _rank(role, 401)
        return Principal(name=name, role=role)

    def require(self, principal: Principal, role: str, action: str) -> None:
        """Let ``principal`` do ``action`` only if its role includes ``role``; else AuthError 403."""
        if not principal.allows(role):
            raise AuthError(403, f"role {principal.role} may not {action}; needs {role}")
