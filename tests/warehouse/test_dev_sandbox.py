"""Plain dbt's sandbox (docs/develop.md; DECISIONLOG.md, 54): `make dev-db` copies the published
warehouse into the development database, and `cd dbt_project && dbt run -s model` (the
environment's dbt, no variables pointing anywhere) rebuilds the model there while the published
file stays byte for byte what it was.

The "published" warehouse is a copy of the shared demo build in tmp_path (the shared file is
read-only for every test); the development database goes to tmp_path too (DBT_DEV_DUCKDB_PATH).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

from touchpoint_alchemy.settings import DBT_PROJECT_DIR, REPO_ROOT

DBT = Path(sys.executable).parent / "dbt"
MODEL = "cohort_retention"
#: variables that would point dbt (or make) somewhere else than the test says
POINTERS = (
    "WAREHOUSE_DUCKDB_PATH",
    "DBT_DEV_DUCKDB_PATH",
    "WAREHOUSE_TARGET",
    "DBT_TARGET",
    "DBT_TARGET_PATH",
    "DATA_CUTOFF",
    "RAW_DATA_DIR",
)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _clean_env(**values: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in POINTERS}
    return {**env, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1", **values}


def _make_dev_db(published: Path, dev: Path) -> subprocess.CompletedProcess:
    env = _clean_env(WAREHOUSE_DUCKDB_PATH=str(published), DBT_DEV_DUCKDB_PATH=str(dev))
    return subprocess.run(
        ["make", "--no-print-directory", "dev-db"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_plain_dbt_builds_the_dev_database_and_never_touches_the_published_file(
    demo_warehouse, tmp_path
):
    published = tmp_path / "published" / "warehouse.duckdb"
    published.parent.mkdir()
    shutil.copy(demo_warehouse.path, published)
    dev = tmp_path / "dev" / "warehouse.duckdb"
    before = _sha256(published)

    seeded = _make_dev_db(published, dev)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    assert str(dev) in seeded.stdout
    assert _sha256(dev) == before  # a copy of the snapshot
    # Drop the model from the copy, so that finding it afterwards proves dbt built it there.
    with duckdb.connect(str(dev)) as con:
        con.execute(f"drop table marts.{MODEL}")

    run = subprocess.run(
        [
            str(DBT), "run", "--select", MODEL,
            "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs"),
        ],
        cwd=DBT_PROJECT_DIR,
        env=_clean_env(DBT_DEV_DUCKDB_PATH=str(dev)),
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    assert _sha256(published) == before, "plain dbt changed the published warehouse"
    with duckdb.connect(str(dev), read_only=True) as con:
        con.execute(f"attach '{published}' as published (read_only)")
        rebuilt = con.execute(f"select count(*) from marts.{MODEL}").fetchone()[0]
        differing = con.execute(
            f"select count(*) from ((select * from marts.{MODEL} except all "
            f"select * from published.marts.{MODEL}) union all "
            f"(select * from published.marts.{MODEL} except all select * from marts.{MODEL}))"
        ).fetchone()[0]
    assert rebuilt > 10
    assert differing == 0, "the rebuilt model differs from the published one"
    assert _sha256(published) == before


def test_make_dev_db_without_a_published_warehouse_says_to_run_make_run(tmp_path):
    seeded = _make_dev_db(tmp_path / "none" / "warehouse.duckdb", tmp_path / "dev" / "w.duckdb")
    assert seeded.returncode != 0
    assert "No published warehouse" in seeded.stderr
    assert "make run" in seeded.stderr
    assert not (tmp_path / "dev").exists()
