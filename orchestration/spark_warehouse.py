"""The warehouse on Apache Spark: the Spark counterpart of
:class:`orchestration.resources.WarehouseResource`."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagster import ConfigurableResource
from pydantic import Field

from orchestration import run_environment
from orchestration.run_environment import environment, in_stable_order
from touchpoint_alchemy import settings as config
from touchpoint_alchemy.settings import Settings

if TYPE_CHECKING:
    import pyarrow as pa


class SparkWarehouseResource(ConfigurableResource):
    """The warehouse on Apache Spark (WAREHOUSE_TARGET=spark; dbt's ``spark`` target, local
    session mode): the same engine-neutral interface as :class:`WarehouseResource` for dbt and
    the scoring assets. Tables live in Spark's metastore under ``data_dir`` (SPARK_DATA_DIR);
    ``touchpoint_alchemy.spark`` moves them in and out as Arrow.

    Spark writes its tables in place, so there is no working copy and nothing to publish. The
    DuckDB-only parts of a run (the journey report, the PII and freshness checks, the publish
    step, the mart previews) are not available on Spark (docs/spark.md).
    """

    data_dir: str = Field(
        default=config.DEFAULT_SPARK_DATA_DIR,
        description="Spark's metastore and warehouse folder (SPARK_DATA_DIR).",
    )
    raw_data_dir: str = Field(
        default="", description="Folder of the raw files (RAW_DATA_DIR); blank: seeds/."
    )
    data_cutoff: str | None = Field(default=None, description="As-of date (DATA_CUTOFF).")

    @classmethod
    def from_settings(cls, settings: Settings) -> SparkWarehouseResource:
        return cls(
            data_dir=str(settings.spark_data_dir),
            raw_data_dir=str(settings.raw_data_dir),
            data_cutoff=settings.data_cutoff,
        )

    @property
    def raw_path(self) -> Path:
        return config.raw_data_path(self.raw_data_dir)

    @property
    def data_path(self) -> Path:
        return config.resolve_path(self.data_dir, config.DEFAULT_SPARK_DATA_DIR)

    def ensure_directory(self) -> None:
        os.makedirs(self.data_path, exist_ok=True)

    def dbt_vars(self) -> dict[str, Any]:
        """Extra dbt vars (none: the settings reach dbt as environment variables)."""
        return {}

    @contextmanager
    def dbt_environment(self) -> Iterator[None]:
        """Point dbt (and the Spark helper processes) at the spark target and ``data_dir``, and
        pass dbt the raw folder and the cutoff."""
        values = {
            "WAREHOUSE_TARGET": "spark",
            "SPARK_DATA_DIR": str(self.data_path),
            **run_environment.dbt_settings(self.raw_data_dir, self.data_cutoff),
        }
        with environment(values):
            yield

    @contextmanager
    def session(self) -> Iterator[None]:
        """As :meth:`WarehouseResource.session`; Spark's session already outlives each read."""
        yield

    def read_table(
        self,
        schema: str,
        table: str,
        columns: Sequence[str] | None = None,
        where: Mapping[str, Any] | None = None,
    ) -> pa.Table:
        import pyarrow.compute as pc

        from touchpoint_alchemy import spark

        with self.dbt_environment():
            data = spark.read_table(schema, table)
        for column, value in (where or {}).items():
            data = data.filter(pc.field(column) == value)
        return in_stable_order(data.select(list(columns)) if columns else data)

    def write_table(self, schema: str, table: str, data: pa.Table) -> None:
        from touchpoint_alchemy import spark

        with self.dbt_environment():
            spark.write_table(schema, table, data)

    def replace_rows(self, schema: str, table: str, data: pa.Table, key_column: str) -> None:
        from touchpoint_alchemy import spark

        with self.dbt_environment():
            spark.replace_rows(schema, table, data, key_column)
