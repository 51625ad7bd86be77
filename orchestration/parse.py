"""``make manifest`` (``python -m orchestration.parse``): dbt's parse of the project, made with the
settings of the runs' own dbt steps and kept where the first of them looks for it
(DECISIONLOG 92).

The manifest Dagster reads is the same whichever target parses it. dbt's saved parse
(``partial_parse.msgpack``) is not: dbt keys it on the target and the profile's connection
settings. Made with plain dbt's (the ``dev`` target and its own database), it served no run: the
first dbt step of a fresh clone's ``make run``, and of the first run after any change to the
project, parsed the whole project again (8 s of a 75 s ``make run``). Plain dbt pays that parse
instead, once, on its first command.

Imports no Dagster, so ``make`` pays dbt's parse and little else.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path

from touchpoint_alchemy.dbt_targets import (
    LINKS,
    dbt_executable,
    duckdb_profile_environment,
    parse_cache_path,
    target_base,
)
from touchpoint_alchemy.settings import DBT_PROJECT_DIR, Settings

PARTIAL_PARSE = "partial_parse.msgpack"


def run_profile_environment(settings: Settings, base: Path) -> dict[str, str]:
    """What the profile reads in a run's dbt steps with ``settings``, one build at a time: the
    working copy under slot 0 of ``snapshots.shared_path`` (``WarehouseResource.dbt_environment``)
    or Spark's folder (``SparkWarehouseResource.dbt_environment``)."""
    if settings.warehouse_target == "spark":
        return {"WAREHOUSE_TARGET": "spark", "SPARK_DATA_DIR": str(settings.spark_data_dir)}
    working = base / LINKS / "0" / settings.warehouse_path.name
    return duckdb_profile_environment(working, settings.memory_limit)


def save_parse(target_path: Path, cache: Path) -> None:
    """Keep ``target_path``'s saved parse as ``cache`` for the next dbt step with the same
    settings (atomically: another process may be reading the cache)."""
    saved = target_path / PARTIAL_PARSE
    if not saved.exists():
        return
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = cache.with_name(f"{cache.name}.{uuid.uuid4().hex[:8]}")
    shutil.copy(saved, partial)
    os.replace(partial, cache)


def parse_project(environ: Mapping[str, str] | None = None) -> Path:
    """``dbt parse`` into dbt's target folder (the manifest) with the runs' target and profile
    settings, and its saved parse kept as theirs; returns the cache file."""
    env = dict(os.environ if environ is None else environ)
    settings = Settings.from_env(env)
    base = target_base(env)
    env.update(run_profile_environment(settings, base))
    target = settings.warehouse_target
    subprocess.run(
        [dbt_executable(), "parse", "--quiet", "--target", target],
        cwd=DBT_PROJECT_DIR,
        env=env,
        check=True,
    )
    # the runs pass no vars (orchestration/assets/dbt.py)
    cache = parse_cache_path(base, "", target, env)
    save_parse(base, cache)
    return cache


def main() -> int:
    try:
        parse_project()
    except subprocess.CalledProcessError as error:
        return error.returncode or 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
