"""The dbt steps' target folders: where each dbt step writes, the saved parse it starts from
(DECISIONLOG 71), and the column lineage read from what it compiled (DECISIONLOG 69)."""

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey, TableColumnDep, TableColumnLineage

from orchestration.parse import PARTIAL_PARSE
from touchpoint_alchemy import lineage
from touchpoint_alchemy.dbt_targets import (
    parse_cache_path,
    prune_step_folders,
    step_folder_name,
    target_base,
)


def column_lineage(context: AssetExecutionContext, invocation: Any) -> dict[AssetKey, Any]:
    """``dagster/column_lineage`` of the models this dbt invocation compiled, from its own
    manifest.json (declared columns, compiled SQL; ``touchpoint_alchemy.lineage``), cached in the
    target folder. A model sqlglot cannot resolve gets none (a debug log), never an error."""
    try:  # metadata only: nothing here may fail the build
        compiled = json.loads((invocation.target_path / "manifest.json").read_text())
        found = lineage.column_lineage(compiled, cache_path=dbt_target_base() / lineage.CACHE_FILE)
        nodes = {**invocation.manifest["nodes"], **invocation.manifest["sources"]}
        key = {uid: invocation.dagster_dbt_translator.get_asset_key(n) for uid, n in nodes.items()}
    except Exception as error:  # noqa: BLE001
        context.log.debug(f"No column lineage in this step: {type(error).__name__}: {error}")
        return {}
    for model, reason in found.unresolved.items():
        context.log.debug(f"No column lineage for {model}: sqlglot cannot resolve it: {reason}")
    return {
        key[model]: TableColumnLineage(
            deps_by_column={
                column: [TableColumnDep(asset_key=key[p], column_name=c) for p, c in deps]
                for column, deps in columns.items()
            }
        )
        for model, columns in found.lineage.items()
        if model in key and all(p in key for deps in columns.values() for p, _ in deps)
    }


def dbt_target_base() -> Path:
    """The folder of the dbt steps' target folders (DBT_TARGET_PATH, default dbt_project/target)."""
    return target_base()


def step_target_path(
    context: AssetExecutionContext, dbt_vars: str, target: str | None
) -> tuple[Path, Path]:
    """dagster-dbt's target folder for this dbt step, ``<op>-<run id[:7]>-<uuid>``, seeded with
    the saved parse of the last dbt step that had the same vars and profile, and that saved
    parse's file (``<target>/parse-cache/<key>.msgpack``).

    dbt parses the whole project again (about 8 s) when the vars or the profile's connection
    settings differ from those of the ``partial_parse.msgpack`` it finds. The runs pass no vars
    and open every warehouse through the same path (``snapshots.shared_path``), so one cache
    usually serves them all; extra vars, another memory limit or target get a cache of their
    own (dbt checks the rest itself and re-parses what changed). Each step keeps its own
    folder, so each keeps its own ``run_results.json`` (the journey report reads them all)."""
    base = dbt_target_base()
    run = context.run_id[:7]
    path = base / step_folder_name(context.op_execution_context.op.name, run, uuid.uuid4().hex)
    path.mkdir(parents=True, exist_ok=True)
    cache = parse_cache_path(base, dbt_vars, target, os.environ)
    if cache.exists():
        shutil.copy(cache, path / PARTIAL_PARSE)
    prune_step_folders(base)  # older runs' folders (touchpoint_alchemy/dbt_targets.py)
    return path, cache
