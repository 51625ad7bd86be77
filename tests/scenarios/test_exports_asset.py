"""The ``warehouse/parquet_exports`` asset on its own, over a copy of the shared cohorts_small
build (no build of its own): PARQUET_EXPORTS=false exports nothing, and the asset run alone
exports the published snapshot again, into a new set behind the same link. The exports' content
is tested on the demo build (tests/warehouse/test_exports.py)."""

from __future__ import annotations

import json
import shutil

import dagster as dg

from orchestration.exports import PARQUET_EXPORTS, parquet_exports
from orchestration.resources import build_resources
from touchpoint_alchemy.settings import Settings


def _export(path, raw_dir, enabled: bool) -> dg.ExecuteInProcessResult:
    settings = Settings(warehouse_path=path, raw_data_dir=raw_dir, parquet_exports=enabled)
    with dg.DagsterInstance.ephemeral() as instance:
        return dg.materialize(
            [parquet_exports], resources=build_resources(settings), instance=instance
        )


def test_the_exports_asset_alone_and_its_switch(cohorts_small_warehouse, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(cohorts_small_warehouse.path, path)
    link = tmp_path / "exports" / "warehouse" / "marts"

    off = _export(path, cohorts_small_warehouse.raw_dir, enabled=False)
    assert off.success and not off.asset_materializations_for_node("warehouse__parquet_exports")
    assert not (tmp_path / "exports").exists()

    first = _export(path, cohorts_small_warehouse.raw_dir, enabled=True)
    [materialization] = first.asset_materializations_for_node("warehouse__parquet_exports")
    assert materialization.asset_key == PARQUET_EXPORTS
    with cohorts_small_warehouse.connect() as con:
        run_id = con.execute("select run_id from audit.build_info()").fetchone()[0]
        rows = con.execute("select count(*) from marts.cohort_retention").fetchone()[0]
    assert materialization.metadata["snapshot_run_id"].value == run_id
    assert json.loads((link / "_export.json").read_text())["run_id"] == run_id
    assert materialization.metadata["rows"].value["cohort_retention"] == rows
    first_set = link.resolve()

    assert _export(path, cohorts_small_warehouse.raw_dir, enabled=True).success
    assert link.resolve() != first_set and first_set.is_dir()  # the previous set is kept
