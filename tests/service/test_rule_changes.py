"""Changing the site's rules through the API: a commander's change is recorded (ledger, then store) and applied,
an operator's is refused with nothing recorded; under the two-person rule a change is a proposal that another
commander approves or rejects, once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from live_app import Live, live_service
from pydantic import ValidationError

from skywarden.config import Site
from skywarden.sim.scenario import load_scenario

KINDS = ("zones", "assets", "permits")


def site_entries(live: Live) -> list[tuple[str, str, Any]]:
    """The ledger's rule-change entries so far: (kind, source, payload) of site config entries and actions."""
    return [(e.kind, e.source, e.json() if e.kind == "action" else e.payload)
            for e in live.ledger_entries() if e.kind == "action" or e.source.startswith("site/")]


def first(live: Live, kind: str) -> dict[str, Any]:
    items = live.client.get(f"/api/{kind}", headers=live.headers("viewer")).json()
    assert items, f"the test site has no {kind}"
    return dict(items[0])


def read_stream_until_config(live: Live, who: str, change: Any) -> dict[str, Any]:
    """Make ``change()`` while a client of ``who`` listens; the first ``config`` message that client gets."""
    with live.client.websocket_connect("/api/stream", headers=live.headers(who)) as ws:
        assert ws.receive_json()["type"] == "snapshot"
        change()
        for _ in range(200):  # a picture a scan, an event now and then
            if (message := ws.receive_json())["type"] == "config":
                return dict(message)
    raise AssertionError("no config message")


def test_a_rule_change_by_an_operator_is_refused_and_nothing_is_recorded(tmp_path: Path) -> None:
    with live_service(tmp_path) as live:
        for kind in KINDS:
            item = first(live, kind)
            for who in ("viewer", "operator"):
                r = live.client.put(f"/api/{kind}/{item['id']}", json={**item, "name": "x"}, headers=live.headers(who))
                assert r.status_code == 403 and r.json()["detail"] == f"role {who} may not change {kind}; needs commander"
        r = live.client.put("/api/safety", json={"harmless_probability": 1.0, "min_observation_s": 600},
                            headers=live.headers("operator"))
        assert r.status_code == 403 and "needs commander" in r.json()["detail"]
        r = live.client.post("/api/proposals/1/approve", headers=live.headers("operator"))
        assert r.status_code == 403
        assert live.client.get("/api/safety", headers=live.headers("viewer")).json() == {
            "harmless_probability": 0.95, "min_observation_s": 15.0}
        assert live.store.actions() == [] and site_entries(live) == []
        assert all(live.store.config_items(kind) == {} for kind in (*KINDS, "safety"))


def test_a_commanders_change_is_in_the_ledger_and_the_store_applied_and_pushed(tmp_path: Path) -> None:
    with live_service(tmp_path) as live:
        zone = first(live, "zones") | {"name": "renamed by a commander"}
        got: list[Any] = []

        def put() -> None:
            got.append(live.client.put(f"/api/zones/{zone['id']}", json=zone, headers=live.headers("commander")))

        pushed = read_stream_until_config(live, "viewer", put)
        assert got[0].status_code == 200 and got[0].json() == zone
        assert pushed == {"type": "config", "kind": "zones", "item": zone}
        assert first(live, "zones")["name"] == "renamed by a commander"
        config, action = site_entries(live)
        assert config[:2] == ("config", f"site/zones/{zone['id']}") and config[2] == _canonical(zone)
        assert action[:2] == ("action", "test-commander")
        assert {k: action[2][k] for k in ("role", "kind", "item_id")} == {
            "role": "commander", "kind": "edit_zones", "item_id": zone["id"]}
        [stored] = live.store.actions()
        assert (stored["kind"], stored["actor"], stored["item_id"]) == ("edit_zones", "test-commander", zone["id"])
        assert live.store.config_items("zones") == {zone["id"]: zone}
        bad = live.client.put(f"/api/zones/{zone['id']}", json={**zone, "floor_m": 500, "ceiling_m": 100},
                              headers=live.headers("commander"))
        assert bad.status_code == 422 and bad.json()["detail"].startswith(f"zones/{zone['id']}: ")
        assert "ceiling_m (100.0) must be above floor_m (500.0)" in bad.json()["detail"]
        other = live.client.put(f"/api/zones/{zone['id']}", json={**zone, "id": "elsewhere"},
                                headers=live.headers("commander"))
        assert other.status_code == 422 and "id: differs from the id in the path" in other.json()["detail"]
        assert len(live.store.actions()) == 1  # the refused ones recorded nothing


