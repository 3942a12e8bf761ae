"""Shared by the end-to-end tests: the command line as a subprocess, a free loopback port, and replays that
run once per session for each (scenario, seed)."""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
from pathlib import Path

from skywarden.history import RunRecord
from skywarden.metrics import summarize
from skywarden.pipeline import replay

SKYWARDEN = [sys.executable, "-m", "skywarden.cli"]
ENV = {**os.environ, "COLUMNS": "160", "NO_COLOR": "1"}


def sw(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``skywarden ARGS`` in ``cwd`` as a user would; its output is captured."""
    return subprocess.run([*SKYWARDEN, *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=300,
                          input=stdin)


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@functools.cache
def run(scenario: str, seed: int | None = None) -> tuple[RunRecord, dict]:
    record = replay(scenario, seed)
    return record, summarize(record)
