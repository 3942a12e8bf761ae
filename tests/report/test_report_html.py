"""The incident report: written, self-contained, complete, deterministic and quick to render."""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser
from pathlib import Path

import matplotlib
import numpy as np
import pytest

import skywarden
from skywarden.config import RadarConfig, Reference, Site
from skywarden.history import RunRecord, TrackHistory, TruthHistory
from skywarden.metrics import summarize
from skywarden.report import write_report

matplotlib.use("Agg")
import matplotlib.pyplot as plt

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "wbr", "area", "base", "source"}


class _Checker(HTMLParser):
    """Collects ids, figure classes and unbalanced tags of an HTML document (inline SVG included)."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: list[str] = []
        self.figures: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("section", "header") and a.get("id"):
            self.ids.append(a["id"] or "")
        if tag == "figure":
            self.figures.append(a.get("class") or "")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()


def check(doc: str) -> _Checker:
    c = _Checker()
    c.feed(doc)
    c.close()
    return c


@pytest.fixture(scope="module")
def rendered(kremlin_record: RunRecord, kremlin_summary: dict, tmp_path_factory: pytest.TempPathFactory
             ) -> tuple[Path, float, list[int]]:
    before = plt.get_fignums()
    start = time.perf_counter()
    path = write_report(kremlin_record, kremlin_summary, tmp_path_factory.mktemp("report") / "sub" / "report.html")
    elapsed = time.perf_counter() - start
    return path, elapsed, [n for n in plt.get_fignums() if n not in before]


def test_report_is_written_fast_and_leaves_no_figures_open(rendered: tuple[Path, float, list[int]]) -> None:
    path, elapsed, leaked = rendered
    assert path.is_file() and path.stat().st_size > 50_000
    assert elapsed < 10.0, f"1,320-scan report took {elapsed:.1f} s"
    assert leaked == []


def test_report_is_self_contained(rendered: tuple[Path, float, list[int]]) -> None:
    doc = rendered[0].read_text(encoding="utf-8")
    assert doc.startswith("<!DOCTYPE html>")
    assert "http://" not in doc and "https://" not in doc
    assert not re.search(r"<(script|link|img|iframe)\b", doc)
    assert "@import" not in doc
    assert set(re.findall(r"url\((.)", doc)) <= {"#"}  # only references inside the page (SVG clip paths)


def test_report_has_the_sections_and_one_map(rendered: tuple[Path, float, list[int]], kremlin_record: RunRecord,
                                             kremlin_summary: dict) -> None:
    doc = rendered[0].read_text(encoding="utf-8")
    c = check(doc)
    assert c.errors == [] and c.stack == []
    assert c.ids == ["summary", "map", "timeline", "targets", "objects", "site"]
    assert c.figures.count("map") == 1
    drones = [t for t, h in kremlin_record.truths.items() if h.kind == "drone"]
    assert c.figures.count("target") == len(drones) == 3
    assert c.figures.count("timeline") == 1
    assert doc.count("<svg") == len(c.figures)
    assert doc.count("How to read this") == 6
    for needle in (kremlin_record.site.digest(), f"Skywarden {skywarden.__version__}", "Moscow Kremlin",
                   "kremlin-2023-05-03", "2023-05-02 23:16:00 UTC", "2023-05-03 02:16:00 MSK", "GOSPA mean"):
        assert needle in doc
    for i, alert in enumerate(kremlin_summary["alerts"], start=1):
        assert f"<td>A{i}</td>" in doc and f"INTRUSION ALERT A{i}:" in doc
        assert alert["truth_id"] in ("D1", "D2")
    for drone in drones:
        assert f"<h3>Drone {drone}</h3>" in doc


def test_report_is_deterministic(kremlin_record: RunRecord, kremlin_summary: dict, tmp_path: Path,
                                 rendered: tuple[Path, float, list[int]]) -> None:
    again = write_report(kremlin_record, kremlin_summary, tmp_path / "again.html")
    assert again.read_bytes() == rendered[0].read_bytes()


def test_report_of_a_quiet_run_and_escaping(tmp_path: Path) -> None:
    """No assets, no drones, no events, a hostile scenario name: still a valid page that says so."""
    site = Site(name="Field <A&B>", reference=Reference(lat_deg=48.0, lon_deg=11.0),
                sensors=[RadarConfig(id="r1", lat_deg=48.0, lon_deg=11.0, max_range_m=2000.0)])
    k = np.arange(30)
    pos = np.stack([10.0 * k, 0 * k, 60 + 0 * k], axis=1)
    bird = TruthHistory("B1", "bird", k, pos, np.zeros((30, 3)), np.ones(30, bool), np.ones(30, bool))
    tentative = TrackHistory("K1", k[:5], pos[:5], np.zeros((5, 3)), np.zeros(5, np.int8), ["unknown"] * 5)
    record = RunRecord("<script>alert(1)</script>", 5, site, 1.7e9 + k.astype(float), {"B1": bird}, {"K1": tentative})
    doc = write_report(record, summarize(record), tmp_path / "quiet.html").read_text(encoding="utf-8")
    c = check(doc)
    assert c.errors == [] and c.stack == []
    assert "<script>" not in doc and "&lt;script&gt;" in doc and "Field &lt;A&amp;B&gt;" in doc
    assert "No drone in this run." in doc and "No intrusion alert was raised." in doc and "No events." in doc
    assert c.figures.count("map") == 1 and "target" not in c.figures
