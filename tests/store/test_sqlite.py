"""The SQLite store: round trips through a restart, queries, down-sampled trails, tokens, proposals, migrations,
file modes, crash safety."""

from __future__ import annotations

import json
import math
import os
import random
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from skywarden.events import TrackConfirmed, TrackLost, ZoneViolation
from skywarden.store import MIGRATIONS, SCHEMA_VERSION, Store, StoreError
from skywarden.store.sqlite import TokenRecord

T0 = 1_700_000_000.0


def event_dicts() -> list[dict[str, object]]:
    return [TrackConfirmed(T0 + 1, "T1", (1.0, 2.0, 3.0)).to_dict(),
            ZoneViolation(t=T0 + 2, track_id="T1", zone_id="z", classification="drone", asset_id=None,
                          time_to_asset_s=None, position_enu_m=(0.0, 0.0, 0.0)).to_dict(),
            {"kind": "ScanDone", "t": T0 + 2, "n": 3},
            TrackLost(T0 + 3, "T1").to_dict()]


INCIDENT = {"id": "INC-0001", "t_start": T0, "t_end": T0 + 13, "first_alert_t": T0 + 2, "track_ids": ["T1"],
            "zone_ids": ["z"], "alerts": [event_dicts()[1]]}


def test_everything_written_is_there_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with Store.open(path) as store:
        ids = store.add_events(event_dicts())
        store.upsert_incident(INCIDENT)
        action = store.add_action(T0 + 5, "alice", "operator", "annotate", {"note": "kite", "track_id": "T1"}, 7)
        store.add_track_samples(T0, ["T1"], np.array([[1.0, 2.0, 3.0]]), np.array([[4.0, 5.0, 6.0]]),
                                ["confirmed"], ["drone"])
        store.add_token("ab" * 32, "viewer", "wall screen", T0)
        store.put_config("zones", "z", {"id": "z", "name": "core"}, T0 + 6, "alice")
    assert ids == sorted(ids) and len(set(ids)) == 4
    assert action == {"id": action["id"], "t": T0 + 5, "actor": "alice", "role": "operator", "kind": "annotate",
                      "ledger_index": 7, "note": "kite", "track_id": "T1"}

    with Store.open(path) as store:
        assert store.events() == [{**e, "id": i} for e, i in zip(json.loads(json.dumps(event_dicts())), ids,
                                                                  strict=True)]
        assert store.incidents() == [json.loads(json.dumps(INCIDENT))]
        assert store.actions() == [action] and store.action(action["id"]) == action
        assert store.track_history("T1") == [{"t": T0, "position_enu_m": [1.0, 2.0, 3.0],
                                              "velocity_enu_mps": [4.0, 5.0, 6.0], "status": "confirmed",
                                              "classification": "drone"}]
        assert store.token("ab" * 32) == TokenRecord("ab" * 32, "viewer", "wall screen", T0, None, None)
        assert store.tokens() == [store.token("ab" * 32)] and store.token("cd" * 32) is None
        assert store.config_items("zones") == {"z": {"id": "z", "name": "core"}}


