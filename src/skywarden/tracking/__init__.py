"""Multi-target tracking: constant-velocity Kalman filters, chi-square gating, GNN association, M-of-N.

Plots of one scan go in through :meth:`Tracker.step`; the track table (:class:`TrackTable`) and
``TrackConfirmed`` / ``TrackLost`` events come out.
"""

from skywarden.tracking.management import Status, TrackTable
from skywarden.tracking.tracker import Tracker, TrackerParams, TrackingError

__all__ = ["Status", "TrackTable", "Tracker", "TrackerParams", "TrackingError"]
