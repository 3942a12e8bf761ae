"""Track table, initiation, M-of-N confirmation and deletion timing."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from skywarden.tracking.management import (
    Status,
    TrackTable,
    concat,
    confirm_and_delete,
    empty_table,
    format_ids,
    initiate,
    record_scan,
    select,
)

R = np.diag([25.0, 100.0, 400.0])


def start(n: int = 1, rcs: float = -20.0) -> TrackTable:
    z = np.tile([100.0, 200.0, 30.0], (n, 1))
    return initiate(z, np.tile(R, (n, 1, 1)), np.full(n, rcs), 0.0, 1, 40.0, 10.0)


def replay(bits: str, m: int, n: int, max_misses: int = 5) -> tuple[int | None, int | None, list[int]]:
    """Run one track (initiated at scan 1) through the hit/miss ``bits`` of scans 2, 3, …

    Returns (scan it was confirmed at, scan it was deleted at, status after each scan).
    """
    table, confirmed_at, deleted_at, statuses = start(), None, None, []
    for scan, bit in enumerate(bits, start=2):
        rows = np.array([0] if bit == "1" else [], np.intp)
        table = record_scan(table, float(scan), rows, np.full(len(rows), -20.0), n)
        table, newly, lost = confirm_and_delete(table, m, n, max_misses, 1e6)
        if len(newly):
            confirmed_at = scan
        if len(table) == 0:
            deleted_at = scan
            assert len(lost) == (1 if confirmed_at else 0)
            break
        statuses.append(int(table.status[0]))
    return confirmed_at, deleted_at, statuses


@pytest.mark.parametrize(
    ("bits", "confirmed_at", "deleted_at"),
    [
        ("11", 3, None),
        ("011", 4, None),
        ("101", 4, None),
        ("1", None, None),
        ("0", None, None),
        ("00", None, 3),
        ("100", None, 4),
        ("010", None, 4),
        ("0100", None, 4),
    ],
)
def test_three_of_four(bits: str, confirmed_at: int | None, deleted_at: int | None) -> None:
    assert replay(bits, 3, 4)[:2] == (confirmed_at, deleted_at)


@pytest.mark.parametrize(
    ("bits", "confirmed_at", "deleted_at"),
    [("111", 4, None), ("0111", 5, None), ("1101", 5, None), ("00", None, 3), ("1010", None, 5)],
)
def test_four_of_five(bits: str, confirmed_at: int | None, deleted_at: int | None) -> None:
    assert replay(bits, 4, 5)[:2] == (confirmed_at, deleted_at)


def test_confirmed_track_coasts_and_is_deleted_after_k_consecutive_misses() -> None:
    confirmed_at, deleted_at, statuses = replay("11" + "0000" + "1" + "00000" + "1", 3, 4, max_misses=5)
    assert confirmed_at == 3
    assert deleted_at == 3 + 4 + 1 + 5  # four misses are survived, the fifth in a row deletes
    assert statuses[:2] == [Status.TENTATIVE, Status.CONFIRMED]
    assert statuses[2:6] == [Status.COASTING] * 4
    assert statuses[6] == Status.CONFIRMED


def test_history_counts_and_rcs_mean() -> None:
    table = start(rcs=-10.0)
    for scan, (hit, rcs) in enumerate([(True, -20.0), (False, 0.0), (True, np.nan), (True, -30.0)], start=2):
        rows = np.array([0] if hit else [], np.intp)
        table = record_scan(table, float(scan), rows, np.full(len(rows), rcs), 4)
    assert table.history[0] == 0b1011  # scans 2..5 = hit, miss, hit, hit (bit 0 = latest)
    assert table.hits[0] == 3
    assert table.n_hits[0] == 4 and table.n_scans[0] == 5
    assert table.misses[0] == 0
    assert table.t_update[0] == 5.0 and table.t_init[0] == 0.0
    assert table.rcs_dbsm[0] == pytest.approx(-20.0)  # mean of -10, -20, -30 (the NaN plot skipped)


def test_uncertain_tracks_are_deleted() -> None:
    table = start(2)
    P = table.P.copy()
    P[1, :3, :3] *= 1e4
    table, _, lost = confirm_and_delete(replace(table, P=P), 3, 4, 5, 500.0)
    assert table.id.tolist() == ["T0001"]
    assert len(lost) == 0  # it was tentative: nothing to announce


def test_initiation_state_and_ids() -> None:
    z = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    table = initiate(z, np.tile(R, (2, 1, 1)), np.array([-5.0, np.nan]), 7.0, 41, 40.0, 10.0)
    assert table.id.tolist() == ["T0041", "T0042"]
    np.testing.assert_allclose(table.x[:, :3], z)
    np.testing.assert_allclose(table.x[:, 3:], 0.0)
    np.testing.assert_allclose(table.P[0, :3, :3], R)
    np.testing.assert_allclose(np.diag(table.P[0])[3:], [1600.0, 1600.0, 100.0])
    assert np.all(table.status == Status.TENTATIVE)
    assert table.t == 7.0


def test_ids_never_repeat_and_grow_past_four_digits() -> None:
    ids = format_ids(9998, 3).tolist()
    assert ids == ["T9998", "T9999", "T10000"]
    table = concat(start(3), initiate(np.zeros((2, 3)), np.tile(R, (2, 1, 1)), np.zeros(2), 0.0, 9999, 40.0, 10.0))
    assert table.id.tolist() == ["T0001", "T0002", "T0003", "T9999", "T10000"]


def test_select_concat_and_read_only() -> None:
    table = start(3)
    kept = select(table, np.array([True, False, True]))
    assert len(kept) == 2 and kept.id.tolist() == ["T0001", "T0003"]
    assert len(concat(empty_table(), kept)) == 2
    frozen = kept.frozen()
    assert frozen is kept
    with pytest.raises(ValueError, match="read-only"):
        kept.x[0, 0] = 1.0
    with pytest.raises(ValueError, match="cannot join"):
        concat(kept, initiate(np.zeros((1, 3)), R[None], np.zeros(1), 5.0, 9, 40.0, 10.0))
