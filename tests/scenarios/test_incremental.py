"""Daily incremental runs equal a full refresh, row for row, and re-running a day changes nothing.

The demo touchpoints arrive as a folder of daily Parquet parts (the Hive layout of the raw data
contract): one part with all history before ``FIRST_DAY``, then one part per arrival day. Every
tenth event of a day arrives one or two days late, in a later part, and a synthetic case adds
late events that must merge two sessions, lengthen a funnel chain and stitch an anonymous
device to a user (all within the 3-day lookback). Each day is built as its own Dagster partition
run into one warehouse file; a second file gets one full build over all the parts. Every table
the daily partitions build must then be identical in both files.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.run_config import build_run_config
from touchpoint_alchemy.settings import DEMO_RAW_DATA_DIR, Settings

FIRST_DAY = date(2025, 12, 28)
DAYS = [FIRST_DAY + timedelta(days=offset) for offset in range(3)]
#: the arrival day of the first part: all history before FIRST_DAY
HISTORY = FIRST_DAY - timedelta(days=1)

# Touchpoints of the synthetic late-data case (user and anonymous id filled in by the test):
# (touchpoint_id, occurred_at, touchpoint, identity, arrival day)
# - two sessions 50 minutes apart on DAYS[0]; an event between them arrives 2 days late, so the
#   two become one session;
# - a product view whose add_to_cart arrives 1 day late: the chain of that entry day grows;
# - an anonymous device browsing on DAYS[0] that logs in on DAYS[2] (the login arrives on time,
#   the anonymous events with it, two days late): its events move from `anon:` to the user.
SYNTHETIC = [
    ("late_01", "2025-12-28 10:00:00", "page_view", "user", DAYS[0]),
    ("late_02", "2025-12-28 10:50:00", "page_view", "user", DAYS[0]),
    ("late_03", "2025-12-28 10:25:00", "page_view", "user", DAYS[2]),
    ("late_04", "2025-12-28 12:00:00", "product_view", "user", DAYS[0]),
    ("late_05", "2025-12-28 12:05:00", "add_to_cart", "user", DAYS[1]),
    ("late_06", "2025-12-28 20:00:00", "product_view", "anonymous", DAYS[0]),
    ("late_07", "2025-12-28 20:10:00", "add_to_cart", "anonymous", DAYS[2]),
    ("late_08", "2025-12-30 09:00:00", "login", "both", DAYS[2]),
    # very late (older than the window's start minus the 3-day lookback): an event 7 days late
    # that merges two sessions of the history, and one 41 days late
    ("late_09", "2025-12-22 10:00:00", "page_view", "user", HISTORY),
    ("late_10", "2025-12-22 10:45:00", "page_view", "user", HISTORY),
    ("late_11", "2025-12-22 10:20:00", "page_view", "user", DAYS[1]),
    ("late_12", "2025-11-19 09:00:00", "product_view", "user", DAYS[2]),
]
DAILY_TABLES = [
    ("staging", "base_touchpoints"),
    ("intermediate", "int_identity_map"),
    ("intermediate", "int_touchpoints"),
    ("intermediate", "int_sessions"),
    ("intermediate", "int_funnel_chains"),
    ("intermediate", "int_attribution_touches"),
    ("intermediate", "int_actor_touchpoint_months"),
    ("intermediate", "int_actor_days"),
    ("intermediate", "int_actor_event_days"),
    ("intermediate", "int_session_paths"),
]


def _daily_assets():
    """The raw-file checks, the daily dbt assets and the publish step that follows them."""
    from orchestration.assets.dbt import daily_dbt_assets
    from orchestration.assets.raw import raw_files
    from orchestration.publish import build_publish_asset

    assets = [raw_files, daily_dbt_assets]
    return [*assets, build_publish_asset(assets)]


def build_partition(
    raw_dir: Path, warehouse: Path, day: date, full_refresh=False, raise_on_error=True
):
    from orchestration.resources import build_resources

    settings = Settings(warehouse_path=warehouse, raw_data_dir=raw_dir)
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            _daily_assets(),
            # the models only: their dbt tests run in every other build of the suite
            selection=dg.AssetSelection.all().without_checks(),
            resources=build_resources(settings),
            instance=instance,
            partition_key=day.isoformat(),
            run_config=build_run_config(full_refresh=full_refresh),
            raise_on_error=raise_on_error,
        )
    assert result.success or not raise_on_error
    return result


def _write_parts(raw_dir: Path) -> str:
    """Split the demo touchpoints (plus the synthetic case) into arrival-day parts; return the
    synthetic case's user."""
    for path in DEMO_RAW_DATA_DIR.glob("*.csv"):
        if path.stem != "touchpoints":
            shutil.copy(path, raw_dir / path.name)
    con = duckdb.connect()
    con.execute(
        "create table touchpoints as select * from read_csv($path, header = true, "
        "all_varchar = true)",
        {"path": str(DEMO_RAW_DATA_DIR / "touchpoints.csv")},
    )
    # a consenting user who signed up before the synthetic events
    (user_id,) = con.execute(
        "select user_id from read_csv($path, header = true, all_varchar = true) "
        "where consent_analytics = 'true' and signed_up_at < '2025-12-01' "
        "order by user_id limit 1",
        {"path": str(DEMO_RAW_DATA_DIR / "users.csv")},
    ).fetchone()
    for touchpoint_id, occurred_at, touchpoint, identity, _ in SYNTHETIC:
        con.execute(
            "insert into touchpoints (touchpoint_id, user_id, anonymous_id, occurred_at, "
            "touchpoint, channel) values (?, ?, ?, ?, ?, 'email')",
            [
                touchpoint_id,
                user_id if identity in ("user", "both") else None,
                "anon_late_device" if identity in ("anonymous", "both") else None,
                occurred_at,
                touchpoint,
            ],
        )
    late = {row[0]: row[4] for row in SYNTHETIC}
    # Arrival day: history before FIRST_DAY (and rows without a usable timestamp) in the first
    # part; every tenth event of the days after arrives one or two days late.
    con.execute(
        """
        create table arrivals as
        select
            touchpoints.*,
            try_cast(occurred_at as timestamp) as t,
            cast(try_cast(occurred_at as timestamp) as date) as day,
            hash(touchpoint_id) % 10 as bucket
        from touchpoints
        """
    )
    parts: dict[date, int] = {}
    first_part = HISTORY
    for arrival in [first_part, *DAYS]:
        late_ids = [tid for tid, day in late.items() if day == arrival]
        if arrival == first_part:
            condition = f"(day is null or day < '{FIRST_DAY}')"
        else:
            last = arrival == DAYS[-1]
            previous_day_buckets = "<= 1" if last else "= 0"
            condition = (
                f"day >= '{FIRST_DAY}' and ((day = '{arrival}' and bucket > {-1 if last else 1})"
                f" or (day = '{arrival - timedelta(days=1)}' and bucket {previous_day_buckets})"
                f" or (day = '{arrival - timedelta(days=2)}' and bucket = 1)"
                f" or ({'true' if last else 'false'} and day > '{arrival}'))"
            )
        query = (
            f"select * exclude (t, day, bucket) from arrivals where "
            f"coalesce(touchpoint_id, '') not like 'late_%' and ({condition}) "
            f"or touchpoint_id in (select unnest($late))"
        )
        folder = raw_dir / "touchpoints" / f"date={arrival}"
        folder.mkdir(parents=True)
        con.execute(
            f"copy ({query}) to '{folder / 'part-0.parquet'}' (format parquet)",
            {"late": late_ids},
        )
        parts[arrival] = con.execute(
            f"select count(*) from ({query})", {"late": late_ids}
        ).fetchone()[0]
    total = con.execute("select count(*) from touchpoints").fetchone()[0]
    assert sum(parts.values()) == total, "every demo touchpoint lands in exactly one part"
    # a second part of the last day: a copy of late_09's key (kept, in the history part) on a
    # new row inside that run's window, which both builds must reject as a duplicate key
    con.execute(
        "copy (select * replace ('2025-12-29 11:00:00' as occurred_at) from touchpoints "
        "where touchpoint_id = 'late_09') "
        f"to '{raw_dir / 'touchpoints' / f'date={DAYS[-1]}' / 'part-1.parquet'}' (format parquet)"
    )
    return user_id


