"""The live runner: a feed of raw inputs -> the pipeline (evidence first) -> store and subscribers, on asyncio.

The event loop only moves messages: reading the feed (the simulator, paced to real time × ``speed``)
and the tracking work both run in a worker thread, so API calls and WebSocket pushes never wait behind a
scan. Scans pass through a bounded queue; when tracking falls behind, the feed waits (back-pressure)
and ``feed_waits`` counts how often. Every scan is appended to the ledger and committed before its
results reach the store or any client; an operator action likewise reaches the ledger first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skywarden.airspace.threat import ThreatLevel
from skywarden.events import Event, TrackConfirmed, TrackLost, ZoneViolation
from skywarden.evidence.encoding import canonical_json
from skywarden.evidence.ledger import Ledger
from skywarden.evidence.recorder import (
    SITE_ITEM_PREFIX,
    EvidenceRecorder,
    RawInput,
    edited_site,
    raw_inputs,
)
from skywarden.geo import LocalFrame
from skywarden.pipeline import Picture, Pipeline
from skywarden.response.incidents import Incident, group_alerts
from skywarden.sim.engine import Simulation
from skywarden.sim.scenario import Scenario
from skywarden.store.sqlite import Store
from skywarden.tracking.management import status_names

LEVEL_NAMES = {int(v): v.name.lower() for v in ThreatLevel}
Scan = tuple[float, list[RawInput]]  # wall time the scan arrived (Unix s), its raw inputs
Feed = Iterator[tuple[float, list[RawInput]]]  # (data time, raw inputs) of each scan, in time order


def simulated_feed(scenario: Scenario, seed: int | None = None) -> Feed:
    """A scenario's scans as (data time, raw inputs), the bytes a receiver would have got."""
    for step in Simulation(scenario, seed).steps():
        yield step.t, raw_inputs(step.scan.plots, step.coop)


def _finite_or_none(values: NDArray[np.float64]) -> list[float | None]:
    """JSON has no infinity or NaN: those become null."""
    return [v if math.isfinite(v) else None for v in values.tolist()]


@dataclass
class Counters:
    """What the runner has done, for /api/health and /metrics."""

    scans: int = 0
    events: int = 0
    rejects: int = 0
    feed_waits: int = 0
    last_scan_ms: float = 0.0
    started_unix: float = field(default_factory=time.time)


