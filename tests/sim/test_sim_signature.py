"""Object signatures: type fallbacks, each model's physics, per-object streams, aspect and duty of the modulation."""

from __future__ import annotations

import hashlib
import math
from dataclasses import replace

import numpy as np
import pytest

from skywarden.sim.signature import (
    SWERLING_1_DOF,
    SWERLING_3_DOF,
    Moving,
    Signatures,
    draw_signatures,
    model_name,
    modulation,
)


def _streams(ids: list[str], seed: int = 7) -> list[np.random.Generator]:
    """One generator per object id, as the engine keys them (by id, not by position)."""
    return [np.random.default_rng([seed, int.from_bytes(hashlib.sha256(i.encode()).digest()[:8], "little")])
            for i in ids]


def _draw(truth_type: str, n: int, rcs_m2: float = 0.03, seed: int = 1) -> Signatures:
    ids = [f"o{k}" for k in range(n)]
    return draw_signatures([truth_type] * n, np.full(n, rcs_m2), _streams(ids, seed))


@pytest.mark.parametrize(("truth_type", "rcs", "model"), [
    ("drone/multirotor", 0.02, "multirotor-small"),
    ("drone/multirotor", 0.5, "multirotor-large"),
    ("drone/fixed-wing", 0.1, "fixed-wing"),
    ("drone/bird", 0.05, "multirotor-small"),  # an odd airframe: the usual small drone
    ("aircraft/fixed-wing", 30.0, "jet"),
    ("aircraft/anything", 30.0, "jet"),
    ("bird/generic", 0.01, "bird/generic"),
    ("bird/gull", 0.02, "bird/gull"),
    ("bird/starling", 0.002, "bird/starling"),
    ("bird/emu", 0.5, "bird/generic"),
    ("bird/bird", 0.01, "bird/generic"),
    ("vehicle/car", 10.0, "car"),
    ("vehicle/lorry", 50.0, "lorry"),
    ("vehicle/tractor", 20.0, "car"),
    ("balloon/weather", 0.1, "inert"),
    ("", 0.1, "inert"),
])
def test_types_map_to_models_and_unknown_ones_fall_back(truth_type: str, rcs: float, model: str) -> None:
    assert model_name(truth_type, rcs) == model
    sig = draw_signatures([truth_type], [rcs], _streams(["x"]))
    assert sig.model == (model,) and len(sig) == 1


def test_fluctuation_models_by_type() -> None:
    """Swerling 3 (one dominant scatterer) for multirotors and vehicles, Swerling 1 for the rest."""
    types = ["drone/multirotor", "drone/fixed-wing", "aircraft/fixed-wing", "bird/pigeon", "vehicle/car",
             "vehicle/lorry", "balloon/x"]
    sig = draw_signatures(types, np.full(len(types), 0.05), _streams(types))
    assert sig.chi2_dof.tolist() == [SWERLING_3_DOF, SWERLING_1_DOF, SWERLING_1_DOF, SWERLING_1_DOF,
                                     SWERLING_3_DOF, SWERLING_3_DOF, SWERLING_1_DOF]


def test_rotor_tip_speed_and_blade_flash_rate_follow_the_blade_kinematics() -> None:
    for truth_type, rcs in (("drone/multirotor", 0.03), ("drone/multirotor", 0.3), ("drone/fixed-wing", 0.1),
                            ("aircraft/fixed-wing", 30.0)):
        sig = _draw(truth_type, 400, rcs)
        # a tip on a circle of radius L turning f times a second
        np.testing.assert_allclose(sig.tip_speed_mps, 2 * np.pi * sig.length_m * sig.rotation_hz)
        # flashes per revolution: N for an even blade count, 2N for an odd one
        per_rev = np.where(sig.blades % 2 == 0, sig.blades, 2 * sig.blades)
        np.testing.assert_allclose(sig.md_rate_hz, per_rev * sig.rotation_hz)
        assert (sig.duty == 1.0).all()
    small, large = _draw("drone/multirotor", 400, 0.03), _draw("drone/multirotor", 400, 0.3)
    assert (small.rotors == 4).all() and set(large.rotors.tolist()) == {6, 8}
    assert (small.blades == 2).all() and small.length_m.min() >= 0.06 and small.length_m.max() <= 0.12
    assert small.rotation_hz.min() >= 100 and small.rotation_hz.max() <= 180
    assert large.length_m.min() >= 0.2 and large.length_m.max() <= 0.4
    assert small.tip_speed_mps.min() > 30 and small.tip_speed_mps.max() < 140  # blade tips of small drones
    # more rotors, more blade echo: +10 log10(rotors / 4) dB over the quad's -20..-12 dB
    base = large.rel_power_db - 10 * np.log10(large.rotors / 4)
    assert base.min() >= -20 and base.max() <= -12
    fixed = _draw("drone/fixed-wing", 400, 0.1)
    assert set(fixed.blades.tolist()) == {2, 3}
    assert set(fixed.moving.tolist()) == {Moving.TRACTOR, Moving.PUSHER}
    jet = _draw("aircraft/fixed-wing", 100, 30.0)
    assert jet.tip_speed_mps.min() >= 150 and jet.md_rate_hz.min() > 1000  # JEM: fast fan, kHz blade passing


