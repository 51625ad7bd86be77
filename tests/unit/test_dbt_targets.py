"""The dbt target folders of old runs are pruned: a daily schedule must not fill the disk, and a
run in progress (or one the journey report still reads) must never lose its folders."""

from __future__ import annotations

import os

from touchpoint_alchemy.dbt_targets import prune_step_folders, step_folder_name

DAY = 24 * 3600
NOW = 1_800_000_000.0


def _folder(base, op, run, unique, age_days):
    folder = base / step_folder_name(op, run, unique)
    folder.mkdir()
    (folder / "manifest.json").write_text("{}")
    os.utime(folder, (NOW - age_days * DAY, NOW - age_days * DAY))
    return folder


def test_old_runs_beyond_the_kept_ones_are_removed_and_nothing_else(tmp_path):
    # eight runs, one a day (run r0 today ... r7 seven days ago), each with two dbt steps
    runs = {f"r{i}aaaaa": i for i in range(8)}
    for run, age in runs.items():
        _folder(tmp_path, "daily_dbt_assets", run, "1111111", age)
        _folder(tmp_path, "warehouse_dbt_assets", run, "2222222", age + 0.01)
    (tmp_path / "partial_parse.msgpack").write_text("x")  # dbt's own files stay
    (tmp_path / "compiled").mkdir()

    removed = prune_step_folders(tmp_path, keep_runs=5, min_age_seconds=DAY, now=NOW)

    # the five newest runs stay (r0..r4); r5, r6, r7 are older than a day and go
    assert {folder.name.split("-")[1] for folder in removed} == {"r5aaaaa", "r6aaaaa", "r7aaaaa"}
    assert len(removed) == 6
    left = {path.name for path in tmp_path.iterdir()}
    assert "partial_parse.msgpack" in left and "compiled" in left
    assert len([name for name in left if name.endswith(("1111111", "2222222"))]) == 10


def test_recent_runs_are_kept_however_many_there_are(tmp_path):
    # twenty runs within the last hour (a test suite, or retries): none is removed
    for i in range(20):
        _folder(tmp_path, "daily_dbt_assets", f"{i:02d}bbbbb", "3333333", i / (24 * 60))
    assert prune_step_folders(tmp_path, keep_runs=5, min_age_seconds=DAY, now=NOW) == []
    assert len(list(tmp_path.iterdir())) == 20
