"""Bounded JSON parsing of outside input: the nesting depth read from the text, every failure a ValueError."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skywarden.jsontext import MAX_DEPTH, nesting_depth, parse_json

values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(alphabet='[]{}"\\ab,:\n'),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(alphabet='[]{}"\\k'), inner, max_size=3),
    max_leaves=40,
)


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    return 0


@given(values)
def test_the_depth_read_from_the_text_is_the_depth_of_the_value(value: Any) -> None:
    """Brackets inside strings (escaped quotes included) do not count."""
    text = json.dumps(value)
    assert nesting_depth(text) == depth(value)
    assert parse_json(text.encode()) == value


@given(values, st.integers(1, 60))
def test_values_nested_beyond_the_limit_are_refused_before_parsing(value: Any, extra: int) -> None:
    for _ in range(extra):
        value = [value]
    deep = depth(value)
    if deep > MAX_DEPTH:
        with pytest.raises(ValueError, match=f"nested {deep} levels deep \\(at most {MAX_DEPTH} arrays and objects\\)"):
            parse_json(json.dumps(value))
    else:
        assert parse_json(json.dumps(value)) == value


@pytest.mark.parametrize(("data", "reason"), [
    (b"\xff", "not UTF-8 text: invalid start byte at byte 0"),
    (b"[1,", "not JSON: Expecting value at column 4"),
    (b"[1,\n", "not JSON: Expecting value at line 2 column 1"),
    (b"9" * 5000, "not JSON: an integer has more than 4300 digits"),
    (b'["\\udc00"]', "not JSON: a string holds an unpaired surrogate '\\udc00'"),
    (b"[" * 33 + b"]" * 33, "nested 33 levels deep"),
])
def test_each_failure_is_a_value_error_saying_why(data: bytes, reason: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_json(data)
    assert str(info.value) == reason or str(info.value).startswith(reason)


def test_a_surrogate_pair_is_text_and_a_huge_integer_is_a_number() -> None:
    assert parse_json(b'["\\ud83d\\ude00"]') == ["\U0001f600"]
    assert parse_json(b"1" + b"0" * 400) == 10**400  # the caller's field check refuses it, naming the field


@pytest.mark.parametrize("text", ['"\\"' * 200_000, "[" + '"\\\\' * 200_000, "{" * 200_000, '["' + "[" * 200_000])
def test_the_depth_scan_stays_linear_on_hostile_text(text: str) -> None:
    start = time.perf_counter()
    with pytest.raises(ValueError):
        parse_json(text)
    assert time.perf_counter() - start < 1.0
