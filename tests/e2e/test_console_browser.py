"""The operator console in a real browser (Debian's Chromium driven by Playwright) against a real
`skywarden serve`: an operator sees both Kremlin drones and their intrusion alert, asks for mitigation, is
refused when trying to authorise it, and a commander authorises it. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect, sync_playwright

from conftest import Served

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
VENDOR = ROOT / "src" / "skywarden" / "web" / "vendor" / "maplibre-gl.js"
# SwiftShader gives headless Chromium the WebGL that MapLibre draws with.
FLAGS = ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCENARIO = "kremlin-2023-05-03"
RESOURCE_ERROR = re.compile(r"^Failed to load resource: the server responded with a status of (\d{3})")


def _watch(page: Page, base: str) -> dict[str, list[str]]:
    """Collect the page's console errors, failed resources (by status) and any request off the server."""
    seen: dict[str, list[str]] = {"errors": [], "statuses": [], "remote": []}

    def on_console(m: ConsoleMessage) -> None:
        if m.type == "error":
            found = RESOURCE_ERROR.match(m.text)
            seen["statuses" if found else "errors"].append(found.group(1) if found else m.text)

    ws_base = base.replace("http://", "ws://")
    page.on("console", on_console)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("request", lambda r: None if r.url.startswith((base, ws_base, "data:", "blob:")) else seen["remote"].append(r.url))
    return seen


def _sign_in(page: Page, base: str, token: str) -> None:
    page.goto(base + "/")
    page.fill("#token", token)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#login")).to_be_hidden()
    expect(page.locator("#conn")).to_have_text("live", timeout=10_000)


def _intruder_drones(page: Page) -> set[str]:
    ids = page.eval_on_selector_all('#tracks tbody tr.intruder[data-class="drone"]', "rs => rs.map(r => r.dataset.id)")
    return set(ids)


