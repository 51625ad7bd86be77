"""Every dbt model, source and test of dbt_project/ as Dagster assets and asset checks.

Two definitions share the manifest:

- ``daily_dbt_assets``: the touchpoint-heavy incremental models (dbt tag ``daily``) and
  everything upstream of them, partitioned by day. The partition window's first day reaches
  dbt as the environment variable ``INCREMENTAL_WINDOW_START``; the models reprocess from that
  day minus ``incremental_lookback_days`` (macros/incremental.sql). A range of days (a
  backfill) runs as one dbt invocation (``BackfillPolicy.single_run``), so partitions never
  clobber each other.
- ``warehouse_dbt_assets``: everything else, unpartitioned; marts and aggregates rebuild in full
  from the incremental facts.
"""

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    BackfillPolicy,
    Config,
    DailyPartitionsDefinition,
    Failure,
    MetadataValue,
    Output,
    TableColumn,
    TableSchema,
)
from dagster_dbt import DbtCliResource, dbt_assets, get_asset_key_for_model
from dagster_dbt.asset_utils import get_manifest_and_translator_from_dbt_assets
from pydantic import Field

from orchestration import warmup
from orchestration.assets.model_store import churn_feature_environment
from orchestration.data_test_scope import data_test_environment
from orchestration.dbt_steps import column_lineage, step_target_path
from orchestration.parse import save_parse
from orchestration.partition_status import FullRefreshRecorder
from orchestration.project import dbt_project
from orchestration.resources import WarehouseResource
from orchestration.retries import TRANSIENT_RETRY, fail_fast_unless_transient, is_transient
from orchestration.run_config import DAILY_DBT_OP, full_refresh_requested
from orchestration.run_environment import environment, jinja_inert
from orchestration.translator import TouchpointTranslator
from touchpoint_alchemy import catalog
from touchpoint_alchemy.markdown import markdown_table
from touchpoint_alchemy.settings import partitions_start_date
from touchpoint_alchemy.sql import quote_relation

if TYPE_CHECKING:
    import pyarrow as pa

# The incremental models, everything upstream of them, and the rest of the raw files' staging and
# the quarantine (small, and the row-conservation tests join them with the touchpoints). Not the
# stg_scoring__* views: they read the Python scores, which read the unpartitioned models; nor the
# other audit models (order_line_issues reads the unpartitioned order lines). The seeds
# (dbt_seeds/, reference data such as the benchmarks) load here too, after the raw-file check
# (orchestration/translator.py): elsewhere Dagster would give them a dbt step of their own.
DAILY_SELECTION = "+tag:daily source:raw+,path:models/staging rejected_rows resource_type:seed"

daily_partitions = DailyPartitionsDefinition(
    start_date=partitions_start_date(), timezone="UTC", end_offset=0
)


class DailyBuildConfig(Config):
    full_refresh: bool = Field(
        default=False,
        description="Rebuild the incremental models from all history (dbt --full-refresh) "
        "instead of reprocessing the partition window. `make run` sets it.",
    )


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=TouchpointTranslator(),
    select=DAILY_SELECTION,
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    retry_policy=TRANSIENT_RETRY,
    name=DAILY_DBT_OP,
)
@fail_fast_unless_transient
def daily_dbt_assets(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    config: DailyBuildConfig,
) -> Iterator[Any]:
    """`dbt build` of the incremental touchpoint models for the partition window."""
    args = ["--full-refresh"] if config.full_refresh else []
    window_start = _window_start(context)
    if window_start:
        context.log.info(
            f"Reprocessing touchpoints from {window_start} minus the lookback "
            "(dbt var incremental_lookback_days)."
        )
    # A full refresh rebuilt every day up to the partition: say so to the instance.
    recorder = FullRefreshRecorder(context) if config.full_refresh else None
    yield from _dbt_build(context, dbt, warehouse, args, recorder=recorder)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=TouchpointTranslator(),
    exclude=DAILY_SELECTION,
    retry_policy=TRANSIENT_RETRY,
    name="warehouse_dbt_assets",
)
@fail_fast_unless_transient
def warehouse_dbt_assets(
    context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
) -> Iterator[Any]:
    """`dbt build` of the unpartitioned models with their data tests."""
    yield from _dbt_build(context, dbt, warehouse, [])


#: Both dbt definitions; look models up with ``model_asset_key``
DBT_ASSETS = [daily_dbt_assets, warehouse_dbt_assets]


