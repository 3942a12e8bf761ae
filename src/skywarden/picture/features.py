"""Per-track classification features: what a track's plots and motion say over a sliding window.

Each feature is an exponentially weighted mean (time constant ``tau_s``, so several sensors at other rates
mix fairly) kept as a weighted sum and a weight per track, so a young track's mean is unbiased and its
weight tells how much it rests on. Kinematic features come from the filtered state every scan; plot
features (RCS, SNR, micro-Doppler) only from scans in which the track took a plot. The features are the
ones counter-drone radars use (hover and stop-and-go, straightness, heading rate, speed spread, climb,
RCS level and fluctuation, micro-Doppler spread and class); :data:`FEATURE_NAMES` lists them in order.
All of it runs on arrays over the track table; state is re-indexed by track id once per scan.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

#: Accumulated quantities: kinematic (every scan), plot (scans with a plot), micro-Doppler (plots with one).
_KIN = ("speed", "speed2", "hover", "ve", "vn", "speed_h", "vz", "vz2", "turn2")
_PLOT = ("rcs", "rcs2", "snr", "md", "rotor", "wing")
_MD = ("spread",)
_SUMS = _KIN + _PLOT + _MD
_COL = {name: i for i, name in enumerate(_SUMS)}

FEATURE_NAMES = (
    "log_speed", "speed_std", "speed_cv", "hover_fraction", "straightness", "turn_rate_rms", "climb_mean",
    "climb_std", "altitude_hm", "rcs_mean_dbsm", "rcs_std_db", "snr_mean_db", "md_fraction", "md_log_spread",
    "md_rotor_fraction", "md_wingbeat_fraction", "md_rotor_count", "md_wingbeat_count", "plot_weight", "log_age",
    "velocity_std",
)
HOVER_MPS = 1.5  # horizontal speed under which a track counts as hovering
TURNING_MIN_MPS = 2.0  # heading changes are counted only above this horizontal speed
# A plot's micro-Doppler is rotor-like (blades) when it flashes faster than any wing or wheel turns (wing-beats
# stay under ~15 Hz, a car's wheels at 25 m/s turn at ~14 Hz) or, when no rate was measured, when the moving
# parts are faster than wing tips and wheels (< ~25 m/s over the body); otherwise it is wing-beat-like.
ROTOR_MIN_RATE_HZ = 40.0
ROTOR_MIN_SPREAD_MPS = 30.0
COUNT_SCALE = 10.0  # counts of plots are given as min(count, 10) / 10


@dataclass(frozen=True)
class PlotObservation:
    """This scan's plot for each track row (NaN where the track took none, or the plot lacks the value)."""

    hit: NDArray[np.bool_]
    rcs_dbsm: Array
    snr_db: Array
    md_spread_mps: Array
    md_rate_hz: Array

    @classmethod
    def none(cls, n: int) -> PlotObservation:
        """No plot for any of n tracks."""
        nan = np.full(n, np.nan)
        return cls(np.zeros(n, bool), nan, nan.copy(), nan.copy(), nan.copy())


class TrackSums:
    """Exponentially weighted sums and their weights per track id (``width`` columns, time constant ``tau_s``),
    carried from scan to scan by id: a track that is gone is forgotten, a new one starts from nothing."""

    def __init__(self, tau_s: float, width: int) -> None:
        self.tau_s = tau_s
        self._rows: dict[str, int] = {}  # track id -> row of the arrays below, as of the last scan
        self._sums = np.zeros((0, width))
        self._weights = np.zeros((0, width))
        self._t = np.zeros(0)

    def carry(self, t: float, ids: list[str]) -> tuple[Array, Array, Array, NDArray[np.intp]]:
        """This scan's tracks' sums and weights, decayed to ``t``; the time since each was last seen (0 when
        new); and each one's row in the last scan (-1 when new), for state kept beside the sums."""
        n = len(ids)
        rows = np.array([self._rows.get(i, -1) for i in ids], np.intp).reshape(n)
        old = rows >= 0
        sums, weights, t_last = np.zeros((n, self._sums.shape[1])), np.zeros((n, self._sums.shape[1])), np.full(n, t)
        sums[old], weights[old], t_last[old] = self._sums[rows[old]], self._weights[rows[old]], self._t[rows[old]]
        dt = np.maximum(t - t_last, 0.0)
        decay = (np.exp(-dt / self.tau_s) if self.tau_s > 0 else np.zeros(n))[:, None]
        return sums * decay, weights * decay, dt, rows

    def keep(self, t: float, ids: list[str], sums: Array, weights: Array) -> None:
        """Remember this scan's sums and weights, by track id."""
        self._rows = {i: k for k, i in enumerate(ids)}
        self._sums, self._weights, self._t = sums, weights, np.full(len(ids), t)


