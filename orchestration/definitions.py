"""The Touchpoint Alchemy code location.

Importing this module is cheap: it reads the prepared dbt manifest but never parses dbt, opens
the warehouse, or imports heavy libraries.
"""

from dagster import Definitions, in_process_executor

from orchestration.assets.dbt import warehouse_dbt_assets
from orchestration.assets.predictive import customer_churn, customer_clusters, customer_clv
from orchestration.assets.raw import raw_files
from orchestration.assets.scoring import customer_rfm, markov_attribution
from orchestration.reliability import raw_freshness_checks, record_run_failure
from orchestration.resources import build_resources
from orchestration.schedules import build_warehouse_job, daily_schedule

defs = Definitions(
    assets=[
        raw_files,
        warehouse_dbt_assets,
        customer_rfm,
        markov_attribution,
        customer_clv,
        customer_churn,
        customer_clusters,
    ],
    asset_checks=raw_freshness_checks(),
    jobs=[build_warehouse_job],
    schedules=[daily_schedule],
    sensors=[record_run_failure],
    resources=build_resources(),
    # One DuckDB file takes one writer at a time, so steps could not write in parallel anyway;
    # running them in one process saves starting a Python process per step.
    executor=in_process_executor,
)
