"""Every dbt model, source and test of dbt_project/ as Dagster assets and asset checks."""

import json
from collections.abc import Iterator
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    Failure,
    Output,
    TableColumn,
    TableSchema,
)
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.project import dbt_project
from orchestration.resources import WarehouseResource
from orchestration.retries import TRANSIENT_RETRY, is_transient
from orchestration.translator import TouchpointTranslator


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=TouchpointTranslator(),
    retry_policy=TRANSIENT_RETRY,
)
def warehouse_dbt_assets(
    context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
) -> Iterator[Any]:
    """`dbt build` of the selected models: runs them with their data tests and unit tests.

    DuckDB allows one writer at a time, so the row counts and column schemas of the built tables
    are read after dbt has finished, through one short-lived connection.
    """
    warehouse.ensure_directory()
    args = ["build", "--vars", json.dumps(warehouse.dbt_vars())]
    with warehouse.dbt_environment():
        invocation = dbt.cli(args, context=context, raise_on_error=False)
        events = list(invocation.stream())
    yield from _with_table_metadata(context, events, warehouse)
    if not invocation.is_successful():
        error = invocation.get_error() or RuntimeError("dbt build failed")
        if is_transient(str(error)):
            raise error  # retried by TRANSIENT_RETRY
        # A failing test, a SQL or compilation error: the same on every try.
        raise Failure(
            description=f"dbt build failed (not retried: not a transient error).\n{error}",
            allow_retries=False,
        ) from error


def _event_key(context: AssetExecutionContext, event: Any) -> AssetKey | None:
    if isinstance(event, Output):
        return context.asset_key_for_output(event.output_name)
    if isinstance(event, AssetMaterialization):
        return event.asset_key
    return None


def _with_table_metadata(
    context: AssetExecutionContext, events: list[Any], warehouse: WarehouseResource
) -> Iterator[Any]:
    """Attach ``dagster/row_count`` (tables) and ``dagster/column_schema`` to materializations."""
    built = {key for event in events if (key := _event_key(context, event)) is not None}
    if not built:
        yield from events
        return
    columns: dict[tuple[str, str], list[TableColumn]] = {}
    row_counts: dict[tuple[str, str], int] = {}
    with warehouse.get_connection() as con:
        catalog = con.execute(
            "select table_schema, table_name, column_name, data_type "
            "from information_schema.columns "
            "where table_catalog = current_database() "
            "order by table_schema, table_name, ordinal_position"
        ).fetchall()
        for schema, table, column, data_type in catalog:
            columns.setdefault((schema, table), []).append(TableColumn(name=column, type=data_type))
        tables = {
            (schema, table)
            for schema, table in con.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_catalog = current_database() and table_type = 'BASE TABLE'"
            ).fetchall()
        }
        for key in built:
            relation = tuple(key.path[-2:])
            if relation in tables:
                row_counts[relation] = con.execute(
                    f'select count(*) from "{relation[0]}"."{relation[1]}"'
                ).fetchone()[0]
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
        yield event.with_metadata({**event.metadata, **metadata}) if metadata else event
