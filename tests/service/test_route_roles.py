"""The route table of docs/api.md cannot drift from the app: it lists exactly the app's routes, and every route
answers 401 without a token, 403 below its least role and neither at or above it (a real engine, store and
ledger behind the app)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import APIRoute, APIWebSocketRoute
from live_app import Live, live_service
from starlette.routing import BaseRoute, Mount
from starlette.websockets import WebSocketDisconnect

from skywarden.service.auth import ROLES

API_MD = Path(__file__).resolve().parents[2] / "docs" / "api.md"
ROW = re.compile(r"^\|\s*`(GET|PUT|POST|DELETE|PATCH|WS) (/[^`\s]*)`\s*\|\s*(none|viewer|operator|commander)\s*\|")
FRAMEWORK = {"/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc"}  # FastAPI's own pages
CALLERS = (None, *ROLES)


def documented() -> dict[tuple[str, str], str]:
    """(method, path) -> least role, from the endpoint table of docs/api.md (a route listed twice fails)."""
    table: dict[tuple[str, str], str] = {}
    for line in API_MD.read_text(encoding="utf-8").splitlines():
        if found := ROW.match(line):
            key = (found[1], found[2])
            assert key not in table, f"docs/api.md lists {key} twice"
            table[key] = found[3]
    return table


def served(routes: list[BaseRoute]) -> set[tuple[str, str]]:
    """(method, path) of every route of the app, but FastAPI's docs pages and the console's static mount."""
    found = set()
    for route in routes:
        if isinstance(route, APIRoute):
            found |= {(method, route.path) for method in route.methods or () if method != "HEAD"}
        elif isinstance(route, APIWebSocketRoute):
            found.add(("WS", route.path))
        else:
            assert isinstance(route, Mount) or getattr(route, "path", None) in FRAMEWORK, f"unexpected route {route}"
    return found


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with live_service(tmp_path_factory.mktemp("roles")) as running:
        yield running


def status(live: Live, method: str, path: str, who: str | None) -> int:
    """The status ``who`` gets calling the route; for the stream, 4000 + the close code's status or 200 once the
    snapshot came. Path parameters are "1"; bodies are ``{}`` (a role check comes before the body's)."""
    url = re.sub(r"\{[^}]+\}", "1", path)
    if method == "WS":
        try:
            with live.client.websocket_connect(url, headers=live.headers(who)) as ws:
                if who is None:
                    ws.send_json({"type": "auth"})  # no token: refused at once, not after the wait for one
                return 200 if ws.receive_json()["type"] == "snapshot" else 0
        except WebSocketDisconnect as closed:
            return closed.code - 4000
    body: dict[str, object] | None = {} if method in ("PUT", "POST") else None
    return live.client.request(method, url, json=body, headers=live.headers(who)).status_code


def test_the_route_table_lists_exactly_the_apps_routes(live: Live) -> None:
    table = documented()
    assert table, "no route table found in docs/api.md"
    routes = served(live.client.app.routes)  # type: ignore[attr-defined]
    assert sorted(routes - set(table)) == [], "routes missing from docs/api.md"
    assert sorted(set(table) - routes) == [], "docs/api.md lists routes the app does not have"


@pytest.mark.parametrize(("method", "path", "least"), sorted((m, p, r) for (m, p), r in documented().items()))
def test_every_route_refuses_below_its_role_and_lets_its_role_and_above_in(live: Live, method: str, path: str,
                                                                            least: str) -> None:
    got = {who: status(live, method, path, who) for who in CALLERS}
    rank = {who: k for k, who in enumerate(CALLERS)}
    for who, code in got.items():
        if least == "none" or rank[who] >= rank[least]:
            assert code not in (401, 403), f"{method} {path}: {who} got {code} ({got})"
        elif who is None:
            assert code == 401, f"{method} {path}: no token got {code} ({got})"
        else:
            assert code == 403, f"{method} {path}: {who} got {code}, below {least} ({got})"


def test_a_rule_change_needs_only_an_operator_to_propose_under_the_two_person_rule(tmp_path: Path) -> None:
    with live_service(tmp_path, two_person_rule=True) as live:
        for method, path in (("PUT", "/api/zones/{item_id}"), ("PUT", "/api/safety")):
            got = {who: status(live, method, path, who) for who in CALLERS}
            assert got[None] == 401 and got["viewer"] == 403, got
            assert got["operator"] not in (401, 403) and got["commander"] not in (401, 403), got
