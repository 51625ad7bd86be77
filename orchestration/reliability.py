"""Run reliability: retries for transient failures, a structured record of every failed run
(and an optional webhook), and freshness checks on the raw data.

- Retries live in ``orchestration.retries``: transient failures are retried, data errors not.
- ``record_run_failure`` is a run-failure sensor. For every failed run it writes one JSON file to
  ``RUN_FAILURE_DIR`` (default ``data/run_failures/``) and, when ``RUN_FAILURE_WEBHOOK_URL`` is
  set, posts ``{"text": <a human summary>, "record": <the same JSON>}`` there: the shape Slack,
  Mattermost and Teams incoming webhooks accept (``text``), with the record beside it for an
  endpoint of your own.
- ``raw_freshness_checks`` are asset checks ``raw_fresh`` on the staged models of the raw
  files: the newest valid timestamp of a file must be at most ``RAW_FRESHNESS_HOURS`` old. A
  stale file warns; with ``RAW_FRESHNESS_ACTION=fail`` the check step fails, and so does the
  run.

The four settings are fields of the ``operations`` resource (``orchestration/settings.py``),
which the sensor and the checks take.
"""

import json
import os
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    DefaultSensorStatus,
    Failure,
    MetadataValue,
    RunFailureSensorContext,
    asset_check,
    run_failure_sensor,
)

from orchestration.assets.dbt import model_asset_key, source_tables
from orchestration.resources import WarehouseResource
from orchestration.retries import fail_fast_unless_transient
from orchestration.settings import OperationsResource
from touchpoint_alchemy.sql import quote_identifier, quote_relation

# --- run failures ------------------------------------------------------------------------------


def failure_record(context: RunFailureSensorContext) -> dict:
    """What failed, where and why, as plain JSON."""
    run = context.dagster_run
    steps = []
    for event in context.get_step_failure_events():
        error = event.event_specific_data.error if event.event_specific_data else None
        steps.append(
            {
                "step": event.step_key,
                "error": error.message.strip() if error else None,
                "error_class": error.cls_name if error else None,
            }
        )
    run_error = context.failure_event.event_specific_data
    message = getattr(getattr(run_error, "error", None), "message", None)
    return {
        "run_id": run.run_id,
        "job": run.job_name,
        "status": run.status.value,
        "partition": run.tags.get("dagster/partition"),
        "tags": {k: v for k, v in run.tags.items() if not k.startswith(".dagster")},
        "failed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "message": context.failure_event.message,
        "run_error": message.strip() if message else None,
        "failed_steps": steps,
        "dagster_ui_path": f"/runs/{run.run_id}",
    }


