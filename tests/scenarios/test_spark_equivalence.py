"""The dbt project runs unchanged on Apache Spark (dbt-spark, local session mode) and gives the
same tables as DuckDB on the demo data (issue #7): every staging, quarantine, intermediate,
scoring and mart table.

Each target builds the warehouse in the order a Dagster run does:

1. `dbt build` (models, data tests and unit tests) of everything that does not read the
   `scoring` tables the Python assets write;
2. the Python scoring assets, through `dagster asset materialize` with WAREHOUSE_TARGET set, so
   on Spark they read their inputs from and write their scores to Spark as Arrow tables
   (`SparkWarehouseResource`);
3. `dbt build` of the models that read the scores (customers, customer_actions, attribution,
   headline_metrics).

Every table is then compared row by row (numbers within 1e-9 relative): Spark's tables are
Parquet files under its warehouse folder, read here with DuckDB.

Needs the `spark` dependency group and Java 17+: `make test-spark`. Without them the test is
skipped with that reason (pytest -ra lists it). About 10 minutes on 2 cores, most of it Spark
(see docs/spark.md), so the default `make test` does not run it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from touchpoint_alchemy.settings import DBT_PROJECT_DIR, DEMO_RAW_DATA_DIR

from compare import _kind, _normalise

pytestmark = pytest.mark.spark

# Before the scores: every model that does not read the `scoring` schema (staging, the
# quarantine, the intermediate models and most marts), with their tests. After: the rest.
BEFORE_SCORES = ["--exclude", "source:scoring+"]
AFTER_SCORES = ["--select", "source:scoring+"]
SCORING = "group:scoring"
# Columns that hold the clock of the run, not data.
RUN_CLOCK_COLUMNS = {
    ("audit", "rejected_rows"): ["rejected_at"],
    ("intermediate", "int_touchpoint_change_log"): ["logged_at"],
    ("intermediate", "int_mart_builds"): ["change_log_logged_at"],
    ("scoring", "model_metrics"): ["fitted_at"],
    ("scoring", "clv_model_parameters"): ["fitted_at"],
    # the stored models: the fit's metrics as JSON text and the pickled model, whose floats
    # differ in the last bits between engines; they are compared as scoring.model_metrics (with
    # the tolerance) and through the scores they give
    ("scoring", "model_store"): ["fitted_at", "metrics", "artifact"],
}
RTOL = 1e-9


def _missing_requirements() -> str | None:
    for module in ("pyspark", "dbt.adapters.spark"):
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            return f"{module} is not installed: run `make test-spark` (uv group `spark`)"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime (Spark needs Java 17+)"
    return None


def _dbt_build(target: str, env: dict[str, str], target_path: Path, selection: list[str]) -> float:
    dbt = Path(sys.executable).parent / "dbt"
    command = [
        str(dbt), "build", "--target", target, *selection,
        "--vars", f"{{raw_data_dir: '{DEMO_RAW_DATA_DIR.resolve()}'}}",
        "--target-path", str(target_path), "--log-path", str(target_path / "logs"),
    ]  # fmt: skip
    started = time.perf_counter()
    result = subprocess.run(
        command, cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, f"dbt build --target {target} failed:\n{result.stdout[-6000:]}"
    return elapsed


def _score(target: str, env: dict[str, str]) -> float:
    """The scoring assets through the Dagster CLI, as a run on ``target`` executes them. On
    DuckDB the run builds into a working copy, so the publish step is selected too."""
    dagster = Path(sys.executable).parent / "dagster"
    selection = SCORING if target == "spark" else f'{SCORING} or key:"warehouse/published_snapshot"'
    command = [
        str(dagster), "asset", "materialize", "-m", "orchestration.definitions",
        "--select", selection,
    ]  # fmt: skip
    started = time.perf_counter()
    result = subprocess.run(
        command,
        cwd=DBT_PROJECT_DIR.parent,
        env={**env, "WAREHOUSE_TARGET": target, "RAW_DATA_DIR": str(DEMO_RAW_DATA_DIR)},
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, f"scoring on {target} failed:\n{result.stderr[-6000:]}"
    return elapsed


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """Build the selection on DuckDB, then on Spark (one after the other: 2 cores)."""
    missing = _missing_requirements()
    if missing:
        pytest.skip(missing)
    work = tmp_path_factory.mktemp("spark_equivalence")
    env = {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_INDIRECT_SELECTION": "buildable",
        "DAGSTER_HOME": str(work / "dagster_home"),
        "WAREHOUSE_DUCKDB_PATH": str(work / "warehouse.duckdb"),
        "SPARK_DATA_DIR": str(work / "spark"),
    }
    (work / "dagster_home").mkdir()
    timings = {}
    for target in ("duckdb", "spark"):
        target_path = work / f"target_{target}"
        timings[target] = {
            "dbt before the scores": _dbt_build(target, env, target_path, BEFORE_SCORES),
            "scoring assets": _score(target, env),
            "dbt after the scores": _dbt_build(target, env, target_path, AFTER_SCORES),
        }
    print(f"seconds: {timings}")
    return work


def _spark_tables(work: Path) -> list[tuple[str, str]]:
    warehouse = work / "spark" / "warehouse"
    return sorted(
        (schema.name.removesuffix(".db"), table.name)
        for schema in warehouse.glob("*.db")
        for table in schema.iterdir()
        if table.is_dir() and any(table.glob("*.parquet"))
    )


def _normalised(frame: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    frame = frame.copy()
    for column, kind in kinds.items():
        values = frame[column]
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            # Spark's `timestamp` is an instant (Parquet isAdjustedToUTC), DuckDB's is naive
            # UTC: the same values once both are naive UTC.
            values = values.dt.tz_convert("UTC").dt.tz_localize(None)
        frame[column] = _normalise(values, kind)
    return frame


def _sorted(frame: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    """Rows in a canonical order: by every column, floats rounded to 9 significant digits."""
    sort_keys = pd.DataFrame(index=frame.index)
    for column, kind in kinds.items():
        values = frame[column]
        if kind == "number":
            values = values.map(lambda v: float(f"{v:.9g}") if pd.notna(v) else np.nan)
        sort_keys[column] = values
    order = sort_keys.sort_values(list(kinds), na_position="first").index
    return frame.loc[order].reset_index(drop=True)


def assert_same_table(spark: pd.DataFrame, duck: pd.DataFrame, name: str) -> None:
    assert list(spark.columns) == list(duck.columns), f"{name}: columns differ"
    assert len(spark) == len(duck), f"{name}: {len(spark)} rows on Spark, {len(duck)} on DuckDB"
    kinds = {}
    for column in duck.columns:
        found = {_kind(spark[column]), _kind(duck[column])}
        kinds[column] = next(k for k in ("datetime", "bool", "number", "text") if k in found)
    spark = _sorted(_normalised(spark, kinds), kinds)
    duck = _sorted(_normalised(duck, kinds), kinds)
    for column, kind in kinds.items():
        left, right = spark[column], duck[column]
        if kind == "number":
            same = np.isclose(left, right, rtol=RTOL, atol=0, equal_nan=True)
        else:
            same = np.asarray((left == right).fillna(False) | (left.isna() & right.isna()))
        bad = pd.DataFrame({"spark": left[~same], "duckdb": right[~same]})
        assert bad.empty, f"{name}.{column} differs in {len(bad)} rows:\n{bad.head(10)}"


def test_spark_builds_the_tables(builds):
    tables = _spark_tables(builds)
    for expected in [
        ("staging", "base_touchpoints"),
        ("audit", "rejected_rows"),
        ("intermediate", "int_touchpoints"),
        ("intermediate", "int_sessions"),
        ("intermediate", "int_funnel_chains"),
        ("marts", "funnel_conversion"),
        ("marts", "cohort_retention"),
        ("marts", "cohort_ltv"),
        ("marts", "channel_performance"),
        ("marts", "user_lifecycle"),
        ("marts", "experiment_results"),
        ("marts", "nps_monthly"),
        ("scoring", "customer_rfm"),
        ("scoring", "customer_clv"),
        ("scoring", "customer_churn"),
        ("marts", "customers"),
        ("marts", "customer_actions"),
        ("marts", "attribution"),
        ("marts", "headline_metrics"),
    ]:
        assert expected in tables


def test_spark_has_every_duckdb_table(builds):
    """All marts (and every other table) exist on both targets."""
    with duckdb.connect(str(builds / "warehouse.duckdb"), read_only=True) as duck:
        duck_tables = set(
            duck.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_type = 'BASE TABLE' and table_schema <> 'main'"
            ).fetchall()
        )
    assert duck_tables - set(_spark_tables(builds)) == set()


def test_every_table_equals_duckdb(builds):
    tables = _spark_tables(builds)
    with duckdb.connect(str(builds / "warehouse.duckdb"), read_only=True) as duck:
        for schema, table in tables:
            ignored = RUN_CLOCK_COLUMNS.get((schema, table), [])
            duck_frame = duck.sql(f'select * from "{schema}"."{table}"').df()
            parts = str(builds / "spark" / "warehouse" / f"{schema}.db" / table / "*.parquet")
            spark_frame = duck.sql(f"select * from read_parquet('{parts}')").df()
            assert_same_table(
                spark_frame.drop(columns=ignored),
                duck_frame.drop(columns=ignored),
                f"{schema}.{table}",
            )
