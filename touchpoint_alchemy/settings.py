"""Configuration from environment variables, resolved to absolute paths.

Relative paths are taken relative to the repository root, so ``make run`` from the root, dbt
(which runs inside ``dbt_project/``) and Dagster all agree on the same files.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
DEMO_RAW_DATA_DIR = REPO_ROOT / "seeds"
DEFAULT_WAREHOUSE_PATH = "data/warehouse.duckdb"
#: The first day of the daily partitions (PARTITIONS_START_DATE); the demo data starts here.
DEFAULT_PARTITIONS_START_DATE = "2025-01-01"
#: DuckDB's memory limit (it spills to disk beyond it); dbt and the Python assets share it
DEFAULT_MEMORY_LIMIT = "4GB"
#: dbt targets of profiles.yml (WAREHOUSE_TARGET)
WAREHOUSE_TARGETS = ("duckdb", "spark")
DEFAULT_SPARK_DATA_DIR = "data/spark"
#: where plain dbt's development database goes (DBT_DEV_DUCKDB_PATH unset; profiles.yml)
DEFAULT_DEV_DIR = "data/dev"
#: accepted spellings of a true / false setting (PARQUET_EXPORTS)
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
#: the raw_fresh checks (RAW_FRESHNESS_HOURS, RAW_FRESHNESS_ACTION)
DEFAULT_FRESHNESS_HOURS = "36"
FRESHNESS_ACTIONS = ("warn", "fail")
#: where the run-failure sensor writes its records (RUN_FAILURE_DIR)
DEFAULT_RUN_FAILURE_DIR = "data/run_failures"

# Each setting is parsed by one function below from its text (an environment variable's value,
# or the Dagster resource field that holds it): Settings.from_env and the orchestration's
# resources (orchestration/resources.py) share them.


def resolve_path(value: str | os.PathLike[str] | None, default: str | Path) -> Path:
    """A path setting: blank gives ``default``; a relative path is relative to the repository
    root, so make, dbt and Dagster agree on the same files."""
    text = str(value or "").strip() or str(default)
    path = Path(text).expanduser()
    return path if path.is_absolute() else (REPO_ROOT / path).resolve()


def raw_data_path(value: str | os.PathLike[str] | None) -> Path:
    """RAW_DATA_DIR: blank is the demo data in seeds/."""
    return resolve_path(value, DEMO_RAW_DATA_DIR)


def optional_text(value: str | None) -> str | None:
    """A setting whose blank means unset (DATA_CUTOFF)."""
    return (value or "").strip() or None


#: the cutoffs the dbt macro ``configured_data_cutoff`` accepts (macros/definitions.sql)
DATA_CUTOFF_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9:.]+)?$"


def checked_data_cutoff(value: str | None) -> str | None:
    """DATA_CUTOFF, blank as None, checked the way dbt checks it, so that a run refuses a bad
    value in its first dbt step rather than in the step that first reads it (dbt reads it only
    while the models run; DECISIONLOG 91)."""
    text = optional_text(value)
    if text is not None and not re.match(DATA_CUTOFF_PATTERN, text):
        raise ValueError(f"data_cutoff must be a date (YYYY-MM-DD) or a timestamp, got: {text}")
    return text


def parse_flag(name: str, value: str | None, default: bool) -> bool:
    text = (value or "").strip().lower()
    if not text:
        return default
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ValueError(f"{name} must be true or false, got {value!r}.")


def freshness_limit(hours: str | None, action: str | None) -> tuple[float, bool]:
    """RAW_FRESHNESS_HOURS and RAW_FRESHNESS_ACTION: the age limit in hours, and whether a
    stale file fails (``fail``) rather than warns (``warn``, the default)."""
    text = (hours or "").strip() or DEFAULT_FRESHNESS_HOURS
    try:
        limit = float(text)
    except ValueError:
        raise ValueError(f"RAW_FRESHNESS_HOURS must be a number, got {hours!r}.") from None
    verdict = (action or "").strip().lower() or FRESHNESS_ACTIONS[0]
    if verdict not in FRESHNESS_ACTIONS:
        raise ValueError(f"RAW_FRESHNESS_ACTION must be 'warn' or 'fail', got {action!r}")
    return limit, verdict == "fail"


@dataclass(frozen=True)
class Settings:
    """The few knobs of the warehouse; see docs/configuration.md."""

    warehouse_path: Path
    raw_data_dir: Path
    data_cutoff: str | None = None
    memory_limit: str = DEFAULT_MEMORY_LIMIT
    warehouse_target: str = "duckdb"
    spark_data_dir: Path = REPO_ROOT / DEFAULT_SPARK_DATA_DIR
    #: export every mart to Parquet after each publish (touchpoint_alchemy.exports)
    parquet_exports: bool = True

    @classmethod
    def from_env(cls, environ: os._Environ[str] | dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        raw_dir = env.get("RAW_DATA_DIR") or ""
        target = (env.get("WAREHOUSE_TARGET") or "").strip() or WAREHOUSE_TARGETS[0]
        if target not in WAREHOUSE_TARGETS:
            raise ValueError(
                f"WAREHOUSE_TARGET must be one of {', '.join(WAREHOUSE_TARGETS)}, got {target!r}."
            )
        return cls(
            warehouse_path=resolve_path(env.get("WAREHOUSE_DUCKDB_PATH"), DEFAULT_WAREHOUSE_PATH),
            raw_data_dir=raw_data_path(raw_dir),
            data_cutoff=optional_text(env.get("DATA_CUTOFF")),
            memory_limit=optional_text(env.get("DUCKDB_MEMORY_LIMIT")) or DEFAULT_MEMORY_LIMIT,
            warehouse_target=target,
            spark_data_dir=resolve_path(env.get("SPARK_DATA_DIR"), DEFAULT_SPARK_DATA_DIR),
            parquet_exports=parse_flag("PARQUET_EXPORTS", env.get("PARQUET_EXPORTS"), True),
        )


def partitions_start_date(environ: os._Environ[str] | dict[str, str] | None = None) -> str:
    """The first daily partition, ``YYYY-MM-DD`` (PARTITIONS_START_DATE). Only the partition
    list starts there: a full build (``make run``) reads all history, older days included."""
    env = os.environ if environ is None else environ
    value = (env.get("PARTITIONS_START_DATE") or "").strip() or DEFAULT_PARTITIONS_START_DATE
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"PARTITIONS_START_DATE must be a date like 2025-01-01, got {value!r}."
        ) from None
    return value


def last_partition_key(today: date | None = None) -> str:
    """The newest complete daily partition: yesterday, UTC."""
    today = today or datetime.now(UTC).date()
    return (today - timedelta(days=1)).isoformat()


def dev_warehouse_path(environ: os._Environ[str] | dict[str, str] | None = None) -> Path:
    """The development database plain dbt writes (the ``dev`` output of profiles.yml, its
    default target): DBT_DEV_DUCKDB_PATH, relative to ``dbt_project/`` as dbt reads it, or
    ``data/dev/`` plus the published file's name (DuckDB names the catalog after the file, and
    the views copied from the published file refer to it). Keep both rules in step with
    profiles.yml."""
    env = os.environ if environ is None else environ
    value = (env.get("DBT_DEV_DUCKDB_PATH") or "").strip()
    if value:
        path = Path(value).expanduser()
        return path if path.is_absolute() else (DBT_PROJECT_DIR / path).resolve()
    published_name = (env.get("WAREHOUSE_DUCKDB_PATH") or DEFAULT_WAREHOUSE_PATH).split("/")[-1]
    return REPO_ROOT / DEFAULT_DEV_DIR / published_name
