"""The instance's SQLite storage, without a new database connection per event.

Dagster's SQLite event log opens a new engine and a new connection for every write and closes
it after. Closing the only connection of a database in WAL mode checkpoints the WAL into the
database file: about 2 ms a write on this machine, and every event is written to its run's
database, an asset event also to the cross-run index, an asset check result to it twice. A
warehouse run stores about 1,450 events (DECISIONLOG 78).

:class:`WarehouseSqliteStorage` is Dagster's ``storage: sqlite`` (same files, same layout under
``base_dir``, read by Dagster's own classes) whose event log keeps one engine with a small
connection pool per database file (the index and the newest run shards) and commits with
``synchronous=NORMAL``: the WAL is synced at checkpoints, not at every commit, so a power cut may
lose the last events, never corrupt the file. The UI follows a running run by watching its
database file (``SqliteEventLogStorageWatchdog``), which the checkpoint at each close used to
modify: a write now touches the file instead (its mtime; a read does not, or the watcher's own
reads would wake it again).

`make instance` (so `make run` and `make dev`) selects it in the home's ``dagster.yaml``
(``storage: custom``, ``base_dir`` the home's path written out). The repository's
``dagster.yaml`` does not: a ``dagster dev`` without ``DAGSTER_HOME`` reads it and keeps its
history in a temporary folder whose path no configuration can name.
"""

from __future__ import annotations

import os
from collections import OrderedDict
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

#: engines kept open: the index and the newest run shards (a webserver reads many runs)
KEEP_ENGINES = 8


def _sync_at_checkpoints(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class PooledEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log with one pooled engine per database file (the index and the
    most recent run shards), and the shard's file touched after a write to it."""

    def _engine(self, shard: str) -> Engine:
        engines = self.__dict__.setdefault("_engines", OrderedDict())
        engine = engines.get(shard)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard),
                poolclass=QueuePool,
                pool_size=1,
                max_overflow=4,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
            event.listen(engine, "connect", _sync_at_checkpoints)
            engines[shard] = engine
        engines.move_to_end(shard)
        while len(engines) > KEEP_ENGINES:
            oldest = next(key for key in engines if key != INDEX_SHARD_NAME)
            engines.pop(oldest).dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:  # as Dagster's: one connection per storage object at a time
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn:
                raw = conn.connection.dbapi_connection
                changes = raw.total_changes
                with conn.begin():
                    yield conn
                written = raw.total_changes != changes
            if written and shard != INDEX_SHARD_NAME:
                # what a checkpoint did before: the UI's watcher of this run sees a change
                os.utime(self.path_for_shard(shard))

    # Dagster checks the index's schema on every asset and check event it stores: whether the
    # asset check and tag tables exist (``has_table``: a new engine and connection each time) and
    # whether the asset key table has its index columns (an inspection). About 1 s of a demo run's
    # 700 events (DECISIONLOG 137). What exists stays: found once, it is not asked again; what
    # is missing is asked each time (a migration adds it), and ``wipe`` forgets everything.

    def has_table(self, table_name: str) -> bool:
        found = self.__dict__.setdefault("_tables_found", set())
        if table_name in found:
            return True
        exists = super().has_table(table_name)
        if exists:
            found.add(table_name)
        return exists

    def _has_asset_key_col_on_connection(self, conn: Connection, column_name: str) -> bool:
        found = self.__dict__.setdefault("_asset_key_columns_found", set())
        if column_name in found:
            return True
        exists = super()._has_asset_key_col_on_connection(conn, column_name)
        if exists:
            found.add(column_name)
        return exists

    def _dispose_engines(self) -> None:
        for engine in self.__dict__.pop("_engines", {}).values():
            engine.dispose()
        self.__dict__.pop("_tables_found", None)
        self.__dict__.pop("_asset_key_columns_found", None)

    def wipe(self) -> None:
        self._dispose_engines()
        super().wipe()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()


class WarehouseSqliteStorage(DagsterSqliteStorage):
    """``storage: sqlite`` with :class:`PooledEventLogStorage` as its event log."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self.base_dir = base_dir
        self._run_storage = SqliteRunStorage.from_local(os.path.join(base_dir, "history", ""))
        self._event_log_storage = PooledEventLogStorage(
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