@pytest.mark.parametrize(("species", "f_lo", "f_hi", "duty"), [
    ("gull", 3.0, 4.0, 0.7), ("crow", 3.5, 4.5, 0.9), ("pigeon", 5.0, 7.0, 0.9), ("duck", 5.0, 8.0, 1.0),
    ("swift", 7.0, 10.0, 0.6), ("starling", 10.0, 14.0, 0.75), ("raptor", 2.5, 3.5, 0.2),
])
def test_wing_beat_and_wingtip_speed_follow_the_flapping_kinematics(species: str, f_lo: float, f_hi: float,
                                                                     duty: float) -> None:
    sig = _draw(f"bird/{species}", 300, 0.01)
    assert f_lo <= sig.rotation_hz.min() and sig.rotation_hz.max() <= f_hi
    np.testing.assert_allclose(sig.md_rate_hz, sig.rotation_hz)  # the modulation is the wing beat
    # the flap angle theta(t) = Phi/2 sin(2 pi f t), sampled over one beat: the tip at radius L moves at L theta'
    t = np.linspace(0.0, 1.0, 4001) / sig.rotation_hz[:, None]
    theta = sig.stroke_rad[:, None] / 2 * np.sin(2 * np.pi * sig.rotation_hz[:, None] * t)
    fastest = sig.length_m * np.abs(np.diff(theta, axis=1) / np.diff(t, axis=1)).max(axis=1)
    np.testing.assert_allclose(sig.tip_speed_mps, fastest, rtol=1e-5)
    assert sig.tip_speed_mps.min() > 2.0 and sig.tip_speed_mps.max() < 20.0  # a few to ~15 m/s
    np.testing.assert_allclose(sig.duty, duty)
    assert sig.rel_power_db.min() >= -10 and sig.rel_power_db.max() <= -3  # flesh wings: a strong modulation


def test_adding_an_object_leaves_the_others_unchanged() -> None:
    ids = ["a", "b", "c"]
    types = ["drone/multirotor", "bird/gull", "vehicle/car"]
    one = draw_signatures(types, [0.05, 0.02, 10.0], _streams(ids))
    two = draw_signatures([types[0], "drone/fixed-wing", *types[1:]], [0.05, 0.1, 0.02, 10.0],
                          _streams(["a", "new", "b", "c"]))
    for name in ("moving", "chi2_dof", "length_m", "rotation_hz", "blades", "tip_speed_mps", "md_rate_hz",
                 "rel_power_db", "duty"):
        a, b = getattr(one, name), getattr(two, name)
        assert np.array_equal(a, b[[0, 2, 3]], equal_nan=True), name


def test_signatures_are_checked() -> None:
    sig = _draw("bird/gull", 3)
    with pytest.raises(ValueError, match="chi2_dof"):
        replace(sig, chi2_dof=np.array([2.0, 3.0, 4.0]))
    with pytest.raises(ValueError, match=r"Signatures.duty has shape \(2,\)"):
        replace(sig, duty=np.ones(2))
    with pytest.raises(ValueError, match="2 generators"):
        draw_signatures(["bird/gull"] * 3, 0.01, _streams(["a", "b"]))
    assert draw_signatures([], [], []).model == ()


def _look(el_deg: float, az_deg: float = 0.0) -> np.ndarray:
    """Unit vector from an object to a radar seen at elevation el (radar below: negative z) and azimuth az."""
    el, az = math.radians(el_deg), math.radians(az_deg)
    return np.array([[math.cos(el) * math.sin(az), math.cos(el) * math.cos(az), -math.sin(el)]])


def _one(sig: Signatures, toward: np.ndarray, vel: list[float], u: float = 0.0) -> tuple[float, float]:
    spread, rate = modulation(sig, np.array([0]), toward, np.array([vel], float), np.array([u]))
    return float(spread[0]), float(rate[0])


