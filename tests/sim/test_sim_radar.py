"""Radar model: coverage, radar equation, Swerling-1 detection, noise and clutter statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import digamma, polygamma

from skywarden.config import RadarConfig
from skywarden.geo import LocalFrame, polar_to_enu
from skywarden.sim.radar import RadarModel, TargetDraws
from skywarden.sim.signature import Signatures, draw_signatures

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


# --- fluctuation models and micro-Doppler, with object signatures -------------------------------------------


def _signatures(truth_type: str, n: int, rcs_m2: float, seed: int = 0) -> Signatures:
    """n objects of one type (one generator shared by all: fine for statistics, not for independence)."""
    return draw_signatures([truth_type] * n, np.full(n, rcs_m2), [np.random.default_rng(seed)] * n)


def _range_for_snr(radar: RadarModel, snr_db: float, rcs_m2: float) -> float:
    """The range at which an RCS has the wanted mean SNR."""
    return 1000.0 * (radar.snr_ref * rcs_m2 / 10 ** (snr_db / 10)) ** 0.25


@pytest.mark.parametrize("snr_db", [6.0, 10.0, 13.0, 17.0, 20.0])
def test_detection_follows_each_objects_fluctuation_model(snr_db: float) -> None:
    radar = _radar(max_range_m=20_000.0)
    snr, t = 10 ** (snr_db / 10), -math.log(1e-6)
    n = 20_000
    for truth_type, rcs, pd_expected in (
        ("drone/multirotor", 0.05, (1 + 2 * t * snr / (2 + snr) ** 2) * math.exp(-2 * t / (2 + snr))),  # Swerling 3
        ("drone/fixed-wing", 0.1, 1e-6 ** (1 / (1 + snr))),  # Swerling 1
    ):
        sig = _signatures(truth_type, n, rcs)
        pos = _at(radar, _range_for_snr(radar, snr_db, rcs), 30, 2, n)
        scan = radar.scan(0.0, pos, np.full(n, rcs), np.random.default_rng(int(snr_db)), signatures=sig)
        pd = len(scan.plots) / n
        se = math.sqrt(pd_expected * (1 - pd_expected) / n)
        assert abs(pd - pd_expected) < 4 * se + 1e-12, (truth_type, pd, pd_expected)
        assert (scan.plots.snr_db > 10 * math.log10(t - 1)).all()


@pytest.mark.parametrize(("truth_type", "dof"), [
    ("drone/multirotor", 4), ("vehicle/car", 4), ("bird/gull", 2), ("drone/fixed-wing", 2), ("aircraft/fixed-wing", 2),
])
def test_rcs_spread_in_db_is_the_chi_square_models(truth_type: str, dof: int) -> None:
    """At high SNR the RCS estimate is the fluctuating RCS: 10 log10 of a unit-mean chi-square with ``dof``."""
    radar = _radar()
    n, rcs = 20_000, 0.05
    sig = _signatures(truth_type, n, rcs)
    assert (sig.chi2_dof == dof).all()
    pos = _at(radar, _range_for_snr(radar, 55.0, rcs), 100, 1, n)
    scan = radar.scan(0.0, pos, np.full(n, rcs), np.random.default_rng(dof), signatures=sig)
    assert len(scan.plots) > 0.999 * n
    k, db = dof / 2, 10 / math.log(10)
    assert scan.plots.rcs_dbsm.std() == pytest.approx(db * math.sqrt(float(polygamma(1, k))), rel=0.03)
    assert scan.plots.rcs_dbsm.mean() == pytest.approx(10 * math.log10(rcs) + db * (float(digamma(k)) - math.log(k)),
                                                       abs=0.1)


def test_micro_doppler_is_measured_exactly_above_its_snr_threshold() -> None:
    radar = _radar()
    c = radar.config
    n, rcs = 4000, 0.03
    ranges = (1000.0, 3000.0, 4000.0, 4900.0)
    sig = _signatures("drone/multirotor", n * len(ranges), rcs)
    pos = np.concatenate([_at(radar, r, 45, 2, n) for r in ranges])
    scan = radar.scan(0.0, pos, np.full(len(pos), rcs), np.random.default_rng(1), signatures=sig)
    p, j = scan.plots, scan.origin
    md_snr_db = p.snr_db + sig.rel_power_db[j] + c.md_integration_gain_db
    measured = ~np.isnan(p.md_spread_mps)
    assert np.array_equal(measured, md_snr_db > c.md_threshold_db)  # a step in the plot's SNR
    assert np.array_equal(measured, ~np.isnan(p.md_rate_hz))  # flash rates of small drones are all sampled
    fraction = [measured[(j >= i * n) & (j < (i + 1) * n)].mean() for i in range(len(ranges))]
    assert fraction[0] == 1.0 and fraction[-1] < 0.3 and fraction == sorted(fraction, reverse=True)


def test_spread_and_rate_are_the_tip_speed_and_flash_rate_within_noise() -> None:
    radar = _radar()
    c = radar.config
    n = 10_000
    sig = _signatures("drone/multirotor", n, 0.05)
    el = math.radians(3.0)
    scan = radar.scan(0.0, _at(radar, 1000.0, 250, 3.0, n), np.full(n, 0.05), np.random.default_rng(2), signatures=sig)
    measured = ~np.isnan(scan.plots.md_spread_mps)
    assert measured.mean() > 0.99  # at 1 km only a deep fade hides the blades
    p, j = scan.plots, scan.origin[measured]
    spread = sig.tip_speed_mps[j] * math.cos(el)  # horizontal rotor disks seen 3 degrees from below
    z_spread = (p.md_spread_mps[measured] - spread) / np.hypot(c.md_resolution_mps, 0.03 * spread)
    z_rate = (p.md_rate_hz[measured] - sig.md_rate_hz[j]) / (0.03 * sig.md_rate_hz[j])
    for z in (z_spread, z_rate):
        assert abs(z.mean()) < 4 / math.sqrt(len(z))
        assert z.std() == pytest.approx(1.0, rel=0.03)


@pytest.mark.parametrize("species", ["raptor", "gull", "starling"])
def test_birds_show_wing_beats_only_in_their_flapping_share(species: str) -> None:
    radar = _radar()
    n = 10_000
    sig = _signatures(f"bird/{species}", n, 0.02)
    scan = radar.scan(0.0, _at(radar, 800.0, 10, 4, n), np.full(n, 0.02), np.random.default_rng(3), signatures=sig,
                      vel_enu_mps=np.tile([10.0, 0.0, 0.0], (n, 1)))
    p, j = scan.plots, scan.origin
    measured = ~np.isnan(p.md_spread_mps)
    duty = float(sig.duty[0])
    assert abs(measured.mean() - duty) < 4 * math.sqrt(duty * (1 - duty) / len(p))
    z_rate = (p.md_rate_hz[measured] - sig.md_rate_hz[j[measured]]) / (0.03 * sig.md_rate_hz[j[measured]])
    assert abs(z_rate.mean()) < 0.1 and z_rate.std() == pytest.approx(1.0, rel=0.05)
    tip = sig.tip_speed_mps[j[measured]]
    z_spread = (p.md_spread_mps[measured] - tip) / np.hypot(radar.config.md_resolution_mps, 0.03 * tip)
    assert abs(z_spread.mean()) < 0.1 and z_spread.std() == pytest.approx(1.0, rel=0.05)


def test_vehicles_at_rest_show_no_wheels_and_moving_ones_their_speed() -> None:
    radar = _radar(min_elevation_deg=-10.0)
    n, v = 2000, 12.0
    sig = _signatures("vehicle/lorry", 2 * n, 20.0)
    pos = _at(radar, 2000.0, 0.0, -1.0, 2 * n)  # on the ground north of the radar
    vel = np.concatenate([np.zeros((n, 3)), np.tile([0.0, -v, 0.0], (n, 1))])  # half parked, half driving at it
    scan = radar.scan(0.0, pos, np.full(2 * n, 20.0), np.random.default_rng(4), signatures=sig, vel_enu_mps=vel)
    p, j = scan.plots, scan.origin
    parked = j < n
    assert np.isnan(p.md_spread_mps[parked]).all() and np.isnan(p.md_rate_hz[parked]).all()
    assert not np.isnan(p.md_spread_mps[~parked]).any()
    # driving along the line of sight the rim's plane holds it: the half-width is the speed
    assert np.median(p.md_spread_mps[~parked]) == pytest.approx(v, rel=0.01)
    np.testing.assert_allclose(np.median(p.md_rate_hz[~parked] * 2 * np.pi * sig.length_m[j[~parked]]), v, rtol=0.01)


def test_rates_outside_what_the_dwell_and_the_spectrogram_resolve_are_left_out() -> None:
    radar = _radar(md_dwell_s=0.5, md_max_rate_hz=300.0)
    n = 3000
    for truth_type, rcs in (("bird/gull", 0.02), ("drone/multirotor", 0.05), ("aircraft/fixed-wing", 30.0)):
        sig = _signatures(truth_type, n, rcs)
        north = np.tile([0.0, -100.0, 0.0], (n, 1))  # aircraft: inlet towards the radar
        scan = radar.scan(0.0, _at(radar, 1000.0, 0, 3, n), np.full(n, rcs), np.random.default_rng(5),
                          signatures=sig, vel_enu_mps=north)
        p, j = scan.plots, scan.origin
        spread_only = ~np.isnan(p.md_spread_mps) & np.isnan(p.md_rate_hz)
        true_rate = sig.md_rate_hz[j]
        outside = (true_rate < 2 / 0.5) | (true_rate > 300.0)  # two periods per dwell; Nyquist of the frames
        assert np.array_equal(spread_only, ~np.isnan(p.md_spread_mps) & outside), truth_type
        assert spread_only.any(), truth_type


def test_adding_an_object_leaves_the_others_micro_doppler_unchanged() -> None:
    radar = _radar(false_alarms_per_scan=3.0)
    rows = {"a": (800.0, 10.0, "drone/multirotor", 0.05), "b": (1500.0, 100.0, "bird/pigeon", 0.02),
            "c": (2500.0, 250.0, "drone/fixed-wing", 0.1), "x": (1200.0, 300.0, "bird/swift", 0.005)}

    def run(names: list[str]) -> dict[str, tuple[float, ...]]:
        sig = draw_signatures([rows[i][2] for i in names], [rows[i][3] for i in names],
                              [np.random.default_rng([12, ord(i)]) for i in names])
        draws = TargetDraws.stack([TargetDraws.draw(np.random.default_rng([11, ord(i)]), (20,)) for i in names], 20)
        pos = np.stack([_at(radar, rows[i][0], rows[i][1], 3)[0] for i in names])
        vel = np.tile([6.0, 2.0, 0.0], (len(names), 1))
        out: dict[str, tuple[float, ...]] = {}
        for k in range(20):
            scan = radar.scan(float(k), pos, [rows[i][3] for i in names], np.random.default_rng(k), draws=draws.at(k),
                              signatures=sig, vel_enu_mps=vel)
            p = scan.plots
            for plot in np.flatnonzero(scan.origin >= 0):
                key = f"{names[scan.origin[plot]]}{k}"
                out[key] = (*p.z[plot], p.snr_db[plot], p.md_spread_mps[plot], p.md_rate_hz[plot])
        return out

    # each object's signature and variates come from its own stream, keyed by its name
    before, after = run(["a", "b", "c"]), run(["a", "x", "b", "c"])
    assert before and all(np.array_equal(v, after[key], equal_nan=True) for key, v in before.items())
    assert any(not math.isnan(v[-2]) for v in before.values())
    assert set(after) - set(before)  # the new object is seen too


def test_clutter_and_scans_without_signatures_carry_no_micro_doppler() -> None:
    radar = _radar(false_alarms_per_scan=20.0)
    n = 200
    pos = _at(radar, 1000.0, 0, 3, n)
    sig = _signatures("drone/multirotor", n, 0.05)
    scan = radar.scan(0.0, pos, np.full(n, 0.05), np.random.default_rng(6), signatures=sig)
    clutter = scan.origin == -1
    assert clutter.sum() > 5 and np.isnan(scan.plots.md_spread_mps[clutter]).all()
    assert not np.isnan(scan.plots.md_spread_mps[~clutter]).any()
    plain = radar.scan(0.0, pos, np.full(n, 0.05), np.random.default_rng(6))
    assert np.isnan(plain.plots.md_spread_mps).all() and np.isnan(plain.plots.md_rate_hz).all()
