"""The live runner: a feed of raw inputs -> the pipeline (evidence first) -> store and the web side, on asyncio.

It runs in the engine process (``service/engine.py``), apart from the web server, so that tracking never
holds the web side's interpreter lock. Reading the feed (the simulator, paced to real time × ``speed``) and
the tracking work both run in worker threads, so commands from the web side never wait behind a scan.
Scans pass through a bounded queue; when tracking falls behind, the feed waits (back-pressure) and
``feed_waits`` counts how often. Every scan is appended to the ledger and committed before its results
reach the store or any client; an operator action likewise reaches the ledger first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import multiprocessing
import queue
import signal
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skywarden.airspace.threat import ThreatLevel
from skywarden.config import Site
from skywarden.events import Event, InputRejected, TrackConfirmed, TrackLost, ZoneViolation
from skywarden.evidence.encoding import canonical_json
from skywarden.evidence.ledger import Ledger
from skywarden.geo import LocalFrame
from skywarden.picture.classify import CLASSES
from skywarden.pipeline import Picture, Pipeline
from skywarden.response.incidents import Incident, group_alerts
from skywarden.runtime.recorder import (
    SITE_ITEM_PREFIX,
    EvidenceRecorder,
    RawInput,
    ScanRejected,
    edit_name,
    edited_site,
    raw_inputs,
)
from skywarden.sim.engine import Simulation
from skywarden.sim.scenario import Scenario
from skywarden.store.sqlite import Store
from skywarden.tracking.management import status_names

LEVEL_NAMES = {int(v): v.name.lower() for v in ThreatLevel}
DECISIONS = ("authorise_mitigation", "deny_mitigation")
Scan = tuple[float, list[RawInput]]  # wall time the scan arrived (Unix s), its raw inputs
Feed = Iterator[tuple[float, list[RawInput]]]  # (data time, raw inputs) of each scan, in time order


def simulated_feed(scenario: Scenario, seed: int | None = None,
                   ahead: int = 4) -> Generator[tuple[float, list[RawInput]], None, None]:
    """A scenario's scans as (data time, raw inputs), the bytes a receiver would have got.

    The simulator runs in a process of its own, as real sensors would, so that its CPU time (40 ms a scan
    at a thousand targets) never holds the tracker's interpreter lock; it works up to ``ahead`` scans in
    advance. Closing the generator stops it.
    """
    context = multiprocessing.get_context("spawn")
    scans: multiprocessing.Queue[tuple[float, list[RawInput]] | str | None] = context.Queue(ahead)
    process = context.Process(target=_simulate, args=(scans, scenario, seed), name="skywarden-sensors", daemon=True)
    process.start()
    try:
        while True:
            try:
                item = scans.get(timeout=1.0)
            except queue.Empty:
                if not process.is_alive():
                    raise RuntimeError(f"the simulator process exited (code {process.exitcode})") from None
                continue
            if item is None:
                return
            if isinstance(item, str):
                raise RuntimeError(f"the simulator failed: {item}")
            yield item
    finally:
        process.kill()
        process.join()
        scans.close()


def _simulate(scans: multiprocessing.Queue[tuple[float, list[RawInput]] | str | None], scenario: Scenario,
              seed: int | None) -> None:
    """The simulator process: every scan into ``scans``, then None (or the error, as text); it ends early when
    its reader's process is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # stopped by its reader, not by Ctrl-C
    reader = multiprocessing.parent_process()

    def put(item: tuple[float, list[RawInput]] | str | None) -> bool:
        while True:
            try:
                scans.put(item, timeout=1.0)
                return True
            except queue.Full:
                if reader is not None and not reader.is_alive():
                    return False

    try:
        for step in Simulation(scenario, seed).steps():
            if not put((step.t, raw_inputs(step.scan.plots, step.coop))):
                return
    except Exception as exc:  # told to the reader, which stops the feed with it
        put(f"{type(exc).__name__}: {exc}")
        return
    put(None)


def _finite_or_none(values: NDArray[np.float64]) -> list[float | None]:
    """JSON has no infinity or NaN: those become null."""
    return [v if math.isfinite(v) else None for v in values.tolist()]


@dataclass
class Counters:
    """What the runner has done, for /api/health and /metrics (sent to the web side with every scan)."""

    scans: int = 0
    events: int = 0
    rejects: int = 0
    feed_waits: int = 0
    last_scan_ms: float = 0.0
    tracks: int = 0
    queue_depth: int = 0
    feed_done: bool = False
    started_unix: float = field(default_factory=time.time)


