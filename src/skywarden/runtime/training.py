"""Train the classifier's network on simulated scenes only, and write the model file it ships with.

    python -m skywarden.runtime.training --out src/skywarden/picture/models/classifier.json

Randomised labelled scenes (``sim.mix.random_scene``: several drone types, bird species and behaviours,
ground traffic) are run through the real input path and pipeline (:mod:`.scene`); every confirmed track
paired with a true object gives, every other scan, its feature row and the object's class. Training scenes
and calibration scenes have their own seeds, disjoint from the seeds ``skywarden evaluate`` uses. The
network (scikit-learn's ``MLPClassifier``, one tanh layer) sees the classes balanced by resampling; a
temperature fitted on the calibration scenes (class-balanced log loss) makes its probabilities honest.
Same seed, same scikit-learn, same file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax

from skywarden.picture.classify import CLASSES, MODEL_FORMAT, MODEL_PATH
from skywarden.picture.features import FEATURE_NAMES
from skywarden.runtime.scene import SceneRun, run_scene

TRAIN_SEEDS = range(1000, 1016)
CALIBRATION_SEEDS = range(2000, 2004)
HIDDEN_UNITS = 32
ENSEMBLE = 5
LABEL_GATE_M = 150.0


def labelled_samples(run: SceneRun, every: int = 2) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Feature rows of confirmed tracks paired with a true object (every ``every`` scans) and its class index.

    A pair counts only while its object is the nearest to the track and within ``LABEL_GATE_M``: the
    scoring's sticky pairing keeps a track on its object up to 300 m away, which would teach the network
    that a track that has wandered onto a bird is a drone.
    """
    truth_at: dict[int, tuple[list[str], list[NDArray[np.float64]]]] = {}
    for truth_id, h in run.record.truths.items():
        for s, pos in zip(h.scan.tolist(), h.pos, strict=True):
            ids, positions = truth_at.setdefault(s, ([], []))
            ids.append(truth_id)
            positions.append(pos)
    xs: list[NDArray[np.float64]] = []
    ys: list[int] = []
    for s in range(0, len(run.views), every):
        pairs, view = run.assignment.by_scan[s], run.views[s]
        if s not in truth_at or not pairs:
            continue
        truth_ids, truth_pos = truth_at[s][0], np.array(truth_at[s][1])
        for k, track_id in enumerate(view.ids):
            truth = pairs.get(track_id)
            kind = None if truth is None else run.record.truths[truth].kind
            if kind not in CLASSES:
                continue
            track = run.record.tracks[track_id]
            d = np.linalg.norm(truth_pos - track.pos[np.searchsorted(track.scan, s)], axis=1)
            nearest = int(np.argmin(d))
            if truth_ids[nearest] == truth and d[nearest] <= LABEL_GATE_M:
                xs.append(view.features[k])
                ys.append(CLASSES.index(kind))
    if not xs:
        return np.zeros((0, len(FEATURE_NAMES))), np.zeros(0, np.int64)
    return np.array(xs), np.array(ys, np.int64)


def collect(seeds: Sequence[int], scene_kwargs: dict[str, Any]) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Samples from one random scene per seed."""
    from skywarden.sim.mix import random_scene

    xs, ys = [], []
    for seed in seeds:
        t0 = time.perf_counter()
        x, y = labelled_samples(run_scene(random_scene(seed, **scene_kwargs)))
        xs.append(x)
        ys.append(y)
        counts = np.bincount(y, minlength=len(CLASSES)).tolist()
        print(f"scene {seed}: {len(y)} samples {dict(zip(CLASSES, counts, strict=True))} "
              f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    return np.concatenate(xs), np.concatenate(ys)


def balanced(x: NDArray[np.float64], y: NDArray[np.int64], rng: np.random.Generator,
             per_class: int) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """``per_class`` rows of every class present, drawn with replacement: the classes weigh the same."""
    rows = np.concatenate([rng.choice(np.flatnonzero(y == c), per_class) for c in np.unique(y)])
    return x[rows], y[rows]


def fit_temperature(logits: NDArray[np.float64], y: NDArray[np.int64]) -> float:
    """The temperature that minimises the class-balanced log loss of ``logits`` (N, C) on labels ``y``."""
    weight = 1.0 / np.bincount(y, minlength=logits.shape[1])[y]

    def loss(log_t: float) -> float:
        return float(-(weight * log_softmax(logits / np.exp(log_t), axis=1)[np.arange(len(y)), y]).sum() / weight.sum())

    return float(np.exp(minimize_scalar(loss, bounds=(-3.0, 3.0), method="bounded").x))


def train(x: NDArray[np.float64], y: NDArray[np.int64], x_cal: NDArray[np.float64], y_cal: NDArray[np.int64],
          seed: int, per_class: int = 40_000, members: int = ENSEMBLE) -> dict[str, Any]:
    """Fit the ensemble (each network on its own balanced resample and initialisation) and its temperature;
    the model file's contents."""
    import sklearn
    from sklearn.neural_network import MLPClassifier

    from skywarden.picture.classify import ClassifierParams, class_logits, model_weights

    missing = sorted(set(range(len(CLASSES))) - set(np.unique(y).tolist()))
    if missing:
        raise ValueError(f"the training scenes hold no {', '.join(CLASSES[c] for c in missing)}")
    rng = np.random.default_rng(seed)
    mean, scale = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-3)
    nets = []
    for k in range(members):
        xb, yb = balanced(x, y, rng, per_class)
        nets.append(MLPClassifier(hidden_layer_sizes=(HIDDEN_UNITS,), activation="tanh", alpha=1e-3, max_iter=300,
                                  random_state=seed + k, tol=1e-5, n_iter_no_change=15).fit((xb - mean) / scale, yb))
    weights = {"mean": mean.tolist(), "scale": scale.tolist(),
               "hidden_weights": [n.coefs_[0].tolist() for n in nets], "hidden_bias": [n.intercepts_[0].tolist() for n in nets],
               "output_weights": [n.coefs_[1].tolist() for n in nets], "output_bias": [n.intercepts_[1].tolist() for n in nets]}
    params = ClassifierParams(**model_weights(weights), temperature=1.0)
    temperature = fit_temperature(class_logits(x_cal, params), y_cal)
    return {
        "format": MODEL_FORMAT, "classes": list(CLASSES), "features": list(FEATURE_NAMES), **weights,
        "temperature": temperature,
        "training": {
            "script": "python -m skywarden.runtime.training", "seed": seed, "train_seeds": [*TRAIN_SEEDS],
            "calibration_seeds": [*CALIBRATION_SEEDS], "samples": np.bincount(y, minlength=len(CLASSES)).tolist(),
            "calibration_samples": np.bincount(y_cal, minlength=len(CLASSES)).tolist(),
            "scikit_learn": sklearn.__version__, "iterations": [int(n.n_iter_) for n in nets],
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: train on the default seeds and write the model file."""
    ap = argparse.ArgumentParser(prog="python -m skywarden.runtime.training", description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=MODEL_PATH, help="model file to write (default: the shipped one)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the network's initialisation and resampling")
    ap.add_argument("--minutes", type=float, default=10.0, help="length of each random scene")
    args = ap.parse_args(argv)
    scene = {"drones": 24, "birds": 30, "traffic": 20, "aircraft": 3, "duration_s": 60.0 * args.minutes}
    x, y = collect(TRAIN_SEEDS, scene)
    x_cal, y_cal = collect(CALIBRATION_SEEDS, scene)
    model = train(x, y, x_cal, y_cal, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: temperature {model['temperature']:.3f}, samples {model['training']['samples']}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
