"""Recorded plots, truth and tracks as JSON lines: one sensor scan (or one snapshot) per line.

The formats are fixed by the README section "Recorded plots and tracks (JSONL)". Decoding is strict
and every refusal is a :class:`SensorDecodeError` naming the field and the value, so a recorder's bug
shows up as one readable message per bad line rather than as a tracker failure later.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skywarden.jsontext import parse_json
from skywarden.sensors.plots import CoopReport, Coverage, Plots
from skywarden.tracking.management import TrackTable, status_names
from skywarden.tracking.models import POS, VEL

_COMPONENTS = {"enu": (3,), "polar": (3, 4)}

# What a plausible line holds. Beyond these the tracker's arithmetic overflows, or its measurement model stops
# holding (the polar conversion divides by exp(-sigma²/2) of the angle errors), so the decoder refuses them.
T_MAX_S = 1e11  # |t|, seconds from 1970 (about the year 5100)
DISTANCE_MAX_M = 1e8  # positions, ranges (a quarter of the way to the Moon)
SPEED_MAX_MPS = 1e5  # velocities, range rates
DB_MAX = 300.0  # |snr_db|, |rcs_dbsm|
MD_RATE_MAX_HZ = 1e6
_D, _S, _PI = DISTANCE_MAX_M, SPEED_MAX_MPS, math.pi
PLOT_LIMITS = {  # per component: (low, high) of a plot, then of its standard deviation
    "enu": (((-_D, _D),) * 3, ((1e-3, 1e6),) * 3),
    "polar": (((0.0, _D), (-2 * _PI, 2 * _PI), (-2 * _PI, 2 * _PI), (-_S, _S)),  # angles: a turn either way
              ((1e-3, 1e6), (1e-6, 0.5), (1e-6, 0.5), (1e-3, 1e4))),
}


class SensorDecodeError(ValueError):
    """A recorded line that is not a valid scan; the message names the field and the offending value."""


def _show(value: Any, limit: int = 60) -> str:
    """A short JSON-like rendering of a bad value for an error message."""
    try:
        text = json.dumps(value, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _kind(value: Any) -> str:
    return {bool: "a boolean", str: "a string", list: "an array", dict: "an object", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SensorDecodeError(f"{field}: expected a number, got {_kind(value)} {_show(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond the float range
        raise SensorDecodeError(f"{field}: expected a finite number, got {_show(value)}") from None
    if not math.isfinite(number):
        raise SensorDecodeError(f"{field}: expected a finite number, got {_show(value)}")
    return number


def _within(values: NDArray[np.float64], field: str, limits: Sequence[tuple[float, float]] | tuple[float, float]
            ) -> NDArray[np.float64]:
    """``values`` if each lies within its (low, high) (the last axis takes one pair per component); NaN (null)
    passes. Otherwise a SensorDecodeError naming the first one outside, by index."""
    lo, hi = np.asarray(limits, float).T
    bad = (values < lo) | (values > hi)
    if bad.any():
        at = np.unravel_index(int(np.argmax(bad)), bad.shape)
        lo_at, hi_at = np.broadcast_to(lo, values.shape)[at], np.broadcast_to(hi, values.shape)[at]
        raise SensorDecodeError(f"{field}{''.join(f'[{i}]' for i in at)}: expected a number from {lo_at:g} to "
                                f"{hi_at:g}, got {_show(float(values[at]))}")
    return values


def _vector(value: Any, field: str, sizes: tuple[int, ...]) -> NDArray[np.float64]:
    """A flat array of finite numbers with one of the allowed lengths."""
    if not isinstance(value, list):
        raise SensorDecodeError(f"{field}: expected an array of numbers, got {_kind(value)} {_show(value)}")
    if len(value) not in sizes:
        want = " or ".join(map(str, sizes))
        raise SensorDecodeError(f"{field}: expected {want} components, got {len(value)}: {_show(value)}")
    return np.array([_number(v, f"{field}[{i}]") for i, v in enumerate(value)], float)


def _plot_rows(value: Any, k: int) -> NDArray[np.float64]:
    """The ``plots`` array as (n, k): one NumPy conversion on the good path, a precise message on the bad one."""
    if not isinstance(value, list):
        raise SensorDecodeError(f"plots: expected an array of plots, got {_kind(value)} {_show(value)}")
    if not value:
        return np.zeros((0, k))
    try:
        z = np.array(value, dtype=float)
        good = z.ndim == 2 and z.shape[1] == k and bool(np.isfinite(z).all())
        good = good and all(isinstance(row, list) for row in value)
        good = good and not any(isinstance(v, bool) for row in value for v in row)
    except (TypeError, ValueError, OverflowError):
        good = False
    if good:
        return z
    for i, row in enumerate(value):  # find the first culprit and name it
        _vector(row, f"plots[{i}]", (k,))
    raise SensorDecodeError(f"plots: not an array of plots with {k} components: {_show(value)}")  # pragma: no cover


def _optional_per_plot(obj: dict[str, Any], field: str, n: int, limits: tuple[float, float], *,
                       non_negative: bool = False) -> NDArray[np.float64]:
    """``snr_db``, ``rcs_dbsm``, ``md_spread_mps``, ``md_rate_hz``: absent, or one number (or null) per plot."""
    value = obj.get(field)
    if value is None:
        return np.full(n, np.nan)
    if not isinstance(value, list) or len(value) != n:
        raise SensorDecodeError(f"{field}: expected an array of {n} numbers or nulls (one per plot), got {_show(value)}")
    out = np.array([np.nan if v is None else _number(v, f"{field}[{i}]") for i, v in enumerate(value)], float)
    if non_negative and (out < 0.0).any():
        i = int(np.argmax(out < 0.0))
        raise SensorDecodeError(f"{field}[{i}]: expected a non-negative number or null, got {_show(value[i])}")
    return _within(out, field, limits)


def _coverage(value: Any) -> Coverage | None:
    """Optional ``coverage``: ``{"range_m": [min, max], "elevation_rad": [min, max]}``; either key may be left
    out, and a ``null`` maximum range means unbounded."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"range_m", "elevation_rad"}:
        raise SensorDecodeError(f'coverage: expected {{"range_m": [min, max], "elevation_rad": [min, max]}}, '
                                f"got {_show(value)}")
    range_m = value.get("range_m", [0.0, None])
    unbounded = isinstance(range_m, list) and len(range_m) == 2 and range_m[1] is None
    r_lo, r_hi = _vector([range_m[0], 0.0] if unbounded else range_m, "coverage.range_m", (2,))
    r_hi = math.inf if unbounded else r_hi
    el_lo, el_hi = _vector(value.get("elevation_rad", [-math.pi / 2, math.pi / 2]), "coverage.elevation_rad", (2,))
    try:
        return Coverage(float(r_lo), float(r_hi), float(el_lo), float(el_hi))
    except ValueError as exc:
        raise SensorDecodeError(str(exc).replace("Coverage:", "coverage:", 1)) from None


