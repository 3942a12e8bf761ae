"""Classification features: each window statistic measures what its name says, on tracks of known motion."""

from collections.abc import Callable

import numpy as np
import pytest

from skywarden.picture.features import FEATURE_NAMES, FeatureWindow, PlotObservation

COL = {name: i for i, name in enumerate(FEATURE_NAMES)}
P = np.eye(6)[None] * 0.25


def fly(velocity: Callable[[float], tuple[float, float, float]], seconds: int = 60, dt: float = 1.0,
        obs: Callable[[float], PlotObservation] | None = None,
        altitude: float = 100.0, tau_s: float = 10.0) -> np.ndarray:
    """Feed one track whose velocity at time t is ``velocity(t)``; returns its last feature row."""
    window = FeatureWindow(tau_s)
    f = np.zeros(len(FEATURE_NAMES))
    for k in range(int(seconds / dt)):
        t = k * dt
        x = np.zeros((1, 6))
        x[0, 2] = altitude
        x[0, 3:6] = velocity(t)
        o = obs(t) if obs else PlotObservation.none(1)
        f = window.update(t, ["T1"], x, P, np.array([0.0]), o)[0]
    return f


def test_hover_straightness_turn_rate_and_speed_spread() -> None:
    hover = fly(lambda t: (0.2, -0.3, 0.0))
    assert hover[COL["hover_fraction"]] == pytest.approx(1.0)
    straight = fly(lambda t: (10.0, 5.0, 0.0))
    assert straight[COL["straightness"]] == pytest.approx(1.0)
    assert straight[COL["turn_rate_rms"]] == pytest.approx(0.0, abs=1e-12)
    assert straight[COL["speed_std"]] == pytest.approx(0.0, abs=1e-6)
    omega = 0.4  # rad/s: circling (a thermalling bird)
    circle = fly(lambda t: (8.0 * np.cos(omega * t), 8.0 * np.sin(omega * t), 1.5))
    assert circle[COL["turn_rate_rms"]] == pytest.approx(omega, rel=0.02)
    # the exponentially weighted mean velocity of a circle has length 1 / sqrt(1 + (omega tau)^2) of the speed
    assert circle[COL["straightness"]] == pytest.approx(1.0 / np.sqrt(1.0 + (omega * 10.0) ** 2), rel=0.05)
    assert circle[COL["climb_mean"]] == pytest.approx(1.5)
    # flap-glide: speed 10 +- 3 m/s, period 4 s -> the window's std is 3 / sqrt(2)
    flap = fly(lambda t: (10.0 + 3.0 * np.sin(2 * np.pi * t / 4.0), 0.0, 0.0), dt=0.25)
    assert flap[COL["speed_std"]] == pytest.approx(3.0 / np.sqrt(2.0), rel=0.1)
    assert flap[COL["log_speed"]] == pytest.approx(np.log1p(10.0), rel=0.02)


def test_stop_and_go_shows_as_a_hover_fraction() -> None:
    f = fly(lambda t: (12.0, 0.0, 0.0) if (t // 10) % 2 else (0.0, 0.0, 0.0), seconds=200, tau_s=20.0)
    assert 0.3 < f[COL["hover_fraction"]] < 0.7


def test_rcs_fluctuation_of_swerling_1_samples() -> None:
    rng = np.random.default_rng(1)
    samples = 10 * np.log10(0.02 * rng.standard_exponential(4000))

    def obs(t: float) -> PlotObservation:
        o = PlotObservation.none(1)
        o.hit[0], o.rcs_dbsm[0] = True, samples[int(t)]
        return o

    f = fly(lambda t: (10.0, 0.0, 0.0), seconds=4000, obs=obs, tau_s=500.0)
    # 10 log10 of an exponential: mean 10 log10(mean) - 2.51 dB, std 5.57 dB
    assert f[COL["rcs_mean_dbsm"]] == pytest.approx(10 * np.log10(0.02) - 2.51, abs=0.4)
    assert f[COL["rcs_std_db"]] == pytest.approx(5.57, abs=0.4)


def test_micro_doppler_fraction_spread_and_modulation_class() -> None:
    def obs(t: float) -> PlotObservation:
        o = PlotObservation.none(1)
        o.hit[0], o.snr_db[0] = True, 20.0
        k = int(t) % 4
        if k == 1:  # blade flashes at 300 Hz
            o.md_spread_mps[0], o.md_rate_hz[0] = 60.0, 300.0
        elif k == 2:  # blades too fast for a rate, but tips faster than any wing
            o.md_spread_mps[0] = 60.0
        elif k == 3:  # a wing-beat
            o.md_spread_mps[0], o.md_rate_hz[0] = 8.0, 5.0
        return o

    f = fly(lambda t: (5.0, 0.0, 0.0), obs=obs, seconds=400, tau_s=1e6)
    assert f[COL["md_fraction"]] == pytest.approx(0.75, abs=0.01)
    assert f[COL["md_rotor_fraction"]] == pytest.approx(0.5, abs=0.01)
    assert f[COL["md_wingbeat_fraction"]] == pytest.approx(0.25, abs=0.01)
    assert f[COL["md_log_spread"]] == pytest.approx((2 * np.log1p(60.0) + np.log1p(8.0)) / 3, abs=0.01)
    assert f[COL["md_rotor_count"]] == f[COL["md_wingbeat_count"]] == 1.0  # counts saturate at 10 plots
    assert f[COL["snr_mean_db"]] == pytest.approx(20.0)
    none = fly(lambda t: (5.0, 0.0, 0.0))
    assert none[COL["md_rotor_count"]] == 0.0 and none[COL["plot_weight"]] == 0.0


def test_windows_follow_track_ids_and_forget() -> None:
    window = FeatureWindow(10.0)
    x = np.zeros((2, 6))
    x[0, 3], x[1, 3] = 0.0, 20.0  # A hovers, B flies
    for t in range(10):
        f = window.update(float(t), ["A", "B"], x, np.repeat(P, 2, 0), np.zeros(2), PlotObservation.none(2))
    assert f[0, COL["hover_fraction"]] == 1.0 and f[1, COL["hover_fraction"]] == 0.0
    # B alone now, then A again: A starts afresh, B keeps its history
    f = window.update(10.0, ["B"], x[1:], P, np.zeros(1), PlotObservation.none(1))
    assert f[0, COL["hover_fraction"]] == 0.0
    f = window.update(11.0, ["A", "B"], x[::-1], np.repeat(P, 2, 0), np.array([11.0, 0.0]), PlotObservation.none(2))
    assert f[0, COL["hover_fraction"]] == 0.0 and f[0, COL["log_age"]] == 0.0  # A is a new track now, flying
    # B now hovers: one new sample against its decayed past (11 flying samples, one per second, tau 10 s)
    past = np.exp(-0.1) * np.exp(-0.1 * np.arange(11)).sum()
    assert f[1, COL["hover_fraction"]] == pytest.approx(1.0 / (1.0 + past))


def test_empty_table() -> None:
    f = FeatureWindow().update(0.0, [], np.zeros((0, 6)), np.zeros((0, 6, 6)), np.zeros(0), PlotObservation.none(0))
    assert f.shape == (0, len(FEATURE_NAMES))