def test_operator_and_commander_handle_the_kremlin_intrusion(tmp_path: Path) -> None:
    assert CHROMIUM.exists(), "Chromium is missing: `make test` installs Debian's chromium package"
    assert VENDOR.exists(), "MapLibre is missing: `make test` installs it (web/package.json)"
    ARTIFACTS.mkdir(exist_ok=True)
    with Served(tmp_path / "data", tmp_path / "keys" / "site-key.pem", scenario=SCENARIO, cwd=tmp_path) as served, \
            sync_playwright() as pw:
        base, tokens, lines = served.url, served.tokens, served.lines
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        op = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        op_seen = _watch(op, base)
        _sign_in(op, base, tokens["operator"])
        expect(op.locator("#site-name")).to_have_text("Moscow Kremlin")
        expect(op.locator("#map canvas.maplibregl-canvas")).to_be_visible()

        # both drones of the night appear as intruding drone tracks, and their intrusion alerts with them
        drones: list[str] = []
        alert_shot = False
        deadline = time.monotonic() + 60
        while len(drones) < 2:
            assert time.monotonic() < deadline, f"saw intruding drones {drones}; server said:\n{''.join(lines)}"
            drones += sorted(_intruder_drones(op) - set(drones))
            if drones and not alert_shot and op.locator("#alarm").is_visible():
                expect(op.locator(f'#alerts li.alert.open[data-track="{drones[0]}"]').first).to_be_visible()
                op.screenshot(path=str(ARTIFACTS / "console-alert.png"))
                alert_shot = True
            time.sleep(0.1)
        assert alert_shot, "no intrusion alarm was shown"
        intruder = drones[1]
        expect(op.locator(f'#alerts li.alert[data-track="{intruder}"]').first).to_be_visible(timeout=10_000)
        op.click(f'#alerts button[data-select="{intruder}"] >> nth=0')
        expect(op.locator("#details .track-id")).to_contain_text(intruder)
        expect(op.locator("#details .track-id")).to_contain_text("intruder")
        expect(op.locator("#details dl")).to_contain_text("drone")
        op.screenshot(path=str(ARTIFACTS / "console-overview.png"))

        # the operator acknowledges the alarm and asks for a jammer on the intruder
        op.click(f'#alerts button[data-ack="{intruder}"] >> nth=0')
        expect(op.locator("#alerts-msg")).to_contain_text(f"Acknowledged {intruder}")
        expect(op.locator("#who")).to_contain_text("operator")
        op.select_option("#effector", "jammer")
        op.click("#mitigate button[type=submit]")
        expect(op.locator("#details-msg")).to_contain_text("Mitigation request #")
        sent = re.search(r"#(\d+)", op.locator("#details-msg").inner_text())
        assert sent is not None
        request_id = sent.group(1)

        # an operator may not authorise: the refusal is shown, with the server's reason
        op.click(f'#requests button[data-authorise="{request_id}"]')
        expect(op.locator("#requests-msg")).to_contain_text("Refused: role operator may not authorise mitigation")
        expect(op.locator("#requests-msg")).to_have_class(re.compile("error"))

        # a commander, in another browser session: a wrong token is turned away, the right one authorises
        cmd = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        cmd_seen = _watch(cmd, base)
        cmd.goto(base + "/")
        cmd.fill("#token", "not-a-token")
        cmd.click("#login-form button[type=submit]")
        expect(cmd.locator("#login-msg")).to_contain_text("Wrong token")
        cmd.fill("#token", tokens["commander"])
        cmd.click("#login-form button[type=submit]")
        expect(cmd.locator("#conn")).to_have_text("live", timeout=10_000)
        cmd.click(f'#requests button[data-authorise="{request_id}"]')
        expect(cmd.locator("#requests-msg")).to_contain_text(f"Authorised request #{request_id}: jammer on {intruder}")
        expect(cmd.locator("#who")).to_contain_text("commander")

        # the operator's console shows the decision in the request list and in the timeline
        decided = op.locator(f'#requests li[data-request="{request_id}"]')
        expect(decided).to_contain_text("AUTHORISED by")
        entry = op.locator("#timeline li.authorise_mitigation")
        expect(entry).to_contain_text(f"authorised mitigation #{request_id}: jammer on {intruder}")
        expect(op.locator("#timeline li.request_mitigation")).to_contain_text(intruder)
        expect(op.locator("#timeline li.tl-alert").first).to_be_visible()
        op.screenshot(path=str(ARTIFACTS / "console-mitigation-authorised.png"))

        # the replay scrubber goes back in time and Live returns
        op.eval_on_selector("#scrub", "s => { s.value = String(Math.floor(s.max / 4)); s.dispatchEvent(new Event('input')); }")
        expect(op.locator("#replay-badge")).to_be_visible()
        expect(op.locator("#clock-mode")).to_have_text("REPLAY")
        op.screenshot(path=str(ARTIFACTS / "console-replay.png"))
        op.click("#live")
        expect(op.locator("#replay-badge")).to_be_hidden()

        # a reload keeps the session (token in sessionStorage) and rebuilds the state from the stream's snapshot
        op.reload()
        expect(op.locator("#conn")).to_have_text("live", timeout=10_000)
        expect(op.locator("#who")).to_contain_text("operator")
        expect(op.locator("#timeline li.authorise_mitigation")).to_contain_text(f"authorised mitigation #{request_id}")
        expect(op.locator(f'#alerts li.alert.acked[data-track="{intruder}"]').first).to_contain_text("acknowledged by")

        browser.close()
        served.stop(timeout_s=15)

    assert op_seen["errors"] == [] and cmd_seen["errors"] == [], (op_seen, cmd_seen)
    assert op_seen["statuses"] == ["403"], op_seen  # the refused authorisation, nothing else
    assert cmd_seen["statuses"] == ["401"], cmd_seen  # the wrong token
    assert op_seen["remote"] == [] and cmd_seen["remote"] == [], "the console reached beyond its server"


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
