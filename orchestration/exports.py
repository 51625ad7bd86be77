"""``warehouse/parquet_exports``: after each publish, every mart as Parquet for BI tools.

A thin wrapper of ``touchpoint_alchemy.exports``: it runs after ``warehouse/published_snapshot``
materialized (a run that did not publish exports nothing), reads the marts from the dbt manifest
and exports them from the published file into a new set that replaces the current one
atomically. PARQUET_EXPORTS=false (the ``warehouse`` resource's ``parquet_exports``) turns it off.
"""

import json
from collections.abc import Iterator

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from orchestration.project import dbt_project
from orchestration.publish import LAST, PUBLISH_GROUP, PUBLISHED_SNAPSHOT
from orchestration.resources import WarehouseResource
from orchestration.retries import fail_fast_unless_transient
from orchestration.translator import OWNER
from touchpoint_alchemy import exports

PARQUET_EXPORTS = AssetKey(["warehouse", "parquet_exports"])


@asset(
    key=PARQUET_EXPORTS,
    deps=[PUBLISHED_SNAPSHOT],
    group_name=PUBLISH_GROUP,
    owners=[OWNER],
    op_tags=LAST,
    output_required=False,
    kinds={"parquet"},
    description=(
        "Every mart of the published snapshot as Parquet, one folder per mart under "
        "<dir>/exports/<file stem>/marts/, for BI tools that cannot open a DuckDB file. A new "
        "export set replaces the current one atomically (PARQUET_EXPORTS, docs/operating.md)."
    ),
)
@fail_fast_unless_transient
def parquet_exports(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> Iterator[MaterializeResult]:
    if not warehouse.exports_enabled:
        context.log.info("Parquet exports are off (PARQUET_EXPORTS=false): nothing exported.")
        return
    manifest = json.loads(dbt_project.manifest_path.read_text())
    exported = exports.export_marts(warehouse.published_path, exports.mart_relations(manifest))
    link = exports.current_link(warehouse.published_path)
    context.log.info(f"Exported {len(exported.rows)} marts of run {exported.run_id} to {link}")
    yield MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(link)),
            "export_set": MetadataValue.path(str(exported.path)),
            "snapshot_run_id": MetadataValue.text(exported.run_id or ""),
            "marts": len(exported.rows),
            "rows": MetadataValue.json(exported.rows),
        }
    )
