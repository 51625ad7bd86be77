"""Data tests of the daily models read the rows a daily run wrote (dbt_project/macros/
data_tests.sql, DECISIONLOG 77), on a copy of the shared demo build: real `dbt test` with the
window of a daily run (INCREMENTAL_WINDOW_START), then with the weekly run's full scope
(DATA_TEST_SCOPE=full), over rows planted before and inside the window."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestration.data_test_scope import windowed_models

from builds import MANIFEST

#: the daily run's window: it rewrote the touchpoints since 2025-12-17 (minus the 3-day lookback)
WINDOW_START = "2025-12-20"
#: the models whose key tests read the window (meta.test_window in their YAML)
WINDOWED = {
    "stg_touchpoints",
    "int_touchpoints",
    "int_sessions",
    "int_funnel_chains",
    "int_attribution_touches",
    "int_attribution_paths",
    "int_actor_touchpoint_months",
    "int_actor_touchpoints",
    "int_actor_channel_months",
    "int_actor_days",
    "int_actor_event_days",
    "int_session_paths",
}
#: staged touchpoints duplicated (a second row, same touchpoint_id): (which rows, offset, the
#: copy staged late by the run)
DUPLICATED = [
    ("occurred_at < '2025-12-01'", 0, False),  # before the window: not rewritten by the run
    ("occurred_at < '2025-12-01'", 1, True),  # before it, but staged late by the run
    ("occurred_at >= '2025-12-18'", 0, False),  # inside the window
]
#: (model, test, column) -> failing rows (daily scope, weekly scope)
EXPECTED = {
    ("stg_touchpoints", "unique", "touchpoint_id"): (2, 3),
    # a negative dwell_ms and a null before the window: the other tests read whole tables (one
    # test per model for the ranges and one for the nulls, counting the rows: DECISIONLOG 135)
    ("stg_touchpoints", "accepted_ranges", None): (1, 1),
    ("stg_touchpoints", "not_null_columns", None): (1, 1),
    # one duplicated row of an actor the run rebuilt, one of an actor it did not
    ("int_touchpoints", "unique", "touchpoint_id"): (1, 2),
}
#: the tests that read the window (macros/data_tests.sql)
WINDOWED_TESTS = {"unique", "unique_combination_of_columns"}


def _plant(path: Path) -> None:
    import duckdb

    with duckdb.connect(str(path)) as con:
        valid = "from staging.base_touchpoints where _rejection_reason is null"
        picked = [
            con.execute(
                f"select touchpoint_id, occurred_at {valid} and {rows} "
                f"order by touchpoint_id limit 1 offset {offset}"
            ).fetchone()
            for rows, offset, _ in DUPLICATED
        ]
        for number, ((touchpoint_id, occurred_at), (*_, late)) in enumerate(
            zip(picked, DUPLICATED, strict=True)
        ):
            row_number = 10**9 + number
            con.execute(
                f"insert into staging.base_touchpoints select * replace (? as _source_row_number) "
                f"{valid} and touchpoint_id = ?",
                [row_number, touchpoint_id],
            )
            if late:
                con.execute(
                    "insert into staging.base_touchpoints_late values (?, ?, ?)",
                    [row_number, touchpoint_id, occurred_at],
                )
        con.execute(
            "insert into staging.base_touchpoints select * replace ('tw_old' as touchpoint_id, "
            "timestamp '2025-11-04 10:00:00' as occurred_at, -5 as dwell_ms, "
            "null as properties_is_valid_json, "
            f"{10**9 + len(DUPLICATED)} as _source_row_number) "
            f"{valid} order by touchpoint_id limit 1"
        )
        rebuilt, untouched = (
            row[0]
            for row in con.execute(
                "select actor_id from intermediate.int_touchpoints "
                "group by actor_id order by actor_id limit 2"
            ).fetchall()
        )
        # rebuilt from all history: rebuild_from null, no kept session
        con.execute(
            "insert into intermediate.int_touchpoint_changes (actor_id, rebuild_from, "
            "kept_sessions) values (?, null, 0)",
            [rebuilt],
        )
        for actor in (rebuilt, untouched):
            con.execute(
                "insert into intermediate.int_touchpoints select * "
                "from intermediate.int_touchpoints where actor_id = ? "
                "order by touchpoint_id limit 1",
                [actor],
            )


def _dbt_test(demo_dbt, scope: str | None, models) -> dict:
    """`dbt test` of the tests of ``models`` (and of the tests that refer to them) with a daily
    run's window; unique id -> run result."""
    env = {"INCREMENTAL_WINDOW_START": WINDOW_START}
    if scope:
        env["DATA_TEST_SCOPE"] = scope
    out = demo_dbt.dbt(
        "test", "--select", *sorted(models), "--exclude-resource-type", "unit_test", env=env
    )
    results = demo_dbt.artifact("run_results.json")["results"]
    assert results, out.stdout[-3000:]
    return {result["unique_id"]: result for result in results}


