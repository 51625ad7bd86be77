"""Properties of a whole build: idempotence, the dbt unit tests, every asset check passing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import duckdb

from touchpoint_alchemy.settings import DBT_PROJECT_DIR, DEMO_RAW_DATA_DIR

from conftest import build_warehouse

# Columns that record when a run happened, not what it computed.
RUN_TIME_COLUMNS = {
    ("audit", "rejected_rows", "rejected_at"),
    ("scoring", "clv_model_parameters", "fitted_at"),
    ("scoring", "model_metrics", "fitted_at"),
}


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
            snapshot[f"{schema}.{table}"] = con.execute(
                f'select {select} from "{schema}"."{table}" order by all'
            ).fetchall()
    return snapshot


def test_every_asset_check_passed(demo_warehouse):
    evaluations = demo_warehouse.result.get_asset_check_evaluations()
    assert len(evaluations) > 50
    # The demo data is from 2025: its freshness checks warn (tests/test_reliability.py).
    failed = [e.check_name for e in evaluations if not e.passed and e.check_name != "raw_fresh"]
    assert not failed


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


def test_schemas_are_exactly_the_layers(demo_warehouse):
    with demo_warehouse.connect() as con:
        schemas = {
            r[0]
            for r in con.execute(
                "select distinct table_schema from information_schema.tables "
                "where table_catalog = current_database()"
            ).fetchall()
        }
    assert schemas == {"staging", "intermediate", "marts", "scoring", "audit"}


def test_dbt_unit_tests_pass(demo_warehouse, tmp_path):
    """`dbt test --select test_type:unit` (they need their upstream tables: a built copy)."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_warehouse.path, copy)
    env = {**os.environ, "WAREHOUSE_DUCKDB_PATH": str(copy)}
    dbt = os.path.join(os.path.dirname(sys.executable), "dbt")
    out = subprocess.run(
        [
            dbt,
            "test",
            "--select",
            "test_type:unit",
            "--target-path",
            str(tmp_path / "target"),
            "--vars",
            f'{{"raw_data_dir": "{DEMO_RAW_DATA_DIR}"}}',
        ],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout[-3000:]
    assert "funnel_chain_edge_cases" in out.stdout
    assert "purchase_sequence" in out.stdout
