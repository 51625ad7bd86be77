"""Jobs and schedules, as asset selections."""

from dagster import AssetSelection, build_schedule_from_partitioned_job, define_asset_job

from orchestration.assets.dbt import daily_partitions

build_warehouse_job = define_asset_job(
    name="build_warehouse",
    selection=AssetSelection.all(),
    partitions_def=daily_partitions,
    description=(
        "Check the raw files, build the day's partition of the incremental touchpoint models, "
        "then every unpartitioned model with its tests, and score customers."
    ),
)

# Every day at 02:00 UTC, for yesterday's partition: the incremental models reprocess
# yesterday minus the lookback, then the unpartitioned marts and scores rebuild.
daily_schedule = build_schedule_from_partitioned_job(
    build_warehouse_job,
    name="daily_warehouse_build",
    hour_of_day=2,
    minute_of_hour=0,
    description="Materialize yesterday's partition and everything downstream at 02:00 UTC.",
)