def table_differences(left: Path, right: Path, schema: str, table: str) -> tuple[int, int, int]:
    """(rows, rows only in left, rows only in right), as multisets."""
    con = duckdb.connect(str(left), read_only=True)
    try:
        con.execute(f"attach '{right}' as other (read_only)")
        (main,) = con.execute("select current_database()").fetchone()
        rows = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
        only_left, only_right = (
            con.execute(
                f'select count(*) from (select * from {a}."{schema}"."{table}" '
                f'except all select * from {b}."{schema}"."{table}")'
            ).fetchone()[0]
            for a, b in ((main, "other"), ("other", main))
        )
        return rows, only_left, only_right
    finally:
        con.close()


@pytest.fixture(scope="module")
def daily_and_full(tmp_path_factory):
    raw_dir = tmp_path_factory.mktemp("daily_raw")
    arriving = tmp_path_factory.mktemp("daily_arriving")
    user_id = _write_parts(raw_dir)
    (arriving / "touchpoints").mkdir()
    for path in raw_dir.glob("*.csv"):
        shutil.copy(path, arriving / path.name)

    def arrive(day: date) -> None:
        name = f"date={day}"
        shutil.copytree(raw_dir / "touchpoints" / name, arriving / "touchpoints" / name)

    daily = tmp_path_factory.mktemp("daily") / "warehouse.duckdb"
    arrive(FIRST_DAY - timedelta(days=1))
    build_partition(arriving, daily, FIRST_DAY - timedelta(days=1))
    snapshots = {}
    runs = []
    for day in DAYS:
        arrive(day)
        runs.append(build_partition(arriving, daily, day).run_id)
        snapshots[day] = tmp_path_factory.mktemp(f"after_{day}") / "warehouse.duckdb"
        shutil.copy(daily, snapshots[day])
    # the same partition again: nothing may change
    build_partition(arriving, daily, DAYS[-1])

    full = tmp_path_factory.mktemp("full") / "warehouse.duckdb"
    build_partition(raw_dir, full, DAYS[-1], full_refresh=True)

    # the synthetic user withdraws consent; the next daily run (no new touchpoints) removes them
    withdrawn = tmp_path_factory.mktemp("withdrawn") / "warehouse.duckdb"
    shutil.copy(daily, withdrawn)
    users = duckdb.connect()
    users.execute(
        "copy (select * replace (case when user_id = $user then 'false' else consent_analytics "
        "end as consent_analytics) from read_csv($path, header = true, all_varchar = true)) "
        "to $out (header)",
        {"user": user_id, "path": str(arriving / "users.csv"), "out": str(arriving / "u.csv")},
    )
    (arriving / "u.csv").replace(arriving / "users.csv")
    build_partition(arriving, withdrawn, DAYS[-1])
    return {
        "raw_dir": raw_dir,
        "arriving": arriving,
        "daily": daily,
        "full": full,
        "snapshots": snapshots,
        "withdrawn": withdrawn,
        "user_id": user_id,
        "daily_runs": runs,
    }


