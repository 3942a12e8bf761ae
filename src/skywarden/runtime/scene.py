"""Run a simulated scene through the real input path and keep what the classifier saw, scan by scan.

The same run serves training (features against the truth each track held) and evaluation (labels,
alerts and timings against the truth): it is :func:`.replay.replay` (raw lines through the evidence
recorder, without a ledger) with a hook that keeps the classifier's features and probabilities.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skywarden.airspace.rules import SafetyPolicy
from skywarden.history import RunRecord
from skywarden.metrics import Assignment, assign
from skywarden.picture.classify import ClassifierParams
from skywarden.pipeline import Pipeline
from skywarden.runtime.recorder import ScanOutcome
from skywarden.runtime.replay import replay
from skywarden.sim.scenario import Scenario


@dataclass(frozen=True)
class ScanView:
    """What the classifier had and said for every track at one scan."""

    ids: list[str]
    features: NDArray[np.float64]  # (N, F)
    prob: NDArray[np.float64]  # (N, C)
    age_s: NDArray[np.float64]  # (N,)
    labels: list[str]


@dataclass(frozen=True)
class SceneRun:
    """A simulated scene's record (its truth with types and sizes), the classifier's view per scan, the pairing."""

    record: RunRecord
    views: list[ScanView]
    assignment: Assignment


def run_scene(scenario: Scenario, seed: int | None = None, classifier: ClassifierParams | None = None,
              policy: SafetyPolicy | None = None, on_step: Callable[[int, int], None] | None = None) -> SceneRun:
    """Simulate ``scenario`` with ``seed`` through the pipeline, keeping the classifier's view of every scan."""
    views: list[ScanView] = []

    def keep(outcome: ScanOutcome, pipeline: Pipeline) -> None:
        picture = outcome.picture
        views.append(ScanView(picture.ids, pipeline.classifier.last_features, picture.class_prob,
                              picture.t - pipeline.tracker.table.t_init, picture.labels))

    record = replay(scenario, seed, on_step, pipeline=lambda site: Pipeline(site, classifier_params=classifier,
                                                                            policy=policy), on_scan=keep)
    return SceneRun(record, views, assign(record))
