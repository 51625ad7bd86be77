"""Configuration from environment variables, resolved to absolute paths.

Relative paths are taken relative to the repository root, so ``make run`` from the root, dbt
(which runs inside ``dbt_project/``) and Dagster all agree on the same files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
DEMO_RAW_DATA_DIR = REPO_ROOT / "seeds"
DEFAULT_WAREHOUSE_PATH = "data/warehouse.duckdb"
#: DuckDB's memory limit (it spills to disk beyond it); dbt and the Python assets share it
DEFAULT_MEMORY_LIMIT = "8GB"


def _absolute(value: str | os.PathLike[str]) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (REPO_ROOT / path).resolve()


@dataclass(frozen=True)
class Settings:
    """The few knobs of the warehouse; see the README configuration table."""

    warehouse_path: Path
    raw_data_dir: Path
    data_cutoff: str | None = None
    memory_limit: str = DEFAULT_MEMORY_LIMIT

    @classmethod
    def from_env(cls, environ: os._Environ[str] | dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        raw_dir = env.get("RAW_DATA_DIR") or ""
        return cls(
            warehouse_path=_absolute(env.get("WAREHOUSE_DUCKDB_PATH") or DEFAULT_WAREHOUSE_PATH),
            raw_data_dir=_absolute(raw_dir) if raw_dir.strip() else DEMO_RAW_DATA_DIR,
            data_cutoff=(env.get("DATA_CUTOFF") or "").strip() or None,
            memory_limit=(env.get("DUCKDB_MEMORY_LIMIT") or "").strip() or DEFAULT_MEMORY_LIMIT,
        )
