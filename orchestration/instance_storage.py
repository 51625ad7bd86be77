"""The instance's SQLite storage, without a new database connection per event in the index.

Dagster's SQLite event log opens a new engine and a new connection for every write and closes
it after. Closing the only connection of a database in WAL mode checkpoints the WAL into the
database file: about 2 ms a write on this machine, and an asset event writes twice (the run's
own log and the cross-run index), an asset check result three times. A warehouse run stores
about 1,450 events, so about 8 s of CPU went to this (DECISIONLOG 78).

:class:`WarehouseSqliteStorage` is Dagster's ``storage: sqlite`` (same files, same layout under
``base_dir``) whose event log keeps one engine with a small connection pool for the index
(``history/runs/index.db``) and commits there with ``synchronous=NORMAL`` (the WAL is synced at
checkpoints, not at every commit: a power cut may lose the last events, never corrupt the file).
The run shards (``history/runs/<run id>.db``) are written as Dagster writes them: the UI follows
a running run by watching its shard's file, which a checkpoint at each write keeps up to date.
`make run` and `make dev` select it (``storage: custom``, base_dir ``DAGSTER_HOME``: the
Makefile's ``instance`` target adds ``instance_storage.yaml`` to the home's ``dagster.yaml``).
The repository's ``dagster.yaml`` does not: a ``dagster dev`` without ``DAGSTER_HOME`` reads it
and keeps its history in a temporary folder whose path no configuration can name.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
)
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.schedules.sqlite.sqlite_schedule_storage import SqliteScheduleStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage
from dagster._serdes import ConfigurableClassData
from dagster._utils import mkdir_p
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool


def _sync_at_checkpoints(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class PooledIndexEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log with one pooled engine for the index shard."""

    _index_engine: Engine | None = None

    def _index(self) -> Engine:
        if self._index_engine is None:
            engine = create_engine(
                self.conn_string_for_shard(INDEX_SHARD_NAME),
                poolclass=QueuePool,
                pool_size=1,
                max_overflow=4,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
            event.listen(engine, "connect", _sync_at_checkpoints)
            self._index_engine = engine
        return self._index_engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        if shard != INDEX_SHARD_NAME:
            with super()._connect(shard) as conn:
                yield conn
            return
        with self._db_lock:  # as Dagster's: one writer per storage object at a time
            engine = self._index()
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def _dispose_index(self) -> None:
        if self._index_engine is not None:
            self._index_engine.dispose()
            self._index_engine = None

    def wipe(self) -> None:
        self._dispose_index()
        super().wipe()

    def dispose(self) -> None:
        self._dispose_index()
        super().dispose()


class WarehouseSqliteStorage(DagsterSqliteStorage):
    """``storage: sqlite`` with :class:`PooledIndexEventLogStorage` as its event log."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self.base_dir = base_dir
        self._run_storage = SqliteRunStorage.from_local(os.path.join(base_dir, "history", ""))
        self._event_log_storage = PooledIndexEventLogStorage(
            os.path.join(base_dir, "history", "runs", "")
        )
        self._schedule_storage = SqliteScheduleStorage.from_local(
            os.path.join(base_dir, "schedules")
        )
        self._inst_data = inst_data
        super(DagsterSqliteStorage, self).__init__()

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData, config_value: dict[str, str]
    ) -> WarehouseSqliteStorage:
        mkdir_p(config_value["base_dir"])
        return cls(config_value["base_dir"], inst_data=inst_data)
