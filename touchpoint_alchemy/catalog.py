"""The tables of a DuckDB warehouse and their columns, read from its ``information_schema``.

One query for every caller that walks the warehouse (the PII scan, erasure, the scoring writes,
the run summary, the Dagster metadata): the tables of the open database only
(``current_database()``), never those of the system schemas.
"""

from __future__ import annotations

from collections.abc import Sequence

from touchpoint_alchemy.sql import quote_literal

#: schemas of the engine itself, never scanned
SYSTEM_SCHEMAS = ("information_schema", "pg_catalog")
BASE_TABLE = "BASE TABLE"
VIEW = "VIEW"
#: the data type of a text column
TEXT = "VARCHAR"


def tables(con, schemas: Sequence[str] | None = None) -> list[tuple[str, str, str]]:
    """(schema, name, type) of every table and view of the open database, or of those in
    ``schemas``, ordered by schema and name; type is ``BASE TABLE`` or ``VIEW``.

    The schema names are quoted literals, not parameters: DuckDB's Python client imports pandas
    on a connection's first query with parameters (0.27 s), which the run summary, a process of
    its own that needs no pandas, paid for this query alone (DECISIONLOG 137)."""
    if schemas is not None and not schemas:
        return []
    query = (
        "select table_schema, table_name, table_type from information_schema.tables "
        f"where table_catalog = current_database() and table_schema not in {_in(SYSTEM_SCHEMAS)} "
    )
    if schemas is not None:
        query += f"and table_schema in {_in(schemas)} "
    return [tuple(row) for row in con.execute(query + "order by all").fetchall()]


def _in(values: Sequence[str]) -> str:
    return "(" + ", ".join(quote_literal(value) for value in values) + ")"


def columns(
    con, *, base_tables_only: bool = False, schema: str | None = None, table: str | None = None
) -> dict[tuple[str, str], dict[str, str]]:
    """(schema, table) -> {column: data type}, the columns in their order, for every table (and,
    unless ``base_tables_only``, view) of the open database; only ``schema`` and ``table`` when
    given."""
    query = (
        "select c.table_schema, c.table_name, c.column_name, c.data_type "
        "from information_schema.columns as c "
        "inner join information_schema.tables as t "
        "using (table_catalog, table_schema, table_name) "
        "where c.table_catalog = current_database() and c.table_schema not in ? "
    )
    params: list = [list(SYSTEM_SCHEMAS)]
    if base_tables_only:
        query += f"and t.table_type = '{BASE_TABLE}' "
    for column, value in (("c.table_schema", schema), ("c.table_name", table)):
        if value is not None:
            query += f"and {column} = ? "
            params.append(value)
    query += "order by c.table_schema, c.table_name, c.ordinal_position"
    found: dict[tuple[str, str], dict[str, str]] = {}
    for table_schema, table_name, column_name, data_type in con.execute(query, params).fetchall():
        found.setdefault((table_schema, table_name), {})[column_name] = data_type
    return found


def text_columns(table_columns: dict[str, str]) -> list[str]:
    """The text (VARCHAR) columns of one table's ``{column: data type}``, in order."""
    return [name for name, data_type in table_columns.items() if data_type == TEXT]
