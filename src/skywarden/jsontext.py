"""JSON from outside (recorded lines, GeoJSON, API bodies) parsed with bounds, so its parsers fail only typed.

``json.loads`` alone can raise RecursionError on deep nesting, at a depth that depends on the caller's stack
(so a live run and its re-run could refuse the same line differently), and a plain ValueError on an integer
too long to convert. :func:`parse_json` refuses nesting beyond a fixed depth before parsing, and turns every
failure into a ValueError whose message the caller prefixes with its own typed error and field.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import numpy as np

MAX_DEPTH = 32  # arrays and objects inside one another; GeoJSON polygons need 6, plots lines 3

# A JSON string, or an unterminated one running to the end: always matches, so the scan stays linear.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")  # the escape of half a UTF-16 pair


def nesting_depth(text: str) -> int:
    """How deeply arrays and objects nest in ``text`` (brackets inside strings do not count)."""
    brackets = _STRING.sub("", text).encode("utf-8", "surrogatepass").translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    codes = np.frombuffer(brackets, np.uint8)
    steps = ((codes >> 1) & 1).astype(np.int64) * 2 - 1  # "[" 0x5B and "{" 0x7B: +1; "]" 0x5D and "}" 0x7D: -1
    return int(np.cumsum(steps).max())


def parse_json(data: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """``data`` (UTF-8 bytes or text) parsed as JSON; a ValueError names the reason: not UTF-8, nested
    deeper than ``max_depth``, or not JSON (including an integer too long to read)."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    if data.count("[") + data.count("{") > max_depth:
        depth = nesting_depth(data)
        if depth > max_depth:
            raise ValueError(f"nested {depth} levels deep (at most {max_depth} arrays and objects)") from None
    try:
        value = json.loads(data)
    except json.JSONDecodeError as exc:
        where = f"column {exc.colno}" if exc.lineno == 1 else f"line {exc.lineno} column {exc.colno}"
        raise ValueError(f"not JSON: {exc.msg.removesuffix(' at')} at {where}") from None
    except ValueError:  # the only other failure: an integer of more digits than int() reads
        raise ValueError(f"not JSON: an integer has more than {sys.get_int_max_str_digits()} digits") from None
    if _SURROGATE.search(data):  # rare: check that no string holds half a pair, which no UTF-8 can encode
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(f"not JSON: a string holds an unpaired surrogate {exc.object[exc.start]!r}") from None
    return value