def write_failure_record(record: dict, directory: Path) -> Path:
    """Write the record atomically (temporary file, then rename): a reader never sees half."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{record['failed_at'].replace(':', '')}_{record['run_id']}.json"
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    os.replace(temporary, path)
    return path


#: How much of one error message the summary keeps (chat messages are read on a phone).
SUMMARY_ERROR_CHARS = 500


def _short_error(error: str | None) -> str:
    """``dagster._core.definitions.events.Failure: text`` -> ``Failure: text``, cut to length."""
    text = (error or "no error message").strip()
    head, sep, rest = text.partition(": ")
    if sep and " " not in head and "." in head:
        text = f"{head.rsplit('.', 1)[1]}: {rest}"
    return text if len(text) <= SUMMARY_ERROR_CHARS else text[: SUMMARY_ERROR_CHARS - 1] + "…"


def failure_summary(record: dict) -> str:
    """The record in a few plain lines: what failed, where, why, and where to look."""
    partition = f", partition {record['partition']}" if record.get("partition") else ""
    lines = [f"Touchpoint Alchemy: run {record['run_id']} of {record['job']} failed{partition}."]
    for step in record.get("failed_steps") or []:
        lines.append(f"Step {step['step']}: {_short_error(step.get('error'))}")
    if not record.get("failed_steps"):
        lines.append(_short_error(record.get("run_error") or record.get("message")))
    lines.append(f"Dagster UI: {record['dagster_ui_path']}")
    return "\n".join(lines)


def webhook_payload(record: dict) -> dict:
    """``text`` for the chat targets (Slack, Mattermost and Teams incoming webhooks all require
    or accept it), the record nested under ``record`` so that no field of it can ever mean
    something to a target (Slack and Mattermost read ``channel``, ``username``, ``type``...)."""
    return {"text": failure_summary(record), "record": record}


def post_webhook(url: str, record: dict, timeout: float = 10.0) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(webhook_payload(record)).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (configured URL)
        return response.status


@run_failure_sensor(
    name="record_run_failure",
    description=(
        "Writes a JSON record of every failed run to RUN_FAILURE_DIR (default "
        "data/run_failures/) and posts a summary (`text`) with the record (`record`) to "
        "RUN_FAILURE_WEBHOOK_URL when that is set."
    ),
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    monitor_all_code_locations=False,
)
def record_run_failure(context: RunFailureSensorContext, operations: OperationsResource) -> None:
    record = failure_record(context)
    path = write_failure_record(record, operations.failure_directory())
    context.log.info(f"Run failure recorded in {path}")
    url = operations.webhook_url()
    if url:
        try:
            status = post_webhook(url, record)
            context.log.info(f"Run failure posted to the webhook (HTTP {status})")
        except OSError as error:  # a broken webhook must not break the sensor
            context.log.warning(f"Run failure webhook failed: {error}")


# --- raw data freshness ---------------------------------------------------------------------------

#: raw file -> (staged model, its event-time column): the newest *valid* row counts. Declared in
#: the dbt project, as the raw source tables' ``meta.freshness``.
FRESHNESS_COLUMNS = {
    name: (node["meta"]["freshness"]["model"], node["meta"]["freshness"]["column"])
    for name, node in source_tables("raw").items()
    if (node.get("meta") or {}).get("freshness")
}


def _freshness_check(name: str, staged_key: AssetKey, column: str):
    @asset_check(
        asset=staged_key,
        name="raw_fresh",
        blocking=True,
        description=(
            f"The newest valid {column} of raw file `{name}` is at most RAW_FRESHNESS_HOURS "
            "(default 36) old. Warns; fails the run when RAW_FRESHNESS_ACTION=fail."
        ),
    )
    @fail_fast_unless_transient
    def check(
        context: AssetCheckExecutionContext,
        warehouse: WarehouseResource,
        operations: OperationsResource,
    ) -> AssetCheckResult:
        hours, fail = operations.freshness_limit()
        schema, table = staged_key.path[-2:]
        with warehouse.get_connection() as con:
            newest = con.execute(
                f"select max({quote_identifier(column)}) from {quote_relation(schema, table)}"
            ).fetchone()[0]
        now = datetime.now(UTC).replace(tzinfo=None)
        if newest is not None and not isinstance(newest, datetime):
            newest = datetime(newest.year, newest.month, newest.day)
        age_hours = None if newest is None else (now - newest).total_seconds() / 3600
        fresh = age_hours is not None and age_hours <= hours
        description = (
            f"newest {column}: {newest}; {age_hours:,.1f} h old (limit {hours:g} h)"
            if age_hours is not None
            else f"no valid row in {name}"
        )
        if fail and not fresh:
            # A failed check step fails the run (a returned ERROR result would only be shown).
            raise Failure(
                description=f"Raw file '{name}' is stale: {description} "
                "(RAW_FRESHNESS_ACTION=fail).",
                allow_retries=False,
            )
        return AssetCheckResult(
            passed=fresh,
            severity=AssetCheckSeverity.ERROR if fail else AssetCheckSeverity.WARN,
            description=description,
            metadata={
                "newest": MetadataValue.text(str(newest)),
                "age_hours": MetadataValue.float(age_hours if age_hours is not None else -1.0),
                "limit_hours": MetadataValue.float(hours),
            },
        )

    return check


def raw_freshness_checks() -> list[AssetChecksDefinition]:
    """One check per raw file with an event time, on its staged model (the valid rows); it runs
    right after the dbt step that stages the file."""
    return [
        _freshness_check(name, model_asset_key(model), column)
        for name, (model, column) in FRESHNESS_COLUMNS.items()
    ]