def _dbt_build(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    extra_args: list[str],
    recorder: FullRefreshRecorder | None = None,
) -> Iterator[Any]:
    """`dbt build` of the selected models with their data tests (unit tests: ``make test``).
    ``recorder`` is given each asset as dbt reports it built, and has stored what it records
    before the step's materializations are.

    Every dbt step of every run passes no vars and opens the warehouse under a path every build
    shares (``snapshots.shared_path``), so dbt's saved parse stays valid from one step, one run
    and one warehouse to the next. What differs reaches the models as environment variables
    they read only when they run (DECISIONLOG 71, 91): the raw folder and the cutoff
    (``RAW_DATA_DIR``, ``DATA_CUTOFF``), the day to reprocess (``INCREMENTAL_WINDOW_START``,
    macros/incremental.sql) and the data tests' scope (``DATA_TEST_SCOPE``,
    orchestration/data_test_scope.py).

    DuckDB allows one writer at a time, so the row counts and column schemas of the built tables
    are read after dbt has finished, through one short-lived connection.
    """
    warehouse.ensure_directory()
    # Unit tests check the SQL, not the data: `make test` runs them once
    # (tests/warehouse/test_build.py), never a production run.
    extra_vars = warehouse.dbt_vars()
    dbt_vars = json.dumps(jinja_inert(extra_vars)) if extra_vars else ""
    args = [
        "build",
        *(["--vars", dbt_vars] if dbt_vars else []),
        "--exclude-resource-type",
        "unit_test",
        *extra_args,
    ]
    window_start = _window_start(context)
    manifest, _, _ = get_manifest_and_translator_from_dbt_assets([daily_dbt_assets])
    window = {
        "INCREMENTAL_WINDOW_START": window_start or "",
        # which rows the data tests read (orchestration/data_test_scope.py, DECISIONLOG 77)
        **data_test_environment(context, warehouse, manifest, window_start),
        # which churn snapshots the feature models compute (DECISIONLOG 151)
        **churn_feature_environment(context, warehouse),
    }
    with warehouse.dbt_environment(), environment(window), _buildable_tests():
        target_path, parse_cache = step_target_path(context, dbt_vars, dbt.target)
        invocation = dbt.cli(args, context=context, raise_on_error=False, target_path=target_path)
        # dbt runs in its own process: import the scoring steps' libraries meanwhile
        warmup.start(context.run)
        with recorder or nullcontext():
            events = []
            for event in invocation.stream():
                events.append(event)
                if recorder is not None and (key := _event_key(context, event)) is not None:
                    recorder.add(key)
        save_parse(target_path, parse_cache)
    if recorder is not None and recorder.recorded:
        context.log.info(
            f"Recorded the earlier days of {len(_built_keys(context, events))} daily assets as "
            f"materialized by this full refresh ({recorder.recorded} partition materializations)."
        )
    yield from _with_table_metadata(context, events, warehouse, column_lineage(context, invocation))
    if not invocation.is_successful():
        error = invocation.get_error() or RuntimeError("dbt build failed")
        if is_transient(str(error)):
            raise error  # retried by TRANSIENT_RETRY
        # A failing test, a SQL or compilation error: the same on every try.
        raise Failure(
            description=f"dbt build failed (not retried: not a transient error).\n{error}",
            allow_retries=False,
        ) from error


def _window_start(context: AssetExecutionContext) -> str | None:
    """The first day the daily models reprocess (the partition's, or a range's first), or None
    for a full refresh or an unpartitioned run (the models rebuild from all history)."""
    tags = context.run.tags
    first_day = tags.get("dagster/partition") or tags.get("dagster/asset_partition_range_start")
    if first_day and not full_refresh_requested(context.run.run_config):
        return first_day[:10]
    return None


@contextmanager
def _buildable_tests() -> Iterator[None]:
    """dbt's `buildable` indirect selection: a test runs in the invocation that selects (or
    builds the ancestors of) all its parents. With the two definitions, every test then runs in
    exactly one of them, after all the tables it reads exist."""
    previous = os.environ.get("DBT_INDIRECT_SELECTION")
    os.environ["DBT_INDIRECT_SELECTION"] = "buildable"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("DBT_INDIRECT_SELECTION", None)
        else:
            os.environ["DBT_INDIRECT_SELECTION"] = previous


def _event_key(context: AssetExecutionContext, event: Any) -> AssetKey | None:
    if isinstance(event, Output):
        return context.asset_key_for_output(event.output_name)
    if isinstance(event, AssetMaterialization):
        return event.asset_key
    return None


def _built_keys(context: AssetExecutionContext, events: list[Any]) -> set[AssetKey]:
    return {key for event in events if (key := _event_key(context, event)) is not None}


PREVIEW_SCHEMA = "marts"
PREVIEW_ROWS = 5


def _preview(con: Any, schema: str, table: str) -> str:
    """The first rows of a table as a markdown table (sorted by every column, so it is stable)."""
    relation = quote_relation(schema, table)
    cursor = con.execute(f"select * from {relation} order by all limit {PREVIEW_ROWS}")
    names = [column[0] for column in cursor.description]
    rows = cursor.fetchall()
    return markdown_table(names, rows or [[None] * len(names)])


