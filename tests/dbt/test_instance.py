"""The Dagster instance the project ships (dagster.yaml) and the freshness of what BI reads:
one run at a time, a dead run started again once, freshness evaluated, and the marts and the
published snapshot stale 30 hours after their last materialization (warned at 26)."""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest

from touchpoint_alchemy.settings import REPO_ROOT


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    from dagster import DagsterInstance

    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    with DagsterInstance.from_config(str(home)) as loaded:
        yield loaded


def test_runs_queue_one_at_a_time(instance):
    from dagster._core.run_coordinator import QueuedRunCoordinator

    assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
    assert instance.run_coordinator.get_run_queue_config().max_concurrent_runs == 1


def test_a_dead_run_is_retried_once_a_failed_step_is_not(instance):
    assert instance.run_retries_enabled
    assert instance.run_retries_max_retries == 1
    assert not instance.run_retries_retry_on_asset_or_op_failure


def test_freshness_is_evaluated(instance):
    assert instance.get_settings("freshness").get("enabled") is True


def test_the_marts_and_the_published_snapshot_have_the_daily_freshness_policy():
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = [key for key in graph.get_all_asset_keys() if key.path[0] == "marts"]
    keys.append(
        next(key for key in graph.get_all_asset_keys() if key.path[-1] == "published_snapshot")
    )
    assert len(keys) > 20
    for key in keys:
        policy = graph.get(key).freshness_policy
        assert policy is not None, key.to_user_string()
        assert policy.fail_window.to_timedelta() == timedelta(hours=30), key.to_user_string()
        assert policy.warn_window.to_timedelta() == timedelta(hours=26), key.to_user_string()
    # a staging model has none: only what BI reads is watched
    staging = next(key for key in graph.get_all_asset_keys() if key.path[0] == "staging")
    assert graph.get(staging).freshness_policy is None


# --- the storage `make instance` adds (orchestration/instance_storage.py, DECISIONLOG 78) --------


def _materialization(run_id: str, table: str):
    import time

    from dagster import AssetKey, AssetMaterialization
    from dagster._core.events import DagsterEvent, StepMaterializationData
    from dagster._core.events.log import EventLogEntry

    return EventLogEntry(
        error_info=None,
        level="DEBUG",
        user_message="",
        run_id=run_id,
        timestamp=time.time(),
        step_key="step",
        job_name="job",
        dagster_event=DagsterEvent(
            event_type_value="ASSET_MATERIALIZATION",
            job_name="job",
            step_key="step",
            event_specific_data=StepMaterializationData(
                AssetMaterialization(asset_key=AssetKey(["marts", table]))
            ),
        ),
    )


def test_make_instance_keeps_dagsters_sqlite_files_with_pooled_connections(tmp_path, monkeypatch):
    """`make instance` gives DAGSTER_HOME the pooled storage; what it writes is Dagster's own
    SQLite layout (history/runs/<run>.db and index.db), read back by Dagster's own class; commits
    are not synced one by one; a write touches the run's file (the UI watches it), a read not."""
    import os
    import subprocess

    from dagster import AssetKey, DagsterInstance
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    from orchestration.instance_storage import PooledEventLogStorage

    home = tmp_path / "home"
    subprocess.run(
        ["make", "--no-print-directory", "-s", "instance", f"DAGSTER_HOME={home}"],
        cwd=REPO_ROOT,
        check=True,
    )
    assert "orchestration.instance_storage" in (home / "dagster.yaml").read_text()
    # opened from the folder alone, as tests and tools do, without DAGSTER_HOME set
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    shard = home / "history" / "runs" / "run-1.db"
    with DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, PooledEventLogStorage)
        for table in ("customers", "orders", "customers"):
            storage.store_event(_materialization("run-1", table))
            assert shard.stat().st_mtime > 0, "a write touches the run's file"
            os.utime(shard, (0, 0))
        assert len(storage.get_logs_for_run("run-1")) == 3
        assert shard.stat().st_mtime == 0, "a read leaves it alone"
        for connect in (storage.index_connection, lambda: storage.run_connection("run-1")):
            with connect() as conn:
                assert conn.exec_driver_sql("pragma synchronous").scalar() == 1  # NORMAL
        assert storage._engine("run-1") is storage._engine("run-1")  # kept, not made per write
    plain = SqliteEventLogStorage(str(home / "history" / "runs"))
    assert (home / "history" / "runs" / "index.db").exists()
    expected = {AssetKey(["marts", "customers"]), AssetKey(["marts", "orders"])}
    assert set(plain.all_asset_keys()) == expected
    assert len(plain.get_logs_for_run("run-1")) == 3


def test_a_run_watched_as_the_ui_watches_it_sees_each_event_as_it_is_written(tmp_path):
    """The UI follows a running run through a watchdog on the run's database file; with the
    connections kept open no checkpoint modifies that file, the touch after a write does."""
    import time

    from orchestration.instance_storage import PooledEventLogStorage

    base = str(tmp_path / "runs")
    writer, reader = PooledEventLogStorage(base), PooledEventLogStorage(base)
    writer.store_event(_materialization("run-1", "customers"))  # the run's file exists
    seen = []
    reader.watch("run-1", None, lambda event, cursor: seen.append(event))
    try:
        for count, table in enumerate(("orders", "sessions"), start=1):
            time.sleep(0.2)
            writer.store_event(_materialization("run-1", table))
            deadline = time.monotonic() + 5
            while len(seen) < count and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(seen) >= count, f"the watcher missed event {count}"
    finally:
        reader.end_watch("run-1", seen.append)
        reader.dispose()
        writer.dispose()


def test_the_index_schema_is_inspected_once_not_for_every_event(tmp_path, monkeypatch):
    """Dagster's SQLite event log asks whether the index's tables and columns exist for every
    asset event it stores (a new engine each time, DECISIONLOG 137): the pooled storage asks once
    for what exists, asks again for what is missing, and stores the same events."""
    from dagster import AssetKey
    from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    from orchestration.instance_storage import PooledEventLogStorage

    asked: list[str] = []
    has_table, has_column = (
        SqliteEventLogStorage.has_table,
        SqlEventLogStorage._has_asset_key_col_on_connection,
    )
    monkeypatch.setattr(
        SqliteEventLogStorage,
        "has_table",
        lambda self, name: asked.append(name) or has_table(self, name),
    )
    monkeypatch.setattr(
        SqlEventLogStorage,
        "_has_asset_key_col_on_connection",
        lambda self, conn, name: asked.append(name) or has_column(self, conn, name),
    )
    storage = PooledEventLogStorage(str(tmp_path / "runs"))
    try:
        tables = [f"t{i}" for i in range(6)]
        for table in tables:
            storage.store_event(_materialization("run-1", table))
        assert len(asked) == len(set(asked)) and asked, asked
        assert storage.has_table("no_such_table") is False
        assert storage.has_table("no_such_table") is False
        assert asked.count("no_such_table") == 2  # a missing table is asked again
        assert len(storage.get_logs_for_run("run-1")) == len(tables)
        assert {AssetKey(["marts", t]) for t in tables} <= set(storage.all_asset_keys())
    finally:
        storage.dispose()
