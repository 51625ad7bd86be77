"""touchpoint_alchemy.catalog.tables: the tables of the open database, filtered by schema names
written into the SQL as quoted literals (DECISIONLOG 137)."""

from __future__ import annotations

import subprocess
import sys

import duckdb

from touchpoint_alchemy import catalog


def test_tables_lists_the_open_databases_tables_by_schema():
    con = duckdb.connect()
    for schema in ("marts", "o'brien", "pg_catalog_like"):
        con.execute(f'create schema "{schema}"')
        con.execute(f'create table "{schema}".t (x int)')
    con.execute("create view marts.v as select 1 as x")
    everything = catalog.tables(con)
    assert ("marts", "t", catalog.BASE_TABLE) in everything
    assert ("marts", "v", catalog.VIEW) in everything
    assert not {schema for schema, _, _ in everything} & set(catalog.SYSTEM_SCHEMAS)
    assert catalog.tables(con, ["o'brien"]) == [("o'brien", "t", catalog.BASE_TABLE)]
    assert catalog.tables(con, ["marts", "nowhere"]) == [
        ("marts", "t", catalog.BASE_TABLE),
        ("marts", "v", catalog.VIEW),
    ]
    assert catalog.tables(con, ["x') or (1=1"]) == []  # a name, never SQL
    assert catalog.tables(con, []) == []


def test_listing_tables_does_not_import_pandas():
    # DuckDB imports pandas (0.27 s) on a connection's first query with parameters; the run
    # summary is a process of its own that lists the tables and needs no pandas
    code = (
        "import sys, duckdb\n"
        "from touchpoint_alchemy import catalog\n"
        "con = duckdb.connect()\n"
        "con.execute('create schema marts; create table marts.t (x int)')\n"
        "assert catalog.tables(con, ['marts'])\n"
        "print('pandas' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
