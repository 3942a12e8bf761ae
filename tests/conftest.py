"""Session-wide test settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True, scope="session")
def _site_key_in_a_temporary_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Commands that sign ledgers use a test key, never the user's ``~/.skywarden`` one."""
    path = tmp_path_factory.mktemp("keys") / "site-key.pem"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SKYWARDEN_KEY", str(path))
        yield path
