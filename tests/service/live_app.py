"""The live service in this process: a real engine process (pipeline, ledger, store writes) behind the real
FastAPI app, driven with FastAPI's TestClient; a token per role. Nothing is mocked."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient

from skywarden.config import Access
from skywarden.evidence import Ledger
from skywarden.evidence.encoding import Entry
from skywarden.service.app import create_app
from skywarden.service.auth import ROLES, Auth
from skywarden.service.engine import EngineConfig, EngineLink
from skywarden.sim.scenario import load_scenario
from skywarden.store.sqlite import Store

SCENARIO = "crossing-drones"


@dataclass
class Live:
    """A running app: its client, store, tokens by role (``operator2``/``commander2``: a second person of that
    role), and where its ledger is."""

    client: TestClient
    store: Store
    auth: Auth
    tokens: dict[str, str]
    ledger_path: Path

    def headers(self, who: str | None) -> dict[str, str]:
        """The Authorization header of ``who`` (a key of ``tokens``), or none."""
        return {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}

    def ledger_entries(self) -> list[Entry]:
        """Every committed entry of the run's ledger so far (read-only: the engine may be writing)."""
        with Ledger.open(self.ledger_path) as ledger:
            return list(ledger.entries())


@contextlib.contextmanager
def live_service(root: Path, two_person_rule: bool = False, speed: float = 1.0) -> Iterator[Live]:
    """Serve ``SCENARIO`` (its site with the given access rule) from folder ``root`` until the block ends; the
    engine has then closed the ledger."""
    scenario = load_scenario(SCENARIO)
    site = scenario.site.model_copy(update={"access": Access(two_person_rule=two_person_rule)})
    store = Store.open(root / "data" / "skywarden.db")
    auth = Auth(store)
    tokens = {role: auth.create_token(role, f"test-{role}") for role in ROLES}
    tokens |= {f"{role}2": auth.create_token(role, f"test-{role}-2") for role in ("operator", "commander")}
    config = EngineConfig(scenario=scenario, site=site, seed=1, speed=speed, store_path=store.path,
                          ledger_path=root / "data" / "run.ledger", key_path=root / "key.pem", sign_every_s=1.0)
    link = EngineLink(config)
    try:
        with TestClient(create_app(link, store, auth)) as client:
            yield Live(client, store, auth, tokens, config.ledger_path)
    finally:
        link.close()
        store.close()