@pytest.mark.parametrize(("schema", "table"), DAILY_TABLES)
def test_day_by_day_equals_full_refresh(daily_and_full, schema, table):
    rows, only_daily, only_full = table_differences(
        daily_and_full["daily"], daily_and_full["full"], schema, table
    )
    assert rows > 0
    assert (only_daily, only_full) == (0, 0)


@pytest.mark.parametrize(("schema", "table"), DAILY_TABLES)
def test_running_a_partition_twice_changes_nothing(daily_and_full, schema, table):
    before = daily_and_full["snapshots"][DAYS[-1]]
    _, only_before, only_after = table_differences(before, daily_and_full["daily"], schema, table)
    assert (only_before, only_after) == (0, 0)


def test_late_events_rebuild_sessions_chains_and_identities(daily_and_full):
    """The synthetic late events changed the tables they must change (so the equality above is
    not the equality of two stale builds)."""
    con = duckdb.connect(str(daily_and_full["daily"]), read_only=True)
    before = duckdb.connect(str(daily_and_full["snapshots"][DAYS[1]]), read_only=True)
    try:
        session_query = (
            "select count(distinct session_id) from intermediate.int_touchpoints "
            "where touchpoint_id in ('late_01', 'late_02', 'late_03')"
        )
        # before the late event: two sessions; after it: one
        assert before.execute(session_query).fetchone()[0] == 2
        assert con.execute(session_query).fetchone()[0] == 1
        # the anonymous device's events now belong to the user who logged in
        actor_query = (
            "select distinct actor_id from intermediate.int_touchpoints "
            "where touchpoint_id in ('late_06', 'late_07', 'late_08')"
        )
        actors = [row[0] for row in con.execute(actor_query).fetchall()]
        assert len(actors) == 1 and not actors[0].startswith("anon:")
        assert before.execute(actor_query).fetchall() == [("anon:anon_late_device",)]
        # and the device's actor x month rows went with them
        device_months = (
            "select count(*) from intermediate.int_actor_touchpoint_months "
            "where actor_id = 'anon:anon_late_device'"
        )
        assert before.execute(device_months).fetchone()[0] > 0
        assert con.execute(device_months).fetchone()[0] == 0
        # and so did its actor x day rows
        device_days = (
            "select count(*) from intermediate.int_actor_days "
            "where actor_id = 'anon:anon_late_device'"
        )
        assert before.execute(device_days).fetchone()[0] > 0
        assert con.execute(device_days).fetchone()[0] == 0
    finally:
        con.close()
        before.close()