def test_rotor_disks_show_their_tips_at_cos_elevation() -> None:
    sig = _draw("drone/multirotor", 1)
    for el in (0.0, 30.0, 60.0):
        spread, rate = _one(sig, _look(el), [5.0, 0.0, 0.0])
        assert spread == pytest.approx(sig.tip_speed_mps[0] * math.cos(math.radians(el)))
        assert rate == sig.md_rate_hz[0]


def test_a_propeller_is_seen_across_its_disk_and_hidden_behind_the_fuselage() -> None:
    sig = _draw("drone/fixed-wing", 40, 0.1)
    tractor = int(np.flatnonzero(sig.moving == Moving.TRACTOR)[0])
    pusher = int(np.flatnonzero(sig.moving == Moving.PUSHER)[0])
    east = [20.0, 0.0, 0.0]
    for j in (tractor, pusher):
        row = np.array([j])
        side, _ = modulation(sig, row, _look(0.0, 0.0), np.array([east]), np.zeros(1))  # broadside
        assert side[0] == pytest.approx(sig.tip_speed_mps[j])
        oblique, _ = modulation(sig, row, np.array([[math.cos(1.0), math.sin(1.0), 0.0]]), np.array([east]),
                                np.zeros(1))
        assert oblique[0] == pytest.approx(sig.tip_speed_mps[j] * math.sin(1.0))  # sin(aspect) of the disk
    ahead, behind = np.array([[1.0, 0.0, 0.0]]), np.array([[-1.0, 0.0, 0.0]])
    for j, hidden_from in ((tractor, behind), (pusher, ahead)):
        spread, rate = modulation(sig, np.array([j]), hidden_from, np.array([east]), np.zeros(1))
        assert np.isnan(spread[0]) and np.isnan(rate[0])
    # no heading (velocity unknown or zero): no aspect effect
    still, _ = modulation(sig, np.array([tractor]), behind, np.zeros((1, 3)), np.zeros(1))
    assert still[0] == pytest.approx(sig.tip_speed_mps[tractor])


def test_jet_engine_modulation_is_seen_only_through_inlet_or_exhaust() -> None:
    sig = _draw("aircraft/fixed-wing", 1, 30.0)
    north = [0.0, 200.0, 0.0]
    assert not math.isnan(_one(sig, _look(0.0, 0.0), north)[0])  # radar ahead: inlet
    assert not math.isnan(_one(sig, _look(0.0, 180.0), north)[0])  # radar behind: exhaust
    assert not math.isnan(_one(sig, _look(0.0, 55.0), north)[0])
    assert math.isnan(_one(sig, _look(0.0, 90.0), north)[0])  # broadside: the nacelle hides the fan
    assert math.isnan(_one(sig, _look(0.0, 65.0), north)[0])


def test_wheels_follow_the_vehicle_speed_and_stop_with_it() -> None:
    for kind, lo, hi in (("vehicle/car", 0.28, 0.34), ("vehicle/lorry", 0.45, 0.55)):
        sig = _draw(kind, 1, 10.0)
        r = float(sig.length_m[0])
        assert lo <= r <= hi
        v = 15.0
        spread, rate = _one(sig, _look(0.0, 0.0), [0.0, v, 0.0])  # driving at the radar
        assert spread == pytest.approx(v)  # rim speed about the hub = ground speed (top at 2v over ground)
        assert rate == pytest.approx(v / (2 * math.pi * r))
        assert _one(sig, _look(0.0, 90.0), [0.0, v, 0.0])[0] == pytest.approx(0.0, abs=1e-9)  # broadside
        assert np.isnan(_one(sig, _look(0.0, 0.0), [0.0, 0.0, 0.0])).all()  # standing still: nothing turns


def test_birds_modulate_only_while_flapping() -> None:
    n = 20_000
    sig = _draw("bird/raptor", 1)
    u = np.random.default_rng(3).random(n)
    spread, rate = modulation(sig, np.zeros(n, np.int64), np.repeat(_look(5.0), n, axis=0),
                              np.tile([8.0, 0.0, 0.0], (n, 1)), u)
    flapping = ~np.isnan(spread)
    assert np.array_equal(flapping, u < sig.duty[0]) and np.array_equal(flapping, ~np.isnan(rate))
    assert abs(flapping.mean() - 0.2) < 4 * math.sqrt(0.2 * 0.8 / n)
    np.testing.assert_allclose(spread[flapping], sig.tip_speed_mps[0])  # wings move at every aspect
    inert = draw_signatures(["balloon/x"], [0.1], _streams(["x"]))
    assert np.isnan(_one(inert, _look(0.0), [1.0, 0.0, 0.0])).all()
