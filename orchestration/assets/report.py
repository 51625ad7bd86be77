"""The journey report: one self-contained interactive HTML file drawn from the marts.

A thin wrapper: it reads the marts (and the quarantine and the data cutoff) as Arrow tables,
calls ``touchpoint_alchemy.report`` to draw the charts, and writes the file atomically, by
default to ``<folder of the warehouse file>/reports/journey_report.html``
(``data/reports/journey_report.html`` for ``make run``). plotly and pandas are imported inside
the asset, so loading the code location stays fast (the report package itself imports only the
standard library at load time).
"""

import os
from datetime import UTC, datetime

from dagster import AssetExecutionContext, AssetKey, Config, MaterializeResult, MetadataValue, asset
from dagster_dbt import get_asset_key_for_model
from pydantic import Field

from orchestration.assets.dbt import warehouse_dbt_assets
from orchestration.assets.predictive import MODEL_METRICS_TABLE, SCORING_SCHEMA
from orchestration.resources import WarehouseResource
from orchestration.retries import TRANSIENT_RETRY, fail_fast_unless_transient
from orchestration.translator import OWNER
from touchpoint_alchemy.report.journey import INPUT_TABLES  # standard library only

INPUT_KEYS = {name: get_asset_key_for_model([warehouse_dbt_assets], name) for name in INPUT_TABLES}
FUNNEL_CHAINS = get_asset_key_for_model([warehouse_dbt_assets], "int_funnel_chains")


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


@asset(
    key=AssetKey(["reports", "journey_report"]),
    deps=[*INPUT_KEYS.values(), FUNNEL_CHAINS],
    group_name="reports",
    owners=[OWNER],
    retry_policy=TRANSIENT_RETRY,
    kinds={"python", "plotly", "html"},
    description=(
        "Interactive journey report: one self-contained HTML file (plotly.js inlined, no "
        "network) with the purchase funnel, funnel by channel and device, cohort retention and "
        "LTV, LTV:CAC, attribution by model, touchpoint value, lifecycle, RFM and CLV by churn "
        "risk, NPS, experiments and conversion by hour and weekday, each with a takeaway, and a "
        "header with the data window, row counts, the quarantine and the dbt test results. "
        "Written to <warehouse folder>/reports/journey_report.html unless output_path is set."
    ),
)
@fail_fast_unless_transient
def journey_report(
    context: AssetExecutionContext, config: JourneyReportConfig, warehouse: WarehouseResource
) -> MaterializeResult:
    from touchpoint_alchemy.report import (
        STEP_GAPS_SQL,
        ReportInputs,
        dbt_test_results,
        default_report_path,
        render_journey_report,
        write_atomically,
    )
    from touchpoint_alchemy.scoring import model_statuses

    tables = {name: warehouse.read_table(*key.path).to_pandas() for name, key in INPUT_KEYS.items()}
    metrics = warehouse.read_table(
        SCORING_SCHEMA, MODEL_METRICS_TABLE, columns=["model", "metric", "value", "n", "detail"]
    )
    chains = ".".join(f'"{part}"' for part in FUNNEL_CHAINS.path[-2:])
    with warehouse.get_connection() as con:
        step_gaps = con.execute(STEP_GAPS_SQL.format(relation=chains)).df()
    dbt_tests = dbt_test_results(_dbt_target_dir(), context.run.run_id)
    inputs = ReportInputs(
        tables=tables,
        built_at=datetime.now(UTC).replace(tzinfo=None),
        step_gaps=step_gaps,
        dbt_tests=dbt_tests,
        source=os.path.basename(warehouse.database),
        models=model_statuses(zip(*metrics.to_pydict().values(), strict=True)),
    )
    path = write_atomically(
        config.output_path or default_report_path(warehouse.database),
        render_journey_report(inputs),
    )
    context.log.info(f"Journey report written to {path}")
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(path)),
            "size_bytes": path.stat().st_size,
            "dbt_tests": MetadataValue.json(dbt_tests or {}),
            "rows_read": MetadataValue.json({name: len(frame) for name, frame in tables.items()}),
        }
    )
