"""Jobs and schedules, as asset selections."""

from dagster import AssetSelection, ScheduleDefinition, define_asset_job

build_warehouse_job = define_asset_job(
    name="build_warehouse",
    selection=AssetSelection.all(),
    description="Check the raw files, build every dbt model with its tests, and score customers.",
)

daily_schedule = ScheduleDefinition(
    name="daily_warehouse_build",
    job=build_warehouse_job,
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
    description="Materialize everything every day at 02:00 UTC.",
)
