"""Tokens at the door: the stream takes its token in the Authorization header or its first message, never in the
URL; expired, revoked and forged tokens are refused by the API and the stream, and an open stream is closed
once its token is revoked."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from live_app import Live, live_service
from starlette.websockets import WebSocketDisconnect

from skywarden.service import app as service_app
from skywarden.service.auth import hash_token, new_token


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with live_service(tmp_path_factory.mktemp("stream")) as running:
        yield running


def refusal(live: Live, url: str = "/api/stream", headers: dict[str, str] | None = None,
            first: object = None) -> tuple[int, str]:
    """The close code and reason of a stream connection that is refused (sending ``first``, if given)."""
    with pytest.raises(WebSocketDisconnect) as closed, \
            live.client.websocket_connect(url, headers=headers or {}) as ws:
        if isinstance(first, str):
            ws.send_text(first)
        elif first is not None:
            ws.send_json(first)
        ws.receive_json()
    return closed.value.code, closed.value.reason


def test_the_stream_takes_the_token_in_the_header_or_the_first_message(live: Live) -> None:
    with live.client.websocket_connect("/api/stream", headers=live.headers("viewer")) as ws:
        assert ws.receive_json()["type"] == "snapshot"
    with live.client.websocket_connect("/api/stream") as ws:
        ws.send_json({"type": "auth", "token": live.tokens["viewer"]})
        assert ws.receive_json()["type"] == "snapshot"


def test_a_token_in_the_url_is_refused_even_a_good_one(live: Live) -> None:
    code, reason = refusal(live, f"/api/stream?token={live.tokens['commander']}")
    assert code == 4401 and "token in the URL is refused" in reason
    assert refusal(live, f"/api/stream?token={live.tokens['viewer']}", live.headers("viewer"))[0] == 4401


def test_a_stream_without_a_token_is_closed_after_the_wait_or_a_wrong_first_message(
        live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service_app, "WS_AUTH_TIMEOUT_S", 0.3)
    t0 = time.monotonic()
    code, reason = refusal(live)
    assert code == 4401 and reason.startswith("no token within 0.3 s") and time.monotonic() - t0 < 5
    for first in ("not json", {"type": "hello"}, {"type": "auth", "token": 7}, ["auth"]):
        assert refusal(live, first=first) == (4401, 'the first message must be {"type": "auth", "token": "<token>"}')
    assert refusal(live, first={"type": "auth", "token": ""}) == (4401, "missing token: send Authorization: "
                                                                         "Bearer <token>")


def test_forged_expired_and_revoked_tokens_are_refused_by_the_api_and_the_stream(live: Live) -> None:
    now = time.time()
    expired = new_token()
    live.store.add_token(hash_token(expired), "commander", "old", now - 100, expires_t=now - 1)
    revoked = live.auth.create_token("commander", "leaver")
    live.auth.revoke("leaver")
    stolen_hash = hash_token(live.tokens["commander"])  # what a copy of the store gives: not a token
    cases = {new_token(): "unknown token", stolen_hash: "unknown token", expired: "token expired",
             revoked: "token revoked"}
    for token, why in cases.items():
        r = live.client.get("/api/whoami", headers={"Authorization": f"Bearer {token}"})
        assert (r.status_code, r.json()["detail"], r.headers["www-authenticate"]) == (401, why, "Bearer")
        r = live.client.put("/api/safety", json={}, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401
        assert refusal(live, headers={"Authorization": f"Bearer {token}"}) == (4401, why)
        assert refusal(live, first={"type": "auth", "token": token}) == (4401, why)
    assert live.store.actions() == []  # none of them did anything


def test_an_open_stream_is_closed_once_its_token_is_revoked(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service_app, "WS_RECHECK_S", 0.2)
    token = live.auth.create_token("viewer", "wall-screen")
    with pytest.raises(WebSocketDisconnect) as closed, \
            live.client.websocket_connect("/api/stream", headers={"Authorization": f"Bearer {token}"}) as ws:
        assert ws.receive_json()["type"] == "snapshot"
        live.auth.revoke("wall-screen")
        for _ in range(100):
            ws.receive_json()
    assert (closed.value.code, closed.value.reason) == (4401, "token revoked")



def test_a_first_message_nested_deep_or_huge_is_refused_not_a_crash(live: Live) -> None:
    expected = (4401, 'the first message must be {"type": "auth", "token": "<token>"}')
    assert refusal(live, first="[" * 200_000 + "]" * 200_000) == expected
    assert refusal(live, first='{"type": "auth", "token": "' + "x" * 1_000_000 + '"}')[0] == 4401
    assert refusal(live, first='{"type": "auth", "token": 1' + "0" * 5000 + "}") == expected
