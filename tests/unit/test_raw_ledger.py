"""The ledger of raw parts (touchpoint_alchemy/raw_ledger.py): a changed Parquet part is refused
by a daily run, a new part is recorded, a removed one only reported, a single file never refused.
Real files: Parquet parts written with DuckDB, checked with the raw contract."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from touchpoint_alchemy import raw_ledger
from touchpoint_alchemy.raw_contract import check_raw_file

COLUMNS = ["touchpoint_id", "occurred_at"]
T0 = datetime(2026, 12, 1, 6, tzinfo=UTC)
T1 = datetime(2026, 12, 2, 6, tzinfo=UTC)


def _part(path: Path, rows: int, mtime: float = 1_790_000_000.0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    duckdb.sql(
        f"copy (select 'tp' || i as touchpoint_id, '2026-11-30T10:00:00Z' as occurred_at "
        f"from range({rows}) t(i)) to '{path}' (format parquet)"
    )
    os.utime(path, (mtime, mtime))


def _parts(raw: Path) -> list[raw_ledger.RawPart]:
    return raw_ledger.current_parts(raw, check_raw_file(raw, "touchpoints", COLUMNS))


def test_parts_are_recorded_with_size_time_and_rows(tmp_path):
    _part(tmp_path / "touchpoints" / "date=2026-11-30" / "part-0.parquet", 3)
    _part(tmp_path / "touchpoints" / "date=2026-12-01" / "part-0.parquet", 5)
    parts = _parts(tmp_path)
    assert [(p.part, p.row_count, p.is_folder_part) for p in parts] == [
        ("touchpoints/date=2026-11-30/part-0.parquet", 3, True),
        ("touchpoints/date=2026-12-01/part-0.parquet", 5, True),
    ]
    assert parts[0].size_bytes == (tmp_path / parts[0].part).stat().st_size
    assert parts[0].modified_at == datetime.fromtimestamp(1_790_000_000, UTC)
    ledger = raw_ledger.updated_ledger([], parts, "run-a", T0, full_refresh=False)
    assert {(p.recorded_by_run, p.recorded_at) for p in ledger} == {("run-a", T0)}


def test_a_changed_part_is_refused_and_a_new_part_is_taken(tmp_path):
    first = tmp_path / "touchpoints" / "date=2026-11-30" / "part-0.parquet"
    _part(first, 3)
    ledger = raw_ledger.updated_ledger([], _parts(tmp_path), "run-a1234567", T0, full_refresh=False)

    # a new part: nothing to refuse, recorded by the new run, the old part keeps its run
    _part(tmp_path / "touchpoints" / "date=2026-12-01" / "part-0.parquet", 2)
    now = _parts(tmp_path)
    assert raw_ledger.changed_parts(ledger, now) == []
    after = raw_ledger.updated_ledger(ledger, now, "run-b", T1, full_refresh=False)
    assert [p.recorded_by_run for p in after] == ["run-a1234567", "run-b"]

    # the first part rewritten with one more row
    _part(first, 4, mtime=1_790_090_000.0)
    changed = raw_ledger.changed_parts(after, _parts(tmp_path))
    assert len(changed) == 1
    assert "touchpoints/date=2026-11-30/part-0.parquet" in changed[0]
    assert "run-a123" in changed[0] and "2026-12-01 06:00 UTC" in changed[0]
    assert "rows 3 -> 4" in changed[0]
    assert "make run" in raw_ledger.refusal(changed)

    # a full refresh records it anew, by the refreshing run
    refreshed = raw_ledger.updated_ledger(after, _parts(tmp_path), "run-c", T1, full_refresh=True)
    assert raw_ledger.changed_parts(refreshed, _parts(tmp_path)) == []
    assert {p.recorded_by_run for p in refreshed} == {"run-c"}


def test_a_touched_part_with_the_same_rows_is_refused(tmp_path):
    first = tmp_path / "touchpoints" / "part-0.parquet"
    _part(first, 3)
    ledger = raw_ledger.updated_ledger([], _parts(tmp_path), "run-a", T0, full_refresh=False)
    os.utime(first, (1_790_000_100.0, 1_790_000_100.0))
    (changed,) = raw_ledger.changed_parts(ledger, _parts(tmp_path))
    assert "modified" in changed and "rows" not in changed


def test_a_removed_part_is_reported_not_refused(tmp_path):
    gone = tmp_path / "touchpoints" / "date=2026-11-30" / "part-0.parquet"
    _part(gone, 3)
    _part(tmp_path / "touchpoints" / "date=2026-12-01" / "part-0.parquet", 2)
    ledger = raw_ledger.updated_ledger([], _parts(tmp_path), "run-a", T0, full_refresh=False)
    gone.unlink()
    now = _parts(tmp_path)
    assert raw_ledger.changed_parts(ledger, now) == []
    assert raw_ledger.removed_parts(ledger, now) == ["touchpoints/date=2026-11-30/part-0.parquet"]
    assert [
        p.part for p in raw_ledger.updated_ledger(ledger, now, "b", T1, full_refresh=False)
    ] == ["touchpoints/date=2026-12-01/part-0.parquet"]


def test_a_single_file_may_change(tmp_path):
    path = tmp_path / "touchpoints.csv"
    path.write_text("touchpoint_id,occurred_at\ntp1,2026-11-30T10:00:00Z\n")
    ledger = raw_ledger.updated_ledger([], _parts(tmp_path), "run-a", T0, full_refresh=False)
    assert [(p.part, p.is_folder_part, p.row_count) for p in ledger] == [
        ("touchpoints.csv", False, None)
    ]
    with path.open("a") as file:
        file.write("tp2,2026-12-01T10:00:00Z\n")
    assert raw_ledger.changed_parts(ledger, _parts(tmp_path)) == []


def test_other_sources_keep_their_rows(tmp_path):
    _part(tmp_path / "touchpoints" / "part-0.parquet", 3)
    orders = raw_ledger.RawPart("orders", "orders.csv", False, 10, T0, None, "run-o", T0)
    ledger = raw_ledger.updated_ledger([orders], _parts(tmp_path), "run-a", T1, full_refresh=True)
    assert [p.source for p in ledger] == ["orders", "touchpoints"]
    assert ledger[0] == orders
