"""Radar signatures of simulated objects: how their echo fluctuates, and the micro-Doppler of their moving parts.

Each object draws once, from its own random stream, the physical parameters of what moves on it (rotor
and propeller blades, a jet engine's fan, wings, wheels) and the chi-square model of its RCS fluctuation;
at each scan :func:`modulation` turns them, with the line of sight and the object's velocity, into the
radial half-width and the rate of the modulation the radar could measure. Parameters are drawn uniformly
from the ranges of ``_MODELS``; the source of each range is cited beside it (our reading, rounded).

References:
  [Chen]     V. C. Chen, "The Micro-Doppler Effect in Radar", Artech House, 2011 (rotor blades, wings, wheels).
  [deWit]    J. J. M. de Wit, R. I. A. Harmanny, G. Prémel-Cabic, "Micro-Doppler analysis of small UAVs",
             EuRAD 2012.
  [Harmanny] R. I. A. Harmanny, J. J. M. de Wit, G. Prémel-Cabic, "Radar micro-Doppler feature extraction using
             the spectrogram and the cepstrogram", EuRAD 2014.
  [BG]       M. R. Bell, R. A. Grubbs, "JEM modeling and measurement for radar target identification",
             IEEE Trans. AES 29(1), 1993 (jet-engine modulation).
  [Pen96]    C. J. Pennycuick, "Wingbeat frequency of birds in steady cruising flight: new data and improved
             predictions", J. Exp. Biol. 199, 1996 (f = m^3/8 g^1/2 b^-23/24 S^-1/3 rho^-3/8).
  [Pen01]    C. J. Pennycuick, "Speeds and wingbeat frequencies of migrating birds compared with calculated
             benchmarks", J. Exp. Biol. 204, 2001.
  [Bru]      B. Bruderer et al., "Wing-beat characteristics of birds recorded with tracking radar and cine
             camera", Ibis 152, 2010 (continuous flapping, flap-gliding, bounding; pause fractions).
  [TD96]     B. W. Tobalske, K. P. Dial, "Flight kinematics of black-billed magpies and pigeons over a wide
             range of speeds", J. Exp. Biol. 199, 1996 (stroke amplitudes).
  [Vaughn]   C. R. Vaughn, "Birds and insects as radar targets: a review", Proc. IEEE 73(2), 1985.
  [Swerling] P. Swerling, "Probability of detection for fluctuating targets", IRE Trans. IT-6, 1960;
             M. I. Skolnik (ed.), "Radar Handbook", 3rd ed., McGraw-Hill 2008, ch. 2.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]

# [Swerling]: chi-square RCS models with 2 degrees of freedom (Swerling 1: many scatterers of similar size)
# and 4 (Swerling 3: one dominant scatterer plus many small ones); the radar draws both exactly.
SWERLING_1_DOF = 2.0
SWERLING_3_DOF = 4.0
SMALL_MULTIROTOR_RCS_M2 = 0.08  # below this mean RCS a multirotor is of the small (< ~2 kg) class
PROPELLER_SHADOW_DEG = 30.0  # the fuselage hides the propeller when the radar looks along it within this cone
JET_VIEW_DEG = 60.0  # the fan is seen through the inlet or the exhaust within this cone about the axis
_MIN_HEADING_SPEED_MPS = 0.1  # below it an object has no heading: aspect effects are left out
_UNIFORMS = 7  # uniforms drawn per object: length, rotation, stroke, power, duty, counts, propeller position


class Moving(IntEnum):
    """What moves on an object: it sets how the micro-Doppler depends on the aspect."""

    NONE = 0
    ROTORS = 1  # horizontal rotor disks (multirotor): tips seen at cos(elevation)
    TRACTOR = 2  # a propeller disk across the heading at the nose, hidden from behind by the fuselage
    PUSHER = 3  # the same at the tail, hidden from ahead
    JET = 4  # a jet engine's fan, seen through the inlet or the exhaust only
    WINGS = 5  # flapping wings: flap, sweep and span change give radial motion at every aspect
    WHEELS = 6  # wheels rolling along the heading: the rim moves at the vehicle's speed about the hub


@dataclass(frozen=True)
class _Model:
    """Ranges an object's parameters are drawn from (uniformly); NaN: not applicable."""

    moving: Moving
    chi2_dof: float
    length_m: tuple[float, float]  # blade length (hub to tip), fan radius, wing semi-span, wheel radius
    rotation_hz: tuple[float, float]  # rotor/propeller/fan revolutions per second, or wing-beat frequency
    rel_power_db: tuple[float, float]  # the moving parts' echo relative to the body's (per 4 rotors)
    blades: tuple[int, int] = (0, 0)  # blades per rotor, any count from lo to hi
    rotors: tuple[int, int] = (1, 1)  # rotors, even counts from lo to hi (multirotors)
    stroke_deg: tuple[float, float] = (math.nan, math.nan)  # wing stroke amplitude, peak to peak
    duty: tuple[float, float] = (1.0, 1.0)  # share of scans the parts move (birds flapping)
    pusher_share: float = 0.0  # share of propeller aircraft with the propeller at the tail