def test_the_two_person_rule_is_off_unless_the_site_says_true() -> None:
    site = load_scenario("crossing-drones").site.model_dump(mode="json")
    assert Site.model_validate(site).access.two_person_rule is False
    assert Site.model_validate({**site, "access": {"two_person_rule": True}}).access.two_person_rule is True
    for loose in ("yes", "true", 1):  # a security switch is a TOML boolean, not something that looks like one
        with pytest.raises(ValidationError, match=r"access\.two_person_rule"):
            Site.model_validate({**site, "access": {"two_person_rule": loose}})


def test_the_safety_thresholds_are_read_by_a_viewer_and_changed_live_by_a_commander(tmp_path: Path) -> None:
    with live_service(tmp_path) as live:
        strict = {"harmless_probability": 0.99, "min_observation_s": 30.0}
        r = live.client.put("/api/safety", json=strict, headers=live.headers("commander"))
        assert r.status_code == 200 and r.json() == strict
        assert live.client.get("/api/safety", headers=live.headers("viewer")).json() == strict
        r = live.client.put("/api/safety", json={"harmless_probability": 0.2}, headers=live.headers("commander"))
        assert r.status_code == 422 and r.json()["detail"] == (
            "safety: harmless_probability: Input should be greater than or equal to 0.5 (got 0.2)")
        r = live.client.put("/api/safety", content=b"{", headers=live.headers("commander"))
        assert r.status_code == 422 and r.json()["detail"].startswith("safety: body: not JSON")
        [(_, source, payload), (_, _, action)] = site_entries(live)
        assert source == "site/safety" and payload == _canonical(strict) and action["kind"] == "edit_safety"
        assert live.store.config_items("safety") == {"safety": strict}


def test_under_the_two_person_rule_a_change_waits_for_another_commander(tmp_path: Path) -> None:
    with live_service(tmp_path, two_person_rule=True) as live:
        assert live.client.get("/api/site", headers=live.headers("viewer")).json()["access"] == {"two_person_rule": True}
        zone = first(live, "zones")
        renamed = zone | {"name": "proposed by an operator"}
        r = live.client.put(f"/api/zones/{zone['id']}", json=renamed, headers=live.headers("operator"))
        assert r.status_code == 202, r.text
        proposal = r.json()
        assert (proposal["status"], proposal["kind"], proposal["config_kind"], proposal["item"]) == (
            "pending", "propose_edit", "zones", renamed)
        assert first(live, "zones") == zone  # not applied
        [(kind, who, payload)] = site_entries(live)
        assert (kind, who, payload["kind"], payload["item"]) == ("action", "test-operator", "propose_edit", renamed)
        listed = live.client.get("/api/proposals", headers=live.headers("viewer")).json()
        assert [(p["id"], p["status"], p["decision"]) for p in listed] == [(proposal["id"], "pending", None)]

        url = f"/api/proposals/{proposal['id']}"
        assert live.client.post(f"{url}/approve", headers=live.headers("operator")).status_code == 403
        r = live.client.post(f"{url}/approve", headers=live.headers("commander"))
        assert r.status_code == 200, r.text
        approval = r.json()
        assert (approval["kind"], approval["proposal_id"], approval["proposed_by"], approval["actor"]) == (
            "edit_zones", proposal["id"], "test-operator", "test-commander")
        assert first(live, "zones") == renamed
        for verdict in ("approve", "reject"):
            r = live.client.post(f"{url}/{verdict}", headers=live.headers("commander2"))
            assert r.status_code == 409 and r.json()["detail"] == (
                f"proposal {proposal['id']} was already approved by test-commander")
        assert live.client.post("/api/proposals/999/approve", headers=live.headers("commander")).status_code == 404
        [_, config, action] = site_entries(live)
        assert config[:2] == ("config", f"site/zones/{zone['id']}") and config[2] == _canonical(renamed)
        assert action[2]["kind"] == "edit_zones" and action[2]["proposal_id"] == proposal["id"]
        assert [a["kind"] for a in live.store.actions()] == ["propose_edit", "edit_zones"]
        assert live.store.config_items("zones") == {zone["id"]: renamed}
        [listed] = live.client.get("/api/proposals", headers=live.headers("viewer")).json()
        assert listed["status"] == "approved" and listed["decision"]["id"] == approval["id"]


