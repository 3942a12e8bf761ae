"""The embedded store: events, incidents, operator actions, track trails, tokens and config overrides in SQLite.

One file, WAL journal, ``synchronous=FULL``: a write method returns only after its transaction is on
disk, so a restart loses nothing the API acknowledged. Payloads are canonical JSON text; the columns
beside them are what queries filter and sort on. The schema is built by ``MIGRATIONS`` (step ``i``
takes ``PRAGMA user_version`` from ``i`` to ``i + 1``, each in one transaction). One connection is
shared by the service's threads behind a lock. The file and its ``-wal``/``-shm`` companions are the
owner's alone (0600), in folders made 0700: they hold the operators' actions and the token hashes.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

BUSY_TIMEOUT_S: Final = 10.0  # how long a write waits for another process (e.g. `skywarden token create`)

# Schema steps, oldest first; SCHEMA_VERSION = len(MIGRATIONS). Append new steps, never edit old ones.
MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (  # 1: the record of a run
        """CREATE TABLE events (
            id INTEGER PRIMARY KEY, t REAL NOT NULL, kind TEXT NOT NULL, track_id TEXT,
            payload TEXT NOT NULL)""",
        "CREATE INDEX events_t ON events (t, id)",
        "CREATE INDEX events_kind_t ON events (kind, t)",
        "CREATE INDEX events_track_t ON events (track_id, t) WHERE track_id IS NOT NULL",
        """CREATE TABLE incidents (
            id TEXT PRIMARY KEY, t_start REAL NOT NULL, t_end REAL, status TEXT, payload TEXT NOT NULL)""",
        "CREATE INDEX incidents_t_start ON incidents (t_start)",
        """CREATE TABLE actions (
            id INTEGER PRIMARY KEY, t REAL NOT NULL, actor TEXT NOT NULL, role TEXT NOT NULL,
            kind TEXT NOT NULL, ledger_index INTEGER, payload TEXT NOT NULL)""",
        "CREATE INDEX actions_t ON actions (t, id)",
        """CREATE TABLE tokens (
            token_hash TEXT PRIMARY KEY, role TEXT NOT NULL, name TEXT NOT NULL, created_t REAL NOT NULL)""",
    ),
    (  # 2: the live service's trails and API-edited config
        """CREATE TABLE track_samples (
            track_id TEXT NOT NULL, t REAL NOT NULL,
            east_m REAL NOT NULL, north_m REAL NOT NULL, up_m REAL NOT NULL,
            east_mps REAL NOT NULL, north_mps REAL NOT NULL, up_mps REAL NOT NULL,
            status TEXT NOT NULL, classification TEXT NOT NULL,
            PRIMARY KEY (track_id, t)) WITHOUT ROWID""",
        """CREATE TABLE config_items (
            seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, item_id TEXT NOT NULL, t REAL NOT NULL,
            actor TEXT NOT NULL, item TEXT NOT NULL)""",
        "CREATE INDEX config_items_kind_id ON config_items (kind, item_id, seq)",
    ),
    (  # 3: tokens expire and can be revoked (tokens made before never expire: NULL)
        "ALTER TABLE tokens ADD COLUMN expires_t REAL",
        "ALTER TABLE tokens ADD COLUMN revoked_t REAL",
    ),
)
SCHEMA_VERSION: Final = len(MIGRATIONS)

ACTION_COLUMNS: Final = ("id", "t", "actor", "role", "kind", "ledger_index")
PRIVATE_FILE: Final = 0o600
PRIVATE_DIR: Final = 0o700


class StoreError(Exception):
    """A store operation failed; the message names the table, field and value."""


def _json_text(obj: Any, where: str) -> str:
    """Canonical JSON text of ``obj`` (sorted keys, no whitespace, no NaN); ``where`` names it in errors."""
    try:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{where} is not JSON-encodable: {exc}") from exc


def _time(value: Any, where: str) -> float:
    """``value`` as a finite float of UTC seconds, else a StoreError naming ``where``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise StoreError(f"{where} must be a finite number of UTC seconds, got {value!r}")
    return float(value)


