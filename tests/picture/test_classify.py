"""Classifier: typical drones, birds and aircraft are told apart; young or ambiguous tracks stay unknown."""

import numpy as np

from skywarden.picture.classify import Classifier, ClassifierParams, feature_loglik


def table(speed: float, alt: float, rcs: float, vel_var: float = 1.0, n: int = 1) -> tuple:
    x = np.zeros((n, 6))
    x[:, 2] = alt
    x[:, 3] = speed
    P = np.tile(np.eye(6) * vel_var, (n, 1, 1))
    return x, P, np.full(n, rcs)


def run(speed: float, alt: float, rcs: float, scans: int = 20, vel_var: float = 1.0) -> tuple:
    c = Classifier()
    x, P, r = table(speed, alt, rcs, vel_var)
    for k in range(scans):
        labels, prob = c.update(["T1"], x, P, r, np.array([k + 1]))
    return labels[0], prob[0]


def test_typical_targets() -> None:
    assert run(30.0, 120.0, -12.5)[0] == "drone"  # small fixed-wing, 0.1 m^2 less the Swerling bias
    assert run(10.0, 80.0, -23.0)[0] == "bird"
    assert run(12.0, 150.0, -21.0)[0] == "bird"
    assert run(110.0, 3000.0, 10.0)[0] == "aircraft"
    assert run(2.0, 50.0, -15.0)[0] == "drone"  # hovering: birds cannot


def test_young_tracks_are_unknown() -> None:
    assert run(30.0, 120.0, -12.5, scans=3)[0] == "unknown"


def test_unknown_speed_is_not_used() -> None:
    # a fresh track has zero velocity and a huge velocity variance: it must not look like a hovering drone
    p = ClassifierParams()
    ll_known = feature_loglik(np.array([0.0]), np.array([50.0]), np.array([np.nan]), np.array([1.0]), p)
    ll_unknown = feature_loglik(np.array([0.0]), np.array([50.0]), np.array([np.nan]), np.array([20.0]), p)
    assert ll_known[0, 0] > ll_known[0, 1] + 2  # zero speed: drone, not bird
    assert np.isclose(ll_unknown[0, 0], ll_unknown[0, 1])  # low altitude, no RCS: nothing tells them apart
    label, prob = run(0.0, 50.0, -24.0, vel_var=400.0)
    assert label == "unknown" and prob[1] > prob[0]  # RCS leans to bird, but no label without a speed


def test_evidence_follows_track_ids() -> None:
    c = Classifier()
    x = np.zeros((2, 6))
    x[0, 3], x[1, 3] = 30.0, 10.0
    x[:, 2] = 100.0
    P = np.tile(np.eye(6), (2, 1, 1))
    for k in range(10):
        labels, _ = c.update(["A", "B"], x, P, np.array([-12.0, -24.0]), np.array([k + 5, k + 5]))
    assert labels == ["drone", "bird"]
    labels, _ = c.update(["B"], x[1:], P[1:], np.array([-24.0]), np.array([20]))
    assert labels == ["bird"]


def test_empty_table_gives_no_labels() -> None:
    labels, prob = Classifier().update([], np.zeros((0, 6)), np.zeros((0, 6, 6)), np.zeros(0), np.zeros(0, int))
    assert labels == [] and prob.shape == (0, 3)
