"""Radar model: coverage, radar equation, Swerling-1 detection, noise and clutter statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from skywarden.config import RadarConfig
from skywarden.geo import LocalFrame, polar_to_enu
from skywarden.sim.radar import RadarModel

FRAME = LocalFrame(55.7517, 37.6178, 160.0)


def _radar(**kw: float) -> RadarModel:
    cfg = {"id": "r1", "lat_deg": 55.7517, "lon_deg": 37.6178, "alt_m": 0.0, "min_range_m": 50.0,
           "max_range_m": 5000.0, "min_elevation_deg": -5.0, "max_elevation_deg": 60.0, "pfa": 1e-6,
           "snr_1m2_1km_db": 55.0, "false_alarms_per_scan": 0.0} | kw
    return RadarModel(RadarConfig.model_validate(cfg), FRAME)


def _at(radar: RadarModel, range_m: float, az_deg: float, el_deg: float, n: int = 1) -> np.ndarray:
    p = polar_to_enu([range_m, math.radians(az_deg), math.radians(el_deg)]) + radar.position_enu_m
    return np.tile(p, (n, 1))


def test_radar_sits_at_its_configured_place() -> None:
    radar = _radar(lat_deg=55.7512, lon_deg=37.6160, alt_m=40.0)
    np.testing.assert_allclose(radar.position_enu_m, FRAME.to_enu(55.7512, 37.6160, 40.0), atol=1e-9)
    assert radar.position_enu_m[2] == pytest.approx(40.0, abs=0.01)


def test_coverage_limits() -> None:
    radar = _radar()
    pts = np.stack([
        _at(radar, 49.0, 0, 5)[0], _at(radar, 51.0, 0, 5)[0],  # min range
        _at(radar, 4999.0, 90, 1)[0], _at(radar, 5001.0, 90, 1)[0],  # max range
        _at(radar, 1000.0, 180, -4.9)[0], _at(radar, 1000.0, 180, -5.1)[0],  # min elevation
        _at(radar, 1000.0, 270, 59.9)[0], _at(radar, 1000.0, 270, 60.1)[0],  # max elevation
        np.full(3, np.nan),  # an absent object
    ])
    assert radar.in_coverage(pts).tolist() == [False, True, True, False, True, False, True, False, False]
    # works on any leading shape
    assert radar.in_coverage(pts.reshape(3, 3, 3)).shape == (3, 3)


def test_radar_equation() -> None:
    radar = _radar(snr_1m2_1km_db=50.0)
    assert radar.mean_snr(1000.0, 1.0) == pytest.approx(1e5)
    assert radar.mean_snr(2000.0, 1.0) == pytest.approx(1e5 / 16)
    assert radar.mean_snr(500.0, 0.01) == pytest.approx(1e3 * 16)
    assert radar.rcs_estimate_m2(radar.mean_snr(3210.0, 0.37), 3210.0) == pytest.approx(0.37)


@pytest.mark.parametrize("snr_db", [6.0, 10.0, 13.0, 17.0, 20.0])
def test_detection_probability_matches_swerling_1(snr_db: float) -> None:
    radar = _radar()
    snr = 10 ** (snr_db / 10)
    rcs = snr / radar.mean_snr(2000.0, 1.0)  # the RCS with the wanted mean SNR at 2 km
    n = 20_000
    scan = radar.scan(0.0, _at(radar, 2000.0, 30, 2, n), np.full(n, rcs), np.random.default_rng(int(snr_db)))
    pd_expected = 1e-6 ** (1 / (1 + snr))
    assert radar.detection_probability(snr) == pytest.approx(pd_expected)
    pd = len(scan.plots) / n
    se = math.sqrt(pd_expected * (1 - pd_expected) / n)
    assert abs(pd - pd_expected) < 4 * se + 1e-12, (pd, pd_expected)
    # every detection passed the threshold: measured SNR = power - 1 > T - 1
    assert (scan.plots.snr_db > 10 * math.log10(-math.log(1e-6) - 1)).all()


def test_rcs_estimate_is_unbiased_in_linear_power_at_high_snr() -> None:
    radar = _radar()
    n = 20_000
    scan = radar.scan(0.0, _at(radar, 1500.0, 200, 3, n), np.full(n, 0.05), np.random.default_rng(5))
    assert len(scan.plots) > 0.99 * n  # Pd = 0.9956 at this SNR (35 dB)
    rcs = 10 ** (scan.plots.rcs_dbsm / 10)
    assert rcs.mean() == pytest.approx(0.05, rel=0.03)
    assert np.median(scan.plots.rcs_dbsm) < 10 * math.log10(0.05)  # Swerling 1: exponential fluctuation


def test_measurement_noise_has_the_configured_sigmas() -> None:
    radar = _radar(sigma_range_m=7.0, sigma_azimuth_deg=0.4, sigma_elevation_deg=0.9)
    n = 20_000
    truth = np.array([2000.0, math.radians(123.0), math.radians(4.0)])
    scan = radar.scan(0.0, _at(radar, 2000.0, 123.0, 4.0, n), np.full(n, 1.0), np.random.default_rng(8))
    assert len(scan.plots) > 0.99 * n
    err = scan.plots.z - truth
    np.testing.assert_allclose(err.std(axis=0), radar.sigma, rtol=0.03)
    assert np.abs(err.mean(axis=0) / radar.sigma).max() < 4 / math.sqrt(n)
    np.testing.assert_allclose(scan.plots.sigma, [7.0, math.radians(0.4), math.radians(0.9)])
    assert scan.plots.sensor_id == "r1"
    assert len(np.unique(scan.origin)) == len(scan.origin)


def test_false_alarms_are_poisson_and_spread_over_the_coverage() -> None:
    radar = _radar(false_alarms_per_scan=5.0)
    rng = np.random.default_rng(13)
    scans = [radar.scan(float(k), np.zeros((0, 3)), np.zeros(0), rng) for k in range(4000)]
    counts = np.array([len(s.plots) for s in scans])
    assert abs(counts.mean() - 5.0) < 4 * math.sqrt(5.0 / len(counts))
    assert counts.var() == pytest.approx(5.0, rel=0.1)
    z = np.concatenate([s.plots.z for s in scans])
    assert all((s.origin == -1).all() for s in scans)
    assert z[:, 0].min() >= 50.0
    assert z[:, 0].max() <= 5000.0
    assert math.radians(-5.0) <= z[:, 2].min()
    assert z[:, 2].max() <= math.radians(10.0)
    # range and azimuth uniform: each quarter holds about a quarter
    for col, lo, hi in ((0, 50.0, 5000.0), (1, 0.0, 2 * math.pi)):
        quarters = np.histogram(z[:, col], bins=4, range=(lo, hi))[0] / len(z)
        np.testing.assert_allclose(quarters, 0.25, atol=0.02)
    snr = np.concatenate([s.plots.snr_db for s in scans])
    assert (snr > 10 * math.log10(-math.log(1e-6) - 1)).all()
    assert np.isfinite(np.concatenate([s.plots.rcs_dbsm for s in scans])).all()


def test_plots_are_shuffled_and_origins_point_at_their_objects() -> None:
    radar = _radar(false_alarms_per_scan=4.0)
    pos = np.stack([_at(radar, r, az, 2)[0] for r, az in ((800, 10), (1500, 100), (2500, 250), (3500, 330))])
    rng = np.random.default_rng(21)
    firsts = set()
    for k in range(50):
        scan = radar.scan(float(k), pos, np.full(4, 1.0), rng)
        real = scan.origin >= 0
        assert real.sum() == 4  # 1 m² well inside coverage: always seen
        truth = radar.polar(pos[scan.origin[real]])
        assert np.abs(scan.plots.z[real, 0] - truth[:, 0]).max() < 6 * radar.sigma[0]
        firsts.add(int(scan.origin[0]))
    assert len(firsts) >= 4  # the first plot is not always the same object (nor always real)


def test_objects_outside_coverage_or_absent_are_never_detected() -> None:
    radar = _radar()
    pos = np.stack([_at(radar, 6000.0, 0, 1)[0], np.full(3, np.nan), _at(radar, 20.0, 0, 1)[0]])
    for k in range(20):
        scan = radar.scan(float(k), pos, np.full(3, 100.0), np.random.default_rng(k))
        assert len(scan.plots) == 0


def test_same_generator_same_scan() -> None:
    radar = _radar(false_alarms_per_scan=3.0)
    pos = _at(radar, 1200.0, 45.0, 3.0, 5)
    a = radar.scan(1.0, pos, np.full(5, 0.01), np.random.default_rng(1))
    b = radar.scan(1.0, pos, np.full(5, 0.01), np.random.default_rng(1))
    c = radar.scan(1.0, pos, np.full(5, 0.01), np.random.default_rng(2))
    assert np.array_equal(a.plots.z, b.plots.z) and np.array_equal(a.origin, b.origin)
    assert not (len(a.plots) == len(c.plots) and np.array_equal(a.plots.z, c.plots.z))
