"""Measure the classifier and the alerting on randomised labelled scenes the classifier was not trained on.

Each seed gives one random scene (``sim.mix.random_scene``: several drone types with hover legs, bird
species with flap–glide, soaring, flocks and fast flyers, ground traffic), run through the real input path
(:mod:`.scene`). Per true object held by a confirmed track for at least ``MIN_HELD_S``:

- its **label** is the one its tracks carried for most of the time they held it (``unknown`` included):
  the confusion matrix and per-class recall count objects;
- its **time to the right label** runs from the first scan a confirmed track held it to the first scan
  that track carried its true class;
- an **intruding drone** (one that reached an asset's protective radius) counts where detection allowed
  a warning: its track was confirmed at least ``CONFIRMED_BEFORE_S`` before the asset; it is **alerted in
  time** when its first intrusion alert came at least ``WARNING_S`` before;
- a **false alert** is an intrusion alert on a track held by a bird or a vehicle, or by nothing (a false
  track), counted per hour of scene time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from skywarden.airspace.rules import SafetyPolicy
from skywarden.events import ZoneViolation
from skywarden.metrics import alert_truth_of, summarize
from skywarden.picture.classify import CLASSES, UNKNOWN, ClassifierParams
from skywarden.runtime.scene import SceneRun, run_scene

MIN_HELD_S = 20.0
CONFIRMED_BEFORE_S = 90.0
WARNING_S = 60.0
LABELS = (*CLASSES, UNKNOWN)
DEFAULT_SEEDS = (1, 2, 3, 4, 5)  # disjoint from the training and calibration seeds (runtime.training)


@dataclass
class ObjectOutcome:
    """One true object of one scene: what it was, how it was labelled and alerted."""

    seed: int
    truth_id: str
    kind: str
    type: str
    rcs_dbsm: float
    label: str
    right_share: float  # of the scans it was held, the share its track carried its true class
    silenced_share: float  # of the scans it was held, the share its track was confidently harmless (SafetyPolicy)
    time_to_label_s: float | None
    reached_asset: bool
    warned_possible: bool
    warning_s: float | None


@dataclass
class Evaluation:
    """Every object's outcome, the false alerts and the hours of scene they came from."""

    objects: list[ObjectOutcome] = field(default_factory=list)
    false_alerts: dict[str, int] = field(default_factory=lambda: {"bird": 0, "vehicle": 0, "no object": 0})
    hours: float = 0.0
    seeds: list[int] = field(default_factory=list)

    def confusion(self, min_rcs_dbsm: float = -np.inf) -> dict[str, dict[str, int]]:
        """True class -> label -> count of objects (drones below ``min_rcs_dbsm`` left out)."""
        table = {k: dict.fromkeys(LABELS, 0) for k in CLASSES}
        for o in self.objects:
            if o.kind in table and not (o.kind == "drone" and o.rcs_dbsm < min_rcs_dbsm):
                table[o.kind][o.label] += 1
        return table

    def recall(self, kind: str, min_rcs_dbsm: float = -np.inf) -> float | None:
        """Share of the objects of ``kind`` labelled as such, or None without any."""
        row = self.confusion(min_rcs_dbsm)[kind]
        n = sum(row.values())
        return row[kind] / n if n else None

    def share_labelled(self, kind: str, label: str) -> float | None:
        """Share of the objects of ``kind`` labelled ``label``."""
        row = self.confusion()[kind]
        n = sum(row.values())
        return row[label] / n if n else None

    def time_share(self, kind: str, field: str) -> float | None:
        """Over the objects of ``kind``, the mean of an outcome's per-scan share (``right_share``, ``silenced_share``)."""
        shares = [getattr(o, field) for o in self.objects if o.kind == kind]
        return float(np.mean(shares)) if shares else None

    def median_time_to_label_s(self, kind: str | None = None) -> float | None:
        """Median time to the right label over the objects (of ``kind``) that got it."""
        times = [o.time_to_label_s for o in self.objects if (kind is None or o.kind == kind) and o.time_to_label_s is not None]
        return float(np.median(times)) if times else None

    def warned_in_time(self) -> tuple[int, int]:
        """(intruding drones alerted at least WARNING_S before their asset, intruding drones that could be)."""
        able = [o for o in self.objects if o.kind == "drone" and o.reached_asset and o.warned_possible]
        return sum(1 for o in able if o.warning_s is not None and o.warning_s >= WARNING_S), len(able)

    def false_alerts_per_hour(self) -> float:
        """Intrusion alerts on birds, vehicles and false tracks per hour of scene."""
        return sum(self.false_alerts.values()) / self.hours if self.hours else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The figures as JSON."""
        ok, able = self.warned_in_time()
        return {
            "seeds": self.seeds, "hours": round(self.hours, 3), "objects": len(self.objects),
            "counts": {k: sum(1 for o in self.objects if o.kind == k) for k in CLASSES},
            "confusion": self.confusion(),
            "recall": {k: self.recall(k) for k in CLASSES},
            "drone_recall_min_20dbsm": self.recall("drone", -20.0),
            "birds_labelled_drone": self.share_labelled("bird", "drone"),
            "time_labelled_right": {k: self.time_share(k, "right_share") for k in CLASSES},
            "drone_time_silenced": self.time_share("drone", "silenced_share"),
            "median_time_to_label_s": {k: self.median_time_to_label_s(k) for k in CLASSES}
            | {"all": self.median_time_to_label_s()},
            "intruding_drones_warned": {"in_time": ok, "could_be": able, "share": ok / able if able else None},
            "false_alerts": self.false_alerts, "false_alerts_per_hour": self.false_alerts_per_hour(),
        }


def outcomes(run: SceneRun, seed: int, policy: SafetyPolicy | None = None) -> tuple[list[ObjectOutcome], dict[str, int]]:
    """Per-object outcomes and false alerts of one scene run."""
    record, a = run.record, run.assignment
    pol = policy or SafetyPolicy()
    times = record.scan_times
    summary = {row["truth_id"]: row for row in summarize(record)["per_truth"]}
    held: dict[str, list[tuple[int, str, bool]]] = {}
    for s, pairs in enumerate(a.by_scan):
        view = run.views[s]
        row_of = {track_id: k for k, track_id in enumerate(view.ids)}
        for track_id, truth_id in pairs.items():
            k = row_of.get(track_id)
            label = UNKNOWN if k is None else view.labels[k]
            harmless = (k is not None and label in pol.harmless_labels and view.age_s[k] >= pol.min_observation_s
                        and view.prob[k, CLASSES.index(label)] >= pol.harmless_probability)
            held.setdefault(truth_id, []).append((s, label, harmless))
    out = []
    for truth_id, samples in held.items():
        kind = record.truths[truth_id].kind
        scans = np.array([s for s, _, _ in samples])
        if kind not in CLASSES or times[scans[-1]] - times[scans[0]] < MIN_HELD_S:
            continue
        labels = [lab for _, lab, _ in samples]
        label = max(LABELS, key=labels.count)
        right = next((s for s, lab, _ in samples if lab == kind), None)
        row = summary[truth_id]
        reached, confirmed, alert = row["reached_asset_t"], row["confirmed_t"], row["alert_t"]
        out.append(ObjectOutcome(
            seed=seed, truth_id=truth_id, kind=kind, type=record.truths[truth_id].type,
            rcs_dbsm=float(10 * np.log10(record.truths[truth_id].rcs_m2)), label=label,
            right_share=labels.count(kind) / len(labels),
            silenced_share=sum(h for _, _, h in samples) / len(samples),
            time_to_label_s=None if right is None else float(times[right] - times[scans[0]]),
            reached_asset=reached is not None,
            warned_possible=reached is not None and confirmed is not None and reached - confirmed >= CONFIRMED_BEFORE_S,
            warning_s=None if reached is None or alert is None else float(reached - alert),
        ))
    false = {"bird": 0, "vehicle": 0, "no object": 0}
    for e in record.events:
        if isinstance(e, ZoneViolation):
            truth = alert_truth_of(record, a, e)
            kind = "no object" if truth is None else record.truths[truth].kind
            if kind in false:
                false[kind] += 1
    return out, false


def evaluate(seeds: Sequence[int] = DEFAULT_SEEDS, scene: dict[str, Any] | None = None,
             classifier: ClassifierParams | None = None, policy: SafetyPolicy | None = None,
             on_step: Callable[[int, int, int], None] | None = None) -> Evaluation:
    """Run one random scene per seed and gather the outcomes (``on_step(scene, step, steps)`` for progress)."""
    from skywarden.sim.mix import random_scene

    result = Evaluation(seeds=list(seeds))
    for i, seed in enumerate(seeds):
        scenario = random_scene(seed, **(scene or {}))
        step = None if on_step is None else functools.partial(on_step, i)
        run = run_scene(scenario, classifier=classifier, policy=policy, on_step=step)
        objects, false = outcomes(run, seed, policy)
        result.objects += objects
        for k, v in false.items():
            result.false_alerts[k] += v
        result.hours += scenario.duration_s / 3600.0
    return result
