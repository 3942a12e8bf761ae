"""The live runner keeps going past inputs it refuses: each is in the ledger and the store with its reason, and a
re-run of the ledger refuses the same ones."""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from skywarden.evidence import Ledger, SiteKey
from skywarden.pipeline import Pipeline
from skywarden.runtime.recorder import RawInput, raw_inputs
from skywarden.runtime.rerun import rerun
from skywarden.service.live import LiveService
from skywarden.sim.engine import Simulation
from skywarden.sim.scenario import load_scenario
from skywarden.store.sqlite import Store

SCENARIO = load_scenario("crossing-drones")


def test_refused_live_inputs_are_kept_counted_stored_and_rerun_alike(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "store.db")
    ledger = Ledger.create(tmp_path / "ledger", SiteKey.generate())
    emitted: list[tuple[Any, ...]] = []
    live = LiveService(Pipeline(SCENARIO.site), store, ledger, SCENARIO.start_utc, emitted.append)

    def feed() -> Iterator[tuple[float, list[RawInput]]]:
        for k, step in enumerate(itertools.islice(Simulation(SCENARIO, 3).steps(), 30)):
            inputs = raw_inputs(step.scan.plots, step.coop)
            if k == 10:  # the sensor scan is garbage: the scan does not run
                inputs = [*inputs[:-1], RawInput(step.t, "radar-1", b'{"type": "plots", "t": 1e999}')]
            if k == 20:  # a garbage report beside a good scan: the scan runs
                inputs = [RawInput(step.t, "rid-7", b"\x89PNG"), *inputs]
            yield step.t, inputs

    asyncio.run(live.run(feed(), math.inf))
    assert live.counters.scans == 29 and live.counters.rejects == 2
    rejects = [m for m in emitted if m[0] == "message" and '"type":"reject"' in m[1]]
    assert len(rejects) == 1 and "radar-1" in rejects[0][1]
    stored = store.events(kinds=["InputRejected"])
    assert [e["source"] for e in stored] == ["radar-1", "rid-7"] and all(e["reason"] for e in stored)
    ledger.close()
    with Ledger.open(tmp_path / "ledger") as led:
        entries = list(led.entries())
    assert entries[stored[0]["entry"]].payload.endswith(b"1e999}")
    again = rerun(entries)
    assert again.identical and again.scans == 29, again.differences
    store.close()
