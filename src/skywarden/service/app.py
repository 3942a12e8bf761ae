"""The HTTP side of the live service (FastAPI): REST under ``/api``, the picture over a WebSocket, metrics,
and the operator console's static files. The contract is ``docs/api.md``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from pydantic import BaseModel, Field, ValidationError

from skywarden import __version__
from skywarden.config import Asset, Permit, Zone, format_validation_error
from skywarden.service.auth import Auth, AuthError, Principal
from skywarden.service.engine import EngineLink
from skywarden.service.live import ActionRefused
from skywarden.store.sqlite import Store

ACTION_ROLES = {"acknowledge": "operator", "annotate": "operator", "request_mitigation": "operator",
                "authorise_mitigation": "commander", "deny_mitigation": "commander"}
CONFIG_KINDS: dict[str, Any] = {"zones": Zone, "assets": Asset, "permits": Permit}


class ActionIn(BaseModel):
    """An operator action as posted to ``/api/actions``."""

    kind: Literal["acknowledge", "annotate", "request_mitigation", "authorise_mitigation", "deny_mitigation"]
    track_id: str | None = Field(None, max_length=64)
    incident_id: str | None = Field(None, max_length=64)
    note: str | None = Field(None, max_length=2000)
    effector: str | None = Field(None, max_length=64)
    request_id: int | None = None


def principal(request: Request) -> Principal:
    """Who is calling, from ``Authorization: Bearer <token>`` (401 when missing or unknown)."""
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    auth: Auth = request.app.state.auth
    return auth.identify(token)


Who = Annotated[Principal, Depends(principal)]


class _ServiceCollector:
    """Prometheus metrics read from the live service at scrape time."""

    def __init__(self, link: EngineLink) -> None:
        self.link = link

    def collect(self) -> Iterator[Any]:
        link, c = self.link, self.link.counters
        yield CounterMetricFamily("skywarden_scans", "Scans processed", value=c.scans)
        yield CounterMetricFamily("skywarden_events", "Events emitted", value=c.events)
        yield CounterMetricFamily("skywarden_rejects", "Scans rejected (bad input)", value=c.rejects)
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
                "sensors": [r.model_dump() for r in s.sensors], "outline": _outline(s.zones)}

    for kind in CONFIG_KINDS:
        _config_routes(app, link, auth, kind)

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
    async def post_action(action: ActionIn, who: Who) -> dict[str, Any]:
        auth.require(who, ACTION_ROLES[action.kind], action.kind.replace("_", " "))
        payload = action.model_dump(exclude_none=True, exclude={"kind"})
        if action.kind == "request_mitigation" and not action.track_id:
            raise HTTPException(422, "request_mitigation: track_id is required")
        if action.kind in ("acknowledge", "annotate") and not (action.track_id or action.incident_id):
            raise HTTPException(422, f"{action.kind}: give a track_id or an incident_id")
        if action.kind == "annotate" and not action.note:
            raise HTTPException(422, "annotate: note is required")
        try:
            return await link.record_action(who.name, who.role, action.kind, payload)
        except ActionRefused as exc:  # no such request, already decided, or the engine has stopped
            raise HTTPException(exc.status, exc.detail) from exc

    @app.websocket("/api/stream")
    async def stream(ws: WebSocket, token: str | None = None) -> None:
        try:
            auth.identify(token)
        except AuthError as exc:  # accepted then closed, so that a browser can read the code and the reason
            await ws.accept()
            await ws.close(code=4000 + exc.status, reason=exc.detail)
            return
        await ws.accept()
        async with link.subscribe() as queue:
            await ws.send_text(await asyncio.to_thread(_snapshot, link, store))
            gone = asyncio.create_task(_until_disconnected(ws))  # notices a client that left, or shutdown
            try:
                while True:
                    getting = asyncio.create_task(queue.get())
                    await asyncio.wait({getting, gone}, return_when=asyncio.FIRST_COMPLETED)
                    if gone.done():
                        getting.cancel()
                        return
                    if (message := getting.result()) is None:
                        break
                    await ws.send_text(message)
            except WebSocketDisconnect:
                return
            finally:
                gone.cancel()
        await ws.close(code=1013, reason="too slow: reconnect for a fresh snapshot")

    if web_dir is not None and web_dir.is_dir():
        app.mount("/", StaticFiles(directory=web_dir, html=True), name="console")
    return app


def _snapshot(link: EngineLink, store: Store) -> str:
    """What a new client gets first: the current picture, recent events, incidents and actions (JSON text)."""
    rest = json.dumps({"events": store.latest_events(500), "incidents": store.incidents(),
                       "actions": store.latest_actions(500)}, separators=(",", ":"))
    return f'{{"type":"snapshot","picture":{link.picture},{rest[1:]}'


def _config_routes(app: FastAPI, link: EngineLink, auth: Auth, kind: str) -> None:
    """``GET /api/<kind>`` and ``PUT /api/<kind>/{item_id}`` for zones, assets or permits."""
    model = CONFIG_KINDS[kind]

    async def list_items(who: Who) -> list[dict[str, Any]]:
        return [item.model_dump(mode="json") for item in getattr(link.site, kind)]

    async def put_item(item_id: str, request: Request, who: Who) -> dict[str, Any]:
        auth.require(who, "operator", f"edit {kind}")
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise HTTPException(422, f"{kind}/{item_id}: expected a JSON object")
            item = model.model_validate({**body, "id": item_id})
        except json.JSONDecodeError as exc:
            raise HTTPException(422, f"{kind}/{item_id}: body is not JSON: {exc.msg}") from exc
        except ValidationError as exc:
            raise HTTPException(422, format_validation_error(exc, f"{kind}/{item_id}")) from exc
        try:
            await link.update_site_item(kind, item.model_dump(mode="json"), who.name, who.role)
        except ActionRefused as exc:  # the edited site does not validate, or the engine has stopped
            raise HTTPException(exc.status, exc.detail) from exc
        return dict(item.model_dump(mode="json"))

    app.add_api_route(f"/api/{kind}", list_items, methods=["GET"], summary=f"The site's {kind}")
    app.add_api_route(f"/api/{kind}/{{item_id}}", put_item, methods=["PUT"], summary=f"Add or replace one of the {kind}")


async def _until_disconnected(ws: WebSocket) -> None:
    """Read (and ignore) what the client sends until it disconnects."""
    with contextlib.suppress(WebSocketDisconnect):
        while (await ws.receive())["type"] != "websocket.disconnect":
            pass


def _outline(zones: list[Zone]) -> dict[str, Any]:
    """The zones as a GeoJSON FeatureCollection: a map of the site that needs no internet tiles."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": z.id,
         "properties": {"id": z.id, "name": z.name, "kind": z.kind, "floor_m": z.floor_m, "ceiling_m": z.ceiling_m},
         "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in [*z.polygon, z.polygon[0]]]]}}
        for z in zones]}
