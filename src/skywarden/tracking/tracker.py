"""The multi-target tracker: one scan of plots in, track table and events out.

Like Stone Soup's simple tracker it only composes the pieces: predictor and updater
(:mod:`.filters`), hypothesiser (:mod:`.gating`), associator (:mod:`.association`), initiator and
deleter (:mod:`.management`). It sees plots only, never truth.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from skywarden.events import Event, TrackConfirmed, TrackLost
from skywarden.sensors import Plots
from skywarden.tracking import association, filters, gating, management
from skywarden.tracking.management import TrackTable
from skywarden.tracking.models import POS, plots_to_enu


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
    """

    q_m2s3: tuple[float, ...] = (0.1, 30.0)  # per IMM model, horizontal
    q_vertical_m2s3: tuple[float, ...] = (0.05, 3.0)
    model_stay_probability: float = 0.99  # per 1 s scan: mean sojourn 100 s in a model
    initial_model_probabilities: tuple[float, ...] = (0.5, 0.5)
    gate_probability: float = 0.9999
    confirm_m: int = 3  # confirmed with M hits in the first N scans
    confirm_n: int = 4
    max_misses: int = 5  # consecutive misses that delete a confirmed track
    max_position_std_m: float = 500.0
    initial_speed_std_mps: float = 40.0
    initial_vertical_speed_std_mps: float = 10.0
    max_initial_speed_mps: float = 60.0  # a track started from one plot gates only plots this fast

    def __post_init__(self) -> None:
        if not 1 <= self.confirm_m <= self.confirm_n <= 32:
            raise ValueError(f"need 1 <= confirm_m <= confirm_n <= 32 (got {self.confirm_m}, {self.confirm_n})")
        if not 0.0 < self.gate_probability < 1.0:
            raise ValueError(f"gate_probability must be in (0, 1) (got {self.gate_probability})")
        if self.max_misses < 1:
            raise ValueError(f"max_misses must be at least 1 (got {self.max_misses})")
        m = len(self.q_m2s3)
        if m < 1 or len(self.q_vertical_m2s3) != m or len(self.initial_model_probabilities) != m:
            raise ValueError(
                f"q_m2s3, q_vertical_m2s3 and initial_model_probabilities need one value per IMM model "
                f"(got {len(self.q_m2s3)}, {len(self.q_vertical_m2s3)}, {len(self.initial_model_probabilities)})"
            )
        if not np.isclose(sum(self.initial_model_probabilities), 1.0):
            raise ValueError(f"initial_model_probabilities must sum to 1 (got {self.initial_model_probabilities})")
        if not 0.0 < self.model_stay_probability <= 1.0:
            raise ValueError(f"model_stay_probability must be in (0, 1] (got {self.model_stay_probability})")

    def transition(self) -> NDArray[np.float64]:
        """(M, M) IMM model transition matrix per scan: stay with the stay probability, else switch evenly."""
        m = len(self.q_m2s3)
        if m == 1:
            return np.ones((1, 1))
        off = (1.0 - self.model_stay_probability) / (m - 1)
        return np.full((m, m), off) + np.eye(m) * (self.model_stay_probability - off)


class Tracker:
    """Global-nearest-neighbour tracker with IMM constant-velocity Kalman filters and M-of-N logic.

    ``last_assignment`` maps the id of every track that took a plot in the last step, and of every
    track a plot started, to that plot's index in the scan.
    """

    def __init__(self, params: TrackerParams | None = None) -> None:
        self.params = params or TrackerParams()
        self._table = management.empty_table(n_models=len(self.params.q_m2s3))
        self._transition = self.params.transition()
        self._next_number = 1
        self.last_assignment: dict[str, int] = {}

    @property
    def table(self) -> TrackTable:
        """The track table after the last step (read-only arrays)."""
        return self._table

    def step(self, plots: Plots) -> list[Event]:
        """Predict to ``plots.t``, gate, associate, update, then initiate, confirm and delete tracks."""
        p, table, t = self.params, self._table, plots.t
        if t < table.t:
            raise TrackingError(f"plots.t={t} is before the track states' time {table.t}")
        z, R = plots_to_enu(plots)

        xm, Pm, mu = self._predict(table, t)
        x, P = filters.imm_combine(xm, Pm, mu)
        single = table.n_hits == 1
        max_travel = np.where(single, p.max_initial_speed_mps * (t - table.t_update), np.inf)
        cand = gating.with_imm_cost(gating.gate(x, P, z, R, p.gate_probability, max_travel), xm, Pm, mu, z, R)
        confirmed_before = table.status != management.Status.TENTATIVE
        rows, hits = association.gnn_prioritised(cand, len(table), len(plots), confirmed_before)
        loglik = np.empty((len(rows), xm.shape[1]))
        for j in range(xm.shape[1]):
            loglik[:, j] = filters.log_likelihood(xm[rows, j], Pm[rows, j], z[hits], R[hits])
            xm[rows, j], Pm[rows, j] = filters.update(xm[rows, j], Pm[rows, j], z[hits], R[hits])
        weights = mu[rows] * np.exp(loglik - loglik.max(axis=1, keepdims=True))
        mu[rows] = weights / weights.sum(axis=1, keepdims=True)
        x, P = filters.imm_combine(xm, Pm, mu)

        table = management.record_scan(
            replace(table, x=x, P=P, xm=xm, Pm=Pm, mu=mu), t, rows, plots.rcs_dbsm[hits], p.confirm_n
        )
        self.last_assignment = dict(zip(table.id[rows].tolist(), hits.tolist(), strict=True))
        table, confirmed, lost = management.confirm_and_delete(
            table, p.confirm_m, p.confirm_n, p.max_misses, p.max_position_std_m
        )

        fresh = np.setdiff1d(np.arange(len(plots)), hits)
        born = management.initiate(
            z[fresh], R[fresh], plots.rcs_dbsm[fresh], t, self._next_number,
            p.initial_speed_std_mps, p.initial_vertical_speed_std_mps, p.initial_model_probabilities,
        )
        self._next_number += len(fresh)
        self.last_assignment.update(zip(born.id.tolist(), fresh.tolist(), strict=True))
        self._table = management.concat(table, born)

        events: list[Event] = [
            TrackConfirmed(t=t, track_id=str(table.id[i]), position_enu_m=(float(e), float(n), float(u)))
            for i, (e, n, u) in zip(confirmed, table.x[confirmed][:, POS], strict=True)
        ]
        events += [TrackLost(t=t, track_id=str(track_id)) for track_id in lost]
        return events

    def _predict(self, table: TrackTable, t: float) -> tuple[NDArray[np.float64], ...]:
        """IMM predictor: mix the model states, then predict each model to ``t`` with its own noise."""
        x0, P0, mu = filters.imm_mix(table.xm, table.Pm, table.mu, self._transition)
        for j, (q, qv) in enumerate(zip(self.params.q_m2s3, self.params.q_vertical_m2s3, strict=True)):
            x0[:, j], P0[:, j] = filters.predict(x0[:, j], P0[:, j], t - table.t, q, qv)
        return x0, P0, mu
