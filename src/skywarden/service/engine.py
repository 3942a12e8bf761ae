"""The engine process: the live runner (feed, ledger, pipeline, store writes) in a process of its own.

On two cores a tracker at a thousand targets and a web server fanning its picture out to twenty clients
cannot share one interpreter lock: each waits for the other, and scan latency went from 46 ms to 200 ms
and more. So :func:`run_engine` runs :class:`~skywarden.service.live.LiveService` in a child process and
:class:`EngineLink` is its web-side end: it starts the child, forwards operator commands, and fans each
scan's messages (JSON text made once in the child) out to the WebSocket clients.

Across the pipe go pickled tuples. Web → engine: ``("run",)``, ``("action", id, actor, role, kind,
payload)``, ``("edit", id, kind, item, actor, role)``, ``("propose", id, kind, item, actor, role)``,
``("decide", id, proposal_id, approve, actor, role)``, ``("stop",)``. Engine → web: ``("ready",)`` or
``("failed", why)`` at start, then the runner's emissions (see ``live.Emit``), ``("reply", id,
result)`` / ``("refused", id, status, why)`` to commands, and ``("finished", None)`` last. A web side
that vanishes (its end of the pipe closes) stops the engine the same way ``("stop",)`` does: the scans
queued are processed and the ledger is closed with a signed head.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import multiprocessing
import signal
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from skywarden.config import Site
from skywarden.service.live import ActionRefused, Counters, Emit, LiveService
from skywarden.sim.scenario import Scenario

START_TIMEOUT_S = 120.0  # importing NumPy/SciPy and building the pipeline in a fresh interpreter
ENGINE_GONE = "the engine has stopped; the action was not recorded"


class EngineError(Exception):
    """The engine process could not start, or is gone."""


@dataclass(frozen=True)
class EngineConfig:
    """What the engine process needs to build the runner (everything picklable)."""

    scenario: Scenario
    site: Site  # the scenario's site with the edits stored by the API applied
    seed: int | None
    speed: float  # math.inf: as fast as tracking goes
    store_path: Path
    ledger_path: Path
    key_path: Path
    sign_every_s: float


# ---------------------------------------------------------------------- the child's side


def run_engine(conn: Connection, config: EngineConfig) -> None:
    """Entry point of the engine process: build the runner, report ready, play the feed, obey commands."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the web side stops us
    import gc

    from skywarden.evidence import Ledger, SiteKey
    from skywarden.pipeline import Pipeline
    from skywarden.service.live import simulated_feed
    from skywarden.store.sqlite import Store

    send_lock = threading.Lock()

    def send(message: tuple[Any, ...]) -> None:
        with send_lock, contextlib.suppress(OSError):  # a web side gone is noticed by the command reader
            conn.send(message)

    try:
        store = Store.open(config.store_path)
        ledger = Ledger.create(config.ledger_path, SiteKey.load_or_create(config.key_path), config.sign_every_s)
    except Exception as exc:  # reported to the web side, which prints it and exits
        send(("failed", f"{type(exc).__name__}: {exc}"))
        return

    async def main() -> None:
        try:
            service = LiveService(Pipeline(config.site), store, ledger, float(config.scenario.start_utc), send)
        except Exception as exc:  # reported like a failure to open the store or the ledger
            send(("failed", f"{type(exc).__name__}: {exc}"))
            return
        # Long-lived objects make Python's default collector thresholds run full collections often enough to
        # add tens of milliseconds to a scan (measured: 46 -> 180 ms at 1,000 tracks).
        gc.freeze()
        gc.set_threshold(100_000, 50, 100)
        loop = asyncio.get_running_loop()
        started = asyncio.Event()
        threading.Thread(target=_obey, args=(conn, service, send, loop, started), daemon=True,
                         name="engine-commands").start()
        send(("ready",))
        await started.wait()
        feed = simulated_feed(config.scenario, config.seed)
        try:
            await service.run(feed, config.speed)
        finally:
            feed.close()  # stops the simulator process
        await service.until_stopped()

    try:
        asyncio.run(main())
    finally:
        ledger.close()
        store.close()
        send(("finished", None))
        conn.close()


def _obey(conn: Connection, service: LiveService, send: Emit, loop: asyncio.AbstractEventLoop,
          started: asyncio.Event) -> None:
    """The engine's command reader (a thread): runs each command in turn and answers it."""
    commands: dict[str, Callable[..., Any]] = {
        "action": service.record_action, "edit": service.update_site_item, "propose": service.propose_edit,
        "decide": service.decide_proposal}
    while True:
        try:
            command = conn.recv()
        except (EOFError, OSError):
            command = ("stop",)
        op = command[0]
        if op == "run":
            loop.call_soon_threadsafe(started.set)
        elif op == "stop":
            loop.call_soon_threadsafe(service.stop)
            loop.call_soon_threadsafe(started.set)
            return
        else:
            request_id = command[1]
            try:
                send(("reply", request_id, commands[op](*command[2:])))
            except ActionRefused as exc:
                send(("refused", request_id, exc.status, exc.detail))
            except Exception as exc:  # any other failure is the caller's 500; the engine goes on
                send(("refused", request_id, 500, f"{type(exc).__name__}: {exc}"))


# ---------------------------------------------------------------------- the web side