def test_event_queries_are_oldest_first_after_since_limited_and_by_kind(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        assert store.events() == [] and store.last_event_t() is None
        late, early = store.add_events([{"kind": "B", "t": T0 + 10}, {"kind": "A", "t": T0 + 1, "track_id": "T"}])
        store.add_events([{"kind": "A", "t": T0 + 5}])
        assert [e["t"] for e in store.events()] == [T0 + 1, T0 + 5, T0 + 10]
        assert [e["id"] for e in store.events(since=T0 + 1)] == [early + 1, late]  # `since` is exclusive
        assert [e["t"] for e in store.events(limit=2)] == [T0 + 1, T0 + 5]
        assert [e["t"] for e in store.events(kinds=["B"])] == [T0 + 10]
        assert store.events(kinds=[]) == []
        assert store.last_event_t() == T0 + 10
        with pytest.raises(StoreError, match="limit must be a positive integer, got 0"):
            store.events(limit=0)


def test_paging_events_by_time_and_id_misses_none_that_share_a_time(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        ids = store.add_events([{"kind": "A", "t": T0, "n": n} for n in range(5)] + [{"kind": "A", "t": T0 + 1}])
        pages, since, after = [], None, None
        while page := store.events(since, limit=2, after_id=after):
            pages.append([e["id"] for e in page])
            since, after = page[-1]["t"], page[-1]["id"]
        assert pages == [ids[0:2], ids[2:4], ids[4:6]]
        assert [e["id"] for e in store.events(since=T0)] == [ids[5]]  # `since` alone skips the rest at T0
        with pytest.raises(StoreError, match="after_id must be an integer, got 'x'"):
            store.events(T0, after_id="x")  # type: ignore[arg-type]


def test_an_incident_upsert_replaces_the_stored_one(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        store.upsert_incident(INCIDENT)
        store.upsert_incident({**INCIDENT, "t_end": None, "status": "acknowledged"})
        store.upsert_incident({**INCIDENT, "id": "INC-0000", "t_start": T0 - 100})
        assert [i["id"] for i in store.incidents()] == ["INC-0000", "INC-0001"]
        assert store.incident("INC-0001") == {**json.loads(json.dumps(INCIDENT)), "t_end": None,
                                              "status": "acknowledged"}
        assert store.incident("INC-9999") is None


def test_actions_are_numbered_and_keep_their_reserved_fields(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        first = store.add_action(T0, "alice", "operator", "request_mitigation", {"track_id": "T1"}, None)
        second = store.add_action(T0 + 1, "bob", "commander", "authorise_mitigation",
                                  {"request_id": first["id"]}, 12)
        assert second["id"] == first["id"] + 1 and first["ledger_index"] is None
        assert store.actions(since=T0) == [second] and store.action(999) is None
        with pytest.raises(StoreError, match=r"actions\.payload may not set 'kind', got 'x'"):
            store.add_action(T0, "alice", "operator", "annotate", {"kind": "x"}, None)


def test_the_decision_of_a_mitigation_request_is_found_by_its_request_id(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        one = store.add_action(T0, "alice", "operator", "request_mitigation", {"track_id": "T1"}, None)
        two = store.add_action(T0, "alice", "operator", "request_mitigation", {"track_id": "T2"}, None)
        store.add_action(T0 + 1, "carol", "operator", "annotate", {"request_id": one["id"], "note": "n"}, None)
        assert store.decision_of(one["id"]) is None
        denied = store.add_action(T0 + 2, "bob", "commander", "deny_mitigation", {"request_id": two["id"]}, 3)
        assert store.decision_of(two["id"]) == denied and store.decision_of(one["id"]) is None


def test_an_edit_action_and_its_config_item_are_one_transaction(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        with pytest.raises(StoreError, match=r"config_items zones/z is not JSON-encodable"):
            store.add_action(T0, "alice", "operator", "edit_zones", {"item_id": "z"}, 4,
                             config=("zones", "z", {"id": "z", "floor_m": math.nan}))
        assert store.actions() == [] and store.config_items("zones") == {}  # neither half was written
        action = store.add_action(T0, "alice", "operator", "edit_zones", {"item_id": "z"}, 4,
                                  config=("zones", "z", {"id": "z", "floor_m": 0}))
        assert store.actions() == [action] and store.config_items("zones") == {"z": {"id": "z", "floor_m": 0}}


def test_track_samples_are_down_sampled_per_track_across_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    ones = np.ones((2, 3))
    with Store.open(path) as store:
        assert store.add_track_samples(T0, ["A", "B"], ones, ones, ["confirmed"] * 2, ["drone"] * 2) == 2
        assert store.add_track_samples(T0 + 1, ["A", "B"], ones, ones, ["confirmed"] * 2, ["drone"] * 2) == 0
        assert store.add_track_samples(T0 + 1, ["C"], ones[:1], ones[:1], ["tentative"], ["unknown"]) == 1
    with Store.open(path) as store:  # the last sample times are rebuilt from the file
        assert store.add_track_samples(T0 + 4, ["A", "C"], ones, ones, ["coasting"] * 2, ["bird"] * 2) == 0
        assert store.add_track_samples(T0 + 5, ["A", "C"], 2 * ones, ones, ["coasting"] * 2, ["bird"] * 2) == 1
        assert store.add_track_samples(T0 + 6, ["C"], ones[:1], ones[:1], ["coasting"], ["bird"],
                                       min_interval_s=0.0) == 1
        assert [(s["t"], s["position_enu_m"][0], s["status"]) for s in store.track_history("A")] == [
            (T0, 1.0, "confirmed"), (T0 + 5, 2.0, "coasting")]
        assert [s["t"] for s in store.track_history("C", since=T0 + 1)] == [T0 + 6]
        assert store.track_history("nobody") == []
        with pytest.raises(StoreError, match=r"track_samples.enu must have shape \(2, 3\), got \(1, 3\)"):
            store.add_track_samples(T0 + 99, ["A", "B"], ones[:1], ones, ["x"] * 2, ["y"] * 2)
        with pytest.raises(StoreError, match="track_samples of track 'D' must be finite"):
            store.add_track_samples(T0 + 99, ["D"], np.full((1, 3), np.nan), ones[:1], ["x"], ["y"])


def test_config_items_give_the_latest_version_of_each_item_per_kind(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        store.put_config("zones", "z1", {"id": "z1", "v": 1}, T0, "alice")
        store.put_config("zones", "z2", {"id": "z2", "v": 1}, T0 + 1, "alice")
        store.put_config("zones", "z1", {"id": "z1", "v": 2}, T0 + 2, "bob")
        store.put_config("permits", "p1", {"id": "p1"}, T0 + 3, "bob")
        assert store.config_items("zones") == {"z1": {"id": "z1", "v": 2}, "z2": {"id": "z2", "v": 1}}
        assert store.config_items("permits") == {"p1": {"id": "p1"}} and store.config_items("assets") == {}


def test_tokens_keep_an_expiry_and_a_revocation_time(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        store.add_token("a", "viewer", "lasting", T0)
        store.add_token("b", "operator", "brief", T0, expires_t=T0 + 60)
        store.add_token("c", "commander", "leaver", T0, expires_t=T0 + 600)
        store.revoke_token("c", T0 + 10)
        with pytest.raises(StoreError, match=r"tokens\.token_hash 'c': no such token, or it is already revoked"):
            store.revoke_token("c", T0 + 20)
        with pytest.raises(StoreError, match=r"tokens\.token_hash 'x': no such token"):
            store.revoke_token("x", T0)
        with pytest.raises(StoreError, match=r"tokens\.expires_t must be a finite number of UTC seconds, got nan"):
            store.add_token("d", "viewer", "v", T0, expires_t=math.nan)
        assert store.token("c") == TokenRecord("c", "commander", "leaver", T0, T0 + 600, T0 + 10)
        assert [store.live_token_count(t) for t in (T0, T0 + 60, T0 + 1e9)] == [2, 1, 1]
        assert [r.live_at(T0 + 30) for r in store.tokens()] == [True, True, False]


def test_proposals_list_their_status_and_the_first_decision(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        zone = {"config_kind": "zones", "item_id": "z", "item": {"id": "z"}}
        one = store.add_action(T0, "olga", "operator", "propose_edit", zone, 1)
        two = store.add_action(T0 + 1, "olga", "operator", "propose_edit", zone, 2)
        three = store.add_action(T0 + 2, "carl", "commander", "propose_edit", zone, 3)
        assert store.proposal_decision(one["id"]) is None
        store.add_action(T0 + 3, "x", "operator", "annotate", {"proposal_id": one["id"], "note": "?"}, 4)  # no decision
        approved = store.add_action(T0 + 4, "carl", "commander", "edit_zones",
                                    {"item_id": "z", "proposal_id": one["id"]}, 5, config=("zones", "z", {"id": "z"}))
        rejected = store.add_action(T0 + 5, "cora", "commander", "reject_edit", {"proposal_id": two["id"]}, 6)
        assert store.proposal_decision(one["id"]) == approved and store.proposal_decision(two["id"]) == rejected
        assert [(p["id"], p["status"], p["decision"]) for p in store.proposals()] == [
            (one["id"], "approved", approved), (two["id"], "rejected", rejected), (three["id"], "pending", None)]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_store_is_the_owners_alone_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = tmp_path / "new" / "deeper" / "store.db"
        with Store.open(path) as store:
            store.add_events(event_dicts())
            files = [path, path.with_name("store.db-wal"), path.with_name("store.db-shm")]
            assert all(f.exists() for f in files)
            assert [_mode(f) for f in files] == [0o600] * 3
        assert _mode(tmp_path / "new") == _mode(tmp_path / "new" / "deeper") == 0o700
        kept = tmp_path / "kept"
        kept.mkdir(mode=0o755)
        Store.open(kept / "store.db").close()
        assert _mode(kept) == 0o755 and _mode(kept / "store.db") == 0o600  # a folder that existed is the user's
        loose = tmp_path / "loose.db"  # made before the store kept its files private
        sqlite3.connect(loose).close()
        loose.chmod(0o644)
        with Store.open(loose):
            assert _mode(loose) == 0o600
    finally:
        os.umask(old)


def test_bad_input_is_a_store_error_naming_the_field_and_value(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        with pytest.raises(StoreError, match=r"events\[1\].t must be a finite number of UTC seconds, got nan"):
            store.add_events([{"kind": "A", "t": T0}, {"kind": "A", "t": math.nan}])
        with pytest.raises(StoreError, match=r"events\[0\].kind must be a string, got None"):
            store.add_events([{"t": T0}])
        with pytest.raises(StoreError, match=r"events\[0\] is not JSON-encodable"):
            store.add_events([{"kind": "A", "t": T0, "x": math.inf}])
        with pytest.raises(StoreError, match=r"incidents\.t_start must be a finite number of UTC seconds, got '1'"):
            store.upsert_incident({"id": "I", "t_start": "1"})
        store.add_token("h", "viewer", "v", T0)
        with pytest.raises(StoreError, match="writing table tokens failed: UNIQUE constraint failed"):
            store.add_token("h", "operator", "o", T0)
        assert store.events() == [] and store.token("h") == TokenRecord("h", "viewer", "v", T0, None, None)
    with pytest.raises(StoreError, match="is closed"):
        store.events()
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError, match=r"cannot open store .*junk\.db: file is not a database"):
        Store.open(tmp_path / "junk.db")


def test_the_file_is_wal_and_synced_fully(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        conn = store._conn
        assert conn is not None
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)


def test_old_schemas_are_migrated_keeping_their_rows(tmp_path: Path) -> None:
    empty = tmp_path / "v0.db"
    sqlite3.connect(empty).close()
    old = tmp_path / "v1.db"
    conn = sqlite3.connect(old)
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("INSERT INTO events (t, kind, track_id, payload) VALUES (?, 'A', NULL, ?)",
                 (T0, json.dumps({"kind": "A", "t": T0})))
    conn.execute("INSERT INTO tokens (token_hash, role, name, created_t) VALUES ('h', 'viewer', 'wall', ?)", (T0,))
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    for path in (empty, old):
        with Store.open(path) as store:
            store.put_config("zones", "z", {"id": "z"}, T0, "alice")  # a table of step 2
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        conn.close()
    with Store.open(old) as store:
        assert store.events() == [{"kind": "A", "t": T0, "id": 1}]
        assert store.token("h") == TokenRecord("h", "viewer", "wall", T0, None, None)  # made before expiry: never expires
        store.revoke_token("h", T0 + 1)  # the columns of step 3 are there


def test_a_schema_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match=f"schema_version {SCHEMA_VERSION + 1}, newer than this code's "
                                         f"schema_version {SCHEMA_VERSION}"):
        Store.open(path)


def test_two_threads_can_write_at_once(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        def add_events() -> None:
            for i in range(50):
                store.add_events([{"kind": "A", "t": T0 + i}, {"kind": "B", "t": T0 + i}])

        worker = threading.Thread(target=add_events)
        worker.start()
        actions = [store.add_action(T0 + i, "alice", "operator", "annotate", {"i": i}, i)["id"] for i in range(50)]
        worker.join()
        assert len(store.events(limit=1000)) == 100 and actions == list(range(1, 51))


CHILD = """
import sys
from pathlib import Path
from skywarden.store import Store
store = Store.open(Path(sys.argv[1]))
print("ready", flush=True)
i = 0
while True:
    action = store.add_action(1.7e9 + i, "alice", "operator", "annotate", {"note": f"note {i}"}, i)
    print(action["id"], action["note"], flush=True)  # acknowledged: add_action returned
    i += 1
"""

KILLS = 20


def test_no_acknowledged_action_is_lost_when_the_writer_is_killed(
    tmp_path: Path, child_line: Callable[[subprocess.Popen[bytes], float], bytes]
) -> None:
    path = tmp_path / "store.db"
    rng = random.Random(20)
    acknowledged: dict[int, str] = {}
    for _ in range(KILLS):
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        assert child_line(proc, 30.0) == b"ready\n"
        time.sleep(rng.uniform(0.0, 0.15))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        assert proc.returncode == -signal.SIGKILL
        for line in out.decode().split("\n")[:-1]:  # a line cut short by the kill was never acknowledged
            action_id, note = line.split(" ", 1)
            acknowledged[int(action_id)] = note
    assert acknowledged
    with Store.open(path) as store:
        for action_id, note in acknowledged.items():
            found = store.action(action_id)
            assert found is not None and found["note"] == note, f"acknowledged action {action_id} lost"
