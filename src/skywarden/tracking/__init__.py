"""Multi-target tracking: IMM of CV / coordinated-turn Kalman filters (KF on converted plots or EKF on polar
ones), KD-tree and chi-square gating, GNN or JPDA association, one- or two-point initiation, M-of-N.

Plots of one scan go in through :meth:`Tracker.step`; the track table (:class:`TrackTable`) and
``TrackConfirmed`` / ``TrackLost`` events come out.
"""

from skywarden.tracking.management import Status, TrackTable
from skywarden.tracking.tracker import Tracker, TrackerParams, TrackingError

__all__ = ["Status", "TrackTable", "Tracker", "TrackerParams", "TrackingError"]