class EngineLink:
    """The web side's handle on the engine process: its state, its stream of messages, and commands to it."""

    def __init__(self, config: EngineConfig, client_queue_size: int = 512) -> None:
        self.config = config
        self.site = config.site
        self.counters = Counters()
        self.picture = json.dumps({"type": "picture", "t": config.scenario.start_utc, "tracks": {"id": []}})
        self._clients: set[asyncio.Queue[str | None]] = set()
        self._client_queue_size = client_queue_size
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._finished = threading.Event()
        self._send_lock = threading.Lock()
        context = multiprocessing.get_context("spawn")  # a clean interpreter: no web threads or sockets inherited
        self._conn, child = context.Pipe()
        self._process = context.Process(target=run_engine, args=(child, config), name="skywarden-engine")
        self._process.start()
        child.close()
        if not self._conn.poll(START_TIMEOUT_S):
            self._process.kill()
            raise EngineError(f"the engine process did not start within {START_TIMEOUT_S:.0f} s")
        try:
            first = self._conn.recv()
        except EOFError:
            self._process.join()
            raise EngineError(f"the engine process exited at start (exit code {self._process.exitcode})") from None
        if first[0] != "ready":
            self._process.join()
            raise EngineError(str(first[1]))

    async def start(self) -> None:
        """Start reading the engine's messages on this event loop, and its feed."""
        self._loop = asyncio.get_running_loop()
        threading.Thread(target=self._read, daemon=True, name="engine-reader").start()
        self._send(("run",))

    async def stop(self) -> None:
        """Stop the feed; returns once the engine has processed what was queued, closed the ledger and exited."""
        with contextlib.suppress(OSError):
            self._send(("stop",))
        await asyncio.to_thread(self._finished.wait)
        await asyncio.to_thread(self._process.join)

    def close(self) -> None:
        """Stop the engine if the app never did (the port was taken, say), wait for it to exit, close the pipe."""
        if self._process.is_alive():
            with contextlib.suppress(OSError):
                self._send(("stop",))
            self._process.join()
        self._conn.close()

    @property
    def running(self) -> bool:
        """Whether the engine process is alive and has not finished."""
        return self._process.is_alive() and not self._finished.is_set()

    def _send(self, message: tuple[Any, ...]) -> None:
        with self._send_lock:
            self._conn.send(message)

    def _read(self) -> None:
        """The reader thread: hands every message from the engine to the event loop, in order."""
        assert self._loop is not None
        while True:
            try:
                message = self._conn.recv()
            except (EOFError, OSError):
                message = ("finished", None)
            self._loop.call_soon_threadsafe(self._on_message, message)
            if message[0] == "finished":
                self._finished.set()
                return

    def _on_message(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "scan":
            _, self.picture, messages, self.counters = message
            self._publish(self.picture)
            for text in messages:
                self._publish(text)
        elif kind == "message":
            self._publish(message[1])
        elif kind == "counters":
            self.counters = message[1]
        elif kind in ("reply", "refused"):
            future = self._pending.pop(message[1], None)
            if future is not None and not future.done():
                if kind == "reply":
                    future.set_result(message[2])
                else:
                    future.set_exception(ActionRefused(message[2], message[3]))
        elif kind == "finished":
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ActionRefused(503, ENGINE_GONE))
            self._pending.clear()

    async def _call(self, op: str, *args: Any) -> Any:
        if not self.running:
            raise ActionRefused(503, ENGINE_GONE)
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        self._send((op, request_id, *args))
        return await future

    async def record_action(self, actor: str, role: str, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Record an operator action (ledger, then store, in the engine); the stored action. ActionRefused
        (with an HTTP status) when it cannot be taken."""
        result: dict[str, Any] = await self._call("action", actor, role, kind, payload)
        return result

    async def update_site_item(self, kind: str, item: dict[str, Any], actor: str, role: str) -> dict[str, Any]:
        """Change a rule of the site: add or replace a zone, asset or permit, or set the safety table (validated,
        recorded and applied by the engine); the stored action. ActionRefused 422 when it does not validate."""
        self.site, action = await self._call("edit", kind, item, actor, role)
        return dict(action)

    async def propose_edit(self, kind: str, item: dict[str, Any], actor: str, role: str) -> dict[str, Any]:
        """Record a rule change as a proposal for another commander to decide (two-person rule); the stored
        ``propose_edit`` action, whose id is the proposal's."""
        action: dict[str, Any] = await self._call("propose", kind, item, actor, role)
        return action

    async def decide_proposal(self, proposal_id: int, approve: bool, actor: str, role: str) -> dict[str, Any]:
        """Approve (the edit is made) or reject a pending proposal; the stored action (see
        ``LiveService.decide_proposal`` for the refusals)."""
        site, action = await self._call("decide", proposal_id, approve, actor, role)
        if site is not None:
            self.site = site
        return dict(action)

    # ------------------------------------------------------------------ subscribers

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

    def _publish(self, message: str) -> None:
        for queue in list(self._clients):
            if queue.full():  # it would fall ever further behind: cut it off, it reconnects to a snapshot
                self._clients.discard(queue)
                with contextlib.suppress(asyncio.QueueFull):
                    queue.get_nowait()
                    queue.put_nowait(None)
                continue
            queue.put_nowait(message)

    @property
    def clients(self) -> int:
        """Connected subscribers."""
        return len(self._clients)

