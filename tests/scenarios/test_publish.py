"""Atomic publish: readers never block and never see half a build; a crash or a failure loses
nothing. Real processes throughout: the Dagster CLI builds while reader processes hold and
reopen read-only connections, and a build is killed with SIGKILL in the middle.

The tests share one published warehouse (cohorts_small, built once) and run in file order:
the killed run leaves its working file behind, and the next run, with readers, must still
succeed and publish.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.run_config import DAILY_DBT_OP, build_run_config
from touchpoint_alchemy import exports, snapshots
from touchpoint_alchemy.settings import REPO_ROOT, Settings, last_partition_key

from builds import DATA_DIR, build_warehouse

RAW = DATA_DIR / "cohorts_small"
# The second build uses a later cutoff: a longer cohort grid, so the two snapshots differ.
LATER_CUTOFF = "2025-08-31"
DAGSTER = str(Path(sys.executable).parent / "dagster")

# One consistent reading of a snapshot: its build marker and row counts of several layers.
SNAPSHOT_SQL = """
select
    (select run_id from audit.build_info()),
    (select count(*) from marts.cohort_retention),
    (select count(*) from marts.cohort_ltv),
    (select count(*) from marts.customers),
    (select count(*) from scoring.customer_rfm),
    (select cast(max(data_cutoff_at) as varchar) from intermediate.int_data_cutoff)
"""

READER = """
import json, sys, time, duckdb
path, stop, mode, sql = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
seen, errors, reads = {}, [], 0
held = duckdb.connect(path, read_only=True) if mode == "hold" else None
print("reading", flush=True)
import os
def export_reading(link):
    # the documented way to read several marts of one export: resolve the link once
    folder = os.path.realpath(link)
    with open(os.path.join(folder, "_export.json")) as file:
        row = [json.load(file)["run_id"]]
    for mart in ("cohort_retention", "customers"):
        parquet = os.path.join(folder, mart, mart + ".parquet")
        row.append(duckdb.sql(f"select count(*) from read_parquet('{parquet}')").fetchone()[0])
    return row
while not os.path.exists(stop):
    try:
        if mode == "exports":
            row = export_reading(path)
        elif held is not None:
            row = held.execute(sql).fetchone()
        else:
            with duckdb.connect(path, read_only=True) as con:
                row = con.execute(sql).fetchone()
        key = json.dumps(list(row))
        seen[key] = seen.get(key, 0) + 1
        reads += 1
    except Exception as error:
        errors.append(f"{type(error).__name__}: {error}")
    # a quarter second between reads: a read costs about 40 ms of CPU, and three readers
    # reading flat out took about 1.5 of the 2 cores from the build they watch
    time.sleep(0.25)