@pytest.fixture(scope="module")
def scoped_and_full(demo_dbt):
    _plant(demo_dbt.reset())
    scoped = _dbt_test(demo_dbt, None, WINDOWED)
    # the weekly scope: the planted tests only
    full = _dbt_test(demo_dbt, "full", {model for model, *_ in EXPECTED})
    log = (demo_dbt.target / "dbt.log").read_text()
    return demo_dbt.artifact("manifest.json"), scoped, full, log


def _test_id(manifest: dict, model: str, test: str, column: str | None) -> str:
    (found,) = [
        uid
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "test"
        and node.get("attached_node") == f"model.touchpoint_alchemy.{model}"
        and node["test_metadata"]["name"] == test
        and node.get("column_name") == column
    ]
    return found


def test_the_big_daily_models_declare_their_window():
    assert set(windowed_models(json.loads(MANIFEST.read_text()))) == WINDOWED


def test_a_daily_run_tests_its_window_and_the_weekly_run_everything(scoped_and_full):
    manifest, scoped, full, _ = scoped_and_full
    for (model, test, column), (daily, weekly) in EXPECTED.items():
        uid = _test_id(manifest, model, test, column)
        assert (scoped[uid]["failures"], full[uid]["failures"]) == (daily, weekly), uid
        windowed = test in WINDOWED_TESTS
        assert ("dbt_test_window" in scoped[uid]["compiled_code"]) == windowed, uid
        assert "dbt_test_window" not in full[uid]["compiled_code"], uid
    # the window's start (minus the lookback) reached the test when it ran
    stg = scoped[_test_id(manifest, "stg_touchpoints", "unique", "touchpoint_id")]
    assert f"cast('{WINDOW_START}' as timestamp)" in stg["compiled_code"]


def test_every_key_test_of_the_windowed_models_reads_the_window(scoped_and_full):
    """Every key test of the windowed models compiles and runs with its window (each model's
    condition is valid SQL) and passes where nothing was planted; their other tests (not_null,
    ranges, relationships, the row conservation) read whole tables."""
    manifest, scoped, _, _ = scoped_and_full
    planted = {_test_id(manifest, *case) for case in EXPECTED}
    windowed = set()
    for uid, result in scoped.items():
        node = manifest["nodes"][uid]
        model = (node.get("attached_node") or "").rsplit(".", 1)[-1]
        if model not in WINDOWED:
            continue  # a test of another model that refers to a windowed one
        is_windowed = "dbt_test_window" in result["compiled_code"]
        assert is_windowed == (node["test_metadata"]["name"] in WINDOWED_TESTS), uid
        if is_windowed:
            windowed.add(model)
        if uid not in planted and node["test_metadata"]["name"] != "raw_rows_conserved":
            assert (result["status"], result["failures"]) == ("pass", 0), uid
    assert windowed == WINDOWED


def test_the_scope_is_read_when_the_tests_run_not_while_dbt_parses(scoped_and_full):
    """The second `dbt test` (another scope) starts from the first one's saved parse and parses
    no file again: DATA_TEST_SCOPE and INCREMENTAL_WINDOW_START are read at execution only (an
    env var read while dbt parses makes it parse again every file that reads it, here 18)."""
    *_, log = scoped_and_full
    parses = [line for line in log.splitlines() if "Partial parsing enabled:" in line]
    assert parses and "0 files added, 0 files changed" in parses[-1], parses[-1:]


def test_a_first_build_tests_whole_tables(demo_warehouse):
    """The demo build is a daily partition run into a new warehouse: dbt built the daily models
    from all history, so the dbt step passed DATA_TEST_SCOPE=full and every test read whole
    tables (orchestration/data_test_scope.py; without it the key tests would read the
    partition's window, the last days before the build, and find nothing)."""
    from orchestration.dbt_steps import dbt_target_base

    events = demo_warehouse.result.all_events
    run_id = next(e.logging_tags["run_id"] for e in events if e.logging_tags.get("run_id"))
    (target,) = dbt_target_base().glob(f"daily_dbt_assets-{run_id[:7]}-*")
    tests = target / "run" / "touchpoint_alchemy" / "models" / "intermediate" / "_intermediate.yml"
    compiled = (tests / "unique_int_touchpoints_touchpoint_id.sql").read_text()
    assert "dbt_test_window" not in compiled and "int_touchpoint_changes" not in compiled
