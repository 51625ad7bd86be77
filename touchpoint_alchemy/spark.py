"""Arrow tables in and out of the Spark warehouse, for the Python scoring assets (issue #7).

The Spark target (``profiles.yml``, local session mode) keeps its Hive metastore in an embedded
Derby database, which one JVM at a time may open. dbt runs Spark inside its own process, so the
Dagster process must not hold a JVM between dbt steps: every operation here runs in a short-lived
Python process (``python -m touchpoint_alchemy.spark``) with its own Spark session, exchanging
the table as an Arrow IPC file. That costs a session start (5 to 15 s) per table, which is small
beside a build. On a cluster (thrift, Databricks) the metastore is a server and a long-lived
session would do; see docs/spark.md.

The session's settings are those of the ``spark`` output in ``dbt_project/profiles.yml``,
rendered with the same ``env_var`` semantics, so dbt and this module always open the same
metastore and warehouse folder.

Timestamps cross as UTC instants: Spark's ``timestamp`` reads as naive UTC, as DuckDB's does,
and naive timestamps are written as ``timestamp`` (not ``timestamp_ntz``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from touchpoint_alchemy.settings import DBT_PROJECT_DIR

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import SparkSession

PROFILES = DBT_PROJECT_DIR / "profiles.yml"
APP_NAME = "touchpoint-alchemy-scoring"
#: settings only dbt's session needs: the PII hashing key (the scoring code never hashes)
DBT_ONLY_PARAMETERS = ("spark.touchpoint.pii_key",)


def session_parameters(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The ``server_side_parameters`` of the ``spark`` output of ``profiles.yml``, rendered,
    without the PII hashing key."""
    import jinja2
    import yaml

    env = dict(os.environ if environ is None else environ)
    text = jinja2.Template(PROFILES.read_text()).render(
        env_var=lambda name, default=None: env.get(name, default)
    )
    profile = yaml.safe_load(text)["touchpoint_alchemy"]["outputs"]["spark"]
    return {
        name: str(value)
        for name, value in profile["server_side_parameters"].items()
        if name not in DBT_ONLY_PARAMETERS
    }


def get_session() -> SparkSession:
    """A Spark session on the project's metastore. Relative paths in the profile are relative to
    ``dbt_project/``, where dbt runs; this process runs there too (see :func:`_run`)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(APP_NAME).enableHiveSupport()
    for name, value in session_parameters().items():
        builder = builder.config(name, value)
    return builder.getOrCreate()


def _quoted(schema: str, table: str) -> str:
    return ".".join("`" + part.replace("`", "``") + "`" for part in (schema, table))


def _to_instants(table: pa.Table) -> pa.Table:
    """Naive timestamps (UTC by the project's convention) as UTC instants, for Spark."""
    import pyarrow as pa

    fields = []
    for field in table.schema:
        if pa.types.is_timestamp(field.type) and field.type.tz is None:
            field = field.with_type(pa.timestamp(field.type.unit, tz="UTC"))
        fields.append(field)
    return table.cast(pa.schema(fields))


def _to_naive(table: pa.Table) -> pa.Table:
    """UTC instants as naive UTC timestamps, as DuckDB gives them."""
    import pyarrow as pa

    fields = []
    for field in table.schema:
        if pa.types.is_timestamp(field.type) and field.type.tz is not None:
            field = field.with_type(pa.timestamp(field.type.unit))
        fields.append(field)
    return table.cast(pa.schema(fields))


def _read(spark: SparkSession, schema: str, table: str) -> pa.Table:
    return _to_naive(spark.table(_quoted(schema, table)).toArrow())


def _write(spark: SparkSession, schema: str, table: str, data: pa.Table) -> None:
    spark.sql(f"create database if not exists `{schema.replace('`', '``')}`")
    frame = spark.createDataFrame(_to_instants(data))
    frame.write.mode("overwrite").format("parquet").saveAsTable(_quoted(schema, table))


def _replace_rows(
    spark: SparkSession, schema: str, table: str, data: pa.Table, key_column: str
) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    if spark.catalog.tableExists(f"{schema}.{table}"):
        # Read fully into Arrow first: Spark cannot overwrite a table it is reading from.
        kept = _read(spark, schema, table)
        kept = kept.filter(pc.invert(pc.is_in(kept[key_column], value_set=data[key_column])))
        for name in data.schema.names:  # a column added since the table was written: null
            if name not in kept.column_names:
                kept = kept.append_column(name, pa.nulls(len(kept), data.schema.field(name).type))
        data = pa.concat_tables([kept.select(data.schema.names).cast(data.schema), data])
    _write(spark, schema, table, data)


def _run(*args: str) -> None:
    """Run one operation in a fresh Python process (its JVM, and Derby's lock, end with it)."""
    result = subprocess.run(
        [sys.executable, "-m", "touchpoint_alchemy.spark", *args],
        cwd=DBT_PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"Spark operation {' '.join(args[:3])} failed:\n{result.stderr[-4000:]}")


def read_table(schema: str, table: str) -> pa.Table:
    import pyarrow as pa

    with tempfile.TemporaryDirectory(prefix="spark-arrow-") as folder:
        path = Path(folder) / "table.arrow"
        _run("read", schema, table, str(path))
        with pa.memory_map(str(path)) as source:
            return pa.ipc.open_file(source).read_all()


def _write_arrow(data: pa.Table, path: Path) -> None:
    import pyarrow as pa

    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, data.schema) as writer:
        writer.write_table(data)


def write_table(schema: str, table: str, data: pa.Table) -> None:
    with tempfile.TemporaryDirectory(prefix="spark-arrow-") as folder:
        path = Path(folder) / "table.arrow"
        _write_arrow(data, path)
        _run("write", schema, table, str(path))


def replace_rows(schema: str, table: str, data: pa.Table, key_column: str) -> None:
    with tempfile.TemporaryDirectory(prefix="spark-arrow-") as folder:
        path = Path(folder) / "table.arrow"
        _write_arrow(data, path)
        _run("replace", schema, table, str(path), key_column)


def main(argv: list[str] | None = None) -> None:
    import pyarrow as pa

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("operation", choices=["read", "write", "replace"])
    parser.add_argument("schema")
    parser.add_argument("table")
    parser.add_argument("arrow_file", help="the table, as an Arrow IPC file")
    parser.add_argument("key_column", nargs="?")
    args = parser.parse_args(argv)
    spark = get_session()
    spark.sparkContext.setLogLevel("ERROR")
    try:
        if args.operation == "read":
            _write_arrow(_read(spark, args.schema, args.table), Path(args.arrow_file))
            return
        with pa.memory_map(args.arrow_file) as source:
            data = pa.ipc.open_file(source).read_all()
        if args.operation == "write":
            _write(spark, args.schema, args.table, data)
        else:
            _replace_rows(spark, args.schema, args.table, data, args.key_column)
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
