"""Replays are shared between end-to-end tests: each (scenario, seed) runs once per session."""

from __future__ import annotations

import functools

from skywarden.history import RunRecord
from skywarden.metrics import summarize
from skywarden.pipeline import replay


@functools.cache
def run(scenario: str, seed: int | None = None) -> tuple[RunRecord, dict]:
    record = replay(scenario, seed)
    return record, summarize(record)
