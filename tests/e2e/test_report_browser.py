"""The incident report in a real browser (Debian's Chromium driven by Playwright): it renders, it is
self-contained, and it reads as a report. Screenshots are kept in test-artifacts/ to look at."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from conftest import run
from skywarden.runtime.replay import write_outputs

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


@pytest.mark.parametrize("scenario", ["kremlin-2023-05-03", "crossing-drones"])
def test_report_renders_offline_in_chromium(scenario: str, tmp_path: Path) -> None:
    assert CHROMIUM.exists(), "Chromium is missing: `make test` installs Debian's chromium package"
    record, _ = run(scenario)
    report = write_outputs(record, tmp_path).files["report"]
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        remote: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: remote.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        assert page.title() == f"Skywarden incident report — {scenario}"
        headings = page.locator("h2").all_inner_texts()
        assert headings[:3] == ["Map", "Timeline", "Drones, one by one"]
        # every figure is an inline SVG that the browser laid out at a readable size
        sizes = page.eval_on_selector_all("svg", "els => els.map(e => [e.getBoundingClientRect().width, "
                                                 "e.getBoundingClientRect().height])")
        assert len(sizes) >= 3 and all(w > 300 and h > 150 for w, h in sizes), sizes
        first_alert = page.locator("tr", has_text="A1").first.inner_text()
        assert "drone-" in first_alert and "moscow-uas-ban" in first_alert  # the alert names its object and zone
        page.screenshot(path=str(ARTIFACTS / f"report-{scenario}.png"), full_page=True)
        browser.close()
    assert errors == []
    assert remote == [], f"the report fetched {remote}"
