"""Shared ledger fixtures: one site key per session and a builder of small mixed ledgers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from skywarden.evidence import Ledger, SiteKey

T0 = 1_700_000_000.0


@pytest.fixture(scope="session")
def site_key() -> SiteKey:
    return SiteKey.generate()


def _fill(ledger: Ledger, n: int, commit_every: int = 8, dt: float = 0.02) -> None:
    """Append ``n`` entries of all four kinds (content a function of the index), committing in batches."""
    for _ in range(n):
        i = ledger.size
        t = T0 + i * dt
        match i % 7:
            case 3:
                ledger.append_event(t, {"kind": "TrackConfirmed", "t": t, "track_id": f"T{i}", "n": i})
            case 5:
                ledger.append_action(t, "alice", {"role": "operator", "what": "acknowledge", "i": i})
            case 6:
                ledger.append_config(t, "site.toml", f"[site]\nrevision = {i}\n".encode())
            case _:
                ledger.append_raw(t, f"radar-{i % 2}", bytes([i % 251]) * (40 + i % 60))
        if ledger.size % commit_every == 0:
            ledger.commit()


@pytest.fixture
def fill() -> Callable[..., None]:
    """``fill(ledger, n, commit_every=8, dt=0.02)``: append n deterministic mixed entries."""
    return _fill


@pytest.fixture
def make_ledger(tmp_path: Path, site_key: SiteKey) -> Callable[..., Path]:
    """Build and close a ledger of ``n`` entries (a head every 0.5 s of data = 25 entries); its path."""

    def make(n: int = 240, name: str = "site.ledger", sign_every_s: float = 0.5) -> Path:
        path = tmp_path / name
        with Ledger.create(path, site_key, sign_every_s=sign_every_s) as ledger:
            _fill(ledger, n)
        return path

    return make