class LiveService:
    """One site's live picture: runs the pipeline on a feed and fans the results out to subscribers."""

    def __init__(self, pipeline: Pipeline, store: Store, ledger: Ledger, t_start: float,
                 queue_size: int = 8, client_queue_size: int = 512) -> None:
        self.pipeline, self.store, self.ledger = pipeline, store, ledger
        self.frame = LocalFrame(pipeline.site.reference.lat_deg, pipeline.site.reference.lon_deg,
                                pipeline.site.reference.height_m)
        self.counters = Counters()
        self._ledger_lock = threading.Lock()  # the ledger is not thread-safe: scans and actions share it
        self._recorder = EvidenceRecorder(pipeline, ledger, t_start)
        self._queue: asyncio.Queue[Scan | None] = asyncio.Queue(queue_size)
        self._clients: set[asyncio.Queue[str | None]] = set()
        self._client_queue_size = client_queue_size
        self._alerts: list[ZoneViolation] = []  # in time order, with when each track was confirmed and lost
        self._confirmed: dict[str, float] = {}
        self._lost: dict[str, float] = {}
        self._incident_keys: dict[str, tuple[int, int, float, bool]] = {}
        self.picture: dict[str, Any] = {"type": "picture", "t": t_start, "tracks": []}
        self.finished = asyncio.Event()
        self._stop = asyncio.Event()

    # ------------------------------------------------------------------ running

    async def run(self, feed: Feed, speed: float) -> None:
        """Play ``feed`` at ``speed`` × real time (``inf``: as fast as tracking goes) until it ends or
        :meth:`stop`; scans already queued are processed and committed before it returns."""
        consumer = asyncio.create_task(self._consume())
        try:
            await self._produce(feed, speed)
        finally:
            await self._queue.put(None)
            await consumer
            self.finished.set()

    def stop(self) -> None:
        """Ask :meth:`run` to stop taking new scans."""
        self._stop.set()

    async def _produce(self, feed: Feed, speed: float) -> None:
        wall0 = data0 = None
        while not self._stop.is_set():
            item = await asyncio.to_thread(next, feed, None)  # simulating is CPU work: off the loop
            if item is None:
                return
            t_data, inputs = item
            if wall0 is None or data0 is None:
                wall0, data0 = time.monotonic(), t_data
            if math.isfinite(speed):
                delay = wall0 + (t_data - data0) / speed - time.monotonic()
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), delay)
                    if self._stop.is_set():
                        return
            if self._queue.full():
                self.counters.feed_waits += 1
            await self._queue.put((time.time(), inputs))

    async def _consume(self) -> None:
        while (scan := await self._queue.get()) is not None:
            arrival, inputs = scan
            try:
                messages = await asyncio.to_thread(self._process, inputs, arrival)
            except Exception as exc:  # a bad scan is counted and reported, the service keeps running
                self.counters.rejects += 1
                self._publish({"type": "reject", "t": time.time(), "error": f"{type(exc).__name__}: {exc}"})
                continue
            for message in messages:
                self._publish_text(message)

    def _process(self, inputs: list[RawInput], arrival: float) -> list[str]:
        """One scan, in the worker thread: ledger + pipeline, then the store; returns the messages to push,
        serialised once here for every client."""
        t0 = time.perf_counter()
        with self._ledger_lock:
            picture, events = self._recorder.scan(inputs)
        event_dicts = [e.to_dict() for e in events]
        self.store.add_events(event_dicts)
        statuses = status_names(picture.status)
        track_json = self._tracks_json(picture, statuses)
        self.store.add_track_samples(picture.t, picture.ids, picture.x[:, :3], picture.x[:, 3:6], statuses,
                                     picture.labels)
        changed = self._update_incidents(picture.t, events)
        self.counters.scans += 1
        self.counters.events += len(events)
        self.counters.last_scan_ms = (time.perf_counter() - t0) * 1e3
        self.picture = {"type": "picture", "t": picture.t, "arrival_unix": arrival,
                        "process_ms": round(self.counters.last_scan_ms, 1), "tracks": track_json}
        messages = ([self.picture] + [{"type": "event", "event": e} for e in event_dicts]
                    + [{"type": "incident", "incident": i.to_dict()} for i in changed])
        return [json.dumps(m, separators=(",", ":"), allow_nan=False) for m in messages]

    def _update_incidents(self, t: float, events: list[Event]) -> list[Incident]:
        """Re-derive incidents when an alert or a loss came in; store and return those whose alerts, tracks or
        closing changed (an open incident's end moving with the clock is not news)."""
        news = False
        for e in events:
            if isinstance(e, TrackConfirmed):
                self._confirmed[e.track_id] = e.t
            elif isinstance(e, TrackLost):
                self._lost[e.track_id], news = e.t, True
            elif isinstance(e, ZoneViolation):
                self._alerts.append(e)
                news = True
        if not news:
            return []
        changed = []
        for incident in group_alerts(self._alerts, self._confirmed, self._lost, t):
            key = (len(incident.alerts), len(incident.track_ids), incident.t_start,
                   all(k in self._lost for k in incident.track_ids))
            if self._incident_keys.get(incident.id) != key:
                self._incident_keys[incident.id] = key
                self.store.upsert_incident(incident.to_dict())
                changed.append(incident)
        return changed

    def _tracks_json(self, picture: Picture, statuses: list[str]) -> list[dict[str, Any]]:
        """The picture's tracks as the API and the console show them (columns built with NumPy, then zipped)."""
        n = len(picture.ids)
        if n == 0:
            return []
        x, threat = picture.x, picture.assessment.threat
        lat, lon, alt = self.frame.to_geodetic(x[:, :3])
        assets = np.array([None, *(a.id for a in self.pipeline.site.assets)], dtype=object)
        tta = np.round(threat.time_to_asset_s, 1)
        columns = zip(
            picture.ids, statuses, np.round(x[:, :3], 2).tolist(),
            np.round(x[:, 3:6], 2).tolist(), np.round(lat, 7).tolist(), np.round(lon, 7).tolist(),
            np.round(alt, 1).tolist(), np.round(np.linalg.norm(x[:, 3:6], axis=1), 2).tolist(), picture.labels,
            np.round(picture.class_prob, 3).tolist(), picture.identities, picture.permits,
            picture.assessment.intruder.tolist(), assets[threat.asset_index + 1].tolist(),
            [LEVEL_NAMES[v] for v in threat.level.tolist()],
            _finite_or_none(tta), _finite_or_none(np.round(threat.closest_approach_m, 1)),
            strict=True,
        )
        return [
            {"id": i, "status": st, "position_enu_m": pos, "velocity_enu_mps": vel, "lat_deg": la, "lon_deg": lo,
             "alt_m": al, "speed_mps": sp, "classification": lab, "class_prob": cp, "identity": ident,
             "permit": permit, "intruder": intr,
             "threat": {"asset": asset, "level": level, "time_to_asset_s": t, "closest_approach_m": ca}}
            for i, st, pos, vel, la, lo, al, sp, lab, cp, ident, permit, intr, asset, level, t, ca in columns
        ]

    # ------------------------------------------------------------------ operator actions

    async def record_action(self, actor: str, role: str, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Append an operator action to the ledger (committed), then to the store; push it; return it.

        It is stamped with the picture's time (the one clock inside; for a simulated or replayed feed that
        is the feed's time), the wall clock kept beside it as ``wall_unix``.
        """
        t = float(self.picture["t"])
        payload = {**payload, "wall_unix": round(time.time(), 3)}
        action = await asyncio.to_thread(self._record_action, t, actor, role, kind, payload)
        self._publish({"type": "action", "action": action})
        return action

    def _record_action(self, t: float, actor: str, role: str, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        with self._ledger_lock:
            index = self.ledger.append_action(t, actor, {"role": role, "kind": kind, **payload})
            self.ledger.commit()
        return self.store.add_action(t, actor, role, kind, payload, index)

    async def update_site_item(self, kind: str, item: dict[str, Any], actor: str, role: str) -> None:
        """Add or replace a zone, asset or permit: validated, recorded (ledger, then store), applied from the next
        scan on, pushed to clients. ValueError when the edited site is not valid."""
        action = await asyncio.to_thread(self._update_site_item, kind, item, actor, role)
        self._publish({"type": "config", "kind": kind, "item": item})
        self._publish({"type": "action", "action": action})

    def _update_site_item(self, kind: str, item: dict[str, Any], actor: str, role: str) -> dict[str, Any]:
        t = float(self.picture["t"])
        name = f"{SITE_ITEM_PREFIX}{kind}/{item['id']}"
        with self._ledger_lock:  # no scan runs while the site changes, and the ledger has it first
            site = edited_site(self.pipeline.site, kind, item)  # raises before anything is recorded
            self.ledger.append_config(t, name, canonical_json(item))
            index = self.ledger.append_action(t, actor, {"role": role, "kind": f"edit_{kind}", "item_id": item["id"]})
            self.ledger.commit()
            self.pipeline.set_site(site)  # what a re-run does with the config entry (apply_config_entry)
        self.store.put_config(kind, item["id"], item, t, actor)
        return self.store.add_action(t, actor, role, f"edit_{kind}", {"item_id": item["id"]}, index)

    # ------------------------------------------------------------------ subscribers

    def snapshot(self) -> dict[str, Any]:
        """What a new client gets first: the current picture, recent events, incidents and actions."""
        return {"type": "snapshot", "picture": self.picture, "events": self.store.latest_events(500),
                "incidents": self.store.incidents(), "actions": self.store.latest_actions(500)}

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[str | None]]:
        """A queue of every message (JSON text) from now on; a client too slow to keep up gets ``None`` and is
        dropped."""
        queue: asyncio.Queue[str | None] = asyncio.Queue(self._client_queue_size)
        self._clients.add(queue)
        try:
            yield queue
        finally:
            self._clients.discard(queue)

    def _publish(self, message: dict[str, Any]) -> None:
        self._publish_text(json.dumps(message, separators=(",", ":")))

    def _publish_text(self, message: str) -> None:
        for queue in list(self._clients):
            if queue.full():  # it would fall ever further behind: cut it off, it reconnects to a snapshot
                self._clients.discard(queue)
                with contextlib.suppress(asyncio.QueueFull):
                    queue.get_nowait()
                    queue.put_nowait(None)
                continue
            queue.put_nowait(message)

    @property
    def queue_depth(self) -> int:
        """Scans waiting for the tracker."""
        return self._queue.qsize()

    @property
    def clients(self) -> int:
        """Connected subscribers."""
        return len(self._clients)

