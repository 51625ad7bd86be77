"""A full refresh records every daily partition it rebuilt (issue #19; DECISIONLOG 73).

``make run`` materializes the daily dbt models for one partition, the newest, with
``full_refresh``: dbt rebuilds them from all history, so every day up to that partition is built.
Dagster records only the run's own partition, and the UI then shows the daily assets as 1 of
about 700 partitions materialized. Running the full refresh as a single-run backfill over the
whole range would make Dagster record them all, but through its per-event path: one event (two
SQLite transactions) per asset and day, 29 assets x 700 days, several minutes (DECISIONLOG 56).

Here the step itself records the other days, after dbt built them and before Dagster stores the
step's own materializations: one lean ``AssetMaterialization`` of this run and step per asset and
day, written in one batch. The run's own partition keeps Dagster's event with the full metadata,
and stays each asset's latest materialization.

Storage: an event log storage with a batch write of its own (Postgres, Dagster+) takes the
events through ``store_event_batch``. Dagster's SQLite storages implement that as one
``store_event`` per event, so for them the events go into the cross-run index (where the
partition status and the asset's history are read) in one transaction; the run's own log does
not list them. The rows are ``store_event``'s, made from one serialized event per asset
(``_rows``, DECISIONLOG 99).
"""

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence

from dagster import AssetExecutionContext, AssetKey, AssetMaterialization, PartitionsDefinition
from dagster._core.events import DagsterEvent
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.base import EventLogStorage
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage

#: the description of a recorded day's materialization
RECORDED = "Rebuilt by the full refresh up to {last}."


def covered_partitions(
    partitions_def: PartitionsDefinition, run_partitions: Sequence[str]
) -> list[str]:
    """What a full refresh of ``run_partitions`` rebuilt besides them: every earlier partition."""
    if not run_partitions:
        return []
    own = set(run_partitions)
    last = max(run_partitions)
    return [key for key in partitions_def.get_partition_keys() if key < last and key not in own]


def record_full_refresh_partitions(
    context: AssetExecutionContext, asset_keys: Iterable[AssetKey]
) -> int:
    """Record the days a full refresh rebuilt, before the run's own partition, as materialized
    by this run and step, for each of ``asset_keys`` (the assets dbt built). Nothing on an
    ephemeral instance (tests, ``dagster.materialize`` without an instance): nobody reads its
    status. Returns the number of events stored."""
    instance = context.instance
    partitions_def = context.assets_def.partitions_def
    partitioned = context.has_partition_key or context.has_partition_key_range
    if instance.is_ephemeral or partitions_def is None or not partitioned:
        return 0
    run_partitions = context.partition_keys
    days = covered_partitions(partitions_def, run_partitions)
    step = context.get_step_execution_context()
    description = RECORDED.format(last=max(run_partitions))
    run_id, now, pid = context.run.run_id, time.time(), os.getpid()

    def entry(key: AssetKey, day: str) -> EventLogEntry:
        return EventLogEntry(
            error_info=None,
            level="DEBUG",
            user_message="",
            run_id=run_id,
            timestamp=now,
            step_key=step.step.key,
            job_name=step.job_name,
            dagster_event=DagsterEvent(
                event_type_value="ASSET_MATERIALIZATION",
                job_name=step.job_name,
                step_key=step.step.key,
                node_handle=step.step.node_handle,
                step_kind_value=step.step.kind.value,
                event_specific_data=_materialization_data(key, day, description),
                pid=pid,
            ),
        )

    keys = sorted(asset_keys, key=lambda key: key.to_user_string())
    storage = instance.event_log_storage
    if not days or not keys:
        return 0
    if _has_batch_write(storage) or not isinstance(storage, SqlEventLogStorage):
        storage.store_event_batch([entry(key, day) for key in keys for day in days])
    else:
        store_rows(storage, [row for key in keys for row in _rows(storage, entry, key, days)])
    return len(keys) * len(days)


def _materialization_data(key: AssetKey, day: str, description: str):
    from dagster._core.events import StepMaterializationData

    return StepMaterializationData(
        AssetMaterialization(asset_key=key, partition=day, description=description)
    )


#: a partition key no day has, put in one serialized event and replaced by each day's key
PLACEHOLDER = "@@partition@@"


def _has_batch_write(storage: EventLogStorage) -> bool:
    return type(storage).store_event_batch is not EventLogStorage.store_event_batch


def _rows(
    storage: SqlEventLogStorage,
    entry: Callable[[AssetKey, str], EventLogEntry],
    key: AssetKey,
    days: Sequence[str],
) -> Iterator[dict]:
    """The index rows ``store_event`` writes for ``key``'s event of each of ``days``. The
    events differ only in their partition, so one is serialized (``serialize_value``, about
    50 us an event: 1 s for a demo build's 21,000) with :data:`PLACEHOLDER` as its partition,
    and each day's row is that text with the day's key in its place."""
    template = storage._event_to_row(entry(key, PLACEHOLDER))  # noqa: SLF001 - store_event's row
    quoted = json.dumps(PLACEHOLDER)[1:-1]
    if template["event"].count(quoted) != 1 or template["partition"] != PLACEHOLDER:
        raise RuntimeError(f"the serialized event of {key.to_user_string()} changed form")
    for day in days:
        yield {
            **template,
            "event": template["event"].replace(quoted, json.dumps(day)[1:-1]),
            "partition": day,
        }


def store_rows(storage: SqlEventLogStorage, rows: Sequence[dict]) -> None:
    """Insert event rows into the cross-run index (where the partition status and the asset's
    history are read) in one transaction: about 0.4 s for 21,000, against about 2 ms an event
    one by one through ``store_event``."""
    if rows:
        with storage.index_transaction() as conn:
            conn.execute(SqlEventLogStorageTable.insert(), rows)  # executemany