print(json.dumps({"seen": seen, "errors": errors[:20], "error_count": len(errors), "reads": reads}))
"""


def read_snapshot(path: Path) -> tuple:
    with duckdb.connect(str(path), read_only=True) as con:
        return tuple(con.execute(SNAPSHOT_SQL).fetchone())


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cli_env(path: Path, tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATA_CUTOFF"}
    home = tmp / "dagster_home"
    if not home.exists():
        # the instance `make run` prepares (`make instance`): its storage writes the run's
        # events through connections kept open, as a user's runs do
        home.mkdir()
        subprocess.run(
            ["make", "--no-print-directory", "-s", "instance", f"DAGSTER_HOME={home}"],
            cwd=REPO_ROOT,
            check=True,
        )
    return {
        **env,
        "WAREHOUSE_DUCKDB_PATH": str(path),
        "RAW_DATA_DIR": str(RAW),
        "DAGSTER_HOME": str(home),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        **extra,
    }


def start_build(path: Path, tmp: Path, log: Path, **extra: str) -> subprocess.Popen:
    """`make run`'s materialize, in its own process group (the CLI ignores SIGTERM)."""
    return subprocess.Popen(
        [
            DAGSTER,
            "asset",
            "materialize",
            "--select",
            "*",
            "-m",
            "orchestration.definitions",
            "--partition",
            last_partition_key(),
            "--config-json",
            json.dumps(build_run_config(full_refresh=True)),
        ],
        cwd=REPO_ROOT,
        env=cli_env(path, tmp, **extra),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@pytest.fixture(scope="module")
def published(tmp_path_factory, cohorts_small_warehouse) -> dict:
    """A warehouse published once (snapshot A), shared by the tests of this module: the test
    run's cohorts_small build (``dagster.materialize``, published by its publish step), copied
    with its Parquet exports, so that these tests change only their own copy. ``source``: the
    build's own file."""
    source = cohorts_small_warehouse.path
    assert cohorts_small_warehouse.raw_dir == RAW
    tmp = tmp_path_factory.mktemp("publish")
    path = tmp / "warehouse" / source.name
    path.parent.mkdir()
    shutil.copy(source, path)
    shutil.copytree(source.parent / "exports", path.parent / "exports", symlinks=True)
    return {
        "path": path,
        "tmp": tmp,
        "source": source,
        "run_id": cohorts_small_warehouse.result.run_id,
    }


def test_a_build_publishes_its_snapshot_and_keeps_no_working_file(published):
    source = published["source"]
    run_id, *counts, cutoff = read_snapshot(source)
    assert run_id == published["run_id"]
    assert all(count > 0 for count in counts)
    assert not snapshots.wal_path(source).exists()
    # the working file was renamed over the published one, and its folder removed
    assert not snapshots.working_path(source, run_id).parent.exists()
    assert not snapshots.kept_builds(source)


def test_a_killed_build_changes_nothing(published):
    path, tmp = published["path"], published["tmp"]
    before_hash, before = sha256(path), read_snapshot(path)
    builds = snapshots.builds_directory(path)
    log = tmp / "killed.log"
    process = start_build(path, tmp, log)
    try:
        # dbt is writing the working copy once its WAL exists
        deadline = time.monotonic() + 240
        while not list(builds.glob(f"*/{path.name}.wal")):
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "dbt never started writing"
            time.sleep(0.1)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert sha256(path) == before_hash
    assert read_snapshot(path) == before
    # the killed build is kept for inspection
    assert any(p.stat().st_size > 0 for p in snapshots.kept_builds(path))


def test_readers_never_block_and_never_see_half_a_build(published):
    """Two reader processes, one holding a connection for the whole run, one reconnecting in a
    loop, while the CLI builds a different snapshot (B) over A; a third reads the Parquet
    exports through their link, which the build switches from A's export to B's."""
    path, tmp = published["path"], published["tmp"]
    old = read_snapshot(path)
    stop = tmp / "stop-readers"
    stop.unlink(missing_ok=True)
    link = exports.current_link(path)
    readers = {
        mode: subprocess.Popen(
            [sys.executable, "-c", READER, str(link if mode == "exports" else path), str(stop)]
            + [mode, SNAPSHOT_SQL],
            stdout=subprocess.PIPE,
            text=True,
        )
        for mode in ("hold", "reconnect", "exports")
    }
    log = tmp / "build.log"
    try:
        for reader in readers.values():
            assert reader.stdout.readline().strip() == "reading"
        build = start_build(path, tmp, log, DATA_CUTOFF=LATER_CUTOFF)
        try:
            build.wait(timeout=600)
        finally:
            if build.poll() is None:
                os.killpg(build.pid, signal.SIGKILL)
        new = read_snapshot(path)
        time.sleep(2.0)  # the reconnecting reader opens the new snapshot within this
    finally:
        stop.touch()
        outputs = {mode: json.loads(r.communicate(timeout=60)[0]) for mode, r in readers.items()}
    assert build.returncode == 0, log.read_text()[-5000:]
    assert new != old and new[0] != old[0] and new[1] > old[1]
    for mode, output in outputs.items():
        assert output["error_count"] == 0, (mode, output["errors"])
        assert output["reads"] > 10, mode
    for mode in ("hold", "reconnect"):
        seen = {tuple(json.loads(key)) for key in outputs[mode]["seen"]}
        assert seen <= {old, new}, (mode, seen)
    # every export reading is one whole export of A or of B, and B's is current at the end
    exported = {tuple(json.loads(key)) for key in outputs["exports"]["seen"]}
    assert exported == {(old[0], old[1], old[3]), (new[0], new[1], new[3])}, exported
    # The held connection reads the old file to the end; a new connection reads the new one.
    assert {tuple(json.loads(k)) for k in outputs["hold"]["seen"]} == {old}
    assert {tuple(json.loads(k)) for k in outputs["reconnect"]["seen"]} == {old, new}
    # the published build left no working file; older unpublished builds are pruned
    assert not snapshots.working_path(path, new[0]).parent.exists()
    assert len(snapshots.kept_builds(path)) <= snapshots.KEEP_BUILDS


def test_a_failing_build_publishes_nothing_and_keeps_its_build(published, tmp_path):
    """A data cutoff dbt rejects: the first dbt step (the daily partition) fails, and the rest
    of the warehouse, the scores and the publish step never run."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(published["path"], path)
    before_hash, before = sha256(path), read_snapshot(path)
    result = build_warehouse(RAW, path, data_cutoff="not-a-date", raise_on_error=False)
    assert not result.success
    failures = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert [e.step_key for e in failures] == [DAILY_DBT_OP]
    ran = {
        e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_SUCCESS
    }
    assert "warehouse_dbt_assets" not in ran
    assert not [step for step in ran if "published_snapshot" in step]
    assert "data_cutoff must be a date" in failures[0].event_specific_data.error.message
    assert sha256(path) == before_hash
    assert read_snapshot(path) == before
    kept = snapshots.working_path(path, result.run_id)
    assert kept.exists()
    with duckdb.connect(str(kept), read_only=True) as con:  # the partial build, for inspection
        assert con.execute("select count(*) from staging.base_users").fetchone()[0] > 0


def test_a_failed_check_stops_the_publish(published, tmp_path, monkeypatch):
    """The raw_fresh checks fail (stale fixture, RAW_FRESHNESS_ACTION=fail); the publish step,
    selected with them, runs after them and declines to publish, naming them."""
    from orchestration.definitions import defs
    from orchestration.publish import PUBLISHED_SNAPSHOT
    from orchestration.resources import build_resources

    monkeypatch.setenv("RAW_FRESHNESS_ACTION", "fail")
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(published["path"], path)
    before_hash = sha256(path)
    check_keys = [key for check in defs.asset_checks for key in check.check_keys]
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [*defs.assets, *defs.asset_checks],
            selection=dg.AssetSelection.checks(*check_keys)
            | dg.AssetSelection.assets(PUBLISHED_SNAPSHOT),
            resources=build_resources(Settings(warehouse_path=path, raw_data_dir=RAW)),
            instance=instance,
            raise_on_error=False,
        )
        logs = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert not result.success
    failed = {
        e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE
    }
    assert "staging__stg_orders_raw_fresh" in failed
    # the publish step ran after the checks and declined: no materialization, a clear message
    assert "warehouse__published_snapshot" not in failed
    assert not result.asset_materializations_for_node("warehouse__published_snapshot")
    declined = [m for m in logs if m.startswith("Not published")]
    assert declined and "step staging__stg_orders_raw_fresh failed" in declined[0]
    assert sha256(path) == before_hash
    assert snapshots.working_path(path, result.run_id).exists()
