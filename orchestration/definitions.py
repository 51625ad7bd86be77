"""The Touchpoint Alchemy code location.

Importing this module is cheap: it reads the prepared dbt manifest but never parses dbt, opens
the warehouse, or imports heavy libraries.
"""

from dagster import Definitions, in_process_executor

from orchestration.assets.dbt import daily_dbt_assets, warehouse_dbt_assets
from orchestration.assets.raw import raw_files
from orchestration.assets.report import build_journey_report
from orchestration.assets.scoring import SCORING_ASSETS
from orchestration.code_references import with_code_references
from orchestration.exports import parquet_exports
from orchestration.privacy import pii_scan_check
from orchestration.publish import build_publish_asset
from orchestration.reliability import raw_freshness_checks, record_run_failure
from orchestration.resources import build_resources
from orchestration.schedules import build_warehouse_job, daily_schedule

UPSTREAM_ASSETS = [
    raw_files,
    daily_dbt_assets,
    warehouse_dbt_assets,
    *SCORING_ASSETS,
]
# The report depends on the tables of its dbt exposure that these assets build.
BUILD_ASSETS = [*UPSTREAM_ASSETS, build_journey_report(UPSTREAM_ASSETS)]

defs = Definitions(
    # A run builds into its own working copy; the publish asset, downstream of every terminal
    # asset, moves it over the published warehouse once the rest succeeded (DECISIONLOG 36); the
    # marts are then exported to Parquet from the published file. Each asset links to its code:
    # a model's SQL, a step's function (code_references.py).
    assets=with_code_references(
        [*BUILD_ASSETS, build_publish_asset(BUILD_ASSETS), parquet_exports]
    ),
    asset_checks=[*raw_freshness_checks(), pii_scan_check(BUILD_ASSETS)],
    jobs=[build_warehouse_job],
    schedules=[daily_schedule],
    sensors=[record_run_failure],
    resources=build_resources(),
    # One DuckDB file takes one writer at a time, so steps could not write in parallel anyway;
    # running them in one process saves starting a Python process per step.
    executor=in_process_executor,
)
