"""`skywarden evaluate` as a user runs it: random labelled scenes in, the figures the README quotes out."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import sw


def test_evaluate_prints_the_confusion_matrix_and_writes_the_figures(tmp_path: Path) -> None:
    res = sw("evaluate", "--seeds", "7,8", "--drones", "4", "--birds", "6", "--traffic", "3", "--aircraft", "1",
             "--minutes", "4", "--json", "figures.json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    for text in ("Confusion matrix", "drone recall", "median time to the right label", "false alerts", "per hour"):
        assert text in res.stdout, text
    figures = json.loads((tmp_path / "figures.json").read_text())
    assert figures["seeds"] == [7, 8] and abs(figures["hours"] - 8 / 60) < 1e-3
    confusion = figures["confusion"]
    assert set(confusion) == {"drone", "bird", "aircraft", "vehicle"}
    assert sum(confusion["drone"].values()) == figures["counts"]["drone"] > 0
    assert set(figures["false_alerts"]) == {"bird", "vehicle", "no object"}


def test_evaluate_refuses_bad_options_by_name(tmp_path: Path) -> None:
    res = sw("evaluate", "--seeds", "1,x", cwd=tmp_path)
    assert res.returncode == 2 and "seeds" in res.stderr.lower() and "1,x" in res.stderr
    res = sw("evaluate", "--minutes", "0", cwd=tmp_path)
    assert res.returncode == 2 and "minutes" in res.stderr
