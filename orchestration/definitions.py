"""The Touchpoint Alchemy code location.

Importing this module is cheap: it reads the prepared dbt manifest but never parses dbt, opens
the warehouse, or imports heavy libraries.
"""

from dagster import Definitions

from orchestration.assets.dbt import warehouse_dbt_assets
from orchestration.assets.raw import raw_files
from orchestration.assets.scoring import customer_rfm
from orchestration.resources import build_resources
from orchestration.schedules import build_warehouse_job, daily_schedule

defs = Definitions(
    assets=[raw_files, warehouse_dbt_assets, customer_rfm],
    jobs=[build_warehouse_job],
    schedules=[daily_schedule],
    resources=build_resources(),
)
