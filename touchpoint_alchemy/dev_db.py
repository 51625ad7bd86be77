"""``make dev-db``: the development database of plain dbt, a copy of the published warehouse.

``cd dbt_project && dbt build -s model+`` writes dbt's default target, ``dev`` (profiles.yml),
never the published file BI tools read; only the orchestrated runs build the warehouse, in a
working copy they publish atomically (DECISIONLOG.md, 54). This module seeds that development
database from the last published snapshot, so a model can be rebuilt on top of real upstream
tables (docs/develop.md).

The copy (a reflink where the file system offers one: ``snapshots.clone_or_copy``) is taken
under a read-only DuckDB connection to the published file (its shared lock keeps writers out while
the bytes are copied), lands under a temporary name and is renamed over the development
database, whose stale WAL is removed first: DuckDB would replay it into the copy.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from pathlib import Path

import duckdb

from touchpoint_alchemy import snapshots
from touchpoint_alchemy.settings import Settings, dev_warehouse_path


class DevDatabaseError(RuntimeError):
    """The development database cannot be made (no published warehouse, a bad path)."""


def seed_dev_database(published: Path, dev: Path) -> tuple[str, datetime] | None:
    """Replace ``dev`` with a copy of ``published``; return the copied snapshot's
    (run_id, published_at), or None for a file without a build marker."""
    if not published.exists():
        raise DevDatabaseError(
            f"No published warehouse at {published} yet: run `make run` first "
            "(or point WAREHOUSE_DUCKDB_PATH at one)."
        )
    if dev.resolve() == published.resolve():
        raise DevDatabaseError(
            f"The development database {dev} is the published warehouse itself: set "
            "DBT_DEV_DUCKDB_PATH to another file (or unset it for data/dev/)."
        )
    if dev.name != published.name:
        raise DevDatabaseError(
            f"The development database must have the published file's name, {published.name} "
            f"(DuckDB names the catalog after the file, and the copied views refer to it), not "
            f"{dev.name}: set DBT_DEV_DUCKDB_PATH to <folder>/{published.name}."
        )
    dev.parent.mkdir(parents=True, exist_ok=True)
    partial = dev.with_name(dev.name + ".copying")  # not a name DuckDB opens
    try:
        with duckdb.connect(str(published), read_only=True) as con:
            info = snapshots.build_info(con)
            snapshots.clone_or_copy(published, partial)
            if snapshots.wal_path(published).exists():
                snapshots.clone_or_copy(snapshots.wal_path(published), snapshots.wal_path(partial))
    except duckdb.IOException as error:
        partial.unlink(missing_ok=True)
        raise DevDatabaseError(
            f"Cannot read {published} (a process holds it for writing?): {error}"
        ) from error
    snapshots.wal_path(dev).unlink(missing_ok=True)
    if snapshots.wal_path(partial).exists():
        os.replace(snapshots.wal_path(partial), snapshots.wal_path(dev))
    os.replace(partial, dev)
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m touchpoint_alchemy.dev_db",
        description="Copy the published warehouse into plain dbt's development database.",
    )
    parser.parse_args(argv)
    published = Settings.from_env().warehouse_path
    dev = dev_warehouse_path()
    try:
        info = seed_dev_database(published, dev)
    except DevDatabaseError as error:
        print(error, file=sys.stderr)
        return 2
    snapshot = f"run {info[0]}, published {info[1]:%Y-%m-%d %H:%M} UTC" if info else "no marker"
    print(f"Development database {dev}: a copy of {published} ({snapshot}).")
    print("Plain dbt writes it: cd dbt_project && ../.venv/bin/dbt build -s <model>+")
    return 0


if __name__ == "__main__":
    sys.exit(main())