def test_very_late_events_are_taken_and_rebuild_what_they_touch(daily_and_full):
    """Events older than the window's start minus the lookback (7 and 41 days late) are staged
    by the daily run that receives them, and rebuild their actor: the 7-day-late one joins two
    sessions of the history into one. With the equality tests above: as a full refresh."""
    snapshots = daily_and_full["snapshots"]
    session_query = (
        "select count(distinct session_id) from intermediate.int_touchpoints "
        "where touchpoint_id in ('late_09', 'late_10', 'late_11')"
    )
    staged_query = (
        "select touchpoint_id from staging.stg_touchpoints "
        "where touchpoint_id in ('late_11', 'late_12') order by 1"
    )
    with duckdb.connect(str(snapshots[DAYS[0]]), read_only=True) as before:
        assert before.execute(session_query).fetchone()[0] == 2
        assert before.execute(staged_query).fetchall() == []
    with duckdb.connect(str(snapshots[DAYS[1]]), read_only=True) as after_day_1:
        assert after_day_1.execute(session_query).fetchone()[0] == 1
        assert after_day_1.execute(staged_query).fetchall() == [("late_11",)]
    with duckdb.connect(str(daily_and_full["daily"]), read_only=True) as last:
        assert last.execute(staged_query).fetchall() == [("late_11",), ("late_12",)]
        # the copy of a key kept before the window is rejected, the kept row stays
        copies = last.execute(
            "select cast(occurred_at as varchar), _rejection_reason from staging.base_touchpoints "
            "where touchpoint_id = 'late_09' order by occurred_at"
        ).fetchall()
        assert copies == [("2025-12-22 10:00:00", None), ("2025-12-29 11:00:00", "duplicate key")]
        assert (
            last.execute(
                "select count(*) from intermediate.int_touchpoints where touchpoint_id = 'late_12'"
            ).fetchone()[0]
            == 1
        )


def test_every_raw_row_is_staged_or_rejected_after_each_day(daily_and_full):
    """Conservation, counted from the raw parts that had arrived by each day (independently of
    the models): every raw row is in staging.base_touchpoints (valid or rejected) exactly once."""
    raw_dir = daily_and_full["raw_dir"]
    for day, snapshot in daily_and_full["snapshots"].items():
        arrived = [raw_dir / "touchpoints" / f"date={d}" for d in [HISTORY, *DAYS] if d <= day]
        files = [str(file) for folder in arrived for file in sorted(folder.glob("*.parquet"))]
        raw_rows = duckdb.execute("select count(*) from read_parquet($files)", {"files": files})
        with duckdb.connect(str(snapshot), read_only=True) as con:
            based = con.execute("select count(*) from staging.base_touchpoints").fetchone()[0]
        assert based == raw_rows.fetchone()[0], day


