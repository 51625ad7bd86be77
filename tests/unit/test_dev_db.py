"""`make dev-db` (touchpoint_alchemy/dev_db.py): the development database is a complete copy of
the published snapshot, a stale WAL of the old development database is not replayed into it, the
published file is never written, and a missing snapshot or a bad path is refused in words."""

from __future__ import annotations

import hashlib

import duckdb
import pytest

from touchpoint_alchemy import snapshots
from touchpoint_alchemy.dev_db import DevDatabaseError, seed_dev_database
from touchpoint_alchemy.settings import DBT_PROJECT_DIR, REPO_ROOT, dev_warehouse_path


def _published(path, rows: int):
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(f"create table marts.t as select range as x from range({rows})")
        con.execute("create view marts.v as select * from marts.t")
    return path


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_dev_database_is_a_copy_and_the_published_file_is_untouched(tmp_path):
    published = _published(tmp_path / "pub" / "warehouse.duckdb", 1000)
    before = _sha(published)
    dev = tmp_path / "dev" / "warehouse.duckdb"
    # an earlier development database, with a WAL of its own that must not be replayed
    _published(dev, 3)
    snapshots.wal_path(dev).write_bytes(b"not a WAL of the new copy")

    info = seed_dev_database(published, dev)

    assert info is None  # a file without a build marker
    assert _sha(published) == before
    assert _sha(dev) == before
    assert not snapshots.wal_path(dev).exists()
    assert not list(dev.parent.glob("*.copying*"))
    with duckdb.connect(str(dev)) as con:
        assert con.execute("select count(*), sum(x) from marts.v").fetchone() == (1000, 499500)
        con.execute("create table marts.mine as select 1 as y")  # writable: the sandbox
    assert _sha(published) == before


def test_no_published_warehouse_says_make_run(tmp_path):
    with pytest.raises(DevDatabaseError, match=r"No published warehouse .* run `make run` first"):
        seed_dev_database(tmp_path / "warehouse.duckdb", tmp_path / "dev" / "warehouse.duckdb")
    assert not (tmp_path / "dev").exists()


def test_the_dev_database_is_never_the_published_file_and_keeps_its_name(tmp_path):
    published = _published(tmp_path / "warehouse.duckdb", 10)
    with pytest.raises(DevDatabaseError, match="is the published warehouse itself"):
        seed_dev_database(published, tmp_path / "." / "warehouse.duckdb")
    # DuckDB names the catalog after the file; the copied views name that catalog
    with pytest.raises(DevDatabaseError, match="must have the published file's name"):
        seed_dev_database(published, tmp_path / "dev" / "dev.duckdb")


def test_the_dev_path_follows_profiles_yml():
    assert dev_warehouse_path({}) == REPO_ROOT / "data" / "dev" / "warehouse.duckdb"
    mine = {"WAREHOUSE_DUCKDB_PATH": "/srv/bi/mine.duckdb"}
    assert dev_warehouse_path(mine) == REPO_ROOT / "data" / "dev" / "mine.duckdb"
    assert dev_warehouse_path({"DBT_DEV_DUCKDB_PATH": "/tmp/x/w.duckdb"}).as_posix() == (
        "/tmp/x/w.duckdb"
    )
    # relative to dbt_project/, where dbt runs and reads it
    relative = dev_warehouse_path({"DBT_DEV_DUCKDB_PATH": "../scratch/warehouse.duckdb"})
    assert relative == (DBT_PROJECT_DIR / ".." / "scratch" / "warehouse.duckdb").resolve()