def decode_plots(line: str | bytes) -> Plots:
    """One recorded line -> the :class:`Plots` of that scan; raises :class:`SensorDecodeError` if malformed."""
    return _plots_from(_json_object(line))


def _plots_from(obj: dict[str, Any]) -> Plots:
    for key in ("t", "sensor", "frame", "sigma", "plots"):
        if key not in obj:
            raise SensorDecodeError(f"{key}: missing (a scan line needs t, sensor, frame, sigma and plots)")
    t = float(_within(np.array(_number(obj["t"], "t")), "t", (-T_MAX_S, T_MAX_S)))
    sensor = obj["sensor"]
    if not isinstance(sensor, str) or not sensor:
        raise SensorDecodeError(f"sensor: expected a non-empty string, got {_kind(sensor)} {_show(sensor)}")
    frame = obj["frame"]
    if frame not in ("enu", "polar"):  # a tuple: an unhashable value compares unequal rather than raising
        raise SensorDecodeError(f'frame: expected "enu" or "polar", got {_show(frame)}')
    if "sensor_enu_m" in obj:
        sensor_enu_m = _within(_vector(obj["sensor_enu_m"], "sensor_enu_m", (3,)), "sensor_enu_m", (-_D, _D))
    elif frame == "polar":
        raise SensorDecodeError("sensor_enu_m: missing (polar plots are relative to the sensor position)")
    else:
        sensor_enu_m = np.zeros(3)
    sigma = _vector(obj["sigma"], "sigma", _COMPONENTS[frame])
    for i, s in enumerate(sigma):
        if s <= 0:
            raise SensorDecodeError(f"sigma[{i}]: expected a positive standard deviation, got {_show(float(s))}")
    plot_limits, sigma_limits = (limits[: len(sigma)] for limits in PLOT_LIMITS[frame])
    _within(sigma, "sigma", sigma_limits)
    z = _within(_plot_rows(obj["plots"], len(sigma)), "plots", plot_limits)
    snr_db = _optional_per_plot(obj, "snr_db", len(z), (-DB_MAX, DB_MAX))
    rcs_dbsm = _optional_per_plot(obj, "rcs_dbsm", len(z), (-DB_MAX, DB_MAX))
    md_spread = _optional_per_plot(obj, "md_spread_mps", len(z), (0.0, _S), non_negative=True)
    md_rate = _optional_per_plot(obj, "md_rate_hz", len(z), (0.0, MD_RATE_MAX_HZ), non_negative=True)
    try:
        return Plots(sensor_id=sensor, t=t, sensor_enu_m=sensor_enu_m, z=z, sigma=sigma, snr_db=snr_db,
                     rcs_dbsm=rcs_dbsm, frame=frame, coverage=_coverage(obj.get("coverage")),
                     md_spread_mps=md_spread, md_rate_hz=md_rate)
    except ValueError as exc:  # a rule of Plots this decoder does not check itself
        raise SensorDecodeError(str(exc)) from None