class ActionRefused(Exception):
    """An operator action that cannot be taken in the current state (HTTP ``status``, ``detail`` says why)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


# What the runner sends the web side: ("scan", picture JSON, other messages' JSON, counters) once per scan,
# ("message", JSON) for anything else a client should see, ("counters", counters) when only they changed.
Emit = Callable[[tuple[Any, ...]], None]


class LiveService:
    """One site's live picture: runs the pipeline on a feed and hands the results, as JSON text, to ``emit``."""

    def __init__(self, pipeline: Pipeline, store: Store, ledger: Ledger, t_start: float, emit: Emit,
                 queue_size: int = 8) -> None:
        self.pipeline, self.store, self.ledger = pipeline, store, ledger
        self.frame = LocalFrame(pipeline.site.reference.lat_deg, pipeline.site.reference.lon_deg,
                                pipeline.site.reference.height_m)
        self.counters = Counters()
        self._emit = emit
        self._ledger_lock = threading.Lock()  # the ledger is not thread-safe: scans and actions share it
        self._recorder = EvidenceRecorder(pipeline, ledger, t_start)
        self._queue: asyncio.Queue[Scan | None] = asyncio.Queue(queue_size)
        self._alerts: list[ZoneViolation] = []  # in time order, with when each track was confirmed and lost
        self._confirmed: dict[str, float] = {}
        self._lost: dict[str, float] = {}
        self._incident_keys: dict[str, tuple[int, int, float, bool]] = {}
        self.t = t_start  # the picture's time: the clock actions are stamped with
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
            self.counters.feed_done = True
            self._emit(("counters", self.counters))

    def stop(self) -> None:
        """Ask :meth:`run` to stop taking new scans."""
        self._stop.set()

    async def until_stopped(self) -> None:
        """Return once :meth:`stop` was called (operator actions are taken until then, after the feed too)."""
        await self._stop.wait()

    async def _produce(self, feed: Feed, speed: float) -> None:
        wall0 = data0 = None
        while not self._stop.is_set():
            try:
                item = await asyncio.to_thread(next, feed, None)  # waiting for the sensors: off the loop
            except Exception as exc:  # a feed that fails ends; what was already taken is processed and kept
                self._emit(("message", _json({"type": "feed_error", "t": time.time(),
                                              "error": f"{type(exc).__name__}: {exc}"})))
                return
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
                picture, messages = await asyncio.to_thread(self._process, inputs, arrival)
            except Exception as exc:  # a bad scan is counted and reported, the service keeps running
                self.counters.rejects += len(exc.events) if isinstance(exc, ScanRejected) and exc.events else 1
                self._emit(("message", _json({"type": "reject", "t": time.time(),
                                              "error": f"{type(exc).__name__}: {exc}"})))
                continue
            self.counters.queue_depth = self._queue.qsize()
            self._emit(("scan", picture, messages, self.counters))

    def _process(self, inputs: list[RawInput], arrival: float) -> tuple[str, list[str]]:
        """One scan, in a worker thread: ledger + pipeline, then the store; returns the picture and the other
        messages for clients, serialised once here for all of them."""
        t0 = time.perf_counter()
        with self._ledger_lock:
            try:
                picture, events, event_dicts = self._recorder.scan(inputs)
            except ScanRejected as exc:  # recorded in the ledger with its refusals: the store gets them too
                self.store.add_events(exc.events)
                raise
            self.t = picture.t
        self.store.add_events(event_dicts)
        self.counters.rejects += sum(isinstance(e, InputRejected) for e in events)
        statuses = status_names(picture.status)
        track_json = self._tracks_json(picture, statuses)
        self.store.add_track_samples(picture.t, picture.ids, picture.x[:, :3], picture.x[:, 3:6], statuses,
                                     picture.labels)
        changed = self._update_incidents(picture.t, events)
        self.counters.scans += 1
        self.counters.events += len(events)
        self.counters.tracks = len(picture.ids)
        self.counters.last_scan_ms = (time.perf_counter() - t0) * 1e3
        picture_json = _json({"type": "picture", "t": picture.t, "arrival_unix": arrival,
                              "process_ms": round(self.counters.last_scan_ms, 1), "classes": CLASSES,
                              "tracks": track_json})
        messages = ([{"type": "event", "event": e} for e in event_dicts]
                    + [{"type": "incident", "incident": i.to_dict()} for i in changed])
        return picture_json, [_json(m) for m in messages]

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

    def _tracks_json(self, picture: Picture, statuses: list[str]) -> dict[str, Any]:
        """The picture's tracks as columns (one list per field, in track order): at a thousand tracks that is
        half the bytes of one object per track, and each column is one NumPy ``tolist``. Rounded to what an
        operator reads: 0.1 m, 0.1 m/s, 1e-6° (0.1 m)."""
        x, threat = picture.x, picture.assessment.threat
        lat, lon, alt = self.frame.to_geodetic(x[:, :3]) if len(picture.ids) else (np.zeros(0),) * 3
        assets = np.array([None, *(a.id for a in self.pipeline.site.assets)], dtype=object)
        return {
            "id": list(picture.ids), "status": statuses,
            "position_enu_m": np.round(x[:, :3], 1).tolist(), "velocity_enu_mps": np.round(x[:, 3:6], 1).tolist(),
            "lat_deg": np.round(lat, 6).tolist(), "lon_deg": np.round(lon, 6).tolist(),
            "alt_m": np.round(alt, 1).tolist(), "speed_mps": np.round(np.linalg.norm(x[:, 3:6], axis=1), 1).tolist(),
            "classification": list(picture.labels), "class_prob": np.round(picture.class_prob, 2).tolist(),
            "identity": list(picture.identities), "permit": list(picture.permits),
            "intruder": picture.assessment.intruder.tolist(),
            "threat": {"asset": assets[threat.asset_index + 1].tolist(),
                       "level": [LEVEL_NAMES[v] for v in threat.level.tolist()],
                       "time_to_asset_s": _finite_or_none(np.round(threat.time_to_asset_s, 1)),
                       "closest_approach_m": _finite_or_none(np.round(threat.closest_approach_m, 1))},
        }

    # ------------------------------------------------------------------ operator actions

    def record_action(self, actor: str, role: str, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Append an operator action to the ledger (committed), then to the store; emit it; return it.

        It is stamped with the picture's time (the one clock inside; for a simulated or replayed feed that
        is the feed's time), the wall clock kept beside it as ``wall_unix``. Deciding a mitigation request
        (``authorise_mitigation`` / ``deny_mitigation`` with ``request_id``) is refused with ActionRefused when
        there is no such request (404) or it was already decided (409); the check and the record are one step
        under the ledger lock, so two commanders at the same moment cannot both decide.
        """
        with self._ledger_lock:
            if kind in DECISIONS:
                payload = {**payload, **self._decidable_request(payload.get("request_id"))}
            action = self._record(actor, role, kind, payload)
        self._emit(("message", _json({"type": "action", "action": action})))
        return action

    def _record(self, actor: str, role: str, kind: str, payload: dict[str, Any],
                edit: tuple[str, dict[str, Any]] | None = None) -> dict[str, Any]:
        """Append an action (after the config entry of ``edit`` = (kind, item), when it changes the site) to the
        ledger and commit, then store both in one transaction; the stored action. The caller holds the ledger
        lock."""
        payload = {**payload, "wall_unix": round(time.time(), 3)}
        config = None
        if edit is not None:
            self.ledger.append_config(self.t, SITE_ITEM_PREFIX + edit_name(*edit), canonical_json(edit[1]))
            config = (edit[0], _item_id(*edit), edit[1])
        index = self.ledger.append_action(self.t, actor, {"role": role, "kind": kind, **payload})
        self.ledger.commit()
        return self.store.add_action(self.t, actor, role, kind, payload, index, config=config)

    def _decidable_request(self, request_id: int | None) -> dict[str, Any]:
        """The track and effector of a pending mitigation request (the caller holds the ledger lock)."""
        if request_id is None:
            raise ActionRefused(422, "request_id is required (the id of a request_mitigation action)")
        request = self.store.action(request_id)
        if request is None or request["kind"] != "request_mitigation":
            raise ActionRefused(404, f"no mitigation request {request_id}")
        decided = self.store.decision_of(request_id)
        if decided is not None:
            raise ActionRefused(409, f"mitigation request {request_id} was already decided: {decided['kind']} "
                                     f"by {decided['actor']}")
        return {"track_id": request.get("track_id"), "effector": request.get("effector")}

    # ------------------------------------------------------------------ the site's rules

    def update_site_item(self, kind: str, item: dict[str, Any], actor: str,
                         role: str) -> tuple[Site, dict[str, Any]]:
        """Change a rule of the site (add or replace a zone, asset or permit; set the safety table): validated,
        recorded (ledger: config entry and ``edit_<kind>`` action; then the store, in one transaction), applied
        from the next scan on, emitted to clients; the new site and the stored action. ActionRefused 422 when
        the edited site is not valid (nothing is recorded then)."""
        with self._ledger_lock:  # no scan runs while the site changes, and the ledger has it first
            site, action = self._apply_edit(kind, item, actor, role, {})
        self._emit_edit(kind, item, action)
        return site, action

    def _apply_edit(self, kind: str, item: dict[str, Any], actor: str, role: str,
                    extra: dict[str, Any]) -> tuple[Site, dict[str, Any]]:
        """Validate, record and apply one edit (the caller holds the ledger lock)."""
        site = self._edited(kind, item)  # raises before anything is recorded
        action = self._record(actor, role, f"edit_{kind}", {"item_id": _item_id(kind, item), **extra}, (kind, item))
        self.pipeline.set_site(site)  # what a re-run does with the config entry (apply_config_entry)
        return site, action

    def _edited(self, kind: str, item: dict[str, Any]) -> Site:
        """The site with the edit made; ActionRefused 422 saying why when it is not valid."""
        try:
            return edited_site(self.pipeline.site, kind, item)
        except ValueError as exc:
            raise ActionRefused(422, str(exc)) from None

    def _emit_edit(self, kind: str, item: dict[str, Any], action: dict[str, Any]) -> None:
        """Tell clients of a change made: the new item (they reload the site), then the action that made it."""
        self._emit(("message", _json({"type": "config", "kind": kind, "item": item})))
        self._emit(("message", _json({"type": "action", "action": action})))

    def propose_edit(self, kind: str, item: dict[str, Any], actor: str, role: str) -> dict[str, Any]:
        """Record a rule change as a proposal (the site's two-person rule): validated against the current site
        but not applied; a ``propose_edit`` action with the item in the ledger, then the store; emitted. The
        stored action, whose id is the proposal's. ActionRefused 422 when the edit is not valid."""
        with self._ledger_lock:
            self._edited(kind, item)
            action = self._record(actor, role, "propose_edit",
                                  {"config_kind": kind, "item_id": _item_id(kind, item), "item": item})
        self._emit(("message", _json({"type": "action", "action": action})))
        return action

    def decide_proposal(self, proposal_id: int, approve: bool, actor: str,
                        role: str) -> tuple[Site | None, dict[str, Any]]:
        """Approve a pending proposal (its edit is made exactly as a direct one, the action naming
        ``proposal_id`` and ``proposed_by``) or reject it (``reject_edit``); the new site (None on a rejection)
        and the stored action. The check and the record are one step under the ledger lock. ActionRefused 404:
        no such proposal; 409: already decided; 403: the proposer deciding their own; 422: an edit that no
        longer validates (nothing is recorded then)."""
        with self._ledger_lock:
            proposal = self.store.action(proposal_id)
            if proposal is None or proposal["kind"] != "propose_edit":
                raise ActionRefused(404, f"no proposal {proposal_id}")
            decided = self.store.proposal_decision(proposal_id)
            if decided is not None:
                verdict = "rejected" if decided["kind"] == "reject_edit" else "approved"
                raise ActionRefused(409, f"proposal {proposal_id} was already {verdict} by {decided['actor']}")
            if proposal["actor"] == actor:
                raise ActionRefused(403, f"{actor} proposed {proposal_id}: another commander must decide it "
                                         f"(two-person rule)")
            kind, item = proposal["config_kind"], proposal["item"]
            extra = {"proposal_id": proposal_id, "proposed_by": proposal["actor"]}
            site: Site | None = None
            if approve:
                site, action = self._apply_edit(kind, item, actor, role, extra)
            else:
                action = self._record(actor, role, "reject_edit",
                                      {"config_kind": kind, "item_id": proposal["item_id"], **extra})
        if site is not None:
            self._emit_edit(kind, item, action)
        else:
            self._emit(("message", _json({"type": "action", "action": action})))
        return site, action


def _item_id(kind: str, item: dict[str, Any]) -> str:
    """The id an edit is filed under: the item's, or ``safety`` for the site's safety table."""
    return "safety" if kind == "safety" else str(item["id"])


def _json(message: dict[str, Any]) -> str:
    """A message's JSON text (compact; no NaN, which JSON has not)."""
    return json.dumps(message, separators=(",", ":"), allow_nan=False)
