"""The pipeline: tracking -> picture (identity, classification) -> airspace rules, scan by scan.

``Pipeline.step`` is the one place where the stages meet; the drivers in :mod:`skywarden.runtime` feed
it (a simulated scenario, a recorded ledger, the live engine) and keep what it gives.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skywarden.airspace.rules import AirspaceRules, Assessment, SafetyPolicy
from skywarden.airspace.threat import ThreatParams
from skywarden.config import Site
from skywarden.events import Event, TrackClassified, TrackIdentified
from skywarden.picture.classify import CLASSES, Classifier, ClassifierParams
from skywarden.picture.features import PlotObservation
from skywarden.picture.identity import IdentityMatcher
from skywarden.sensors import CoopReport, Plots
from skywarden.tracking.management import Status
from skywarden.tracking.tracker import Tracker, TrackerParams


@dataclass(frozen=True)
class Picture:
    """The air picture after one scan: every track with what is known about it."""

    t: float
    ids: list[str]
    x: NDArray[np.float64]  # (N, 6) ENU position and velocity
    status: NDArray[np.int8]
    labels: list[str]
    class_prob: NDArray[np.float64]  # (N, C) picture.classify.CLASSES: drone, bird, aircraft, vehicle
    identities: list[str | None]
    permits: list[str | None]
    assessment: Assessment

    def digest(self) -> str:
        """SHA-256 (hex) over the track ids, states and status: equal digests mean bit-identical tracks."""
        h = hashlib.sha256("\x1f".join(self.ids).encode())
        h.update(np.ascontiguousarray(self.x, "<f8").tobytes())
        h.update(np.ascontiguousarray(self.status, "i1").tobytes())
        return h.hexdigest()


class Pipeline:
    """Composes the stages; the same object runs live, on a ledger, or on a simulated scenario."""

    def __init__(
        self,
        site: Site,
        tracker_params: TrackerParams | None = None,
        classifier_params: ClassifierParams | None = None,
        threat_params: ThreatParams | None = None,
        policy: SafetyPolicy | None = None,
    ) -> None:
        self.site = site
        self.tracker = Tracker(tracker_params)
        self.identity = IdentityMatcher(site)
        self.classifier = Classifier(classifier_params)
        self.rules = AirspaceRules(site, threat_params, policy or SafetyPolicy(**site.safety.model_dump()))
        self._labels: dict[str, str] = {}
        self._identities: dict[str, str] = {}

    def set_site(self, site: Site) -> None:
        """Run on an edited site from the next scan on (zones, assets, permits, safety); tracks and memory carry
        over. The thresholds the site's safety table changes replace the policy's; the rest of the policy (an
        explicit one given at construction included) stays, so an edit of a zone never resets a threshold."""
        old, new = self.site.safety.model_dump(), site.safety.model_dump()
        changed = {k: v for k, v in new.items() if old[k] != v}
        policy = dataclasses.replace(self.rules.policy, **changed) if changed else self.rules.policy
        self.site = site
        self.identity = self.identity.with_site(site)
        self.rules = self.rules.with_site(site, policy)

    def step(self, plots: Plots, coop: Sequence[CoopReport] = ()) -> tuple[Picture, list[Event]]:
        """Run one sensor scan (and the cooperative reports received with it) through every stage."""
        t = plots.t
        events = list(self.tracker.step(plots))
        table = self.tracker.table
        ids = [str(i) for i in table.id]
        confirmed = table.status != Status.TENTATIVE
        identities = self.identity.update(t, ids, table.x[:, :3], confirmed, coop)
        permits = self.identity.permits_for(t, identities, table.x[:, :3])
        labels, prob = self.classifier.update(t, ids, table.x, table.P, table.t_init, self._observation(plots, ids))
        # a cooperative self-report says what the object is, whatever its kinematics suggest
        for i, declared in enumerate(self.identity.declared_class(ids)):
            if declared is not None:
                labels[i] = declared
                prob[i] = np.asarray(CLASSES) == declared
        label_index = np.array([CLASSES.index(lab) if lab in CLASSES else -1 for lab in labels], np.intp).reshape(-1)
        confidence = np.where(label_index >= 0, prob[np.arange(len(ids)), label_index], 0.0) if len(ids) else np.zeros(0)
        for i, track_id in enumerate(ids):
            if not confirmed[i]:
                continue
            uas = identities[i]
            if uas is not None and self._identities.get(track_id) != uas:
                events.append(TrackIdentified(t=t, track_id=track_id, uas_id=uas, permit_id=permits[i]))
            if self._labels.get(track_id, "unknown") != labels[i]:
                events.append(TrackClassified(t=t, track_id=track_id, classification=labels[i],
                                              confidence=round(float(prob[i].max()), 3)))
        self._identities = {k: v for k, v in zip(ids, identities, strict=True) if v is not None}
        self._labels = {k: lab for k, lab, c in zip(ids, labels, confirmed, strict=True) if c}
        assessment, rule_events = self.rules.apply(t, ids, table.x, confirmed, labels, permits,
                                                   confidence=confidence, age_s=t - table.t_init)
        events.extend(rule_events)
        picture = Picture(t, ids, table.x.copy(), table.status.copy(), labels, prob, identities, permits, assessment)
        return picture, events

    def _observation(self, plots: Plots, ids: list[str]) -> PlotObservation:
        """Each track row's plot of this scan (what the classifier reads of it), from the tracker's assignment."""
        track_ids, plot_index = self.tracker.assigned_plots
        row_of = {track_id: k for k, track_id in enumerate(ids)}
        rows = np.array([row_of.get(i, -1) for i in track_ids.tolist()], np.intp).reshape(-1)
        keep = rows >= 0
        rows, plot_index = rows[keep], plot_index[keep]
        obs = PlotObservation.none(len(ids))
        obs.hit[rows] = True
        for name in ("rcs_dbsm", "snr_db", "md_spread_mps", "md_rate_hz"):
            getattr(obs, name)[rows] = getattr(plots, name)[plot_index]
        return obs
