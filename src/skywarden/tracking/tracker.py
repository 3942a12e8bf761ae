"""The multi-target tracker: one scan of plots in, track table and events out.

Like Stone Soup's simple tracker it only composes the pieces: predictor and updater
(:mod:`.filters`), hypothesiser (:mod:`.gating`), associator (:mod:`.association`), initiator and
deleter (:mod:`.management`). It sees plots only, never truth.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from skywarden.config import RadarConfig
from skywarden.events import Event, TrackConfirmed, TrackLost
from skywarden.sensors import Plots
from skywarden.tracking import association, filters, gating, jpda, management
from skywarden.tracking.management import TrackTable
from skywarden.tracking.models import POS, plots_to_enu

# No track is predicted further than this: one not updated for a day was lost long before, and predicting
# across such a gap overflows the covariance arithmetic (from about 1e7 s). It is deleted before the scan.
MAX_PREDICTION_S = 86_400.0

Array = NDArray[np.float64]
Index = NDArray[np.intp]


class TrackingError(ValueError):
    """The tracker was handed input it cannot use (e.g. a scan older than the track states)."""


@dataclass(frozen=True)
class TrackerParams:
    """Tracker settings; the defaults suit small drones and birds seen by one radar scanning every second.

    The filter is an IMM of constant-velocity models that differ in process noise (white-noise
    acceleration spectral density, m²/s³, horizontal and vertical): a quiet one that gives steady
    velocities on straight legs, so crossing targets keep their ids, and a manoeuvring one (about
    5.5 m/s of velocity change per 1 s scan) that holds drones through 180° turns at 10 m/s² lateral.
    The gate is wider than the usual 0.999 because a constant-velocity prediction lags in turns.
    ``turn_rates_radps`` (one per model, default all 0 = CV) makes models coordinated-turn ones at a
    fixed rate, e.g. a bank ``(0, 0, 0.2, -0.2)`` for left and right turns.

    ``measurement_update``: ``"converted"`` updates with polar plots converted to ENU; ``"ekf"`` with
    the polar plots themselves by an EKF, using the range rate when the plots carry one (gating,
    association and JPDA's IMM model probabilities use the converted plots either way).
    ``associator``: ``"gnn"``, or ``"jpda"`` for confirmed tracks (tentative ones then take the plots
    JPDA left by GNN), with ``detection_probability`` and ``clutter_density_per_m3``.
    ``initiation``: ``"one_point"`` starts a tentative track at every unused plot (velocity unknown);
    ``"two_point"`` only from an unused plot and one of the previous scan within ``max_initial_speed_mps``
    of it (velocity from their difference), the track counting both as hits.
    ``rcs_gate_db`` (feature-aided gating): a plot whose RCS is further than this from a track's mean RCS
    is not that track's, so a track cannot hop from a car (0 to +10 dBsm) to a bird (−25 to −15 dBsm) flying
    over it; a Swerling-1 target's plots fall further than 15 dB below its mean in dB about 3 % of the time
    (a missed plot, no more) and never rise that far above it. ``None`` turns it off (plots without an RCS
    always pass).
    """

    q_m2s3: tuple[float, ...] = (0.1, 30.0)  # per IMM model, horizontal
    q_vertical_m2s3: tuple[float, ...] = (0.05, 3.0)
    turn_rates_radps: tuple[float, ...] | None = None  # per IMM model; None: all constant velocity
    measurement_update: Literal["converted", "ekf"] = "converted"
    associator: Literal["gnn", "jpda"] = "gnn"
    initiation: Literal["one_point", "two_point"] = "one_point"
    detection_probability: float = 0.9
    clutter_density_per_m3: float = 1e-10  # e.g. 10 false plots per scan in 10 km x 10 km x 1 km
    jpda_max_tracks: int = 8  # larger clusters with shared plots get Fitzgerald's cheap JPDA
    jpda_max_events: int = 20_000
    model_stay_probability: float = 0.99  # per 1 s scan: mean sojourn 100 s in a model
    initial_model_probabilities: tuple[float, ...] = (0.5, 0.5)
    gate_probability: float = 0.9999
    confirm_m: int = 3  # confirmed with M hits in the first N scans
    confirm_n: int = 4
    max_misses: int = 5  # consecutive misses (in scans that could see it) that delete a confirmed track
    max_coast_s: float = 10.0  # a track no plot has updated for this long is deleted (e.g. out of coverage)
    max_position_std_m: float = 500.0
    initial_speed_std_mps: float = 40.0
    initial_vertical_speed_std_mps: float = 10.0
    max_initial_speed_mps: float = 60.0  # a track started from one plot gates only plots this fast
    rcs_gate_db: float | None = 15.0

    def __post_init__(self) -> None:
        if not 1 <= self.confirm_m <= self.confirm_n <= 32:
            raise ValueError(f"need 1 <= confirm_m <= confirm_n <= 32 (got {self.confirm_m}, {self.confirm_n})")
        if not 0.0 < self.gate_probability < 1.0:
            raise ValueError(f"gate_probability must be in (0, 1) (got {self.gate_probability})")
        if self.rcs_gate_db is not None and not self.rcs_gate_db > 0.0:
            raise ValueError(f"rcs_gate_db must be positive or None (got {self.rcs_gate_db})")
        if self.max_misses < 1:
            raise ValueError(f"max_misses must be at least 1 (got {self.max_misses})")
        if not self.max_coast_s > 0.0:
            raise ValueError(f"max_coast_s must be positive (got {self.max_coast_s})")
        m = len(self.q_m2s3)
        if m < 1 or len(self.q_vertical_m2s3) != m or len(self.initial_model_probabilities) != m:
            raise ValueError(
                f"q_m2s3, q_vertical_m2s3 and initial_model_probabilities need one value per IMM model "
                f"(got {len(self.q_m2s3)}, {len(self.q_vertical_m2s3)}, {len(self.initial_model_probabilities)})"
            )
        if not np.isclose(sum(self.initial_model_probabilities), 1.0):
            raise ValueError(f"initial_model_probabilities must sum to 1 (got {self.initial_model_probabilities})")
        if self.turn_rates_radps is not None and len(self.turn_rates_radps) != m:
            raise ValueError(f"turn_rates_radps needs one value per IMM model (got {len(self.turn_rates_radps)})")
        if self.measurement_update not in ("converted", "ekf") or self.associator not in ("gnn", "jpda"):
            raise ValueError(f"unknown measurement_update {self.measurement_update!r} or associator {self.associator!r}")
        if self.initiation not in ("one_point", "two_point") or (self.initiation == "two_point" and self.confirm_n < 2):
            raise ValueError(f"initiation must be one_point or two_point (which needs confirm_n >= 2), got {self.initiation!r}")
        if not (0.0 < self.detection_probability <= 1.0 and self.clutter_density_per_m3 > 0.0):
            raise ValueError("detection_probability must be in (0, 1] and clutter_density_per_m3 positive")
        if not 0.0 < self.model_stay_probability <= 1.0:
            raise ValueError(f"model_stay_probability must be in (0, 1] (got {self.model_stay_probability})")

    def transition(self) -> NDArray[np.float64]:
        """(M, M) IMM model transition matrix per scan: stay with the stay probability, else switch evenly."""
        m = len(self.q_m2s3)
        if m == 1:
            return np.ones((1, 1))
        off = (1.0 - self.model_stay_probability) / (m - 1)
        return np.full((m, m), off) + np.eye(m) * (self.model_stay_probability - off)

    def turn_rates(self) -> tuple[float, ...]:
        """Turn rate of each IMM model (rad/s, 0 for constant velocity)."""
        return self.turn_rates_radps if self.turn_rates_radps is not None else (0.0,) * len(self.q_m2s3)


def with_radar_model(
    params: TrackerParams, radar: RadarConfig, typical_rcs_m2: float = 0.01, typical_range_m: float | None = None
) -> TrackerParams:
    """``params`` with Pd and clutter density from a radar's configuration, for JPDA.

    Pd is the Swerling-1 ``Pfa ** (1 / (1 + SNR))`` of a ``typical_rcs_m2`` target (a small drone) at
    ``typical_range_m`` (default half the maximum range), with ``SNR = SNR(1 m², 1 km) RCS (1 km / R)⁴``;
    the clutter density is the false plots per scan spread over the coverage volume (the spherical
    shell between the range limits, within the elevation limits).
    """
    r = radar.max_range_m / 2.0 if typical_range_m is None else typical_range_m
    snr = 10.0 ** (radar.snr_1m2_1km_db / 10.0) * typical_rcs_m2 * (1000.0 / r) ** 4
    el_lo, el_hi = np.deg2rad([radar.min_elevation_deg, radar.max_elevation_deg])
    volume_m3 = 2.0 * np.pi / 3.0 * (radar.max_range_m**3 - radar.min_range_m**3) * (np.sin(el_hi) - np.sin(el_lo))
    density = max(radar.false_alarms_per_scan, 1e-3) / volume_m3  # never zero: JPDA divides by it
    return replace(params, detection_probability=float(radar.pfa ** (1.0 / (1.0 + snr))),
                   clutter_density_per_m3=float(density))


@dataclass(frozen=True)
class _Waiting:
    """Plots of the last scan that no track took, waiting for a second plot (two-point initiation)."""

    t: float
    z: Array
    R: Array
    rcs_dbsm: Array


class Tracker:
    """Multi-target tracker: IMM Kalman filters, GNN or JPDA association, M-of-N logic (see :class:`TrackerParams`).

    Scans of several sensors (each ``Plots`` carries its sensor's position, accuracy and coverage) may be
    fed in time order to update the one table: sequential fusion. A scan counts as a hit or a miss only
    for the tracks inside its coverage.

    ``last_assignment`` maps the id of every track that took a plot in the last step, and of every
    track a plot started, to that plot's index in the scan.
    """

    def __init__(self, params: TrackerParams | None = None) -> None:
        self.params = params or TrackerParams()
        self._table = management.empty_table(n_models=len(self.params.q_m2s3))
        self._transition = self.params.transition()
        self._next_number = 1
        self._waiting: _Waiting | None = None
        self._assigned: tuple[NDArray[np.str_], Index] = (np.zeros(0, np.str_), np.zeros(0, np.intp))

    @property
    def last_assignment(self) -> dict[str, int]:
        """Track id -> index of the plot it took (or was started from) in the last step."""
        ids, plots = self._assigned
        return dict(zip(ids.tolist(), plots.tolist(), strict=True))

    @property
    def assigned_plots(self) -> tuple[NDArray[np.str_], Index]:
        """The ids of the tracks that took (or were started from) a plot in the last step, and those plots' indices."""
        return self._assigned

    @property
    def table(self) -> TrackTable:
        """The track table after the last step (read-only arrays)."""
        return self._table

    def step(self, plots: Plots) -> list[Event]:
        """Predict to ``plots.t``, gate, associate, update, then initiate, confirm and delete tracks."""
        p, table, t = self.params, self._table, plots.t
        if t < table.t:
            raise TrackingError(f"plots.t={t} is before the track states' time {table.t}")
        stale = t - table.t_update > MAX_PREDICTION_S
        stale_lost = table.id[stale & (table.status != management.Status.TENTATIVE)]
        if stale.any():  # rare: a copy of the whole table only then, not every scan
            table = management.select(table, ~stale)
        z, R = plots_to_enu(plots)

        xm, Pm, mu = self._predict(table, t)
        pos, P_pos = filters.imm_combine(xm[..., POS], Pm[..., POS, POS], mu)  # all that gating needs
        single = table.n_hits == 1
        max_travel = np.where(single, p.max_initial_speed_mps * (t - table.t_update), np.inf)
        cand = gating.gate(pos, P_pos, z, R, p.gate_probability, max_travel)
        if p.rcs_gate_db is not None:
            cand = cand.subset(~(np.abs(plots.rcs_dbsm[cand.plot] - table.rcs_dbsm[cand.track]) > p.rcs_gate_db))
        cand = gating.with_imm_cost(cand, xm, Pm, mu, z, R)
        confirmed_before = table.status != management.Status.TENTATIVE
        taken = np.zeros(len(plots), bool)  # plots that start no track
        if p.associator == "jpda":
            rows, hits = self._jpda(cand, xm, Pm, mu, plots, z, R, confirmed_before, taken)
        else:
            rows, hits = association.gnn_prioritised(cand, len(table), len(plots), confirmed_before)
            self._update_assigned(cand, xm, Pm, mu, rows, hits, plots, z)
        taken[hits] = True
        x, P = filters.imm_combine(xm, Pm, mu)

        seen = None if plots.coverage is None else plots.coverage.contains(x[:, POS] - plots.sensor_enu_m)
        table = management.record_scan(
            table, t, rows, plots.rcs_dbsm[hits], p.confirm_n, seen, x=x, P=P, xm=xm, Pm=Pm, mu=mu
        )
        assigned_ids = table.id[rows]
        table, confirmed, lost = management.confirm_and_delete(
            table, p.confirm_m, p.confirm_n, p.max_misses, p.max_position_std_m, p.max_coast_s
        )

        fresh = np.flatnonzero(~taken)
        if p.initiation == "two_point":
            born, fresh = self._initiate_two_point(plots, z, R, fresh)
        else:
            born = management.initiate(
                z[fresh], R[fresh], plots.rcs_dbsm[fresh], t, self._next_number,
                p.initial_speed_std_mps, p.initial_vertical_speed_std_mps, p.initial_model_probabilities,
            )
        self._next_number += len(born)
        self._assigned = (np.concatenate([assigned_ids, born.id]), np.concatenate([hits, fresh]))
        self._table = management.concat(table, born).frozen()

        events: list[Event] = [
            TrackConfirmed(t=t, track_id=str(table.id[i]), position_enu_m=(float(e), float(n), float(u)))
            for i, (e, n, u) in zip(confirmed, table.x[confirmed][:, POS], strict=True)
        ]
        events += [TrackLost(t=t, track_id=str(track_id)) for track_id in (*stale_lost, *lost)]
        return events

    def _initiate_two_point(self, plots: Plots, z: Array, R: Array, fresh: Index) -> tuple[TrackTable, Index]:
        """Tracks from pairs of a waiting plot (unused in the previous scan) and a fresh one; the fresh plots
        left over wait for the next scan. Returns the new tracks and the plots that started them."""
        p, w, t = self.params, self._waiting, plots.t
        if w is None or t <= w.t:  # nothing waits, or a scan at the same time: no velocity from a pair
            born, used = management.empty_table(t, len(p.q_m2s3)), np.zeros(0, np.intp)
        else:
            old, new = management.pair_plots(
                w.z, w.R, z[fresh], R[fresh], p.max_initial_speed_mps * (t - w.t),
                gating.gate_threshold(p.gate_probability),
            )
            used = fresh[new]
            born = management.initiate_two_point(
                w.z[old], w.R[old], w.rcs_dbsm[old], w.t, z[used], R[used], plots.rcs_dbsm[used], t,
                self._next_number, p.confirm_n, p.initial_model_probabilities,
            )
        left = np.setdiff1d(fresh, used)
        self._waiting = _Waiting(t, z[left], R[left], plots.rcs_dbsm[left])
        return born, used

    def _update_assigned(
        self, cand: gating.Candidates, xm: Array, Pm: Array, mu: Array, rows: Index, hits: Index, plots: Plots, z: Array
    ) -> None:
        """Update the IMM states of ``rows`` in place with one plot each (gated pairs of ``cand``), and their
        model probabilities."""
        if self.params.measurement_update == "ekf" and plots.frame == "polar":
            loglik = np.empty((len(rows), xm.shape[1]))
            for j in range(xm.shape[1]):
                xm[rows, j], Pm[rows, j], loglik[:, j] = filters.ekf_polar_update(
                    xm[rows, j], Pm[rows, j], plots.z[hits], plots.sigma, plots.sensor_enu_m
                )
        else:  # every model of every row in one batch, with the S⁻¹ computed for scoring
            assert cand.model_s_inv is not None and cand.model_det_s is not None
            k = cand.pairs(rows, hits)
            xm[rows], Pm[rows], loglik = filters.update_with_inverse(
                xm[rows], Pm[rows], z[hits, None], cand.model_s_inv[k], cand.model_det_s[k]
            )
        weights = mu[rows] * np.exp(loglik - loglik.max(axis=1, keepdims=True))
        mu[rows] = weights / weights.sum(axis=1, keepdims=True)

    def _jpda(
        self, cand: gating.Candidates, xm: Array, Pm: Array, mu: Array, plots: Plots, z: Array, R: Array,
        confirmed: NDArray[np.bool_], used: NDArray[np.bool_],
    ) -> tuple[Index, Index]:
        """JPDA update of the confirmed tracks in place, then GNN of the tentative ones on the plots left.

        A confirmed track counts as hit when a detection is more likely than a miss (``β0 < 0.5``), and
        takes its most likely plot as its own (for RCS and ``last_assignment``); a plot whose marginals
        sum to at least 0.5 is marked in ``used`` (it starts no track, nor goes to a tentative track).
        """
        p, n, n_plots = self.params, len(mu), len(z)
        first = cand.subset(confirmed[cand.track])
        pair_ll = jpda.pair_model_loglik(first, xm, Pm, z, R)
        top = pair_ll.max(axis=1, keepdims=True) if len(first) else np.zeros((0, 1))
        mixture_ll = (top + np.log((mu[first.track] * np.exp(pair_ll - top)).sum(axis=1, keepdims=True)))[:, 0]
        marg = jpda.marginals(
            first, mixture_ll, n, n_plots, p.detection_probability, p.clutter_density_per_m3,
            p.gate_probability, p.jpda_max_tracks, p.jpda_max_events,
        )
        if len(first):
            ekf = p.measurement_update == "ekf" and plots.frame == "polar"
            for j in range(xm.shape[1]):
                if ekf:
                    upd, x_j, P_j = jpda.pda_update_polar(
                        xm[:, j], Pm[:, j], plots.z, plots.sigma, plots.sensor_enu_m, first.track, first.plot,
                        marg.beta, marg.beta0,
                    )
                else:
                    upd, x_j, P_j = jpda.pda_update(
                        xm[:, j], Pm[:, j], z, R, first.track, first.plot, marg.beta, marg.beta0
                    )
                xm[upd, j], Pm[upd, j] = x_j, P_j
            mu[:] = jpda.model_probabilities(mu, first.track, pair_ll, marg.beta, marg.beta0)
        used |= np.bincount(first.plot, marg.beta, n_plots) >= 0.5
        jpda_rows = np.flatnonzero(confirmed & (marg.beta0 < 0.5))
        best = np.full(n, -1, np.intp)
        order = np.lexsort((marg.beta, first.track))  # per track ascending beta: the last one wins
        best[first.track[order]] = first.plot[order]

        second = cand.subset(~confirmed[cand.track] & ~used[cand.plot])
        rows, hits = association.gnn(second, n, n_plots)
        self._update_assigned(cand, xm, Pm, mu, rows, hits, plots, z)
        all_rows, all_hits = np.concatenate([jpda_rows, rows]), np.concatenate([best[jpda_rows], hits])
        by_track = np.argsort(all_rows, kind="stable")
        return all_rows[by_track], all_hits[by_track]

    def _predict(self, table: TrackTable, t: float) -> tuple[NDArray[np.float64], ...]:
        """IMM predictor: mix the model states, then predict each model to ``t`` with its own noise."""
        x0, P0, mu = filters.imm_mix(table.xm, table.Pm, table.mu, self._transition)
        p = self.params
        x0, P0 = filters.imm_predict(x0, P0, t - table.t, p.q_m2s3, p.q_vertical_m2s3, p.turn_rates())
        return x0, P0, mu
