"""Jobs and schedules, as asset selections."""

from datetime import timedelta

from dagster import (
    AssetSelection,
    RunRequest,
    ScheduleEvaluationContext,
    define_asset_job,
    schedule,
)

from orchestration.assets.dbt import daily_partitions
from orchestration.assets.model_store import REFIT_TAG

build_warehouse_job = define_asset_job(
    name="build_warehouse",
    selection=AssetSelection.all(),
    partitions_def=daily_partitions,
    description=(
        "Check the raw files, build the day's partition of the incremental touchpoint models, "
        "then every unpartitioned model with its tests, and score customers."
    ),
)

#: the day of the week (Monday 0 .. Sunday 6, UTC) whose 02:00 run also refits the models
REFIT_WEEKDAY = 6


@schedule(
    cron_schedule="0 2 * * *",
    job=build_warehouse_job,
    execution_timezone="UTC",
    name="daily_warehouse_build",
    description=(
        "Materialize yesterday's partition and everything downstream at 02:00 UTC. The "
        "scoring models score with their stored fit; Sunday's run refits them "
        f"({REFIT_TAG}=true)."
    ),
)
def daily_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    """Yesterday's partition: the incremental models reprocess it minus the lookback, then the
    unpartitioned marts rebuild and the models score (refitting once a week)."""
    when = context.scheduled_execution_time
    day = (when - timedelta(days=1)).date().isoformat()
    tags = {REFIT_TAG: "true"} if when.weekday() == REFIT_WEEKDAY else {}
    return RunRequest(run_key=day, partition_key=day, tags=tags)
