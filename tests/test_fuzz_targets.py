"""The fuzz targets (fuzz/targets.py) on a CI budget: every seed is accepted, and a few thousand mutations of the
seeds (bytes flipped, cut, deleted; huge numbers, deep nesting, invalid UTF-8 put in) give only the typed errors.

``make fuzz`` runs the same targets under Atheris for a million cases each; this test needs only Hypothesis.
"""

from __future__ import annotations

import functools
import re
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fuzz.targets import TARGETS

NASTY = [b"1" + b"0" * 400, b"-" + b"9" * 400, b"7" * 5000, b"1e999", b"-1e400", b"NaN", b"-Infinity", b"nan", b"inf",
         b"[" * 200, b'{"a":' * 100, b"[[[[[[[[[[", b"\xff\xfe", b"\xc3", b"\xed\xa0\x80", b'"\\ud800"', b'"', b"\x00",
         b"\\", b"= ", b"\n[[x]]\n", b"[]", b"{}", b"null", b"true", b"-0", b"1979-05-27T07:32:00+23:59", b"''"]
NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
EXAMPLES_PER_TARGET = 700
MAX_SEED_BYTES = 16_384  # mutate only seeds this short (the swarm scenario, 350 kB, is run as it is)


@functools.cache
def seeds(name: str) -> tuple[bytes, ...]:
    return tuple(TARGETS[name].seeds())


@st.composite
def mutated(draw: st.DrawFn, name: str) -> bytes:
    """A seed with one to four edits: a bit flipped, a cut, a deletion, a nasty insertion, a number replaced."""
    data = bytearray(draw(st.sampled_from([s for s in seeds(name) if len(s) <= MAX_SEED_BYTES])))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "cut", "delete", "insert", "number"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "cut":
            del data[at:]
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 32))]
        elif op == "insert":
            data[at:at] = draw(st.sampled_from(NASTY) | st.binary(min_size=1, max_size=8))
        else:
            numbers = list(NUMBER.finditer(data))
            if numbers:
                m = draw(st.sampled_from(numbers))
                data[m.start():m.end()] = draw(st.sampled_from(NASTY))
    return bytes(data)


@pytest.mark.parametrize("name", list(TARGETS))
def test_every_seed_is_accepted(name: str) -> None:
    target = TARGETS[name]
    for seed in seeds(name):
        accepted = target.accepted
        target(seed)
        assert target.accepted == accepted + 1, f"{name} refused its seed {seed[:80]!r}"


@pytest.mark.parametrize("name", list(TARGETS))
def test_mutated_seeds_give_only_the_typed_errors(name: str) -> None:
    """Any other exception propagates out of the target and fails the test, with the input Hypothesis shrank."""
    target = TARGETS[name]

    @settings(max_examples=EXAMPLES_PER_TARGET, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(mutated(name))
    def run(data: bytes) -> None:
        target(data)

    run()
    assert target.rejected > 0
