"""A full refresh records every daily partition it rebuilt (issue #19; DECISIONLOG 73).

``make run`` materializes the daily dbt models for one partition, the newest, with
``full_refresh``: dbt rebuilds them from all history, so every day up to that partition is built.
Dagster records only the run's own partition, and the UI then shows the daily assets as 1 of
about 700 partitions materialized. Running the full refresh as a single-run backfill over the
whole range would make Dagster record them all, but through its per-event path: one event (two
SQLite transactions) per asset and day, 29 assets x 700 days, several minutes (DECISIONLOG 56).

Here the step itself records the other days, as dbt reports each asset built (in a thread of its
own while dbt builds the rest) and before Dagster stores the step's own materializations: one
lean ``AssetMaterialization`` of this run and step per asset and day, written in batches. The
run's own partition keeps Dagster's event with the full metadata, and stays each asset's latest
materialization.

Storage: an event log storage with a batch write of its own (Postgres, Dagster+) takes the
events through ``store_event_batch``. Dagster's SQLite storages implement that as one
``store_event`` per event, so for them the events go into the cross-run index (where the
partition status and the asset's history are read) in one transaction; the run's own log does
not list them. The rows are ``store_event``'s, made from one serialized event per asset
(``_rows``, DECISIONLOG 99).
"""

import contextlib
import json
import os
import queue
import threading
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


class FullRefreshRecorder:
    """Records the days a full refresh rebuilt, before the run's own partition, as materialized
    by this run and step, for each asset dbt built (:meth:`add`, as dbt reports it built), in a
    thread of its own while dbt builds the rest: the rows of a demo build (about 22,000) took
    1.2 s after dbt had finished, most of it SQLite's insert and commit (DECISIONLOG 136).
    :meth:`close` waits for the last of them, so every recorded day is stored before the step
    yields its own materializations, which stay each asset's latest. Nothing on an ephemeral
    instance (tests, ``dagster.materialize`` without an instance): nobody reads its status.

    Use it as a context manager; :attr:`recorded` is the number of events stored."""

    def __init__(self, context: AssetExecutionContext) -> None:
        self.recorded = 0
        self._queue: queue.SimpleQueue[AssetKey | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._keys: set[AssetKey] = set()
        instance = context.instance
        partitions_def = context.assets_def.partitions_def
        partitioned = context.has_partition_key or context.has_partition_key_range
        self._active = not instance.is_ephemeral and partitions_def is not None and partitioned
        if not self._active:
            return
        run_partitions = context.partition_keys
        self._days = covered_partitions(partitions_def, run_partitions)
        self._active = bool(self._days)
        self._storage = instance.event_log_storage
        step = context.get_step_execution_context()
        description = RECORDED.format(last=max(run_partitions))
        run_id, now, pid = context.run.run_id, time.time(), os.getpid()
        step_key, job_name = step.step.key, step.job_name
        node_handle, step_kind = step.step.node_handle, step.step.kind.value

        def entry(key: AssetKey, day: str) -> EventLogEntry:
            return EventLogEntry(
                error_info=None,
                level="DEBUG",
                user_message="",
                run_id=run_id,
                timestamp=now,
                step_key=step_key,
                job_name=job_name,
                dagster_event=DagsterEvent(
                    event_type_value="ASSET_MATERIALIZATION",
                    job_name=job_name,
                    step_key=step_key,
                    node_handle=node_handle,
                    step_kind_value=step_kind,
                    event_specific_data=_materialization_data(key, day, description),
                    pid=pid,
                ),
            )

        self._entry = entry

    def __enter__(self) -> "FullRefreshRecorder":
        return self

    def __exit__(self, exc_type: object, *exc_info: object) -> None:
        if exc_type is None:
            self.close()
            return
        with contextlib.suppress(Exception):  # the error in flight is the one to report
            self.close()

    def add(self, key: AssetKey) -> None:
        """Record the earlier days of ``key`` (once), in the recorder's thread."""
        if not self._active or key in self._keys:
            return
        self._keys.add(key)
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._work, name="full-refresh-days", daemon=True
            )
            self._thread.start()
        self._queue.put(key)

    def close(self) -> int:
        """Wait until every added key is recorded; re-raise the thread's error, if any."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return self.recorded

    def _work(self) -> None:
        done = False
        while not done:
            keys = [self._queue.get()]
            while not self._queue.empty():  # what arrived meanwhile, in one transaction
                keys.append(self._queue.get())
            done = None in keys
            keys = [key for key in keys if key is not None]
            if not keys or self._error is not None:
                continue
            try:
                self._store(sorted(keys, key=lambda key: key.to_user_string()))
            except BaseException as error:  # noqa: BLE001 - raised again by close()
                self._error = error

    def _store(self, keys: Sequence[AssetKey]) -> None:
        storage, days = self._storage, self._days
        if _has_batch_write(storage) or not isinstance(storage, SqlEventLogStorage):
            storage.store_event_batch([self._entry(key, day) for key in keys for day in days])
        else:
            store_rows(
                storage, [row for key in keys for row in _rows(storage, self._entry, key, days)]
            )
        self.recorded += len(keys) * len(days)


def record_full_refresh_partitions(
    context: AssetExecutionContext, asset_keys: Iterable[AssetKey]
) -> int:
    """:class:`FullRefreshRecorder` for ``asset_keys`` at once. Returns the number of events
    stored."""
    with FullRefreshRecorder(context) as recorder:
        for key in asset_keys:
            recorder.add(key)
    return recorder.recorded


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