_NAN2 = (math.nan, math.nan)
_MODELS: dict[str, _Model] = {
    # Commercial small quadcopters: 5-9.5 inch propellers (blade 0.06-0.12 m) at ~6,000-11,000 rpm, 2 blades;
    # tip speed 2 pi L f ~ 40-140 m/s; blade lines 12-20 dB under the body line [deWit], [Harmanny]. Motors,
    # battery and frame make one dominant scatterer: Swerling 3 [Swerling].
    "multirotor-small": _Model(Moving.ROTORS, SWERLING_3_DOF, (0.06, 0.12), (100.0, 180.0), (-20.0, -12.0),
                               blades=(2, 2), rotors=(4, 4)),
    # Heavy-lift hexa/octocopters: 15-30 inch propellers (0.2-0.4 m blades) at ~2,400-4,800 rpm [deWit], [Chen].
    "multirotor-large": _Model(Moving.ROTORS, SWERLING_3_DOF, (0.2, 0.4), (40.0, 80.0), (-20.0, -12.0),
                               blades=(2, 2), rotors=(6, 8)),
    # Small fixed-wing UAV: one 2- or 3-blade 8-16 inch propeller at ~5,000-9,000 rpm; one propeller, partly
    # hidden, hence fainter than a multirotor's blades [deWit]. Airframe of many similar scatterers: Swerling 1.
    "fixed-wing": _Model(Moving.TRACTOR, SWERLING_1_DOF, (0.1, 0.2), (80.0, 150.0), (-25.0, -15.0),
                         blades=(2, 3), pusher_share=0.5),
    # Airliner turbofan: fan diameter 1.4-1.8 m, 60-80 rev/s, 20-36 fan blades: tip speeds ~260-450 m/s and
    # blade-passing rates of kHz; the modulation is seen only through the inlet or the exhaust [BG], [Chen].
    "jet": _Model(Moving.JET, SWERLING_1_DOF, (0.7, 0.9), (60.0, 80.0), (-20.0, -20.0), blades=(20, 36)),
    # Birds: wing-beat frequency in cruising flight [Pen01], [Bru] (larger birds beat slower, [Pen96]);
    # semi-span from published wingspans; stroke amplitude [TD96]; duty = share of time flapping by flight
    # style, continuous flapping vs flap-gliding vs soaring [Bru]. Wings are flesh, as the body: the wing-beat
    # modulation of the echo is strong [Vaughn]. Many comparable scatterers: Swerling 1.
    "bird/gull": _Model(Moving.WINGS, SWERLING_1_DOF, (0.5, 0.75), (3.0, 4.0), (-10.0, -3.0),
                        stroke_deg=(70.0, 90.0), duty=(0.7, 0.7)),
    "bird/crow": _Model(Moving.WINGS, SWERLING_1_DOF, (0.46, 0.52), (3.5, 4.5), (-10.0, -3.0),
                        stroke_deg=(80.0, 100.0), duty=(0.9, 0.9)),
    "bird/pigeon": _Model(Moving.WINGS, SWERLING_1_DOF, (0.31, 0.35), (5.0, 7.0), (-10.0, -3.0),
                          stroke_deg=(90.0, 120.0), duty=(0.9, 0.9)),
    "bird/duck": _Model(Moving.WINGS, SWERLING_1_DOF, (0.4, 0.49), (5.0, 8.0), (-10.0, -3.0),
                        stroke_deg=(70.0, 90.0), duty=(1.0, 1.0)),
    "bird/swift": _Model(Moving.WINGS, SWERLING_1_DOF, (0.2, 0.22), (7.0, 10.0), (-10.0, -3.0),
                         stroke_deg=(60.0, 80.0), duty=(0.6, 0.6)),
    "bird/starling": _Model(Moving.WINGS, SWERLING_1_DOF, (0.185, 0.21), (10.0, 14.0), (-10.0, -3.0),
                            stroke_deg=(90.0, 110.0), duty=(0.75, 0.75)),
    "bird/raptor": _Model(Moving.WINGS, SWERLING_1_DOF, (0.55, 0.65), (2.5, 3.5), (-10.0, -3.0),
                          stroke_deg=(60.0, 80.0), duty=(0.2, 0.2)),
    "bird/generic": _Model(Moving.WINGS, SWERLING_1_DOF, (0.2, 0.6), (3.0, 8.0), (-10.0, -3.0),
                           stroke_deg=(70.0, 110.0), duty=(0.5, 1.0)),
    # Road vehicles: tyre radius from the size code (205/55 R16: 0.316 m; 315/80 R22.5: 0.538 m); a wheel
    # rolling at v turns at v / (2 pi r) and its rim moves at v about the hub [Chen]; wheels partly hidden by
    # the body; flat panels and corners make one dominant scatterer: Swerling 3 [Swerling].
    "car": _Model(Moving.WHEELS, SWERLING_3_DOF, (0.28, 0.34), _NAN2, (-10.0, -10.0)),
    "lorry": _Model(Moving.WHEELS, SWERLING_3_DOF, (0.45, 0.55), _NAN2, (-10.0, -10.0)),
    # Anything else: no moving parts, Swerling 1.
    "inert": _Model(Moving.NONE, SWERLING_1_DOF, _NAN2, _NAN2, _NAN2),
}