def _text(value: Any, where: str) -> str:
    """``value`` checked to be a string, else a StoreError naming ``where``."""
    if not isinstance(value, str):
        raise StoreError(f"{where} must be a string, got {value!r}")
    return value


def _optional_text(value: Any, where: str) -> str | None:
    """``value`` checked to be a string or None, else a StoreError naming ``where``."""
    return None if value is None else _text(value, where)


def _since(since: float | None) -> float:
    """The lower time bound of a query (exclusive); None means from the beginning."""
    return -math.inf if since is None else _time(since, "since")


def _limit(limit: int) -> int:
    """A query's row limit, checked to be a positive integer."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise StoreError(f"limit must be a positive integer, got {limit!r}")
    return limit


def _action(row: tuple[Any, ...]) -> dict[str, Any]:
    """An actions row as the API's action dict: its columns, then its payload's fields."""
    *columns, payload = row
    return {**dict(zip(ACTION_COLUMNS, columns, strict=True)), **json.loads(payload)}


def make_private_dir(path: Path) -> None:
    """Create folder ``path`` and any missing parent, each one mode 0700 (owner only) whatever the umask;
    folders that exist already are left as they are."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:  # made meanwhile by another process: theirs stands
            continue
        os.chmod(folder, PRIVATE_DIR)