class FeatureWindow:
    """Keeps the weighted sums per track id and turns them into the feature matrix each scan."""

    def __init__(self, tau_s: float = 10.0) -> None:
        self._acc = TrackSums(tau_s, len(_SUMS))
        self._heading = np.zeros(0)

    def update(self, t: float, ids: list[str], x: Array, P: Array, t_init: Array,
               obs: PlotObservation) -> Array:
        """Fold one scan into every track's window; returns the (N, F) features (columns :data:`FEATURE_NAMES`)."""
        n = len(ids)
        sums, weights, dt, rows = self._acc.carry(t, ids)
        heading_last = np.full(n, np.nan)
        heading_last[rows >= 0] = self._heading[rows[rows >= 0]]

        vel = x[:, 3:6]
        speed_h = np.hypot(vel[:, 0], vel[:, 1])
        speed = np.sqrt(speed_h**2 + vel[:, 2] ** 2)
        heading = np.arctan2(vel[:, 0], vel[:, 1])
        moving = speed_h >= TURNING_MIN_MPS
        turning = moving & np.isfinite(heading_last) & (dt > 0)
        turn = np.where(turning, np.angle(np.exp(1j * (heading - np.where(turning, heading_last, 0.0))))
                        / np.where(dt > 0, dt, 1.0), 0.0)
        values = {
            "speed": speed, "speed2": speed**2, "hover": (speed_h < HOVER_MPS).astype(float), "ve": vel[:, 0],
            "vn": vel[:, 1], "speed_h": speed_h, "vz": vel[:, 2], "vz2": vel[:, 2] ** 2, "turn2": turn**2,
        }
        every = np.ones(n, bool)
        masks = {name: every for name in _KIN} | {"turn2": turning}
        rcs_ok = obs.hit & np.isfinite(obs.rcs_dbsm)
        snr_ok = obs.hit & np.isfinite(obs.snr_db)
        md_ok = obs.hit & np.isfinite(obs.md_spread_mps)
        rate = np.where(md_ok, obs.md_rate_hz, np.nan)
        rotor = md_ok & np.where(np.isfinite(rate), rate >= ROTOR_MIN_RATE_HZ,
                                 np.where(md_ok, obs.md_spread_mps, 0.0) >= ROTOR_MIN_SPREAD_MPS)
        values |= {
            "rcs": obs.rcs_dbsm, "rcs2": obs.rcs_dbsm**2, "snr": obs.snr_db, "md": md_ok.astype(float),
            "rotor": rotor.astype(float), "wing": (md_ok & ~rotor).astype(float),
            "spread": np.log1p(np.where(md_ok, obs.md_spread_mps, 0.0)),
        }
        masks |= {"rcs": rcs_ok, "rcs2": rcs_ok, "snr": snr_ok, "md": obs.hit, "rotor": obs.hit, "wing": obs.hit,
                  "spread": md_ok}
        for name, col in _COL.items():
            m = masks[name]
            sums[m, col] += np.where(np.isfinite(values[name][m]), values[name][m], 0.0)
            weights[m, col] += 1.0

        self._acc.keep(t, ids, sums, weights)
        self._heading = np.where(moving, heading, heading_last)
        vel_std = np.sqrt(np.maximum(np.trace(P[:, 3:6, 3:6], axis1=1, axis2=2), 0.0) / 3.0)
        return _features(sums, weights, x[:, 2], np.maximum(t - t_init, 0.0), vel_std)


def _mean(sums: Array, weights: Array, name: str, default: float = 0.0) -> Array:
    col = _COL[name]
    w = weights[:, col]
    return np.where(w > 1e-9, sums[:, col] / np.maximum(w, 1e-9), default)


def _features(sums: Array, weights: Array, altitude_m: Array, age_s: Array, vel_std: Array) -> Array:
    """The feature matrix from the weighted sums (means, spreads and the weights behind them)."""
    speed = _mean(sums, weights, "speed")
    speed_std = np.sqrt(np.maximum(_mean(sums, weights, "speed2") - speed**2, 0.0))
    speed_h = _mean(sums, weights, "speed_h")
    straight = np.hypot(_mean(sums, weights, "ve"), _mean(sums, weights, "vn")) / np.maximum(speed_h, 0.5)
    vz = _mean(sums, weights, "vz")
    rcs = _mean(sums, weights, "rcs", np.nan)
    rcs_std = np.sqrt(np.maximum(_mean(sums, weights, "rcs2") - np.nan_to_num(rcs) ** 2, 0.0))
    plot_w = weights[:, _COL["md"]]
    return np.column_stack([
        np.log1p(speed), speed_std, speed_std / (speed + 1.0), _mean(sums, weights, "hover"),
        np.minimum(straight, 1.0), np.sqrt(_mean(sums, weights, "turn2")), vz,
        np.sqrt(np.maximum(_mean(sums, weights, "vz2") - vz**2, 0.0)), altitude_m / 100.0,
        np.nan_to_num(rcs, nan=-20.0), rcs_std, _mean(sums, weights, "snr"), _mean(sums, weights, "md"),
        _mean(sums, weights, "spread"), _mean(sums, weights, "rotor"), _mean(sums, weights, "wing"),
        np.minimum(sums[:, _COL["rotor"]], COUNT_SCALE) / COUNT_SCALE,
        np.minimum(sums[:, _COL["wing"]], COUNT_SCALE) / COUNT_SCALE,
        np.minimum(plot_w, COUNT_SCALE) / COUNT_SCALE, np.log1p(age_s), np.minimum(vel_std, 20.0),
    ])
