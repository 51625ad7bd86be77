"""Which rows a dbt step's data tests read: the rows a daily run wrote, or whole tables
(DECISIONLOG 77).

A daily model that declares ``config: {meta: {test_window: <SQL condition>}}`` in its YAML (the
rows its daily run rewrites) has its key tests (``unique``, ``unique_combination_of_columns``)
read only those rows on a daily partition run: the dbt macro ``get_where_subquery``
(dbt_project/macros/data_tests.sql) applies the condition when the test runs, with the window
the models read (``INCREMENTAL_WINDOW_START``). Every other test, and every test of a full
refresh or a run without a partition (no window), reads whole tables.

This module decides the rest per run and tells dbt through ``DATA_TEST_SCOPE`` (read when the
tests run, never while dbt parses, so the saved parse survives): ``full`` on the schedule's
weekly run (``touchpoint/refit=true``), which tests everything the daily runs left out, and on
a first build (the published warehouse lacks a windowed model: dbt built it from all history).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import duckdb
from dagster import AssetExecutionContext

from orchestration.assets.model_store import REFIT_TAG
from orchestration.resources import WarehouseResource
from touchpoint_alchemy import catalog, labels, pii_scope

#: the environment variable the dbt macro reads, and its values
SCOPE_VARIABLE = "DATA_TEST_SCOPE"
FULL = "full"
WINDOW = "window"
#: a model's ``meta`` key: the SQL condition of the rows a daily run wrote
WINDOW_META = "test_window"

Relation = tuple[str, str]


def windowed_models(manifest: Mapping[str, Any]) -> dict[str, Relation]:
    """Model name -> (schema, table) of every model that declares ``meta.test_window``."""
    return {
        node["name"]: pii_scope.relation(node)
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and ((node.get("config") or {}).get("meta") or {}).get(WINDOW_META)
    }


def decide(
    tags: Mapping[str, str], window_start: str | None, built_before: bool
) -> tuple[str, str]:
    """(scope, why) of a run whose daily models reprocess from ``window_start`` (None: a full
    refresh or a run without a partition); ``built_before``: the published warehouse held every
    windowed model before this run."""
    if not window_start:
        return FULL, "a full refresh or a run without a partition"
    if tags.get(REFIT_TAG, "").strip().lower() == "true":
        return FULL, f"the weekly run ({REFIT_TAG}=true)"
    if not built_before:
        return FULL, "a first build (the daily models were built from all history)"
    return WINDOW, "a daily run"


def built_before_this_run(warehouse: WarehouseResource, tables: set[Relation]) -> bool:
    """Whether the published warehouse this run started from holds every table of ``tables``
    (as dbt's ``is_incremental()`` asks: otherwise the daily models were built in full)."""
    published = warehouse.published_path
    if warehouse.working_path is None or not published.exists():
        return False
    try:
        with duckdb.connect(str(published), read_only=True) as con:
            found = {(schema, table) for schema, table, _ in catalog.tables(con)}
    except duckdb.Error:  # cannot tell (held by another writer): test everything
        return False
    return tables <= found


def data_test_environment(
    context: AssetExecutionContext,
    warehouse: Any,
    manifest: Mapping[str, Any],
    window_start: str | None,
) -> dict[str, str]:
    """``DATA_TEST_SCOPE`` for this dbt step, said once in the step's log."""
    models = windowed_models(manifest)
    built_before = (
        # Spark rebuilds the daily models in full: the macro reads whole tables there anyway
        not isinstance(warehouse, WarehouseResource)
        or (bool(window_start) and built_before_this_run(warehouse, set(models.values())))
    )
    scope, why = decide(context.run.tags, window_start, built_before)
    if scope == WINDOW and window_start:
        since = pii_scope.window_since(window_start, labels.incremental_lookback_days())
        context.log.info(
            f"The key tests (unique, grain) of {len(models)} daily models "
            f"({', '.join(sorted(models))}) read the rows this run wrote (since {since}, and the "
            f"actors it rebuilt); every other test reads whole tables, and every test of the "
            f"weekly run ({REFIT_TAG}=true), a full refresh and a first build."
        )
    else:
        context.log.info(f"Every data test reads whole tables: {why}.")
    return {SCOPE_VARIABLE: scope}
