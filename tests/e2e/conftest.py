"""Shared by the end-to-end tests: the command line as a subprocess, a free loopback port, a real
`skywarden serve`, and replays that run once per session for each (scenario, seed)."""

from __future__ import annotations

import functools
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from skywarden.history import RunRecord
from skywarden.metrics import summarize
from skywarden.runtime.replay import replay

SKYWARDEN = [sys.executable, "-m", "skywarden.cli"]


def sw(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``skywarden ARGS`` in ``cwd`` as a user would; its output is captured."""
    env = {**os.environ, "COLUMNS": "160", "NO_COLOR": "1"}  # read now: the session's test key is set by then
    return subprocess.run([*SKYWARDEN, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
                          input=stdin)


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """`skywarden serve` on a free loopback port, up and answering: its URL, the tokens it printed (none on a
    restart) and every line it wrote (read all along, so its pipe never fills)."""

    TOKEN_LINE = re.compile(r"^\s+(viewer|operator|commander)\s+token:\s+(\S+)\s*$")

    def __init__(self, data: Path, key: Path, speed: str = "40", scenario: str | None = None,
                 cwd: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "SKYWARDEN_KEY": str(key), "COLUMNS": "200", "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
        cmd = [*SKYWARDEN, "serve", "--port", str(self.port), "--speed", speed, "--data", str(data)]
        self.proc = subprocess.Popen([*cmd, *(["--scenario", scenario] if scenario else [])], env=env, cwd=cwd,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        out = self.proc.stdout
        assert out is not None
        self._reader = threading.Thread(target=lambda: self.lines.extend(iter(out.readline, "")), daemon=True)
        self._reader.start()
        deadline = time.monotonic() + 60
        while not (self._healthy() and any(self.TOKEN_LINE.match(x) or x.startswith("  tokens:") for x in self.lines)):
            assert self.proc.poll() is None, f"serve exited early:\n{self.output}"
            assert time.monotonic() < deadline, f"serve did not come up:\n{self.output}"
            time.sleep(0.1)
        time.sleep(0.2)  # the rest of the banner
        self.tokens = {m[1]: m[2] for x in list(self.lines) if (m := self.TOKEN_LINE.match(x))}

    @property
    def output(self) -> str:
        """Everything the server wrote so far."""
        return "".join(self.lines)

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/api/health", timeout=1) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def stop(self, timeout_s: float = 30.0) -> str:
        """Ctrl-C, as a user stops it; it must exit 0 in time. Returns all it wrote."""
        self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"serve did not stop within {timeout_s} s of SIGINT:\n{self.output}") from None
        self._reader.join(5)
        assert code == 0, self.output
        return self.output

    def kill(self) -> None:
        """End it if it still runs (after a failed test)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def __enter__(self) -> Served:
        return self

    def __exit__(self, *_: object) -> None:
        self.kill()


@functools.cache
def run(scenario: str, seed: int | None = None) -> tuple[RunRecord, dict]:
    record = replay(scenario, seed)
    return record, summarize(record)
