"""The HTTP side of the live service (FastAPI): REST under ``/api``, the picture over a WebSocket, metrics,
and the operator console's static files. The contract is ``docs/api.md``, whose route table says the least
role of every route (``tests/service/test_route_roles.py`` holds the two together)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Final, Literal, TypeVar

from fastapi import Depends, FastAPI, HTTPException, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from pydantic import BaseModel, Field

from skywarden import __version__
from skywarden.config import SITE_ITEMS, ConfigError, Zone, parse_safety, parse_site_item
from skywarden.jsontext import parse_json
from skywarden.service.auth import Auth, AuthError, Principal
from skywarden.service.engine import EngineLink
from skywarden.service.live import ActionRefused
from skywarden.store.sqlite import Store

ACTION_ROLES = {"acknowledge": "operator", "annotate": "operator", "request_mitigation": "operator",
                "authorise_mitigation": "commander", "deny_mitigation": "commander"}
WS_AUTH_TIMEOUT_S: Final = 5.0  # a stream client without an Authorization header has this long to send its token
WS_RECHECK_S: Final = 10.0  # an open stream's token is checked again this often: revoked or expired, it is closed
AUTH_MESSAGE = '{"type": "auth", "token": "<token>"}'
T = TypeVar("T")


class ActionIn(BaseModel):
    """An operator action as posted to ``/api/actions``."""

    kind: Literal["acknowledge", "annotate", "request_mitigation", "authorise_mitigation", "deny_mitigation"]
    track_id: str | None = Field(None, max_length=64)
    incident_id: str | None = Field(None, max_length=64)
    note: str | None = Field(None, max_length=2000)
    effector: str | None = Field(None, max_length=64)
    request_id: int | None = None


def principal(request: Request) -> Principal:
    """Who is calling, from ``Authorization: Bearer <token>`` (401 when missing, unknown, expired or revoked)."""
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    auth: Auth = request.app.state.auth
    return auth.identify(token)


def at_least(role: str, action: str) -> Any:
    """A dependency giving the caller if its role includes ``role``, else 403: checked before the body is
    validated, so the refusal does not depend on what was sent."""

    def check(request: Request) -> Principal:
        who = principal(request)
        request.app.state.auth.require(who, role, action)
        return who

    return Depends(check)


Who = Annotated[Principal, Depends(principal)]
Operator = Annotated[Principal, at_least("operator", "take operator actions")]
Commander = Annotated[Principal, at_least("commander", "decide a proposed rule change")]
Change = Callable[[str, str | None, Request, Principal], Awaitable[Response]]  # a rule change: kind, id, request, who


class _ServiceCollector:
    """Prometheus metrics read from the live service at scrape time."""

    def __init__(self, link: EngineLink) -> None:
        self.link = link

    def collect(self) -> Iterator[Any]:
        link, c = self.link, self.link.counters
        yield CounterMetricFamily("skywarden_scans", "Scans processed", value=c.scans)
        yield CounterMetricFamily("skywarden_events", "Events emitted", value=c.events)
        yield CounterMetricFamily("skywarden_rejects", "Inputs refused (bad input) and scans that failed", value=c.rejects)
        yield CounterMetricFamily("skywarden_feed_waits", "Times the feed waited for the tracker", value=c.feed_waits)
        yield GaugeMetricFamily("skywarden_scan_latency_seconds", "Time to process the last scan",
                                value=c.last_scan_ms / 1e3)
        yield GaugeMetricFamily("skywarden_tracks", "Tracks in the picture", value=c.tracks)
        yield GaugeMetricFamily("skywarden_queue_depth", "Scans waiting for the tracker", value=c.queue_depth)
        yield GaugeMetricFamily("skywarden_stream_clients", "Connected WebSocket clients", value=link.clients)


def create_app(link: EngineLink, store: Store, auth: Auth, web_dir: Path | None = None) -> FastAPI:
    """The service's app: the engine's feed plays while the app runs; the store is read here, written by
    the engine."""

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await link.start()
        try:
            yield
        finally:  # stop taking scans; those queued are processed and committed before shutdown goes on
            await link.stop()

    app = FastAPI(title="Skywarden", version=__version__, lifespan=lifespan,
                  description="Live air picture, alerts and operator actions. See docs/api.md.")
    registry = CollectorRegistry()
    registry.register(_ServiceCollector(link))  # type: ignore[arg-type]

    @app.exception_handler(AuthError)
    async def _auth_error(_: Request, exc: AuthError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status,
                            headers={"WWW-Authenticate": "Bearer"} if exc.status == 401 else None)

    app.state.auth = auth

    @app.get("/api/health")
    async def health() -> dict[str, Any]:
        c = link.counters
        return {"status": "ok" if link.running else "engine stopped", "version": __version__,
                "scans": c.scans, "tracks": c.tracks, "queue_depth": c.queue_depth, "feed_done": c.feed_done,
                "uptime_s": round(time.time() - c.started_unix, 1)}

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/api/whoami")
    async def whoami(who: Who) -> dict[str, str]:
        return {"name": who.name, "role": who.role}

    @app.get("/api/site")
    async def site(who: Who) -> dict[str, Any]:
        s = link.site
        return {"name": s.name, "timezone": s.timezone, "reference": s.reference.model_dump(),
                "sensors": [r.model_dump() for r in s.sensors], "access": s.access.model_dump(),
                "outline": _outline(s.zones)}

    _rule_routes(app, link, store, auth)

    @app.get("/api/tracks")
    async def tracks(who: Who) -> Response:
        return Response(link.picture, media_type="application/json")

    @app.get("/api/tracks/{track_id}/history")
    async def track_history(track_id: str, who: Who, since: float | None = None) -> list[dict[str, Any]]:
        return await asyncio.to_thread(store.track_history, track_id, since)

    @app.get("/api/events")
    async def events(who: Who, since: float | None = None,
                     limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
                     after_id: int | None = None) -> list[dict[str, Any]]:
        return await asyncio.to_thread(store.events, since, limit, None, after_id)

    @app.get("/api/incidents")
    async def incidents(who: Who) -> list[dict[str, Any]]:
        return await asyncio.to_thread(store.incidents)

    @app.get("/api/incidents/{incident_id}")
    async def incident(incident_id: str, who: Who) -> dict[str, Any]:
        found = await asyncio.to_thread(store.incident, incident_id)
        if found is None:
            raise HTTPException(404, f"no incident {incident_id!r}")
        return found

    @app.get("/api/actions")
    async def actions(who: Who, since: float | None = None,
                      limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> list[dict[str, Any]]:
        return await asyncio.to_thread(store.actions, since, limit)

    @app.post("/api/actions", status_code=201)
    async def post_action(action: ActionIn, who: Operator) -> dict[str, Any]:
        auth.require(who, ACTION_ROLES[action.kind], action.kind.replace("_", " "))
        payload = action.model_dump(exclude_none=True, exclude={"kind"})
        if action.kind == "request_mitigation" and not action.track_id:
            raise HTTPException(422, "request_mitigation: track_id is required")
        if action.kind in ("acknowledge", "annotate") and not (action.track_id or action.incident_id):
            raise HTTPException(422, f"{action.kind}: give a track_id or an incident_id")
        if action.kind == "annotate" and not action.note:
            raise HTTPException(422, "annotate: note is required")
        return await _engine(link.record_action(who.name, who.role, action.kind, payload))

    @app.websocket("/api/stream")
    async def stream(ws: WebSocket) -> None:
        await ws.accept()  # before any refusal, so that a browser can read the close code and the reason
        try:
            token = await _stream_token(ws)
            await asyncio.to_thread(auth.identify, token)
        except AuthError as exc:
            await ws.close(code=4000 + exc.status, reason=exc.detail)
            return
        except WebSocketDisconnect:
            return
        async with link.subscribe() as queue:
            await ws.send_text(await asyncio.to_thread(_snapshot, link, store))
            refusal = await _forward(ws, queue, lambda: auth.identify(token))
        if refusal is not None:
            await ws.close(code=4000 + refusal.status, reason=refusal.detail)

    if web_dir is not None and web_dir.is_dir():
        app.mount("/", StaticFiles(directory=web_dir, html=True), name="console")
    return app


async def _engine(command: Awaitable[T]) -> T:
    """Await a command to the engine; its refusal (ActionRefused) as an HTTP error with its status."""
    try:
        return await command
    except ActionRefused as exc:  # a refused decision or edit, or the engine has stopped: nothing was recorded
        raise HTTPException(exc.status, exc.detail) from exc


def _snapshot(link: EngineLink, store: Store) -> str:
    """What a new client gets first: the current picture, recent events, incidents and actions (JSON text)."""
    rest = json.dumps({"events": store.latest_events(500), "incidents": store.incidents(),
                       "actions": store.latest_actions(500)}, separators=(",", ":"))
    return f'{{"type":"snapshot","picture":{link.picture},{rest[1:]}'


async def _stream_token(ws: WebSocket) -> str:
    """A stream client's token: its ``Authorization: Bearer`` header, else its first message ``{"type": "auth",
    "token": …}`` within ``WS_AUTH_TIMEOUT_S``. AuthError 401 otherwise, and for a token in the URL (URLs end
    up in logs and browser histories). Reasons stay under the 123 bytes a close frame allows."""
    if "token" in ws.query_params:
        raise AuthError(401, "a token in the URL is refused: send an Authorization header or a first auth message")
    header = ws.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    try:
        message = await asyncio.wait_for(ws.receive(), WS_AUTH_TIMEOUT_S)
    except TimeoutError:
        raise AuthError(401, f"no token within {WS_AUTH_TIMEOUT_S:g} s: send {AUTH_MESSAGE} first") from None
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    try:
        first = parse_json(message.get("text") or "")
    except ValueError:  # not JSON, or nested too deep to be worth reading
        first = None
    if not (isinstance(first, dict) and first.get("type") == "auth" and isinstance(first.get("token"), str)):
        raise AuthError(401, f"the first message must be {AUTH_MESSAGE}")
    return str(first["token"])


async def _forward(ws: WebSocket, queue: asyncio.Queue[str | None], check: Callable[[], Principal]) -> AuthError | None:
    """Send the queue's messages to ``ws`` until the client leaves or is dropped as too slow (closed 1013 here),
    checking its token again every ``WS_RECHECK_S``; the refusal when the token was revoked or expired meanwhile."""
    gone = asyncio.create_task(_until_disconnected(ws))  # notices a client that left, or shutdown
    getting: asyncio.Task[str | None] | None = None
    recheck_at = time.monotonic() + WS_RECHECK_S
    try:
        while True:
            getting = getting or asyncio.create_task(queue.get())
            await asyncio.wait({getting, gone}, timeout=WS_RECHECK_S, return_when=asyncio.FIRST_COMPLETED)
            if gone.done():
                return None
            if time.monotonic() >= recheck_at:
                recheck_at = time.monotonic() + WS_RECHECK_S
                try:
                    await asyncio.to_thread(check)
                except AuthError as exc:
                    return exc
            if not getting.done():
                continue
            message, getting = getting.result(), None
            if message is None:
                break
            await ws.send_text(message)
    except WebSocketDisconnect:
        return None
    finally:
        gone.cancel()
        if getting is not None:
            getting.cancel()
    await ws.close(code=1013, reason="too slow: reconnect for a fresh snapshot")
    return None


def _rule_routes(app: FastAPI, link: EngineLink, store: Store, auth: Auth) -> None:
    """The site's rules (zones, assets, permits, safety thresholds): read by a viewer; changed by a commander, or
    under the site's two-person rule proposed by an operator or commander and decided by another commander."""

    async def change(kind: str, item_id: str | None, request: Request, who: Principal) -> Response:
        two_person = link.site.access.two_person_rule
        if two_person:
            auth.require(who, "operator", f"propose a change of {kind}")
        else:
            auth.require(who, "commander", f"change {kind}")
        item = _parsed(kind, item_id, await request.body())
        if two_person:
            proposal = await _engine(link.propose_edit(kind, item, who.name, who.role))
            return JSONResponse({**proposal, "status": "pending", "decision": None}, status_code=202)
        await _engine(link.update_site_item(kind, item, who.name, who.role))
        return JSONResponse(item)

    for kind in SITE_ITEMS:
        _item_routes(app, link, kind, change)

    @app.get("/api/safety", summary="The site's alert thresholds")
    async def safety(who: Who) -> dict[str, Any]:
        return link.site.safety.model_dump()

    @app.put("/api/safety", summary="Set the site's alert thresholds")
    async def put_safety(request: Request, who: Who) -> Response:
        return await change("safety", None, request, who)

    @app.get("/api/proposals", summary="Rule changes proposed under the two-person rule")
    async def proposals(who: Who) -> list[dict[str, Any]]:
        return await asyncio.to_thread(store.proposals)

    @app.post("/api/proposals/{proposal_id}/approve", summary="Approve a proposal: its change is made")
    async def approve(proposal_id: int, who: Commander) -> dict[str, Any]:
        return await _engine(link.decide_proposal(proposal_id, True, who.name, who.role))

    @app.post("/api/proposals/{proposal_id}/reject", summary="Reject a proposal")
    async def reject(proposal_id: int, who: Commander) -> dict[str, Any]:
        return await _engine(link.decide_proposal(proposal_id, False, who.name, who.role))


