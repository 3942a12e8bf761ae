"""Birds: species speed bands, flap–glide cycles, thermalling, flocks, transits and independent streams."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest

from skywarden.geo import LocalFrame
from skywarden.sim.birds import SPECIES, BirdFlight, BirdParams, bird_trajectories, fly_birds
from skywarden.sim.motion import Trajectory
from skywarden.sim.scenario import BirdGroupSpec, load_scenario


@pytest.fixture(scope="module")
def frame() -> LocalFrame:
    return load_scenario("crossing-drones").site.frame


def _groups(*groups: dict[str, Any]) -> list[BirdGroupSpec]:
    base = {"centre": {"enu_m": [0.0, 0.0, 0.0]}, "radius_m": 800.0, "alt_m": [20.0, 300.0]}
    return [BirdGroupSpec.model_validate(base | g) for g in groups]


def _speed(traj: Trajectory) -> np.ndarray:
    return np.hypot(traj.vel[:, 0], traj.vel[:, 1])


@pytest.mark.parametrize("species", [s for s in SPECIES if SPECIES[s].style != "soaring"])
def test_each_species_flies_inside_its_speed_band(frame: LocalFrame, species: str) -> None:
    groups = _groups({"id": "g", "count": 6, "species": species})
    ids, types, rcs, trajs = bird_trajectories(groups, frame, 600.0, seed=4)
    lo, hi = SPECIES[species].speed_mps
    assert ids == [f"g-{i}" for i in range(1, 7)] and set(types) == {f"bird/{species}"}
    assert all(SPECIES[species].rcs_m2[0] <= r <= SPECIES[species].rcs_m2[1] for r in rcs)
    speed = np.concatenate([_speed(t) for t in trajs])
    assert speed.min() >= lo - 1e-9 and speed.max() <= hi + 1e-9
    assert np.percentile(speed, 90) - np.percentile(speed, 10) > 0.1 * (hi - lo)  # it varies


def test_swifts_ducks_and_pigeons_are_fast_and_swifts_turn_erratically(frame: LocalFrame) -> None:
    groups = _groups({"id": "s", "count": 5, "species": "swift"}, {"id": "p", "count": 5, "species": "pigeon"},
                     {"id": "d", "count": 5, "species": "duck"})
    _, _, _, trajs = bird_trajectories(groups, frame, 600.0, seed=5)
    mean = [float(np.mean(_speed(t))) for t in trajs]
    assert min(mean[:5]) >= 15.0 and min(mean[10:]) >= 15.0 and np.mean(mean[5:10]) >= 14.0
    turn = [np.abs(np.diff(np.unwrap(np.arctan2(t.vel[:, 1], t.vel[:, 0])))).mean() / 0.2 for t in trajs]
    assert min(turn[:5]) > 2.0 * max(turn[5:])  # swifts turn far more than pigeons and ducks


def _one_bird(style: str, u: np.ndarray, band: tuple[float, float] = (9.0, 15.0), alt: tuple[float, float] = (20.0, 300.0),
              ) -> tuple[BirdParams, BirdFlight]:
    bands = np.array([band])
    flight = BirdFlight.of([style], bands, u[None, :])
    params = BirdParams(start_enu_m=np.array([[0.0, 0.0, 100.0]]), centre_enu_m=np.zeros((1, 2)),
                        radius_m=np.array([2000.0]), alt_band_m=np.array([alt]), speed_mps=np.array([12.0]),
                        speed_band_mps=bands, heading_rad=np.array([0.3]), flight=flight)
    return params, flight


def test_flap_glide_speed_rises_and_falls_with_its_period_and_amplitude() -> None:
    params, flight = _one_bird("flap-glide", np.array([0.6, 0.4, 0.5, 0.1, 0.5, 0.5, 0.5, 0.5]))
    steady = dataclasses.replace(flight, speed_sd_mps=np.zeros(1))  # no slow speed drift: the cycle alone
    traj = fly_birds(dataclasses.replace(params, flight=steady), 0.0, 300.0, [np.random.default_rng(1)])[0]
    speed = _speed(traj)
    period, amp = float(flight.glide_period_s[0]), float(flight.glide_amp_mps[0])
    assert 2.5 <= period <= 6.0 and 0.10 * 12.0 <= amp <= 0.15 * 12.0
    np.testing.assert_allclose([speed.max() - 12.0, 12.0 - speed.min()], [amp, amp], atol=0.1 * amp)
    spectrum = np.abs(np.fft.rfft(speed - speed.mean()))
    freq = np.fft.rfftfreq(len(speed), 0.2)
    assert 1.0 / freq[int(np.argmax(spectrum))] == pytest.approx(period, rel=0.05)
    # it speeds up while flapping and slows while gliding: rises for the flap share of the cycle
    rising = np.mean(np.diff(speed) > 0)
    assert rising == pytest.approx(flight.flap_fraction[0], abs=0.05)
    # with the species' drift, a gull's speed still swings by about the amplitude within every cycle
    free = fly_birds(params, 0.0, 300.0, [np.random.default_rng(1)])[0]
    n = round(period / 0.2)
    swing = [np.ptp(_speed(free)[k:k + n]) for k in range(0, len(free.t) - n, n)]
    assert np.median(swing) > 1.5 * amp


def test_a_soaring_bird_circles_up_in_thermals_and_glides_off() -> None:
    params, flight = _one_bird("soaring", np.array([0.5, 0.5, 0.2, 0.5, 0.1, 0.5, 0.5, 0.5]), band=(8.0, 14.0),
                               alt=(50.0, 400.0))
    assert flight.in_thermal[0]
    rate, climb = float(flight.thermal_turn_rps[0]), float(flight.thermal_climb_mps[0])
    assert 0.2 <= abs(rate) <= 0.5 and 1.0 <= climb <= 3.0
    traj = fly_birds(params, 0.0, 1800.0, [np.random.default_rng(2)])[0]
    circling = np.isclose(traj.vel[:, 2], climb)
    assert 0.2 < circling.mean() < 0.9  # both circling and gliding
    heading = np.unwrap(np.arctan2(traj.vel[:, 1], traj.vel[:, 0]))
    both = circling[1:] & circling[:-1]
    np.testing.assert_allclose(np.diff(heading)[both] / 0.2, rate, rtol=1e-6)
    np.testing.assert_allclose(_speed(traj)[circling], flight.thermal_speed_mps[0])
    # each thermal takes it up to the top of its band (less the margin), the glides down again
    z = traj.pos[:, 2]
    assert z.max() == pytest.approx(400.0 - 0.15 * 350.0, abs=climb * 0.2 + 1e-6)
    gliding = ~circling
    assert (traj.vel[gliding, 2] < 0.0).all()
    assert z.min() >= 50.0 - 1.0


def test_flock_members_keep_their_spacing_and_fly_together(frame: LocalFrame) -> None:
    groups = _groups({"id": "f", "count": 12, "species": "starling", "flock": True, "spacing_m": 2.0})
    ids, _, _, trajs = bird_trajectories(groups, frame, 600.0, seed=6)
    assert len(ids) == 12
    pos = np.stack([t.pos for t in trajs])  # (12, k, 3)
    centre = pos.mean(axis=0)
    spread = np.linalg.norm(pos - centre, axis=2)
    assert spread.max() <= 0.5 * 2.0 * math.sqrt(12) + 2 * 2.0  # the slot disc plus two spacings of jitter
    gaps = np.linalg.norm(pos[:, None] - pos[None, :], axis=3)
    gaps[np.arange(12), np.arange(12)] = np.inf
    nearest = gaps.min(axis=1)
    assert 0.3 * 2.0 < np.median(nearest) < 3.0 * 2.0
    # together: one path, and each member's distance from the flock centre stays about the same
    assert np.linalg.norm(np.diff(centre, axis=0), axis=1).sum() > 5000.0
    assert (spread.std(axis=1) < 2.0).all()


def test_transit_birds_cross_on_their_heading_and_leave(frame: LocalFrame) -> None:
    groups = _groups({"id": "t", "count": 8, "species": "duck", "motion": "transit", "heading_deg": 60.0,
                      "radius_m": 2000.0, "start_s": [0.0, 100.0]})
    _, _, _, trajs = bird_trajectories(groups, frame, 900.0, seed=7)
    for t in trajs:
        assert 0.0 <= t.t_start <= 100.0
        assert t.t_end < 900.0  # 4 km at 15-22 m/s: it has crossed and gone
        d = t.pos[-1, :2] - t.pos[0, :2]
        course = math.degrees(math.atan2(d[0], d[1])) % 360.0
        assert abs(course - 60.0) < 30.0
        assert np.linalg.norm(d) > 1500.0
        assert np.hypot(*t.pos[-1, :2]) >= 2000.0 - 25.0


def test_a_new_group_or_member_leaves_the_other_birds_alone(frame: LocalFrame) -> None:
    gulls = {"id": "g", "count": 3, "species": "gull"}
    flock = {"id": "f", "count": 5, "species": "pigeon", "flock": True}
    _, _, rcs_a, a = bird_trajectories(_groups(gulls, flock), frame, 300.0, seed=8)
    _, _, rcs_b, b = bird_trajectories(_groups({"id": "r", "count": 2, "species": "raptor"}, gulls,
                                               flock | {"count": 6}), frame, 300.0, seed=8)
    for x, y in zip(a[:3], b[2:5], strict=True):  # a bigger flock spreads its slots: only the others stay
        assert np.array_equal(x.pos, y.pos)
    assert rcs_a == rcs_b[2:10]
    _, _, _, c = bird_trajectories(_groups(gulls, flock), frame, 300.0, seed=9)
    assert not np.allclose(a[0].pos, c[0].pos)
