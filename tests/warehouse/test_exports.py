"""What a BI tool without a DuckDB driver gets from the demo build: every mart as Parquet beside
the warehouse (``warehouse/parquet_exports``), row for row, and the dbt descriptions of the
tables and columns as catalog comments (persist_docs) for the tools that do open the file.

The marts are listed from the warehouse's own catalog (the ``marts`` schema), not from the code
that exports them; rows are compared by DuckDB in both directions with EXCEPT ALL (duplicates
counted) over the Parquet file read back, independently of the writer."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

#: share of mart columns that must carry a comment (issue #19)
MIN_COMMENTED = 0.9


def _marts(con) -> list[str]:
    return [
        row[0]
        for row in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' "
            "and table_type = 'BASE TABLE' and table_catalog = current_database() order by 1"
        ).fetchall()
    ]


@pytest.fixture(scope="module")
def exported(demo_warehouse) -> Path:
    """The path readers use: ``<dir>/exports/<stem>/marts``."""
    return demo_warehouse.path.parent / "exports" / demo_warehouse.path.stem / "marts"


def test_every_mart_has_a_parquet_export_with_the_same_rows(demo_warehouse, exported):
    with demo_warehouse.connect() as con:
        marts = _marts(con)
        assert len(marts) > 15
        assert sorted(p.name for p in exported.iterdir() if p.is_dir()) == marts
        for mart in marts:
            files = sorted((exported / mart).glob("*.parquet"))
            assert files, mart
            parquet = "read_parquet([" + ", ".join(f"'{f}'" for f in files) + "])"
            table = f"marts.{mart}"
            counts = con.execute(
                f"select (select count(*) from {table}), (select count(*) from {parquet})"
            ).fetchone()
            assert counts[0] == counts[1], mart
            for left, right in ((table, parquet), (parquet, table)):
                extra = con.execute(
                    f"select count(*) from (select * from {left} except all select * from {right})"
                ).fetchone()[0]
                assert extra == 0, f"{mart}: {extra} rows of {left} not in {right}"
            names = [r[0] for r in con.execute(f"describe select * from {parquet}").fetchall()]
            assert names == [r[0] for r in con.execute(f"describe {table}").fetchall()], mart


def test_the_exports_are_one_set_of_the_published_snapshot(demo_warehouse, exported):
    """``marts`` is a relative link to one complete set, whose manifest names the snapshot."""
    assert exported.is_symlink() and not os.path.isabs(os.readlink(exported))
    assert exported.resolve().parent.name == ".sets"
    manifest = json.loads((exported / "_export.json").read_text())
    with demo_warehouse.connect() as con:
        run_id = con.execute("select run_id from audit.build_info()").fetchone()[0]
        rows = {
            mart: con.execute(f"select count(*) from marts.{mart}").fetchone()[0]
            for mart in _marts(con)
        }
    assert manifest["run_id"] == run_id
    assert {m["table"]: m["rows"] for m in manifest["marts"]} == rows


def test_mart_tables_and_columns_carry_their_descriptions_as_comments(demo_warehouse, dbt_manifest):
    """persist_docs: DBeaver, Metabase and Superset show the catalog's comments."""
    with demo_warehouse.connect() as con:
        columns, commented = con.execute(
            "select count(*), count(*) filter (where coalesce(trim(comment), '') <> '') "
            "from duckdb_columns() where schema_name = 'marts' "
            "and database_name = current_database()"
        ).fetchone()
        uncommented_tables = con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts' "
            "and database_name = current_database() and coalesce(trim(comment), '') = ''"
        ).fetchall()
        comments = dict(
            con.execute(
                "select column_name, comment from duckdb_columns() "
                "where schema_name = 'marts' and table_name = 'customers'"
            ).fetchall()
        )
    assert columns > 100
    assert commented / columns >= MIN_COMMENTED, f"{commented} of {columns} columns commented"
    assert uncommented_tables == []
    # each comment is the column's dbt description
    node = json.loads(dbt_manifest.read_text())["nodes"]["model.touchpoint_alchemy.customers"]
    assert comments == {name: column["description"] for name, column in node["columns"].items()}