def _item_routes(app: FastAPI, link: EngineLink, kind: str, change: Change) -> None:
    """``GET /api/<kind>`` and ``PUT /api/<kind>/{item_id}`` for zones, assets or permits."""

    async def list_items(who: Who) -> list[dict[str, Any]]:
        return [item.model_dump(mode="json") for item in getattr(link.site, kind)]

    async def put_item(item_id: str, request: Request, who: Who) -> Response:
        return await change(kind, item_id, request, who)

    app.add_api_route(f"/api/{kind}", list_items, methods=["GET"], summary=f"The site's {kind}")
    app.add_api_route(f"/api/{kind}/{{item_id}}", put_item, methods=["PUT"], summary=f"Add or replace one of the {kind}")


def _parsed(kind: str, item_id: str | None, body: bytes) -> dict[str, Any]:
    """A PUT body as the validated item's JSON form (the safety table when ``item_id`` is None); HTTPException
    422 saying ``<kind>/<id>: field: reason``."""
    try:
        item = parse_site_item(kind, item_id, body) if item_id is not None else parse_safety(body)
    except ConfigError as exc:
        raise HTTPException(422, str(exc)) from exc
    return dict(item.model_dump(mode="json"))


async def _until_disconnected(ws: WebSocket) -> None:
    """Read (and ignore) what the client sends until it disconnects."""
    with contextlib.suppress(WebSocketDisconnect):
        while (await ws.receive())["type"] != "websocket.disconnect":
            pass


def _outline(zones: list[Zone]) -> dict[str, Any]:
    """The zones as a GeoJSON FeatureCollection: a map of the site that needs no internet tiles (each zone's
    outer ring, then its holes, each ring closed)."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": z.id,
         "properties": {"id": z.id, "name": z.name, "kind": z.kind, "floor_m": z.floor_m, "ceiling_m": z.ceiling_m},
         "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in [*ring, ring[0]]]
                                                         for ring in (z.polygon, *z.holes)]}}
        for z in zones]}
