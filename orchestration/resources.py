"""Resources: the warehouse (DuckDB file and raw data folder) and the dbt CLI."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from dagster_dbt import DbtCliResource
from dagster_duckdb import DuckDBResource
from pydantic import Field

from orchestration.project import dbt_project
from touchpoint_alchemy.settings import Settings

if TYPE_CHECKING:
    import pyarrow as pa


class WarehouseResource(DuckDBResource):
    """The DuckDB warehouse plus what the dbt build reads.

    ``database`` is the same file ``profiles.yml`` opens: both come from WAREHOUSE_DUCKDB_PATH,
    and ``dbt_environment`` hands this resource's values to the dbt process so they cannot drift.
    """

    raw_data_dir: str = Field(description="Folder of the raw files (RAW_DATA_DIR).")
    data_cutoff: str | None = Field(default=None, description="As-of date (DATA_CUTOFF).")

    @classmethod
    def from_settings(cls, settings: Settings) -> WarehouseResource:
        return cls(
            database=str(settings.warehouse_path),
            raw_data_dir=str(settings.raw_data_dir),
            data_cutoff=settings.data_cutoff,
            connection_config={"memory_limit": settings.memory_limit},
        )

    def ensure_directory(self) -> None:
        os.makedirs(os.path.dirname(self.database) or ".", exist_ok=True)

    def dbt_vars(self) -> dict[str, Any]:
        return {"raw_data_dir": self.raw_data_dir, "data_cutoff": self.data_cutoff}

    @contextmanager
    def dbt_environment(self) -> Iterator[None]:
        """Point the dbt process at this resource's warehouse file for the duration."""
        values = {"WAREHOUSE_DUCKDB_PATH": self.database}
        if "memory_limit" in self.connection_config:
            values["DUCKDB_MEMORY_LIMIT"] = str(self.connection_config["memory_limit"])
        previous = {name: os.environ.get(name) for name in values}
        os.environ.update(values)
        try:
            yield
        finally:
            for name, value in previous.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    # An engine-neutral interface for the Python scoring assets: Arrow in, Arrow out.
    def read_table(self, schema: str, table: str) -> pa.Table:
        with self.get_connection() as con:
            return con.execute(f'select * from "{schema}"."{table}"').to_arrow_table()

    def write_table(self, schema: str, table: str, data: pa.Table) -> None:
        """Replace ``schema.table`` with ``data`` in one transaction."""
        with self.get_connection() as con:
            con.execute("begin transaction")
            con.execute(f'create schema if not exists "{schema}"')
            con.register("incoming", data)
            con.execute(f'create or replace table "{schema}"."{table}" as select * from incoming')
            con.unregister("incoming")
            con.execute("commit")

    def replace_rows(self, schema: str, table: str, data: pa.Table, key_column: str) -> None:
        """Replace the rows of ``schema.table`` whose ``key_column`` value occurs in ``data``
        with ``data``, in one transaction; create the table from ``data`` if it is missing.
        Several assets share one table this way (scoring.model_metrics, one model each)."""
        with self.get_connection() as con:
            con.execute("begin transaction")
            con.execute(f'create schema if not exists "{schema}"')
            con.register("incoming", data)
            con.execute(
                f'create table if not exists "{schema}"."{table}" as select * from incoming limit 0'
            )
            con.execute(
                f'delete from "{schema}"."{table}" where "{key_column}" in '
                f'(select "{key_column}" from incoming)'
            )
            con.execute(f'insert into "{schema}"."{table}" by name select * from incoming')
            con.unregister("incoming")
            con.execute("commit")


def dbt_executable() -> str:
    """The dbt next to this Python (the project's virtual environment), else dbt on PATH."""
    beside_python = os.path.join(os.path.dirname(sys.executable), "dbt")
    return beside_python if os.path.exists(beside_python) else (shutil.which("dbt") or "dbt")


def build_resources(settings: Settings | None = None) -> dict[str, Any]:
    settings = settings or Settings.from_env()
    return {
        "warehouse": WarehouseResource.from_settings(settings),
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
    }
