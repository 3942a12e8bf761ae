"""Stone Soup's GNN and JPDA trackers with KD-tree gating, built from its own components (benchmark only).

Stone Soup orders its state as ``[x, vx, y, vy, z, vz]`` (x east, y north); its polar model measures
``(elevation, bearing, range)`` with bearing counter-clockwise from east, so Skywarden's polar plots
(azimuth clockwise from north) map to ``bearing = pi/2 - azimuth``. Detections are rebuilt from the
very same :class:`~skywarden.sensors.Plots` the Skywarden tracker sees.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from stonesoup.dataassociator.probability import JPDAwithEHM
from stonesoup.dataassociator.tree import DetectionKDTreeGNN2D, DetectionKDTreeMixIn
from stonesoup.deleter.time import UpdateTimeStepsDeleter
from stonesoup.hypothesiser.distance import DistanceHypothesiser
from stonesoup.hypothesiser.probability import PDAHypothesiser
from stonesoup.initiator.simple import MultiMeasurementInitiator
from stonesoup.measures import Mahalanobis
from stonesoup.models.measurement.linear import LinearGaussian
from stonesoup.models.measurement.nonlinear import CartesianToElevationBearingRange
from stonesoup.models.transition.linear import CombinedLinearGaussianTransitionModel, ConstantVelocity
from stonesoup.predictor.kalman import KalmanPredictor
from stonesoup.tracker.simple import MultiTargetMixtureTracker, MultiTargetTracker
from stonesoup.types.angle import Bearing, Elevation
from stonesoup.types.detection import Detection
from stonesoup.types.state import GaussianState, StateVector
from stonesoup.updater.kalman import ExtendedKalmanUpdater, KalmanUpdater

from skywarden.sensors import Plots

EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
Q_M2S3 = 1.0  # white-noise acceleration: the generated targets turn at up to ~1 m/s² lateral
GATE_MAHALANOBIS = 4.6  # sqrt of the 0.9999 chi-square quantile with 3 degrees of freedom
KD_MAX_DISTANCE = 60.0  # KD-tree pre-gate radius in measurement space (metres in ENU; mostly range in polar)
MIN_POINTS = 3  # a track is released after 3 updates (as Skywarden's 3-of-4)
MAX_MISSES = 5


class KDTreeJPDAwithEHM(DetectionKDTreeMixIn, JPDAwithEHM):
    """Stone Soup's exact JPDA by efficient hypothesis management, fed by its KD-tree pre-gate.

    Plain ``JPDA``/``KDTreeJPDA`` enumerates joint hypotheses over every track at once and cannot finish
    a scan of 100 tracks, so the benchmark uses Stone Soup's own clustered EHM variant.
    """


def to_detections(plots: Plots) -> tuple[dt.datetime, set[Detection]]:
    """A scan's plots as Stone Soup detections with the matching measurement model."""
    when = EPOCH + dt.timedelta(seconds=plots.t)
    s = plots.sigma
    if plots.frame == "enu":
        model = LinearGaussian(ndim_state=6, mapping=(0, 2, 4), noise_covar=np.diag(s**2))
        dets = {Detection(StateVector(z), timestamp=when, measurement_model=model) for z in plots.z}
        return when, dets
    offset = StateVector(plots.sensor_enu_m)
    model = CartesianToElevationBearingRange(ndim_state=6, mapping=(0, 2, 4),
                                             noise_covar=np.diag([s[2] ** 2, s[1] ** 2, s[0] ** 2]),
                                             translation_offset=offset)
    dets = {Detection(StateVector([Elevation(z[2]), Bearing(np.pi / 2 - z[1]), z[0]]), timestamp=when,
                      measurement_model=model) for z in plots.z}
    return when, dets


def _components(polar: bool) -> tuple[KalmanPredictor, KalmanUpdater, DistanceHypothesiser, GaussianState]:
    transition = CombinedLinearGaussianTransitionModel([ConstantVelocity(Q_M2S3)] * 3)
    predictor = KalmanPredictor(transition)
    updater = ExtendedKalmanUpdater(measurement_model=None) if polar else KalmanUpdater(measurement_model=None)
    hypothesiser = DistanceHypothesiser(predictor, updater, measure=Mahalanobis(), missed_distance=GATE_MAHALANOBIS)
    prior = GaussianState(StateVector(np.zeros(6)), np.diag([0.0, 20.0**2, 0.0, 20.0**2, 0.0, 2.0**2]))
    return predictor, updater, hypothesiser, prior


def _initiator(predictor: KalmanPredictor, updater: KalmanUpdater, hypothesiser: DistanceHypothesiser,
               prior: GaussianState) -> MultiMeasurementInitiator:
    gnn = DetectionKDTreeGNN2D(hypothesiser, predictor, updater, max_distance=KD_MAX_DISTANCE)
    return MultiMeasurementInitiator(prior_state=prior, deleter=UpdateTimeStepsDeleter(2), data_associator=gnn,
                                     updater=updater, min_points=MIN_POINTS)


def build(kind: str, polar: bool, pd: float, clutter_density: float) -> MultiTargetTracker | MultiTargetMixtureTracker:
    """``kind`` "gnn": GNN (2-D assignment) with KD-tree gating; "jpda": JPDA (EHM) with KD-tree gating.

    ``clutter_density`` is per unit volume of measurement space (for the JPDA's PDA hypothesiser).
    """
    predictor, updater, hypothesiser, prior = _components(polar)
    initiator = _initiator(predictor, updater, hypothesiser, prior)
    deleter = UpdateTimeStepsDeleter(MAX_MISSES)
    if kind == "gnn":
        assoc = DetectionKDTreeGNN2D(hypothesiser, predictor, updater, max_distance=KD_MAX_DISTANCE)
        return MultiTargetTracker(initiator=initiator, deleter=deleter, detector=None, data_associator=assoc,
                                  updater=updater)
    pda = PDAHypothesiser(predictor, updater, clutter_spatial_density=clutter_density, prob_detect=pd,
                          prob_gate=0.9999)
    jpda = KDTreeJPDAwithEHM(pda, predictor, updater, max_distance=KD_MAX_DISTANCE)
    return MultiTargetMixtureTracker(initiator=initiator, deleter=deleter, detector=None, data_associator=jpda,
                                     updater=updater)


def stepper(kind: str, polar: bool, pd: float,
            clutter_density: float) -> Callable[[Plots], NDArray[np.float64]]:
    """A function that feeds one scan to a fresh Stone Soup tracker and returns its tracks' positions (n, 3)."""
    tracker = build(kind, polar, pd, clutter_density)

    def step(plots: Plots) -> NDArray[np.float64]:
        when, dets = to_detections(plots)
        _, tracks = tracker.update_tracker(when, dets)
        if not tracks:
            return np.zeros((0, 3))
        return np.array([np.asarray(tr.state_vector, float).ravel()[[0, 2, 4]] for tr in tracks])

    return step