def _with_table_metadata(
    context: AssetExecutionContext,
    events: list[Any],
    warehouse: WarehouseResource,
    column_lineage: dict[AssetKey, Any],
) -> Iterator[Any]:
    """Attach ``dagster/row_count`` (tables), ``dagster/column_schema`` and
    ``dagster/column_lineage`` to materializations, and to marts a markdown ``preview`` of their
    first rows."""
    built = _built_keys(context, events)
    if not built or not isinstance(warehouse, WarehouseResource):  # Spark: dbt's metadata only
        yield from events
        return
    row_counts: dict[tuple[str, str], int] = {}
    previews: dict[tuple[str, str], str] = {}
    with warehouse.get_connection() as con:
        columns = {
            relation: [TableColumn(name=name, type=data_type) for name, data_type in found.items()]
            for relation, found in catalog.columns(con).items()
        }
        tables = {
            (schema, table)
            for schema, table, kind in catalog.tables(con)
            if kind == catalog.BASE_TABLE
        }
        for key in built:
            relation = tuple(key.path[-2:])
            if relation in tables:
                row_counts[relation] = con.execute(
                    f"select count(*) from {quote_relation(*relation)}"
                ).fetchone()[0]
                if relation[0] == PREVIEW_SCHEMA:
                    previews[relation] = _preview(con, *relation)
    for event in events:
        key = _event_key(context, event)
        if key is None:
            yield event
            continue
        relation = tuple(key.path[-2:])
        metadata = {}
        if relation in columns:
            metadata["dagster/column_schema"] = TableSchema(columns=columns[relation])
        if relation in row_counts:
            metadata["dagster/row_count"] = row_counts[relation]
        if relation in previews:
            metadata["preview"] = MetadataValue.md(previews[relation])
        if key in column_lineage:
            metadata["dagster/column_lineage"] = column_lineage[key]
        yield event.with_metadata({**event.metadata, **metadata}) if metadata else event


# --- looking dbt nodes up by name across both definitions ----------------------------------------


def model_asset_key(model_name: str) -> AssetKey:
    """The asset key of dbt model ``model_name``, whichever definition holds it."""
    for definition in DBT_ASSETS:
        try:
            return get_asset_key_for_model([definition], model_name)
        except Exception:  # noqa: S112 - not in this definition
            continue
    raise KeyError(f"dbt model {model_name!r} is in neither dbt asset definition")


def model_asset_keys_tagged(tag: str) -> list[AssetKey]:
    """The asset keys of the dbt models tagged ``tag``, by key."""
    keys = []
    for definition in DBT_ASSETS:
        manifest, translator, _ = get_manifest_and_translator_from_dbt_assets([definition])
        keys += [
            translator.get_asset_key(node)
            for node in manifest["nodes"].values()
            if node["resource_type"] == "model" and tag in node.get("tags", [])
        ]
    return sorted(set(keys), key=lambda key: key.to_user_string())


def source_tables(source_name: str) -> dict[str, dict[str, Any]]:
    """Table name -> manifest node (columns, meta, ...) of every table of dbt source
    ``source_name``, in the order of the sources YAML."""
    manifest, _, _ = get_manifest_and_translator_from_dbt_assets([warehouse_dbt_assets])
    return {
        node["name"]: node
        for node in manifest["sources"].values()
        if node["source_name"] == source_name
    }


#: the dbt data_type of a column of a table Python writes -> its pyarrow type (constructor name)
ARROW_TYPES = {
    "string": ("string",),
    "integer": ("int32",),
    "bigint": ("int64",),
    "double": ("float64",),
    "boolean": ("bool_",),
    "timestamp": ("timestamp", "us"),
    "date": ("date32",),
}


def source_column_types(node: dict[str, Any]) -> dict[str, str]:
    """Column -> dbt data_type of a source table Python writes, in the declared order."""
    columns = {name: spec.get("data_type") for name, spec in node["columns"].items()}
    untyped = [name for name, data_type in columns.items() if data_type not in ARROW_TYPES]
    if untyped:
        raise ValueError(f"{node['name']}: columns without a known data_type: {untyped}")
    return columns


def source_arrow_schema(node: dict[str, Any]) -> "pa.Schema":
    """The Arrow schema of a source table Python writes, from its declared columns."""
    import pyarrow as pa

    def arrow_type(data_type: str) -> "pa.DataType":
        constructor, *arguments = ARROW_TYPES[data_type]
        return getattr(pa, constructor)(*arguments)

    return pa.schema([(c, arrow_type(t)) for c, t in source_column_types(node).items()])


def source_asset_keys(source_name: str) -> dict[str, AssetKey]:
    """Table name -> asset key of every table of dbt source ``source_name``."""
    _, translator, _ = get_manifest_and_translator_from_dbt_assets([warehouse_dbt_assets])
    return {
        name: translator.get_asset_key(node) for name, node in source_tables(source_name).items()
    }