def _private_files(path: Path) -> None:
    """Create the store's file if missing and make it, and its ``-wal``/``-shm`` if present, mode 0600
    (SQLite gives the companions the main file's mode when it creates them)."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE))
    for file in (path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
        if file.exists():
            os.chmod(file, PRIVATE_FILE)


@dataclass(frozen=True)
class TokenRecord:
    """A stored API token: its hash (never the token), role, name, and when it was made, expires (None:
    never) and was revoked (None: not), in Unix seconds."""

    token_hash: str
    role: str
    name: str
    created_t: float
    expires_t: float | None
    revoked_t: float | None

    def live_at(self, t: float) -> bool:
        """Whether the token is accepted at time ``t``: not revoked and not expired."""
        return self.revoked_t is None and (self.expires_t is None or t < self.expires_t)


TOKEN_COLUMNS: Final = "token_hash, role, name, created_t, expires_t, revoked_t"


class Store:
    """The service's SQLite store; open with ``Store.open(path)``, safe to share between threads."""

    def __init__(self, path: Path, connection: sqlite3.Connection, last_sample_t: dict[str, float]) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = connection
        self._lock = threading.RLock()
        self._last_sample_t = last_sample_t  # track id -> time of its newest stored sample

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open (creating if needed) the store at ``path`` and bring its schema up to ``SCHEMA_VERSION``."""
        path = Path(path)
        try:
            make_private_dir(path.parent)
            _private_files(path)
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open store {path}: {exc}") from exc
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise StoreError(f"store {path}: journal_mode must be wal, the file system gave {mode!r}")
            conn.execute("PRAGMA synchronous = FULL")
            _migrate(conn, path)
            rows = conn.execute("SELECT track_id, MAX(t) FROM track_samples GROUP BY track_id").fetchall()
        except sqlite3.Error as exc:
            conn.close()
            raise StoreError(f"cannot open store {path}: {exc}") from exc
        except StoreError:
            conn.close()
            raise
        return cls(path, conn, dict(rows))

    def close(self) -> None:
        """Close the connection (every acknowledged write is already on disk); later calls raise."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _connection(self, table: str) -> sqlite3.Connection:
        """The open connection, or a StoreError naming the table if the store was closed."""
        if self._conn is None:
            raise StoreError(f"store {self.path} is closed (table {table})")
        return self._conn

    @contextmanager
    def _write(self, table: str) -> Iterator[sqlite3.Connection]:
        """One locked write transaction on ``table``, committed (and synced) when the block ends."""
        with self._lock:
            conn = self._connection(table)
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except (sqlite3.Error, UnicodeEncodeError, OverflowError) as exc:  # the last two: unbindable values
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise StoreError(f"store {self.path}: writing table {table} failed: {exc}") from exc
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _read(self, table: str, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """All rows of one locked query on ``table``."""
        with self._lock:
            conn = self._connection(table)
            try:
                return conn.execute(sql, params).fetchall()
            except (sqlite3.Error, UnicodeEncodeError, OverflowError) as exc:
                raise StoreError(f"store {self.path}: reading table {table} failed: {exc}") from exc

    # events

    def add_events(self, events: Sequence[dict[str, Any]]) -> list[int]:
        """Store ``Event.to_dict()`` dicts in one transaction; their row ids, in order."""
        rows = []
        for i, event in enumerate(events):
            where = f"events[{i}]"
            rows.append((_time(event.get("t"), f"{where}.t"), _text(event.get("kind"), f"{where}.kind"),
                         _optional_text(event.get("track_id"), f"{where}.track_id"),
                         _json_text(event, where)))
        if not rows:
            return []
        with self._write("events") as conn:
            sql = "INSERT INTO events (t, kind, track_id, payload) VALUES (?, ?, ?, ?)"
            return [_row_id(conn.execute(sql, row), "events") for row in rows]

    def events(self, since: float | None = None, limit: int = 1000, kinds: Sequence[str] | None = None,
               after_id: int | None = None) -> list[dict[str, Any]]:
        """Events after ``since`` (of the given kinds), oldest first, each with its ``id``. With ``after_id``, the
        events at ``t == since`` with a larger id come too: paging by the last one's (t, id) misses none of
        several events that share a time."""
        params: list[Any] = [_since(since)]
        where = "t > ?"
        if after_id is not None:
            if isinstance(after_id, bool) or not isinstance(after_id, int):
                raise StoreError(f"after_id must be an integer, got {after_id!r}")
            where, params = "(t, id) > (?, ?)", [*params, after_id]
        if isinstance(kinds, str):
            raise StoreError(f"kinds must be a sequence of event kinds, got the string {kinds!r}")
        if kinds is not None:
            kinds = [_text(k, f"kinds[{i}]") for i, k in enumerate(kinds)]
            where += f" AND kind IN ({', '.join('?' * len(kinds))})"
            params += kinds
        rows = self._read("events", f"SELECT id, payload FROM events WHERE {where} ORDER BY t, id LIMIT ?",
                          [*params, _limit(limit)])
        return [{**json.loads(payload), "id": row_id} for row_id, payload in rows]

    def latest_events(self, limit: int = 500) -> list[dict[str, Any]]:
        """The newest ``limit`` events, oldest first (what a client connecting now needs)."""
        rows = self._read("events", "SELECT id, payload FROM (SELECT id, t, payload FROM events ORDER BY t DESC, id DESC "
                          "LIMIT ?) ORDER BY t, id", [_limit(limit)])
        return [{**json.loads(payload), "id": row_id} for row_id, payload in rows]

    def last_event_t(self) -> float | None:
        """The time of the newest stored event, or None if there is none."""
        return self._read("events", "SELECT MAX(t) FROM events")[0][0]

    # incidents

    def upsert_incident(self, incident: dict[str, Any]) -> None:
        """Insert the incident or replace the stored one with the same ``id``."""
        row = (_text(incident.get("id"), "incidents.id"), _time(incident.get("t_start"), "incidents.t_start"),
               None if incident.get("t_end") is None else _time(incident["t_end"], "incidents.t_end"),
               _optional_text(incident.get("status"), "incidents.status"),
               _json_text(incident, f"incident {incident.get('id')!r}"))
        with self._write("incidents") as conn:
            conn.execute("INSERT INTO incidents (id, t_start, t_end, status, payload) VALUES (?, ?, ?, ?, ?) "
                         "ON CONFLICT (id) DO UPDATE SET t_start = excluded.t_start, t_end = excluded.t_end, "
                         "status = excluded.status, payload = excluded.payload", row)

    def incidents(self) -> list[dict[str, Any]]:
        """Every incident, in order of start time."""
        rows = self._read("incidents", "SELECT payload FROM incidents ORDER BY t_start, id")
        return [json.loads(payload) for (payload,) in rows]

    def incident(self, incident_id: str) -> dict[str, Any] | None:
        """The incident with this id, or None."""
        rows = self._read("incidents", "SELECT payload FROM incidents WHERE id = ?", [incident_id])
        return json.loads(rows[0][0]) if rows else None

    # operator actions

    def add_action(self, t: float, actor: str, role: str, kind: str, payload: dict[str, Any],
                   ledger_index: int | None,
                   config: tuple[str, str, dict[str, Any]] | None = None) -> dict[str, Any]:
        """Record an operator action (already in the ledger at ``ledger_index``); the stored action dict. With
        ``config`` = (kind, item id, item), the config item the action set is stored in the same transaction."""
        clash = sorted(set(payload) & set(ACTION_COLUMNS))
        if clash:
            raise StoreError(f"actions.payload may not set {clash[0]!r}, got {payload[clash[0]]!r}")
        if ledger_index is not None and (isinstance(ledger_index, bool) or not isinstance(ledger_index, int)):
            raise StoreError(f"actions.ledger_index must be an integer or null, got {ledger_index!r}")
        row = (_time(t, "actions.t"), _text(actor, "actions.actor"), _text(role, "actions.role"),
               _text(kind, "actions.kind"), ledger_index, _json_text(payload, "actions.payload"))
        config_row = None if config is None else _config_row(*config, t, actor)
        with self._write("actions") as conn:
            cursor = conn.execute("INSERT INTO actions (t, actor, role, kind, ledger_index, payload) "
                                  "VALUES (?, ?, ?, ?, ?, ?)", row)
            action_id = _row_id(cursor, "actions")
            if config_row is not None:
                conn.execute(INSERT_CONFIG, config_row)
        return _action((action_id, *row))

    def decision_of(self, request_id: int) -> dict[str, Any] | None:
        """The action that authorised or denied mitigation request ``request_id``, or None while it is pending."""
        rows = self._read("actions", "SELECT id, t, actor, role, kind, ledger_index, payload FROM actions "
                          "WHERE kind IN ('authorise_mitigation', 'deny_mitigation') "
                          "AND json_extract(payload, '$.request_id') = ? ORDER BY id LIMIT 1", [request_id])
        return _action(rows[0]) if rows else None

    def proposal_decision(self, proposal_id: int) -> dict[str, Any] | None:
        """The action that decided rule-change proposal ``proposal_id`` (two-person rule): the edit it approved
        (``edit_<kind>``) or its rejection (``reject_edit``); None while it is pending."""
        rows = self._read("actions", f"SELECT {', '.join(ACTION_COLUMNS)}, payload FROM actions WHERE {DECIDES_PROPOSAL} "
                          "AND json_extract(payload, '$.proposal_id') = ? ORDER BY id LIMIT 1", [proposal_id])
        return _action(rows[0]) if rows else None

    def proposals(self) -> list[dict[str, Any]]:
        """Every rule-change proposal (a ``propose_edit`` action), oldest first, with its ``status`` (pending,
        approved or rejected) and the ``decision`` action (or None)."""
        columns = f"{', '.join(ACTION_COLUMNS)}, payload"
        proposed = self._read("actions", f"SELECT {columns} FROM actions WHERE kind = 'propose_edit' ORDER BY id")
        decisions: dict[int, dict[str, Any]] = {}
        for row in self._read("actions", f"SELECT {columns} FROM actions WHERE {DECIDES_PROPOSAL} ORDER BY id DESC"):
            found = _action(row)
            decisions[found["proposal_id"]] = found  # newest first: the first decision wins
        out = []
        for row in proposed:
            proposal = _action(row)
            decision = decisions.get(proposal["id"])
            status = "pending" if decision is None else "rejected" if decision["kind"] == "reject_edit" else "approved"
            out.append({**proposal, "status": status, "decision": decision})
        return out

    def actions(self, since: float | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Operator actions with ``t`` after ``since``, oldest first."""
        rows = self._read("actions", "SELECT id, t, actor, role, kind, ledger_index, payload FROM actions "
                          "WHERE t > ? ORDER BY t, id LIMIT ?", [_since(since), _limit(limit)])
        return [_action(row) for row in rows]

    def latest_actions(self, limit: int = 500) -> list[dict[str, Any]]:
        """The newest ``limit`` operator actions, oldest first."""
        rows = self._read("actions", "SELECT id, t, actor, role, kind, ledger_index, payload FROM (SELECT * FROM actions "
                          "ORDER BY t DESC, id DESC LIMIT ?) ORDER BY t, id", [_limit(limit)])
        return [_action(row) for row in rows]

    def action(self, action_id: int) -> dict[str, Any] | None:
        """The operator action with this id, or None."""
        rows = self._read("actions", "SELECT id, t, actor, role, kind, ledger_index, payload FROM actions "
                          "WHERE id = ?", [action_id])
        return _action(rows[0]) if rows else None

    # track trails

    def add_track_samples(self, t: float, ids: Sequence[str], enu: NDArray[np.float64], vel: NDArray[np.float64],
                          status: Sequence[str], classification: Sequence[str],
                          min_interval_s: float = 5.0) -> int:
        """Store a trail sample of each track whose last one is ``min_interval_s`` old or more; how many."""
        t = _time(t, "track_samples.t")
        keys = [str(i) for i in ids]
        n = len(keys)
        enu = np.asarray(enu, dtype=np.float64)
        vel = np.asarray(vel, dtype=np.float64)
        for name, value in (("enu", enu), ("vel", vel)):
            if value.shape != (n, 3):
                raise StoreError(f"track_samples.{name} must have shape ({n}, 3), got {value.shape}")
        for name, seq in (("status", status), ("classification", classification)):
            if len(seq) != n:
                raise StoreError(f"track_samples.{name} must have {n} entries, got {len(seq)}")
        with self._lock:  # also guards the last-sample times (the lock is re-entrant, for _write)
            last = np.fromiter((self._last_sample_t.get(k, -math.inf) for k in keys), dtype=np.float64, count=n)
            due = np.flatnonzero(t - last >= min_interval_s)
            if not due.size:
                return 0
            bad = due[~np.isfinite(np.hstack([enu[due], vel[due]])).all(axis=1)]
            if bad.size:
                raise StoreError(f"track_samples of track {keys[bad[0]]!r} must be finite, "
                                 f"got position {enu[bad[0]].tolist()} velocity {vel[bad[0]].tolist()}")
            rows = [(keys[i], t, *p, *v, str(status[i]), str(classification[i]))
                    for i, p, v in zip(due.tolist(), enu[due].tolist(), vel[due].tolist(), strict=True)]
            with self._write("track_samples") as conn:
                conn.executemany("INSERT OR REPLACE INTO track_samples VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            self._last_sample_t.update((row[0], t) for row in rows)  # only once committed
        return len(rows)

    def track_history(self, track_id: str, since: float | None = None) -> list[dict[str, Any]]:
        """The track's stored trail samples after ``since``, oldest first."""
        rows = self._read("track_samples", "SELECT t, east_m, north_m, up_m, east_mps, north_mps, up_mps, "
                          "status, classification FROM track_samples WHERE track_id = ? AND t > ? ORDER BY t",
                          [track_id, _since(since)])
        return [{"t": t, "position_enu_m": [e, n, u], "velocity_enu_mps": [ve, vn, vu], "status": status,
                 "classification": cls} for t, e, n, u, ve, vn, vu, status, cls in rows]

    # tokens

    def add_token(self, token_hash: str, role: str, name: str, created_t: float,
                  expires_t: float | None = None) -> None:
        """Store an API token's hash with its role, name and expiry (None: never; a hash already stored is an
        error)."""
        row = (_text(token_hash, "tokens.token_hash"), _text(role, "tokens.role"), _text(name, "tokens.name"),
               _time(created_t, "tokens.created_t"),
               None if expires_t is None else _time(expires_t, "tokens.expires_t"))
        with self._write("tokens") as conn:
            conn.execute("INSERT INTO tokens (token_hash, role, name, created_t, expires_t) VALUES (?, ?, ?, ?, ?)",
                         row)

    def token(self, token_hash: str) -> TokenRecord | None:
        """The token with this hash, or None if unknown."""
        rows = self._read("tokens", f"SELECT {TOKEN_COLUMNS} FROM tokens WHERE token_hash = ?", [token_hash])
        return TokenRecord(*rows[0]) if rows else None

    def tokens(self) -> list[TokenRecord]:
        """Every stored token, oldest first."""
        rows = self._read("tokens", f"SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY created_t, token_hash")
        return [TokenRecord(*row) for row in rows]

    def revoke_token(self, token_hash: str, t: float) -> None:
        """Mark the token with this hash revoked at ``t`` (StoreError if there is none or it already is)."""
        t = _time(t, "tokens.revoked_t")
        with self._write("tokens") as conn:
            cursor = conn.execute("UPDATE tokens SET revoked_t = ? WHERE token_hash = ? AND revoked_t IS NULL",
                                  (t, token_hash))
            if cursor.rowcount != 1:
                raise StoreError(f"tokens.token_hash {token_hash!r}: no such token, or it is already revoked")

    def live_token_count(self, t: float) -> int:
        """How many stored tokens are accepted at time ``t`` (neither revoked nor expired)."""
        rows = self._read("tokens", "SELECT COUNT(*) FROM tokens WHERE revoked_t IS NULL "
                          "AND (expires_t IS NULL OR expires_t > ?)", [_time(t, "t")])
        return int(rows[0][0])

    # config overrides

    def put_config(self, kind: str, item_id: str, item: dict[str, Any], t: float, actor: str) -> None:
        """Record a new version of config item ``kind``/``item_id`` (a zone, asset, permit or the safety table)
        set by ``actor``."""
        row = _config_row(kind, item_id, item, t, actor)
        with self._write("config_items") as conn:
            conn.execute(INSERT_CONFIG, row)

    def config_items(self, kind: str) -> dict[str, dict[str, Any]]:
        """The latest version of every stored item of this kind, by item id."""
        rows = self._read("config_items", "SELECT item_id, item FROM config_items WHERE seq IN "
                          "(SELECT MAX(seq) FROM config_items WHERE kind = ? GROUP BY item_id) ORDER BY item_id",
                          [kind])
        return {item_id: json.loads(item) for item_id, item in rows}


DECIDES_PROPOSAL: Final = ("json_extract(payload, '$.proposal_id') IS NOT NULL "
                           "AND (kind = 'reject_edit' OR kind LIKE 'edit\\_%' ESCAPE '\\')")
INSERT_CONFIG: Final = "INSERT INTO config_items (kind, item_id, t, actor, item) VALUES (?, ?, ?, ?, ?)"


def _config_row(kind: str, item_id: Any, item: dict[str, Any], t: float, actor: str) -> tuple[Any, ...]:
    """A config_items row, each field checked."""
    return (_text(kind, "config_items.kind"), _text(item_id, "config_items.item_id"), _time(t, "config_items.t"),
            _text(actor, "config_items.actor"), _json_text(item, f"config_items {kind}/{item_id}"))


def _row_id(cursor: sqlite3.Cursor, table: str) -> int:
    """The row id of the row an INSERT just wrote."""
    if cursor.lastrowid is None:
        raise StoreError(f"table {table}: INSERT gave no row id")
    return cursor.lastrowid


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Apply the missing ``MIGRATIONS`` steps, one transaction each; refuse a schema newer than the code's."""
    while True:
        conn.execute("BEGIN IMMEDIATE")  # re-read the version under the write lock: another process may migrate
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(f"store {path} has schema_version {version}, newer than this code's "
                                 f"schema_version {SCHEMA_VERSION}: upgrade skywarden")
            if version == SCHEMA_VERSION:
                conn.execute("COMMIT")
                return
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