def test_a_proposer_cannot_decide_their_own_proposal_and_a_rejection_changes_nothing(tmp_path: Path) -> None:
    with live_service(tmp_path, two_person_rule=True) as live:
        silent = {"harmless_probability": 1.0, "min_observation_s": 600.0}
        r = live.client.put("/api/safety", json=silent, headers=live.headers("commander"))
        assert r.status_code == 202, r.text
        url = f"/api/proposals/{r.json()['id']}"
        for verdict in ("approve", "reject"):
            r = live.client.post(f"{url}/{verdict}", headers=live.headers("commander"))
            assert r.status_code == 403 and "another commander must decide it" in r.json()["detail"]
        r = live.client.post(f"{url}/reject", headers=live.headers("commander2"))
        assert r.status_code == 200 and r.json()["kind"] == "reject_edit"
        assert live.client.post(f"{url}/approve", headers=live.headers("commander2")).status_code == 409
        assert live.client.get("/api/safety", headers=live.headers("viewer")).json()["harmless_probability"] == 0.95
        assert [p["status"] for p in live.client.get("/api/proposals", headers=live.headers("viewer")).json()] == [
            "rejected"]
        assert [(kind, payload["kind"]) for kind, _, payload in site_entries(live)] == [
            ("action", "propose_edit"), ("action", "reject_edit")]  # no config entry: nothing changed
        assert [a["kind"] for a in live.store.actions()] == ["propose_edit", "reject_edit"]
        assert live.store.config_items("safety") == {}
        bad = live.client.put("/api/safety", json={"min_observation_s": -1}, headers=live.headers("operator"))
        assert bad.status_code == 422 and len(live.store.actions()) == 2  # an invalid proposal is not recorded


def _canonical(obj: dict[str, Any]) -> bytes:
    from skywarden.evidence.encoding import canonical_json

    return canonical_json(obj)


def test_huge_nested_and_wrong_shaped_bodies_are_refused_by_name_and_record_nothing(tmp_path: Path) -> None:
    with live_service(tmp_path) as live:
        zone = first(live, "zones")
        deep = b"[" * 100_000 + b"]" * 100_000
        r = live.client.put(f"/api/zones/{zone['id']}", content=deep, headers=live.headers("operator"))
        assert r.status_code == 403  # the role is checked before the body is read
        for path, where in ((f"/api/zones/{zone['id']}", f"zones/{zone['id']}"), ("/api/safety", "safety")):
            for body, reason in ((deep, "body: nested 100000 levels deep"),
                                 (b"[0.99]", "body: expected a JSON object (got [0.99])"),
                                 (b'{"floor_m": 1' + b"0" * 5000 + b"}", "body: not JSON"),
                                 (b"\xff\xfe", "body: not UTF-8")):
                r = live.client.put(path, content=body, headers=live.headers("commander"))
                assert r.status_code == 422 and r.json()["detail"].startswith(f"{where}: {reason}"), r.text
        assert site_entries(live) == []
