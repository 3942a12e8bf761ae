"""Named random streams: one independent generator per seed and path of names (radar, object, purpose)."""

from __future__ import annotations

import hashlib

import numpy as np


def rng_stream(seed: int, *names: str) -> np.random.Generator:
    """An independent generator for ``seed`` and a path of names (stable across runs and versions)."""
    key = tuple(int.from_bytes(hashlib.sha256(n.encode()).digest()[:4], "little") for n in names)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))
