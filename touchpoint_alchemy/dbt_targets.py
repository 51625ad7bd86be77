"""The dbt target folders of the orchestrated runs: one per dbt step, named
``<op>-<run id[:7]>-<uuid[:7]>`` (dagster-dbt's layout, seeded by orchestration/assets/dbt.py),
and the pruning that keeps a daily schedule from filling the disk (each folder holds a manifest
of several MB, and a run has one folder per dbt step)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

#: the folders of at least this many most recent runs are kept
KEEP_RUNS = 5
#: and no folder of a run younger than this (a run in progress, or one the report still reads)
MIN_AGE_SECONDS = 24 * 3600


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
