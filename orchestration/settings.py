"""One place for the settings a run reads: fields of the Dagster resources.

Each environment variable of ``RESOURCE_SETTINGS`` is a field of the ``warehouse`` or the
``operations`` resource, so the Launchpad and the resource page show it and a run may override
it. ``build_resources`` (``orchestration/resources.py``) gives a field ``EnvVar(<variable>)``
when the variable is set where the code location loads (Dagster resolves it when a run starts),
else the field's default; ``touchpoint_alchemy.settings`` parses the text either way. The
settings read before any run (WAREHOUSE_TARGET, PARTITIONS_START_DATE: they shape the
definitions), those of dbt's own processes (PII_HASH_SALT and its companions, DBT_*) and those
of other tools stay environment variables (docs/configuration.md, DECISIONLOG 70).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource, EnvVar
from pydantic import Field

from touchpoint_alchemy import settings as config

#: environment variable -> (resource key, field): every setting a run reads, in one place
#: (docs/configuration.md lists each with its field; a test compares the two)
RESOURCE_SETTINGS = {
    "WAREHOUSE_DUCKDB_PATH": ("warehouse", "database"),
    "RAW_DATA_DIR": ("warehouse", "raw_data_dir"),
    "DATA_CUTOFF": ("warehouse", "data_cutoff"),
    "DUCKDB_MEMORY_LIMIT": ("warehouse", "memory_limit"),
    "PARQUET_EXPORTS": ("warehouse", "parquet_exports"),
    "SPARK_DATA_DIR": ("warehouse", "data_dir"),  # WAREHOUSE_TARGET=spark
    "RAW_FRESHNESS_HOURS": ("operations", "raw_freshness_hours"),
    "RAW_FRESHNESS_ACTION": ("operations", "raw_freshness_action"),
    "RUN_FAILURE_DIR": ("operations", "run_failure_dir"),
    "RUN_FAILURE_WEBHOOK_URL": ("operations", "run_failure_webhook_url"),
}


def from_environment(resource: type[ConfigurableResource], key: str) -> dict[str, Any]:
    """Field values of ``resource``: ``EnvVar(<variable>)`` for each of its settings whose
    variable is set (not blank) now."""
    return {
        field: EnvVar(variable)
        for variable, (resource_key, field) in RESOURCE_SETTINGS.items()
        if resource_key == key
        and field in resource.model_fields
        and (os.environ.get(variable) or "").strip()
    }


class OperationsResource(ConfigurableResource):
    """What a run and the failure sensor do around the build: the raw_fresh checks' limit and
    verdict, where a failed run's record goes and the webhook it is posted to
    (``orchestration/reliability.py``)."""

    raw_freshness_hours: str = Field(
        default=config.DEFAULT_FRESHNESS_HOURS,
        description="A raw file whose newest valid timestamp is older than this many hours is "
        "stale (RAW_FRESHNESS_HOURS).",
    )
    raw_freshness_action: str = Field(
        default=config.FRESHNESS_ACTIONS[0],
        description="warn: a stale raw file warns; fail: its check fails, and so does the run "
        "(RAW_FRESHNESS_ACTION).",
    )
    run_failure_dir: str = Field(
        default=config.DEFAULT_RUN_FAILURE_DIR,
        description="Folder of the JSON record of every failed run (RUN_FAILURE_DIR).",
    )
    run_failure_webhook_url: str = Field(
        default="",
        description="Where each failure record is POSTed with a text summary; blank: nowhere "
        "(RUN_FAILURE_WEBHOOK_URL).",
    )

    def freshness_limit(self) -> tuple[float, bool]:
        """(limit in hours, whether a stale file fails the run)."""
        return config.freshness_limit(self.raw_freshness_hours, self.raw_freshness_action)

    def failure_directory(self) -> Path:
        return config.resolve_path(self.run_failure_dir, config.DEFAULT_RUN_FAILURE_DIR)

    def webhook_url(self) -> str | None:
        return self.run_failure_webhook_url.strip() or None