@dataclass(frozen=True)
class Signatures:
    """Radar signature parameters of m objects (structure of arrays), drawn once per object.

    ``tip_speed_mps`` is the speed of the moving parts' tips relative to the body and ``md_rate_hz`` the
    modulation rate (blade flashes, wing beats); for wheels both follow the speed at each scan (NaN here).
    """

    model: tuple[str, ...]  # the model each object was drawn from (a key of ``_MODELS``)
    moving: NDArray[np.int8]  # :class:`Moving` codes
    chi2_dof: Array  # 2 (Swerling 1) or 4 (Swerling 3)
    length_m: Array  # blade length, fan radius, wing semi-span or wheel radius
    rotation_hz: Array  # revolutions per second, or wing-beat frequency
    blades: NDArray[np.int64]  # blades per rotor (0: wings, wheels)
    rotors: NDArray[np.int64]  # rotors (1 unless a multirotor)
    stroke_rad: Array  # wing stroke amplitude, peak to peak
    tip_speed_mps: Array
    md_rate_hz: Array
    rel_power_db: Array  # the moving parts' echo relative to the body's
    duty: Array  # probability that the parts move at a scan

    def __post_init__(self) -> None:
        m = len(self.model)
        for name in ("moving", "chi2_dof", "length_m", "rotation_hz", "blades", "rotors", "stroke_rad",
                     "tip_speed_mps", "md_rate_hz", "rel_power_db", "duty"):
            if np.shape(getattr(self, name)) != (m,):
                raise ValueError(f"Signatures.{name} has shape {np.shape(getattr(self, name))}, expected ({m},)")
        if not np.isin(self.chi2_dof, (SWERLING_1_DOF, SWERLING_3_DOF)).all():
            raise ValueError(f"Signatures.chi2_dof: only 2 and 4 are drawn exactly (got {np.unique(self.chi2_dof)})")

    def __len__(self) -> int:
        return len(self.model)


