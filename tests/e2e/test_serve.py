"""`skywarden serve` as a user runs it: a real server process on a loopback port, real HTTP and WebSocket clients."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from conftest import SKYWARDEN, Served


class Server(Served):
    """A served site with the test's HTTP helpers."""

    def get(self, path: str, role: str | None = None, **kw: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.get(self.url + path, headers=headers, timeout=10, **kw)  # type: ignore[arg-type]

    def post(self, path: str, role: str, body: dict[str, object]) -> httpx.Response:
        return httpx.post(self.url + path, json=body, headers={"Authorization": f"Bearer {self.tokens[role]}"}, timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("serve")
    srv = Server(root / "data", root / "key.pem")
    srv.root = root  # type: ignore[attr-defined]
    yield srv
    if srv.proc.poll() is None:
        srv.stop()


def wait_for(predicate, timeout: float = 60.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError("timed out")


def test_tokens_roles_and_clear_refusals(server: Server) -> None:
    assert set(server.tokens) == {"viewer", "operator", "commander"}
    assert server.get("/api/health").json()["status"] == "ok"
    r = server.get("/api/tracks")
    assert r.status_code == 401 and "token" in r.json()["detail"]
    assert httpx.get(server.url + "/api/tracks", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert server.get("/api/tracks", "viewer").status_code == 200
    r = server.post("/api/actions", "viewer", {"kind": "annotate", "track_id": "T0001", "note": "x"})
    assert r.status_code == 403 and "viewer" in r.json()["detail"] and "operator" in r.json()["detail"]
    assert "skywarden_scans" in httpx.get(server.url + "/metrics").text
    assert httpx.get(server.url + "/docs").status_code == 200


def test_both_drones_alert_and_the_mitigation_flow(server: Server) -> None:
    alerts = wait_for(lambda: [e for e in server.get("/api/events", "viewer").json() if e["kind"] == "ZoneViolation"])
    track = alerts[0]["track_id"]
    picture = server.get("/api/tracks", "viewer").json()
    threat = picture["tracks"].pop("threat")
    columns = {**picture["tracks"], **{f"threat.{k}": v for k, v in threat.items()}}
    n = len(columns["id"])
    assert n and {k: len(v) for k, v in columns.items()} == dict.fromkeys(columns, n)  # one entry per track each
    assert picture["classes"] == ["drone", "bird", "aircraft", "vehicle"] and "confirmed" in columns["status"]
    r = server.post("/api/actions", "operator", {"kind": "request_mitigation", "track_id": track, "effector": "jammer"})
    assert r.status_code == 201, r.text
    request = r.json()
    assert request["actor"] and request["role"] == "operator" and request["ledger_index"] is not None
    r = server.post("/api/actions", "operator", {"kind": "authorise_mitigation", "request_id": request["id"]})
    assert r.status_code == 403 and "commander" in r.json()["detail"]
    r = server.post("/api/actions", "commander", {"kind": "authorise_mitigation", "request_id": request["id"]})
    assert r.status_code == 201 and r.json()["track_id"] == track
    r = server.post("/api/actions", "commander", {"kind": "deny_mitigation", "request_id": request["id"]})
    assert r.status_code == 409 and "already decided" in r.json()["detail"]
    kinds = [a["kind"] for a in server.get("/api/actions", "viewer").json()]
    assert kinds[-2:] == ["request_mitigation", "authorise_mitigation"]
    wait_for(lambda: len({e["track_id"] for e in server.get("/api/events", "viewer").json()
                          if e["kind"] == "ZoneViolation"}) >= 2, timeout=90)
    assert server.get("/api/incidents", "viewer").json()


def test_two_commanders_deciding_one_request_at_once_one_is_refused(server: Server) -> None:
    track = server.get("/api/events", "viewer").json()[0]["track_id"]
    for _ in range(5):
        request = server.post("/api/actions", "operator", {"kind": "request_mitigation", "track_id": track}).json()

        async def decide(request_id: int = request["id"]) -> list[httpx.Response]:
            headers = {"Authorization": f"Bearer {server.tokens['commander']}"}
            async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=10) as client:
                return await asyncio.gather(*(client.post("/api/actions", json={"kind": kind, "request_id": request_id})
                                              for kind in ("authorise_mitigation", "deny_mitigation")))

        answers = asyncio.run(decide())
        assert sorted(r.status_code for r in answers) == [201, 409], [r.text for r in answers]
    r = server.post("/api/actions", "commander", {"kind": "authorise_mitigation", "request_id": 10**6})
    assert r.status_code == 404 and "no mitigation request" in r.json()["detail"]


def test_events_page_by_time_and_id_without_gaps(server: Server) -> None:
    every = server.get("/api/events", "viewer", params={"limit": 10_000}).json()
    paged: list[dict[str, object]] = []
    params: dict[str, object] = {"limit": 3}
    while page := server.get("/api/events", "viewer", params=params).json():
        paged += page
        params = {"limit": 3, "since": page[-1]["t"], "after_id": page[-1]["id"]}
        if len(paged) >= len(every):
            break
    assert [e["id"] for e in paged[: len(every)]] == [e["id"] for e in every]


def test_stream_sends_a_snapshot_then_the_picture(server: Server) -> None:
    uri = f"ws://127.0.0.1:{server.port}/api/stream"

    async def listen(**kw: Any) -> list[dict[str, object]]:
        async with websockets.connect(uri, **kw) as ws:
            if "additional_headers" not in kw:  # as the console does: the token is the first message
                await ws.send(json.dumps({"type": "auth", "token": server.tokens["viewer"]}))
            return [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(4)]

    for kw in ({"additional_headers": {"Authorization": f"Bearer {server.tokens['viewer']}"}}, {}):
        messages = asyncio.run(listen(**kw))
        assert messages[0]["type"] == "snapshot" and "picture" in messages[0]
        assert any(m["type"] == "picture" for m in messages[1:])

    async def refused(url: str, **kw: Any) -> None:
        async with websockets.connect(url, **kw) as ws:
            await ws.recv()

    for url, kw, reason in ((uri, {"additional_headers": {"Authorization": "Bearer bad"}}, "unknown token"),
                            (f"{uri}?token={server.tokens['viewer']}", {}, "token in the URL is refused")):
        with pytest.raises(websockets.ConnectionClosed) as closed:
            asyncio.run(refused(url, **kw))
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
        assert reason in closed.value.rcvd.reason


def test_site_edits_need_a_commander_and_are_validated_and_applied(server: Server) -> None:
    zones = server.get("/api/zones", "viewer").json()
    zone = dict(zones[0])

    def put(path: str, role: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.put(server.url + path, json=body, headers={"Authorization": f"Bearer {server.tokens[role]}"})

    refused = put(f"/api/zones/{zone['id']}", "operator", {**zone, "kind": "advisory"})
    assert refused.status_code == 403 and "needs commander" in refused.json()["detail"]
    bad = put(f"/api/zones/{zone['id']}", "commander", {**zone, "floor_m": 500, "ceiling_m": 100})
    assert bad.status_code == 422 and "floor" in bad.json()["detail"]
    zone["name"] = "renamed by the test"
    ok = put(f"/api/zones/{zone['id']}", "commander", zone)
    assert ok.status_code == 200, ok.text
    assert any(z["name"] == "renamed by the test" for z in server.get("/api/zones", "viewer").json())
    stricter = {"harmless_probability": 0.97, "min_observation_s": 20.0}  # re-run with the ledger at restart
    assert put("/api/safety", "commander", stricter).status_code == 200
    assert server.get("/api/safety", "viewer").json() == stricter


def test_the_data_folder_and_store_are_the_owners_alone(server: Server) -> None:
    data: Path = server.root / "data"  # type: ignore[attr-defined]
    assert [stat.S_IMODE(p.stat().st_mode) for p in (data, data / "ledgers")] == [0o700, 0o700]
    for name in ("skywarden.db", "skywarden.db-wal", "skywarden.db-shm"):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name
    assert any("these expire in 24 h" in line for line in server.lines)


def _children(pid: int) -> list[int]:
    """The processes ``pid`` started (Linux /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _engine_pid(serve_pid: int) -> int:
    """The engine process among serve's children (the multiprocessing child that is no resource tracker)."""
    engines = [c for c in _children(serve_pid)
               if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
    assert len(engines) == 1, engines
    return engines[0]


def test_a_dead_engine_is_reported_and_refuses_actions(tmp_path: Path) -> None:
    with Server(tmp_path / "data", tmp_path / "key.pem", speed="5") as srv:
        os.kill(_engine_pid(srv.proc.pid), signal.SIGKILL)
        health = wait_for(lambda: (h := srv.get("/api/health").json())["status"] != "ok" and h)
        assert health["status"] == "engine stopped"
        r = srv.post("/api/actions", "operator", {"kind": "annotate", "track_id": "T1", "note": "x"})
        assert r.status_code == 503 and "not recorded" in r.json()["detail"]
        srv.stop()


def test_an_engine_whose_web_side_is_killed_closes_its_ledger(tmp_path: Path) -> None:
    with Server(tmp_path / "data", tmp_path / "key.pem", speed="5") as srv:
        wait_for(lambda: srv.get("/api/health").json()["scans"] > 5)
        engine = _engine_pid(srv.proc.pid)
        srv.proc.kill()  # SIGKILL: no shutdown code runs in the web process
        srv.proc.wait(10)
        wait_for(lambda: not Path(f"/proc/{engine}").exists() or b"Z" in Path(f"/proc/{engine}/stat").read_bytes()[:200]
                 .split(b")")[-1][:3], timeout=30)
    ledger = next((tmp_path / "data" / "ledgers").glob("*.ledger"))
    verify = subprocess.run([*SKYWARDEN, "verify", str(ledger)], capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0 and "final" in verify.stdout.lower(), verify.stdout + verify.stderr


def test_restart_loses_nothing_acknowledged(server: Server) -> None:
    actions = server.get("/api/actions", "viewer").json()
    events = server.get("/api/events", "viewer", params={"limit": 10_000}).json()
    assert actions and events
    out = server.stop()
    assert "ledger closed" in out
    root: Path = server.root  # type: ignore[attr-defined]
    ledgers = sorted((root / "data" / "ledgers").glob("*.ledger"))
    verify = subprocess.run([*SKYWARDEN, "verify", str(ledgers[-1])], capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    rerun = subprocess.run([*SKYWARDEN, "replay", str(ledgers[-1]), "--out", str(root / "rerun")],
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0 and "bit for bit" in rerun.stdout, rerun.stdout + rerun.stderr  # edits included

    again = Server(root / "data", root / "key.pem", speed="1")
    try:
        assert again.tokens == {}  # tokens are created on the first start only
        again.tokens = server.tokens
        after = again.get("/api/actions", "viewer").json()
        assert [a["id"] for a in after[: len(actions)]] == [a["id"] for a in actions]
        stored = again.get("/api/events", "viewer", params={"limit": 10_000}).json()
        assert len(stored) >= len(events)
        assert any(z["name"] == "renamed by the test" for z in again.get("/api/zones", "viewer").json())
        assert again.get("/api/safety", "viewer").json()["harmless_probability"] == 0.97
    finally:
        again.stop()


def test_a_site_key_others_may_read_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("whatever")
    key.chmod(0o644)
    done = subprocess.run([*SKYWARDEN, "serve", "--data", str(tmp_path / "data"), "--key", str(key)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "has mode 0o644" in done.stderr and "chmod 600" in done.stderr and "Traceback" not in done.stderr
