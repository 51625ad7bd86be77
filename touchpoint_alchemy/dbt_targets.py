"""The dbt target folders of the orchestrated runs: one per dbt step, named
``<op>-<run id[:7]>-<uuid[:7]>`` (dagster-dbt's layout, seeded by orchestration/assets/dbt.py),
and the pruning that keeps a daily schedule from filling the disk (each folder holds a manifest
of several MB, and a run has one folder per dbt step)."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from touchpoint_alchemy.settings import DBT_PROJECT_DIR, DEFAULT_MEMORY_LIMIT

#: the folders of at least this many most recent runs are kept
KEEP_RUNS = 5
#: and no folder of a run younger than this (a run in progress, or one the report still reads)
MIN_AGE_SECONDS = 24 * 3600

#: the saved parses of the dbt steps (``<base>/parse-cache/<key>.msgpack``), one per set of the
#: settings dbt's own check compares (:func:`parse_cache_path`)
PARSE_CACHE = "parse-cache"
#: the folder, in dbt's target folder, of the links through which dbt opens a run's working copy
#: (``snapshots.shared_path``); one build at a time gets slot 0
LINKS = "warehouses"
#: the environment variables dbt's profile reads (dbt_project/profiles.yml)
PROFILE_VARIABLES = (
    "WAREHOUSE_DUCKDB_PATH",
    "DUCKDB_MEMORY_LIMIT",
    "WAREHOUSE_TARGET",
    "SPARK_DATA_DIR",
)


def target_base(environ: Mapping[str, str] | None = None) -> Path:
    """dbt's target folder, where the orchestrated dbt steps keep their own folders
    (DBT_TARGET_PATH, default dbt_project/target; relative: to the dbt project)."""
    env = os.environ if environ is None else environ
    return DBT_PROJECT_DIR / (env.get("DBT_TARGET_PATH") or "target")


def dbt_executable() -> str:
    """The dbt next to this Python (the project's virtual environment), else dbt on PATH: a
    ``dagster dev`` started as ``.venv/bin/dagster dev`` or ``uv run dagster dev``, without the
    environment on PATH, still finds it."""
    beside_python = os.path.join(os.path.dirname(sys.executable), "dbt")
    return beside_python if os.path.exists(beside_python) else (shutil.which("dbt") or "dbt")


def duckdb_profile_environment(database: Path | str, memory_limit: str) -> dict[str, str]:
    """What dbt's ``duckdb`` profile reads from the environment: the database file and DuckDB's
    memory limit (blank: the default)."""
    return {
        "WAREHOUSE_DUCKDB_PATH": str(database),
        "DUCKDB_MEMORY_LIMIT": memory_limit.strip() or DEFAULT_MEMORY_LIMIT,
    }


def parse_cache_path(
    base: Path, dbt_vars: str, target: str | None, environment: Mapping[str, str]
) -> Path:
    """The saved parse for a dbt step with these vars, target and profile environment. These are
    what dbt's check compares besides the project's files (the vars, the target, the profile's
    connection settings; not the selection or ``--full-refresh``): with any of them different,
    dbt parses the whole project again (about 8 s)."""
    settings = [dbt_vars, target or "", *(environment.get(name, "") for name in PROFILE_VARIABLES)]
    key = hashlib.sha256("\x00".join(settings).encode()).hexdigest()[:16]
    return base / PARSE_CACHE / f"{key}.msgpack"


def step_folder_name(op_name: str, run_id: str, unique: str) -> str:
    return f"{op_name}-{run_id[:7]}-{unique[:7]}"


def _run_of(folder: Path) -> str | None:
    parts = folder.name.rsplit("-", 2)
    if not folder.is_dir() or len(parts) != 3 or not all(len(part) == 7 for part in parts[1:]):
        return None
    return parts[1]


def prune_step_folders(
    base: Path,
    keep_runs: int = KEEP_RUNS,
    min_age_seconds: float = MIN_AGE_SECONDS,
    now: float | None = None,
) -> list[Path]:
    """Remove the step folders of the runs that are neither among the ``keep_runs`` most recent
    (by their newest folder) nor younger than ``min_age_seconds``; return what was removed.
    Anything not shaped like a step folder (dbt's own files in ``target``) is left alone."""
    now = time.time() if now is None else now
    newest: dict[str, float] = {}
    folders: dict[str, list[Path]] = {}
    for folder in base.glob("*-*-*"):
        run = _run_of(folder)
        if run is None:
            continue
        folders.setdefault(run, []).append(folder)
        newest[run] = max(newest.get(run, 0.0), folder.stat().st_mtime)
    by_recency = sorted(newest, key=newest.__getitem__, reverse=True)
    old_runs = [run for run in by_recency[keep_runs:] if now - newest[run] > min_age_seconds]
    removed = sorted(folder for run in old_runs for folder in folders[run])
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    return removed
