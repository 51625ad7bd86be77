"""The journey report: one self-contained interactive HTML file drawn from the marts.

A thin wrapper. The tables it reads are those of the dbt exposure ``journey_report``, found in
the manifest (``touchpoint_alchemy.report.exposure_inputs``); it reads them as Arrow tables,
calls ``touchpoint_alchemy.report`` to draw the page, and writes the file atomically, by
default to ``<folder of the warehouse file>/reports/journey_report.html``
(``data/reports/journey_report.html`` for ``make run``). plotly and pandas are imported inside
the asset, so loading the code location stays fast.
"""

import os
from collections.abc import Sequence
from datetime import UTC, datetime

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)
from dagster_dbt.asset_utils import get_manifest_and_translator_from_dbt_assets
from pydantic import Field

from orchestration.assets.dbt import warehouse_dbt_assets
from orchestration.resources import WarehouseResource
from orchestration.retries import TRANSIENT_RETRY, fail_fast_unless_transient
from orchestration.translator import OWNER
from touchpoint_alchemy.report.inputs import exposure_inputs  # standard library only

REPORT_KEY = AssetKey(["reports", "journey_report"])

_manifest, _translator, _ = get_manifest_and_translator_from_dbt_assets([warehouse_dbt_assets])
#: table name -> where it is, for every table the exposure lists
INPUTS = exposure_inputs(_manifest)
#: table name -> its asset key (a dbt model's, or a dbt source table's)
INPUT_KEYS = {
    name: _translator.get_asset_key(
        (_manifest["sources"] if relation.resource_type == "source" else _manifest["nodes"])[
            relation.unique_id
        ]
    )
    for name, relation in INPUTS.items()
}


class JourneyReportConfig(Config):
    """Where the report goes (Dagster run config of ``reports/journey_report``)."""

    output_path: str | None = Field(
        default=None,
        description="The HTML file to write. Default: <folder of the warehouse file>/reports/"
        "journey_report.html.",
    )


def _dbt_target_dir() -> str:
    from touchpoint_alchemy.settings import DBT_PROJECT_DIR

    return os.environ.get("DBT_TARGET_PATH") or str(DBT_PROJECT_DIR / "target")


def report_deps(upstream: Sequence[AssetsDefinition]) -> list[AssetKey]:
    """The report's inputs that an asset of ``upstream`` materializes or declares. Every dbt
    model is one; so is every scoring table the report reads (scoring.model_metrics, declared
    by an asset of its own whose writers are the predictive assets)."""
    produced = {key for definition in upstream for key in definition.keys}
    missing = [
        name
        for name, key in INPUT_KEYS.items()
        if key not in produced and INPUTS[name].resource_type != "source"
    ]
    if missing:
        raise ValueError(f"the journey report reads models that no asset builds: {missing}")
    return [key for key in INPUT_KEYS.values() if key in produced]


def build_journey_report(upstream: Sequence[AssetsDefinition]) -> AssetsDefinition:
    """``reports/journey_report``, depending on the inputs ``upstream`` materializes."""

    @asset(
        key=REPORT_KEY,
        deps=report_deps(upstream),
        group_name="reports",
        owners=[OWNER],
        retry_policy=TRANSIENT_RETRY,
        kinds={"python", "plotly", "html"},
        description=(
            "Interactive journey report: one self-contained HTML file (plotly.js inlined, no "
            "network) with the purchase funnel, funnel by channel and device, cohort retention "
            "and LTV, LTV:CAC, attribution by model, touchpoint value, lifecycle, RFM and CLV "
            "by churn risk, NPS, experiments and conversion by hour and weekday, each with a "
            "takeaway, and a header with the data window, row counts, the quarantine, the dbt "
            "test results and the predictive models' status. It reads the tables of the dbt "
            "exposure journey_report. Written to <warehouse folder>/reports/journey_report.html "
            "unless output_path is set."
        ),
    )
    @fail_fast_unless_transient
    def journey_report(
        context: AssetExecutionContext, config: JourneyReportConfig, warehouse: WarehouseResource
    ) -> MaterializeResult:
        from touchpoint_alchemy.report import (
            ReportInputs,
            dbt_test_results,
            default_report_path,
            render_journey_report,
            write_atomically,
        )

        with warehouse.session():  # one connection for the ~30 tables
            tables = {
                name: warehouse.read_table(relation.schema, relation.identifier).to_pandas()
                for name, relation in INPUTS.items()
            }
        dbt_tests = dbt_test_results(_dbt_target_dir(), context.run.run_id)
        inputs = ReportInputs(
            tables=tables,
            built_at=datetime.now(UTC).replace(tzinfo=None),
            dbt_tests=dbt_tests,
            source=warehouse.published_path.name,
        )
        path = write_atomically(
            config.output_path or default_report_path(warehouse.published_path),
            render_journey_report(inputs),
        )
        context.log.info(f"Journey report written to {path}")
        return MaterializeResult(
            metadata={
                "path": MetadataValue.path(str(path)),
                "size_bytes": path.stat().st_size,
                "dbt_tests": MetadataValue.json(dbt_tests or {}),
                "rows_read": MetadataValue.json(
                    {name: len(frame) for name, frame in tables.items()}
                ),
            }
        )

    return journey_report
