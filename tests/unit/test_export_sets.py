"""The Parquet export sets (``touchpoint_alchemy.exports``) on a tiny hand-made DuckDB file: the
layout readers use, the atomic switch of the ``marts`` link, the sets kept, the re-export after
an erasure, and which models are marts. The same code on the demo build:
tests/warehouse/test_exports.py; after a real erasure: tests/scenarios/test_erasure.py."""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from touchpoint_alchemy import exports, snapshots
from touchpoint_alchemy.settings import Settings


def _publish(path: Path, run_id: str, rows: list[tuple[int, str]]) -> None:
    """A published snapshot with one mart (``marts.people``) and one other table."""
    working = snapshots.working_path(path, run_id)
    working.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(working)) as con:
        con.execute("create schema marts; create schema staging")
        con.execute("create table marts.people (id integer, name varchar)")
        con.executemany("insert into marts.people values (?, ?)", rows)
        con.execute("create table staging.secret as select 1 as x")
    snapshots.publish(working, path, run_id)


def _read(link: Path) -> list[tuple]:
    table = pq.read_table(link / "people" / "people.parquet")
    return sorted(zip(*(table.column(c).to_pylist() for c in table.column_names), strict=True))


RELATIONS = [("marts", "people")]


def test_export_switches_the_link_to_a_complete_new_set(tmp_path):
    published = tmp_path / "wh.duckdb"
    _publish(published, "run-1", [(1, "a"), (2, "b")])
    first = exports.export_marts(published, RELATIONS)
    link = tmp_path / "exports" / "wh" / "marts"
    assert exports.current_link(published) == link
    assert link.is_symlink() and not os.path.isabs(os.readlink(link))  # relative: movable
    assert first.run_id == "run-1" and first.rows == {"people": 2}
    assert _read(link) == [(1, "a"), (2, "b")]
    assert json.loads((link / "_export.json").read_text())["run_id"] == "run-1"
    assert [p.name for p in link.iterdir() if p.is_dir()] == ["people"]  # marts only

    _publish(published, "run-2", [(3, "c")])
    held = link.resolve()  # a reader that resolved the link before the next export
    second = exports.export_marts(published, RELATIONS)
    assert second.path != first.path and link.resolve() == second.path
    assert _read(link) == [(3, "c")]
    assert _read(held) == [(1, "a"), (2, "b")]  # the previous set is kept for it
    _publish(published, "run-3", [(4, "d")])
    third = exports.export_marts(published, RELATIONS)
    kept = sorted(p.name for p in (tmp_path / "exports" / "wh" / ".sets").iterdir())
    assert kept == sorted([second.path.name, third.path.name])  # KEEP_SETS = 2
    assert not list((tmp_path / "exports" / "wh").glob(".marts.*"))  # no pending link left


def test_a_failed_export_leaves_the_current_set(tmp_path):
    published = tmp_path / "wh.duckdb"
    _publish(published, "run-1", [(1, "a")])
    first = exports.export_marts(published, RELATIONS)
    with pytest.raises(duckdb.CatalogException):
        exports.export_marts(published, [*RELATIONS, ("marts", "missing")])
    assert exports.current_set(published) == first.path
    assert [p.name for p in (tmp_path / "exports" / "wh" / ".sets").iterdir()] == [first.path.name]


def test_refresh_reexports_the_current_marts_and_deletes_every_other_set(tmp_path):
    published = tmp_path / "wh.duckdb"
    assert exports.refresh(published) is None  # nothing exported yet: nothing to do
    _publish(published, "run-1", [(1, "a"), (2, "b")])
    exports.export_marts(published, RELATIONS)
    exports.export_marts(published, RELATIONS)
    with duckdb.connect(str(published)) as con:  # an erasure, in short
        con.execute("delete from marts.people where id = 2")
    fresh = exports.refresh(published)
    assert fresh.rows == {"people": 1}
    assert list((tmp_path / "exports" / "wh" / ".sets").iterdir()) == [fresh.path]
    assert _read(exports.current_link(published)) == [(1, "a")]


def test_marts_come_from_the_models_folder_of_the_manifest():
    def node(path, schema, alias, kind="model", materialized="table"):
        return {
            "resource_type": kind,
            "path": path,
            "schema": schema,
            "alias": alias,
            "config": {"materialized": materialized},
        }

    manifest = {
        "nodes": {
            "a": node("marts/growth/b.sql", "marts", "b"),
            "b": node("marts/a.sql", "marts", "a"),
            "c": node("intermediate/int_x.sql", "intermediate", "int_x"),
            "d": node("marts/a.sql", "marts", "not_null_a_id", kind="test"),
            "e": node("marts/e.sql", "marts", "e", materialized="ephemeral"),
        }
    }
    assert exports.mart_relations(manifest) == [("marts", "a"), ("marts", "b")]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, True), ("", True), ("true", True), ("1", True), ("FALSE", False), ("no", False)],
)
def test_parquet_exports_setting(value, expected):
    env = {} if value is None else {"PARQUET_EXPORTS": value}
    assert Settings.from_env(env).parquet_exports is expected


def test_parquet_exports_setting_rejects_other_values():
    with pytest.raises(ValueError, match="PARQUET_EXPORTS"):
        Settings.from_env({"PARQUET_EXPORTS": "maybe"})