def test_a_user_who_withdraws_consent_leaves_every_intermediate_table(daily_and_full):
    """No new touchpoints, only the consent flag: the daily run still removes the user from every
    intermediate table (their id in any text column), and keeps everyone else's rows."""
    user_id = daily_and_full["user_id"]
    con = duckdb.connect(str(daily_and_full["withdrawn"]), read_only=True)
    before = duckdb.connect(str(daily_and_full["daily"]), read_only=True)
    try:
        columns = con.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = 'intermediate' and data_type = 'VARCHAR'"
        ).fetchall()
        tables = {table for table, _ in columns}
        assert {"int_touchpoints", "int_sessions", "int_funnel_chains"} <= tables
        for table in sorted(tables):
            text = [column for t, column in columns if t == table]
            mentions = " or ".join(f'"{column}" = $user' for column in text)
            query = f'select count(*) from intermediate."{table}" where {mentions}'
            assert con.execute(query, {"user": user_id}).fetchone()[0] == 0, table
        mine = "select count(*) from intermediate.int_touchpoints where actor_id = $user"
        assert before.execute(mine, {"user": user_id}).fetchone()[0] > 0
        others = "select count(*) from intermediate.int_touchpoints where actor_id <> $user"
        assert (
            con.execute(others, {"user": user_id}).fetchone()
            == before.execute(others, {"user": user_id}).fetchone()
        )
    finally:
        con.close()
        before.close()


def test_a_part_rewritten_after_a_run_read_it_is_refused(daily_and_full, tmp_path):
    """The ledger of raw parts (audit.raw_parts): each day's parts were recorded by the run that
    found them; a part rewritten afterwards stops the next daily run before any model, with a
    message naming the part, and nothing is published."""
    raw = tmp_path / "raw"
    shutil.copytree(daily_and_full["arriving"], raw)  # copy2: sizes and times kept
    warehouse = tmp_path / "daily" / "warehouse.duckdb"
    warehouse.parent.mkdir()
    shutil.copy(daily_and_full["daily"], warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        ledger = con.execute(
            "select part, recorded_by_run, row_count from audit.raw_parts "
            "where source = 'touchpoints' order by part"
        ).fetchall()
    parts = sorted(p.relative_to(raw).as_posix() for p in (raw / "touchpoints").rglob("*.parquet"))
    assert [part for part, _, _ in ledger] == parts
    # one run per arrival day found its parts (the history part and one per day)
    assert len({run for _, run, _ in ledger}) == 1 + len(DAYS)
    part, _, rows = ledger[0]
    duckdb.execute(
        f"copy (select * from read_parquet('{raw / part}') "
        f"union all (select * from read_parquet('{raw / part}') limit 1)) "
        f"to '{tmp_path / 'rewritten.parquet'}' (format parquet)"
    )
    (tmp_path / "rewritten.parquet").replace(raw / part)
    before = warehouse.read_bytes()

    result = build_partition(raw, warehouse, DAYS[-1], raise_on_error=False)

    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failure.step_key == "raw_files"
    message = failure.step_failure_data.user_failure_data.description
    assert part in message and f"rows {rows} -> {rows + 1}" in message, message
    assert "full refresh" in message
    assert warehouse.read_bytes() == before


def test_daily_runs_reuse_the_saved_dbt_parse(daily_and_full):
    """Every run after the first on a warehouse starts dbt from the saved parse: the vars and
    the database path dbt sees are the same from one day to the next (DECISIONLOG 71), so dbt
    never parses the whole project again (about 15 s a run)."""
    from orchestration.dbt_steps import dbt_target_base

    later_runs = daily_and_full["daily_runs"][1:]
    logs = [
        log
        for run in later_runs
        for log in dbt_target_base().glob(f"daily_dbt_assets-{run[:7]}-*/dbt.log")
    ]
    assert len(logs) == len(later_runs)
    for log, day in zip(sorted(logs, key=lambda path: path.stat().st_mtime), DAYS[1:], strict=True):
        text = log.read_text()
        assert '"name": "PartialParsingEnabled"' in text, log
        assert '"name": "UnableToPartialParse"' not in text, log
        # and the day still reached the models (INCREMENTAL_WINDOW_START, read at run time)
        changes = log.parent / "run/touchpoint_alchemy/models/intermediate"
        changes = changes / "int_touchpoint_changes.sql"
        assert f"cast('{day.isoformat()}' as timestamp)" in changes.read_text(), changes
