"""Resources: the warehouse (DuckDB file and raw data folder), the dbt CLI and the run
operations (freshness limits, failure alerts). Every setting a run reads is a field of one of
them (``orchestration.settings``), filled from the environment by :func:`build_resources`."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
from dagster import InitResourceContext
from dagster._utils.backoff import backoff
from dagster_duckdb import DuckDBResource
from pydantic import Field, PrivateAttr

from orchestration import run_environment
from orchestration.dbt_steps import dbt_target_base
from orchestration.project import WarehouseDbtCli, dbt_project, run_executable
from orchestration.run_environment import environment, in_stable_order
from orchestration.settings import OperationsResource, from_environment
from orchestration.spark_warehouse import SparkWarehouseResource
from touchpoint_alchemy import catalog, snapshots
from touchpoint_alchemy import settings as config
from touchpoint_alchemy.dbt_targets import LINKS, duckdb_profile_environment
from touchpoint_alchemy.settings import Settings
from touchpoint_alchemy.sql import quote_identifier, quote_relation

if TYPE_CHECKING:
    import pyarrow as pa


class WarehouseResource(DuckDBResource):
    """The DuckDB warehouse plus what the dbt build reads.

    ``database`` is the *published* file, the one BI tools read: WAREHOUSE_DUCKDB_PATH, the same
    file ``profiles.yml`` opens. A run never writes it. Inside a run every connection, dbt
    included, goes to the run's *working copy* ``<dir>/.builds/<run_id>/<file name>`` (a copy of
    published file, made on first use), and the ``warehouse/published_snapshot`` asset moves the
    working copy over the published file with one ``os.replace`` once everything else succeeded
    (DECISIONLOG.md, 36). Outside a run (no run id) the resource opens ``database`` itself.
    """

    database: str = Field(
        default=config.DEFAULT_WAREHOUSE_PATH,
        description="The published DuckDB file BI tools read (WAREHOUSE_DUCKDB_PATH); a relative "
        "path is relative to the repository root.",
    )
    raw_data_dir: str = Field(
        default="", description="Folder of the raw files (RAW_DATA_DIR); blank: seeds/."
    )
    data_cutoff: str | None = Field(default=None, description="As-of date (DATA_CUTOFF).")
    memory_limit: str = Field(
        default=config.DEFAULT_MEMORY_LIMIT,
        description="DuckDB's memory limit, for dbt and the Python steps (DUCKDB_MEMORY_LIMIT).",
    )
    parquet_exports: str = Field(
        default="true",
        description="Export every mart to Parquet after each publish: true or false "
        "(PARQUET_EXPORTS).",
    )

    _run_id: str | None = PrivateAttr(default=None)
    _lock: snapshots.WarehouseLock | None = PrivateAttr(default=None)
    _log: Any = PrivateAttr(default=None)
    #: the connection of an open :meth:`session`
    _shared: Any = PrivateAttr(default=None)

    @classmethod
    def from_settings(cls, settings: Settings) -> WarehouseResource:
        return cls(
            database=str(settings.warehouse_path),
            raw_data_dir=str(settings.raw_data_dir),
            data_cutoff=settings.data_cutoff,
            memory_limit=settings.memory_limit,
            parquet_exports=str(settings.parquet_exports).lower(),
        )

    # --- the settings, parsed (a relative path is relative to the repository root) ------------

    @property
    def raw_path(self) -> Path:
        return config.raw_data_path(self.raw_data_dir)

    @property
    def exports_enabled(self) -> bool:
        return config.parse_flag("PARQUET_EXPORTS", self.parquet_exports, True)

    # --- the published file and the run's working copy -----------------------------------------

    def setup_for_execution(self, context: InitResourceContext) -> None:
        # Only the path is resolved here; the copy is made lazily, inside the first step that
        # opens the warehouse, so a lock on the published file fails (and retries) that step.
        self._run_id = context.run_id if self.database != ":memory:" else None
        self._log = context.log

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        try:
            self._teardown(context)
        finally:
            if self._lock is not None:
                self._lock.release()

    def _teardown(self, context: InitResourceContext) -> None:
        working = self.working_path
        if working is None or not working.exists():
            return
        try:
            published_run = snapshots.published_run_id(self.published_path)
        except duckdb.Error:  # held for writing by another process: not ours
            published_run = None
        if published_run == self._run_id:
            # published; a step after the publish step reopened the warehouse: a fresh copy
            snapshots.remove_build(working)
            return
        context.log.warning(
            f"This run did not publish: {self.published_path} is unchanged. Its build is kept for "
            f"inspection at {working} (the newest {snapshots.KEEP_BUILDS} are kept)."
        )

    @property
    def published_path(self) -> Path:
        """The published file (WAREHOUSE_DUCKDB_PATH)."""
        if self.database == ":memory:":
            return Path(self.database)
        return config.resolve_path(self.database, config.DEFAULT_WAREHOUSE_PATH)

    @property
    def working_path(self) -> Path | None:
        """This run's working copy, or None outside a run."""
        if self._run_id is None:
            return None
        return snapshots.working_path(self.published_path, self._run_id)

    def active_database(self) -> str:
        """The file this run reads and writes: its working copy (made on first call), or the
        published file outside a run."""
        working = self.working_path
        if working is None:
            return str(self.published_path)
        if not working.exists():
            # one writer at a time: held until this run has published (or ends)
            if self._lock is None:
                self._lock = snapshots.WarehouseLock(self.published_path)
            if not self._lock.held:
                self._lock.acquire(on_wait=self._log.info if self._log else None)
                self._lock.mark(f"run {self._run_id}")
        snapshots.prepare_working_copy(self.published_path, working)
        return str(working)

    def ensure_directory(self) -> None:
        os.makedirs(self.published_path.parent, exist_ok=True)
        self.active_database()

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection to :meth:`active_database` (DuckDBResource's, retargeted);
        inside a :meth:`session`, the session's."""
        if self._shared is not None:
            yield self._shared
            return
        options = {
            "custom_user_agent": "dagster",
            "memory_limit": self.memory_limit.strip() or config.DEFAULT_MEMORY_LIMIT,
            **self.connection_config,
        }
        conn = backoff(
            fn=duckdb.connect,
            retry_on=(RuntimeError, duckdb.IOException),
            kwargs={"database": self.active_database(), "read_only": False, "config": options},
            max_retries=10,
        )
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def session(self) -> Iterator[None]:
        """One connection for every read and write inside the block, for a step that reads many
        tables (the journey report: about 30): each new connection reads the file's catalog
        again, about 25 ms on the demo warehouse (DECISIONLOG 99)."""
        if self._shared is not None:
            yield
            return
        with self.get_connection() as con:
            self._shared = con
            try:
                yield
            finally:
                self._shared = None

    def publish(self, run_id: str, pii_key: tuple[str, str] | None = None) -> snapshots.BuildInfo:
        """Record the build marker in the working copy and move it over the published file.
        ``pii_key``: (scheme, fingerprint) of the PII key when this run hashed (see
        ``snapshots.publish``)."""
        working = self.working_path
        if working is None or not working.exists():
            raise RuntimeError(f"No working copy of run {run_id} to publish ({working}).")
        try:
            return snapshots.publish(working, self.published_path, run_id, pii_key=pii_key)
        finally:
            if self._lock is not None:
                self._lock.release()  # the next run may copy the new snapshot

    def published_pii_key(self) -> tuple[str | None, str | None] | None:
        """The PII key fingerprint the published snapshot records (``snapshots``)."""
        return snapshots.published_pii_key(self.published_path)

    def dbt_vars(self) -> dict[str, Any]:
        """Extra dbt vars for every dbt command (none: the settings reach dbt as environment
        variables, ``dbt_environment``; a var changes dbt's saved parse)."""
        return {}

    @contextmanager
    def dbt_environment(self) -> Iterator[None]:
        """Point dbt at this run's working copy for the duration, through a path every build
        shares (``snapshots.shared_path``), and pass it the raw folder and the cutoff, so dbt's
        saved parse outlives the run and holds for every warehouse."""
        database, working = self.active_database(), self.working_path
        with ExitStack() as stack:
            active = (
                stack.enter_context(snapshots.shared_path(working, dbt_target_base() / LINKS))
                if working
                else database
            )
            memory_limit = str(self.connection_config.get("memory_limit") or self.memory_limit)
            values = {
                **duckdb_profile_environment(active, memory_limit),
                **run_environment.dbt_settings(self.raw_data_dir, self.data_cutoff),
            }
            with environment(values):
                yield

    # An engine-neutral interface for the Python scoring assets: Arrow in, Arrow out
    # (SparkWarehouseResource has the same four methods).
    def read_table(
        self,
        schema: str,
        table: str,
        columns: Sequence[str] | None = None,
        where: Mapping[str, Any] | None = None,
    ) -> pa.Table:
        """``schema.table`` (only ``columns``, when given; only the rows whose columns equal
        ``where``'s values, when given) as Arrow, in a stable row order."""
        selected = ", ".join(quote_identifier(column) for column in columns) if columns else "*"
        where = dict(where or {})
        condition = " and ".join(f"{quote_identifier(column)} = ?" for column in where)
        with self.get_connection() as con:
            relation = quote_relation(schema, table)
            sql = f"select {selected} from {relation}" + (f" where {condition}" if where else "")
            data = con.execute(sql, list(where.values())).to_arrow_table()
        return in_stable_order(data)

    def has_table(self, schema: str, table: str) -> bool:
        with self.get_connection() as con:
            return (schema, table) in {(s, t) for s, t, _ in catalog.tables(con, [schema])}

    def write_table(self, schema: str, table: str, data: pa.Table) -> None:
        """Replace ``schema.table`` with ``data`` in one transaction."""
        relation = quote_relation(schema, table)
        with self.get_connection() as con:
            con.execute("begin transaction")
            con.execute(f"create schema if not exists {quote_identifier(schema)}")
            con.register("incoming", in_insert_batches(data))
            con.execute(f"create or replace table {relation} as select * from incoming")
            con.unregister("incoming")
            con.execute("commit")

    def replace_rows(self, schema: str, table: str, data: pa.Table, key_column: str) -> None:
        """Replace the rows of ``schema.table`` whose ``key_column`` value occurs in ``data``
        with ``data``, in one transaction; create the table from ``data`` if it is missing, and
        add the columns of ``data`` it lacks (a warehouse built by an older version; the other
        rows get null). Several assets share one table this way (scoring.model_metrics, one
        model each)."""
        relation = quote_relation(schema, table)
        key = quote_identifier(key_column)
        with self.get_connection() as con:
            con.execute("begin transaction")
            con.execute(f"create schema if not exists {quote_identifier(schema)}")
            con.register("incoming", in_insert_batches(data))
            con.execute(f"create table if not exists {relation} as select * from incoming limit 0")
            existing = catalog.columns(con, schema=schema, table=table).get((schema, table), {})
            incoming = con.execute("describe select * from incoming").fetchall()
            for column, column_type, *_ in incoming:
                if column not in existing:
                    name = quote_identifier(column)
                    con.execute(f"alter table {relation} add column {name} {column_type}")
            con.execute(f"delete from {relation} where {key} in (select {key} from incoming)")
            con.execute(f"insert into {relation} by name select * from incoming")
            con.unregister("incoming")
            con.execute("commit")


#: the rows of each Arrow batch a write hands DuckDB (a row group's): DuckDB inserts the batches
#: of a registered table on every core, but a table of one chunk on one thread
INSERT_BATCH_ROWS = 122_880


def in_insert_batches(data: pa.Table) -> pa.Table:
    """``data`` in batches of at most INSERT_BATCH_ROWS rows (slices, not copies), in order.
    A table made from numpy or pandas is one chunk per column: the 7.8M recommendations at 50M
    took 4.1 s to write as one chunk, 2.1 s in batches (DECISIONLOG 157)."""
    import pyarrow as pa

    batches = data.to_batches(max_chunksize=INSERT_BATCH_ROWS)
    return pa.Table.from_batches(batches, schema=data.schema)


def build_resources(settings: Settings | None = None) -> dict[str, Any]:
    """The resources of the code location. Without ``settings`` (the Definitions, ``make
    run``, the CLI) each setting set in the environment becomes ``EnvVar(<variable>)``, the
    others keep their defaults; the environment is also parsed once here, so a bad value stops
    the code location loading, naming the variable. With ``settings`` (tests, scripts) the
    warehouse takes them as values; the operations settings come from the environment."""
    resolved = settings or Settings.from_env()
    spark = resolved.warehouse_target == "spark"
    warehouse_class = SparkWarehouseResource if spark else WarehouseResource
    if settings is None:
        warehouse = warehouse_class(**from_environment(warehouse_class, "warehouse"))
    else:
        warehouse = warehouse_class.from_settings(settings)
    # a bad value fails here, naming its variable, when the code location loads
    config.freshness_limit(
        os.environ.get("RAW_FRESHNESS_HOURS"), os.environ.get("RAW_FRESHNESS_ACTION")
    )
    operations = OperationsResource(**from_environment(OperationsResource, "operations"))
    return {
        "warehouse": warehouse,
        "operations": operations,
        # The target explicitly: dbt's default target is plain dbt's development database
        # (profiles.yml), never the warehouse (DECISIONLOG.md, 54).
        "dbt": WarehouseDbtCli(
            project_dir=dbt_project,
            dbt_executable=run_executable(),
            target=resolved.warehouse_target,
        ),
    }