def _json_object(line: str | bytes) -> dict[str, Any]:
    """One line parsed as a JSON object, or a :class:`SensorDecodeError` saying why not (not UTF-8, not
    JSON, nested too deeply)."""
    try:
        obj = parse_json(line)
    except ValueError as exc:
        raise SensorDecodeError(f"line is {exc}") from None
    if not isinstance(obj, dict):
        raise SensorDecodeError(f"line: expected a JSON object, got {_kind(obj)} {_show(obj)}")
    return obj


def encode_coop(report: CoopReport) -> str:
    """A cooperative report -> its line: ``{"t", "uas_id", "source", "position_enu_m", "velocity_enu_mps"}``."""
    return json.dumps({"t": report.t, "uas_id": report.uas_id, "source": report.source,
                       "position_enu_m": report.position_enu_m.tolist(),
                       "velocity_enu_mps": report.velocity_enu_mps.tolist()}, separators=(",", ":"), allow_nan=False)


def decode_coop(line: str | bytes) -> CoopReport:
    """One cooperative-report line -> :class:`CoopReport`; raises :class:`SensorDecodeError` if malformed."""
    return _coop_from(_json_object(line))


def _coop_from(obj: dict[str, Any]) -> CoopReport:
    for key in ("t", "uas_id", "position_enu_m", "velocity_enu_mps"):
        if key not in obj:
            raise SensorDecodeError(f"{key}: missing (a cooperative report needs t, uas_id, position_enu_m and "
                                    f"velocity_enu_mps)")
    uas_id, source = obj["uas_id"], obj.get("source", "remote-id")
    for name, value in (("uas_id", uas_id), ("source", source)):
        if not isinstance(value, str) or not value:
            raise SensorDecodeError(f"{name}: expected a non-empty string, got {_kind(value)} {_show(value)}")
    return CoopReport(t=float(_within(np.array(_number(obj["t"], "t")), "t", (-T_MAX_S, T_MAX_S))),
                      uas_id=uas_id, source=source,
                      position_enu_m=_within(_vector(obj["position_enu_m"], "position_enu_m", (3,)),
                                             "position_enu_m", (-_D, _D)),
                      velocity_enu_mps=_within(_vector(obj["velocity_enu_mps"], "velocity_enu_mps", (3,)),
                                               "velocity_enu_mps", (-_S, _S)))