def model_name(truth_type: str, rcs_m2: float) -> str:
    """The signature model of a "<kind>/<type>" object; unknown types fall back to their kind's usual one."""
    kind, _, sub = truth_type.partition("/")
    if kind == "bird":
        return f"bird/{sub}" if f"bird/{sub}" in _MODELS else "bird/generic"
    if kind == "drone":
        if sub == "fixed-wing":
            return "fixed-wing"
        return "multirotor-small" if rcs_m2 < SMALL_MULTIROTOR_RCS_M2 else "multirotor-large"
    if kind == "aircraft":
        return "jet"
    if kind == "vehicle":
        return "lorry" if sub == "lorry" else "car"
    return "inert"


def _column(models: Sequence[_Model], field: str) -> Array:
    """One field of each object's model as an (m, ...) float array."""
    return np.array([getattr(mo, field) for mo in models], float)


def _count(lo_hi: Array, u: Array, step: int) -> NDArray[np.int64]:
    """A count drawn uniformly from lo, lo + step, ..., hi."""
    lo, hi = lo_hi[:, 0], lo_hi[:, 1]
    return (lo + step * np.floor(u * ((hi - lo) // step + 1.0))).astype(np.int64)


def draw_signatures(truth_types: Sequence[str], rcs_m2: ArrayLike,
                    rngs: Sequence[np.random.Generator]) -> Signatures:
    """Each object's signature from its type, its mean RCS (m²) and its own generator (one per object).

    Every object takes the same number of variates from its own stream, so adding an object leaves the
    others' signatures unchanged.
    """
    rcs = np.broadcast_to(np.asarray(rcs_m2, float), (len(truth_types),))
    if len(rngs) != len(truth_types):
        raise ValueError(f"draw_signatures: {len(truth_types)} types but {len(rngs)} generators")
    names = tuple(model_name(t, float(r)) for t, r in zip(truth_types, rcs, strict=True))
    models = [_MODELS[n] for n in names]
    u = np.array([g.random(_UNIFORMS) for g in rngs], float).reshape(len(names), _UNIFORMS)

    def draw(field: str, k: int) -> Array:
        lo_hi = _column(models, field).reshape(-1, 2)
        return lo_hi[:, 0] + (lo_hi[:, 1] - lo_hi[:, 0]) * u[:, k]

    moving = np.array([mo.moving for mo in models], np.int8).reshape(-1)
    moving[u[:, 6] < _column(models, "pusher_share")] = Moving.PUSHER
    length, rotation = draw("length_m", 0), draw("rotation_hz", 1)
    stroke = np.radians(draw("stroke_deg", 2))
    blades = _count(_column(models, "blades").reshape(-1, 2), u[:, 5], 1)
    rotors = _count(_column(models, "rotors").reshape(-1, 2), u[:, 5], 2)
    wings = moving == Moving.WINGS
    # [Chen]: a blade tip on a circle of radius L at f rev/s moves at 2 pi L f; a wing flapping through a
    # stroke of amplitude Phi (peak to peak) at f Hz, theta(t) = Phi/2 sin(2 pi f t), has tip speed pi f Phi L.
    tip = np.where(wings, math.pi * rotation * stroke * length, 2.0 * math.pi * length * rotation)
    # [Chen]: with an even number N of blades two opposite blades flash together, N flashes per revolution;
    # with an odd number each blade flashes on its own on both sides, 2N per revolution.
    flashes = np.where(blades % 2 == 0, blades, 2 * blades) * rotation
    rate = np.where(wings, rotation, flashes)
    # the blades' echoes add incoherently over rotors: the table's relative power is for four
    rel = draw("rel_power_db", 3) + np.where(moving == Moving.ROTORS, 10.0 * np.log10(np.maximum(rotors, 1) / 4.0), 0.0)
    return Signatures(model=names, moving=moving, chi2_dof=_column(models, "chi2_dof"), length_m=length,
                      rotation_hz=rotation, blades=blades, rotors=rotors, stroke_rad=stroke, tip_speed_mps=tip,
                      md_rate_hz=rate, rel_power_db=rel, duty=draw("duty", 4))


def modulation(sig: Signatures, rows: NDArray[np.int64], toward_radar: Array, vel_enu_mps: Array,
               unit_uniform: Array) -> tuple[Array, Array]:
    """True micro-Doppler of objects ``rows`` at one scan: radial half-width (m/s) and rate (Hz), NaN if none.

    ``toward_radar (n, 3)``: unit lines of sight from each object to the radar; ``vel_enu_mps (n, 3)``: their
    velocities (zeros when unknown: no heading); ``unit_uniform (n,)``: U(0, 1) of this scan, the parts
    move when it is below the object's duty. The half-width is the largest radial speed of the tips
    relative to the body: the tip speed times the share of the tips' plane of motion along the line of sight.
    """
    moving = sig.moving[rows]
    u = np.asarray(toward_radar, float).reshape(-1, 3)
    v = np.asarray(vel_enu_mps, float).reshape(-1, 3)
    speed, ground_speed = np.linalg.norm(v, axis=1), np.hypot(v[:, 0], v[:, 1])
    has_heading = speed > _MIN_HEADING_SPEED_MPS
    cos_aspect = np.where(has_heading, np.einsum("ij,ij->i", u, v) / np.maximum(speed, _MIN_HEADING_SPEED_MPS), 0.0)
    on = (unit_uniform < sig.duty[rows]) & (moving != Moving.NONE)
    # the fuselage hides a propeller seen along it from its far end; a fan is seen only along its axis
    shadow = math.cos(math.radians(PROPELLER_SHADOW_DEG))
    on &= ~((moving == Moving.TRACTOR) & (cos_aspect < -shadow)) & ~((moving == Moving.PUSHER) & (cos_aspect > shadow))
    on &= (moving != Moving.JET) | ~has_heading | (np.abs(cos_aspect) >= math.cos(math.radians(JET_VIEW_DEG)))
    wheels = moving == Moving.WHEELS
    on &= ~wheels | (ground_speed > 0.0)
    # share of the tip speed along the line of sight: horizontal rotor disks cos(elevation); a propeller disk
    # across the heading sin(aspect); wheels in the vertical plane along the ground track; wings and fans all
    along_track = np.einsum("ij,ij->i", u[:, :2], v[:, :2]) / np.maximum(ground_speed, _MIN_HEADING_SPEED_MPS)
    share = np.select(
        [moving == Moving.ROTORS, (moving == Moving.TRACTOR) | (moving == Moving.PUSHER), wheels],
        [np.sqrt(np.clip(1.0 - u[:, 2] ** 2, 0.0, 1.0)), np.sqrt(np.clip(1.0 - cos_aspect**2, 0.0, 1.0)),
         np.sqrt(np.clip(along_track**2 + u[:, 2] ** 2, 0.0, 1.0))],
        1.0,
    )
    # [Chen]: rolling without slip, the rim moves at the ground speed about the hub, at v / (2 pi r) turns per s
    tip = np.where(wheels, ground_speed, sig.tip_speed_mps[rows])
    rate = np.where(wheels, ground_speed / (2.0 * math.pi * sig.length_m[rows]), sig.md_rate_hz[rows])
    return np.where(on, tip * share, np.nan), np.where(on, rate, np.nan)
