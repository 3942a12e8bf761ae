"""The live runner's rule changes, without the web side: a safety change reaches the pipeline's policy, is
recorded in the ledger and comes out again in a re-run; an approval that no longer validates records nothing."""

from __future__ import annotations

import asyncio
import itertools
import math
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from skywarden.airspace.rules import SafetyPolicy
from skywarden.config import Safety, Site, Zone
from skywarden.evidence import Ledger, SiteKey
from skywarden.pipeline import Pipeline
from skywarden.runtime.recorder import RawInput, edited_site, raw_inputs
from skywarden.runtime.rerun import rerun
from skywarden.service.live import ActionRefused, LiveService
from skywarden.sim.engine import Simulation
from skywarden.sim.scenario import load_scenario
from skywarden.store.sqlite import Store

SCENARIO = load_scenario("crossing-drones")  # two drones in the no-fly zone; they alert at the fifth scan
SILENT = {"harmless_probability": 1.0, "min_observation_s": 600.0}  # thresholds no drone label can meet
DEFAULT = Safety.model_validate({}).model_dump()


def service(tmp_path: Path, site: Site, store: Store | None = None) -> tuple[LiveService, Ledger, Store]:
    """A live runner on ``site`` with a new ledger, and a store (the given one, or a new one)."""
    store = store or Store.open(tmp_path / "store.db")
    ledger = Ledger.create(tmp_path / f"run-{len(list(tmp_path.glob('*.ledger')))}.ledger",
                           SiteKey.load_or_create(tmp_path / "key.pem"))
    return LiveService(Pipeline(site), store, ledger, SCENARIO.start_utc, lambda _: None), ledger, store


def test_a_safety_change_sets_the_thresholds_it_changes_and_keeps_the_rest_of_the_policy() -> None:
    site = SCENARIO.site
    pipeline = Pipeline(site)
    pipeline.set_site(edited_site(site, "safety", {**DEFAULT, "min_observation_s": 40.0}))
    assert (pipeline.rules.policy.min_observation_s, pipeline.rules.policy.harmless_probability) == (40.0, 0.95)
    explicit = SafetyPolicy(harmless_probability=0.99, rearm_s=5.0)  # given at construction: wins over the site's
    pipeline = Pipeline(site, policy=explicit)
    zone = site.zones[0].model_dump(mode="json") | {"name": "renamed"}
    pipeline.set_site(edited_site(site, "zones", zone))
    assert pipeline.rules.policy is explicit  # a zone edit leaves every threshold alone
    pipeline.set_site(edited_site(pipeline.site, "safety", {**DEFAULT, "min_observation_s": 40.0}))
    assert pipeline.rules.policy == SafetyPolicy(harmless_probability=0.99, rearm_s=5.0, min_observation_s=40.0)
    pipeline.set_site(edited_site(pipeline.site, "safety", {**DEFAULT, "min_observation_s": 40.0,
                                                            "harmless_probability": 0.97}))
    assert pipeline.rules.policy.harmless_probability == 0.97 and pipeline.rules.policy.rearm_s == 5.0


def test_a_live_safety_change_is_recorded_and_reproduced_by_a_rerun_of_the_ledger(tmp_path: Path) -> None:
    site = SCENARIO.site.model_copy(update={"safety": Safety(**SILENT)})
    live, ledger, store = service(tmp_path, site)

    def feed() -> Iterator[tuple[float, list[RawInput]]]:
        for k, step in enumerate(itertools.islice(Simulation(SCENARIO, 1).steps(), 30)):
            if k == 15:  # mid-run, while scans are queued: the alerts come after it, wherever it lands
                live.update_site_item("safety", DEFAULT, "alice", "commander")
            yield step.t, raw_inputs(step.scan.plots, step.coop)

    asyncio.run(live.run(feed(), math.inf))
    assert live.pipeline.rules.policy.harmless_probability == DEFAULT["harmless_probability"]
    ledger.close()
    with Ledger.open(ledger.path) as led:
        entries = list(led.entries())
    edit = next(e for e in entries if e.kind == "config" and e.source == "site/safety")
    action = entries[edit.index + 1]
    assert action.kind == "action" and action.json()["kind"] == "edit_safety" and action.source == "alice"
    alerts = [e.index for e in entries if e.kind == "event" and e.json()["kind"] == "ZoneViolation"]
    assert alerts and min(alerts) > edit.index  # silenced before the change, alerting after it
    again = rerun(entries)
    assert again.identical and again.scans == 30, again.differences
    without = rerun(e for e in entries if e.index != edit.index)
    assert not without.identical and "ZoneViolation" in without.differences[0]
    assert [a["kind"] for a in store.actions()] == ["edit_safety"] and store.config_items("safety") == {"safety": DEFAULT}
    store.close()


def permit(zone: str) -> dict[str, Any]:
    return {"id": "P-test", "uas_id": "RID-1", "zone": zone, "start": "2023-05-03T00:00:00Z",
            "end": "2023-05-04T00:00:00Z"}


def test_an_approval_whose_change_no_longer_validates_is_refused_and_records_nothing(tmp_path: Path) -> None:
    extra = Zone(id="Z-test", polygon=[(37.61, 55.75), (37.62, 55.75), (37.62, 55.76)])
    before = SCENARIO.site.model_copy(update={"zones": [*SCENARIO.site.zones, extra]})
    live, ledger, store = service(tmp_path, before)
    proposal = live.propose_edit("permits", permit("Z-test"), "olga", "operator")
    assert proposal["kind"] == "propose_edit" and proposal["item"]["zone"] == "Z-test"
    ledger.close()
    # the site file lost the zone and the service was restarted: the permit would name a zone that is gone
    live, ledger, store = service(tmp_path, SCENARIO.site, store)
    with pytest.raises(ActionRefused) as refused:
        live.decide_proposal(proposal["id"], True, "carl", "commander")
    assert refused.value.status == 422 and "permits/P-test" in refused.value.detail
    assert "Z-test" in refused.value.detail
    assert [a["kind"] for a in store.actions()] == ["propose_edit"] and store.config_items("permits") == {}
    assert [p["status"] for p in store.proposals()] == ["pending"]
    rejected = live.decide_proposal(proposal["id"], False, "carl", "commander")  # it may still be rejected
    assert rejected[0] is None and rejected[1]["kind"] == "reject_edit"
    ledger.close()
    with Ledger.open(ledger.path) as led:
        assert [e.kind for e in led.entries()] == ["config", "action"]  # the run's config, the rejection
    store.close()


def test_two_commanders_deciding_one_proposal_at_once_one_is_refused(tmp_path: Path) -> None:
    live, ledger, store = service(tmp_path, SCENARIO.site)

    def decide(proposal_id: int, approve: bool, who: str, outcomes: list[str]) -> None:
        try:
            outcomes.append(live.decide_proposal(proposal_id, approve, who, "commander")[1]["kind"])
        except ActionRefused as exc:
            outcomes.append(str(exc.status))

    for _ in range(5):
        proposal = live.propose_edit("safety", SILENT, "olga", "operator")
        outcomes: list[str] = []
        threads = [threading.Thread(target=decide, args=(proposal["id"], approve, who, outcomes))
                   for approve, who in ((True, "carl"), (False, "cora"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) in (["409", "edit_safety"], ["409", "reject_edit"]), outcomes
    assert all(p["status"] in ("approved", "rejected") for p in store.proposals()) and len(store.proposals()) == 5
    ledger.close()
    store.close()
