"""Session-wide test settings."""

from __future__ import annotations

import select
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True, scope="session")
def _site_key_in_a_temporary_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Commands that sign ledgers use a test key, never the user's ``~/.skywarden`` one."""
    path = tmp_path_factory.mktemp("keys") / "site-key.pem"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SKYWARDEN_KEY", str(path))
        yield path


def _child_line(proc: subprocess.Popen[bytes], timeout_s: float) -> bytes:
    """One line of the child's stdout, failing the test if none comes in time."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
    assert ready, f"child said nothing in {timeout_s} s: {proc.stderr.read() if proc.stderr else ''!r}"
    return proc.stdout.readline()


@pytest.fixture
def child_line() -> Callable[[subprocess.Popen[bytes], float], bytes]:
    """Reads a line of a child process's stdout within a timeout (the crash tests' acknowledgements)."""
    return _child_line