def decode_input(data: str | bytes) -> Plots | CoopReport:
    """A raw input line of either kind: a sensor scan (it has ``plots``) or a cooperative report."""
    obj = _json_object(data)
    return _plots_from(obj) if "plots" in obj else _coop_from(obj)


def _nullable(values: NDArray[np.float64]) -> list[float | None]:
    return [None if math.isnan(v) else v for v in values.tolist()]


def encode_plots(plots: Plots) -> str:
    """A :class:`Plots` -> its line (no newline); floats are written exactly, so decoding gives it back."""
    obj: dict[str, Any] = {
        "t": plots.t, "sensor": plots.sensor_id, "sensor_enu_m": plots.sensor_enu_m.tolist(),
        "frame": plots.frame, "sigma": plots.sigma.tolist(), "plots": plots.z.tolist(),
    }
    for name in ("snr_db", "rcs_dbsm", "md_spread_mps", "md_rate_hz"):
        values: NDArray[np.float64] = getattr(plots, name)
        if not np.isnan(values).all():
            obj[name] = _nullable(values)
    if plots.coverage is not None:
        c = plots.coverage
        obj["coverage"] = {"range_m": [c.min_range_m, c.max_range_m if math.isfinite(c.max_range_m) else None],
                           "elevation_rad": [c.min_elevation_rad, c.max_elevation_rad]}
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


def encode_tracks(table: TrackTable) -> str:
    """A track table snapshot -> one output line: time, and each track's id, status, position and velocity.

    Written with f-strings rather than ``json.dumps`` of dicts (about twice as fast for 1,000 tracks);
    ``repr`` of a finite float is exactly what ``json`` writes, so the line is the same.
    """
    state = np.concatenate([table.x[:, POS], table.x[:, VEL]], axis=1)
    if not (math.isfinite(table.t) and np.isfinite(state).all()):
        raise ValueError(f"track table at t={table.t} holds a NaN or infinite time or state")
    names = status_names(table.status)
    tracks = ",".join(
        f'{{"id":{json.dumps(i)},"status":"{s}","position_enu_m":[{e!r},{n!r},{u!r}],'
        f'"velocity_enu_mps":[{ve!r},{vn!r},{vu!r}]}}'
        for i, s, (e, n, u, ve, vn, vu) in zip(table.id.tolist(), names, state.tolist(), strict=True)
    )
    return f'{{"t":{float(table.t)!r},"tracks":[{tracks}]}}'


def encode_truth(t: float, ids: Sequence[str], kinds: Sequence[str], pos: NDArray[np.float64],
                 vel: NDArray[np.float64], alive: NDArray[np.bool_] | None = None,
                 in_coverage: NDArray[np.bool_] | None = None) -> str:
    """Truth at ``t`` -> one line listing the objects alive then (rows in ``ids`` order; all alive if not given)."""
    rows = np.arange(len(ids)) if alive is None else np.flatnonzero(alive)
    covered = np.ones(len(ids), bool) if in_coverage is None else in_coverage
    objects = [{"id": ids[j], "kind": kinds[j], "position_enu_m": p, "velocity_enu_mps": v, "in_coverage": bool(c)}
               for j, p, v, c in zip(rows.tolist(), pos[rows].tolist(), vel[rows].tolist(), covered[rows], strict=True)]
    return json.dumps({"t": t, "truth": objects}, separators=(",", ":"), allow_nan=False)
