"""A second full run over a built warehouse changes nothing (the small fixture: a build costs
most of a minute whatever its size)."""

from __future__ import annotations

import shutil

import duckdb

from builds import build_warehouse

# Columns that record when a run happened, not what it computed.
RUN_TIME_COLUMNS = {
    ("audit", "rejected_rows", "rejected_at"),
    ("scoring", "clv_model_parameters", "fitted_at"),
    ("scoring", "model_metrics", "fitted_at"),
    # a model that had no fit (too little data) is tried again by every run
    ("scoring", "model_store", "fitted_at"),
    # the log of the runs of the daily models, and the run each period mart last read
    # (DECISIONLOG 147): a second run adds its row (checked below)
    ("intermediate", "int_touchpoint_change_log", "logged_at"),
    ("intermediate", "int_mart_builds", "change_log_run"),
    ("intermediate", "int_mart_builds", "change_log_logged_at"),
}
#: the tables whose rows record the runs: compared on the rows the first run wrote
RUN_LOGS = {"int_touchpoint_change_log": "where run_number = 1"}


def _snapshot(path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = current_database() order by all"
        ).fetchall()
        snapshot = {}
        for schema, table in tables:
            columns = [
                c
                for (c,) in con.execute(
                    "select column_name from information_schema.columns where table_schema = ? "
                    "and table_name = ? and table_catalog = current_database() "
                    "order by ordinal_position",
                    [schema, table],
                ).fetchall()
                if (schema, table, c) not in RUN_TIME_COLUMNS
            ]
            select = ", ".join(f'"{c}"' for c in columns)
            # which run fitted the model that scored: a second daily run scores with the model
            # the first one stored (checked below), so this row records the runs, not the data
            where = "where metric <> 'model_version'" if table == "model_metrics" else ""
            where = RUN_LOGS.get(table, where)
            snapshot[f"{schema}.{table}"] = con.execute(
                f'select {select} from "{schema}"."{table}" {where} order by all'
            ).fetchall()
    return snapshot


def _model_versions(path) -> dict[str, str]:
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "select model, detail from scoring.model_metrics where metric = 'model_version'"
        ).fetchall()
    return dict(rows)


def test_running_twice_gives_the_same_warehouse(cohorts_small_warehouse, tmp_path):
    """A second full run over a built warehouse (the small fixture: a build costs minutes)."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(cohorts_small_warehouse.path, copy)
    before = _snapshot(copy)
    assert build_warehouse(cohorts_small_warehouse.raw_dir, copy).success
    after = _snapshot(copy)
    assert before.keys() == after.keys()
    for table in before:
        assert before[table] == after[table], table
    # the second run is a daily run: it scored with the models the first one stored, except the
    # forecast, whose refit had too little history (115 days) to backtest: it refits until it
    # can (DECISIONLOG 148)
    versions = _model_versions(copy)
    assert versions.pop("demand_forecast").endswith("(fitted in this run)")
    assert versions, "no stored model scored the second run"
    assert all(detail.endswith("(stored model, not refitted)") for detail in versions.values())
    # the second run logged itself (a daily run: nothing in its window changed), and the
    # period marts read it
    with duckdb.connect(str(copy), read_only=True) as con:
        log = con.execute(
            "select run_number, rebuilt_all from intermediate.int_touchpoint_change_log "
            "order by run_number"
        ).fetchall()
        builds = con.execute(
            "select distinct change_log_run from intermediate.int_mart_builds"
        ).fetchall()
    assert log == [(1, True), (2, False)]
    assert builds == [(2,)]
