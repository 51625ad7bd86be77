"""Right to erasure: remove every row about one user from the warehouse and its snapshots.

    python -m touchpoint_alchemy.erase <user_id>        (or: make erase USER_ID=<user_id>)

Which rows are the user's, without a list of model names:

1. The user's identifiers: the user id; the anonymous ids (devices) seen with the user id and
   with no other user, and their actor form ``anon:<anonymous_id>``; and the keys of the
   user's own records, found in every table that has a user column (``user_id``, ``actor_id``,
   ``anonymous_id``) next to a record key (``order_id``, ``touchpoint_id``, ``response_id``,
   ``session_id``, ``journey_id``). So order lines, attribution credits and sessions go with
   the orders, touchpoints and actors they belong to.
2. A row is the user's when any of its text columns equals one of those identifiers, or names
   the user id, one of the devices or one of the orders as a whole token inside a longer text
   (the quarantine's ``raw_record`` JSON, ``record_key`` such as ``o20|1``, ``session_id`` such
   as ``c1#1``, ``journey_id`` such as ``order:o01``).

Every base table of every schema is scanned (views follow their tables). Aggregates that never
name a user (the funnel, the cohort grid, the headline metrics) keep their numbers until the
next build, which recomputes them without the user once the user is gone from the raw files.

The published file is never edited in place: the erasure works on a copy and publishes it with
the same atomic ``os.replace`` as a build (``touchpoint_alchemy.snapshots``), so a reader sees
the warehouse with or without the user, never half. Kept unpublished builds (failed or killed
runs) are erased in place. A build that is running refuses the erasure (its copy still holds
the user and would bring them back when it publishes): erase again when it has finished.

The raw files are the source: delete the user there too, or the next build brings them back.
"""

from __future__ import annotations

import argparse
import re
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from touchpoint_alchemy import catalog, exports, snapshots
from touchpoint_alchemy.settings import Settings
from touchpoint_alchemy.sql import quote_identifier, quote_relation

#: columns whose value says who a row is about
USER_COLUMNS = ("user_id", "actor_id", "anonymous_id")
#: columns that key one user's own records (never a shared thing such as experiment_id)
RECORD_COLUMNS = ("order_id", "touchpoint_id", "response_id", "session_id", "journey_id")
#: characters that end an identifier inside a longer text: JSON quotes, key and id separators
_SEPARATORS = r"""["'|#:,;\s{}\[\]]"""


@dataclass
class Erasure:
    """What one erasure removed, per file and table (counts only: no values are kept)."""

    user_id: str
    deleted: dict[str, dict[str, int]] = field(default_factory=dict)

    def total(self, path: Path | str) -> int:
        return sum(self.deleted.get(str(path), {}).values())


def _values(con, sql: str, params: list) -> set[str]:
    """The non-blank values the query returns (a blank id would match every separator)."""
    return {row[0] for row in con.execute(sql, params).fetchall() if row[0] and row[0].strip()}


def identifiers(con: duckdb.DuckDBPyConnection, user_id: str) -> tuple[set[str], set[str]]:
    """(identifiers matched by equality, identifiers also matched as tokens in longer text)."""
    tables = catalog.columns(con, base_tables_only=True)
    devices: set[str] = set()
    shared: set[str] = set()
    for (schema, table), columns in tables.items():
        if "user_id" in columns and "anonymous_id" in columns:
            relation = quote_relation(schema, table)
            devices |= _values(
                con, f"select distinct anonymous_id from {relation} where user_id = ?", [user_id]
            )
    if devices:
        for (schema, table), columns in tables.items():
            if "user_id" in columns and "anonymous_id" in columns:
                relation = quote_relation(schema, table)
                shared |= _values(
                    con,
                    f"select distinct anonymous_id from {relation} "
                    "where user_id <> ? and list_contains(?, anonymous_id)",
                    [user_id, sorted(devices)],
                )
    devices -= shared
    people = {user_id, *devices, *(f"anon:{device}" for device in devices)}
    records: set[str] = set()
    orders: set[str] = set()
    for (schema, table), columns in tables.items():
        owners = [c for c in USER_COLUMNS if c in columns and columns[c] == "VARCHAR"]
        keys = [c for c in RECORD_COLUMNS if c in columns and columns[c] == "VARCHAR"]
        if not owners or not keys:
            continue
        relation = quote_relation(schema, table)
        where = " or ".join(f"list_contains($1, {quote_identifier(c)})" for c in owners)
        for key in keys:
            found = _values(
                con,
                f"select distinct {quote_identifier(key)} from {relation} where {where}",
                [sorted(people)],
            )
            records |= found
            if key == "order_id":
                orders |= found
    return people | records, {user_id, *devices, *orders}


def _token_pattern(tokens: set[str]) -> str:
    alternatives = "|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True))
    return f"(^|{_SEPARATORS})({alternatives})($|{_SEPARATORS})"


def erase_in(con: duckdb.DuckDBPyConnection, user_id: str) -> dict[str, int]:
    """Delete the user's rows from every base table of ``con``'s database, in one transaction.
    Returns the rows deleted per table."""
    exact, tokens = identifiers(con, user_id)
    pattern = _token_pattern(tokens)
    deleted: dict[str, int] = {}
    con.execute("begin transaction")
    for (schema, table), columns in catalog.columns(con, base_tables_only=True).items():
        text = catalog.text_columns(columns)
        if not text:
            continue
        relation = quote_relation(schema, table)
        condition = " or ".join(
            f"list_contains($1, {quote_identifier(c)}) or regexp_matches({quote_identifier(c)}, $2)"
            for c in text
        )
        count = con.execute(
            f"delete from {relation} where {condition}", [sorted(exact), pattern]
        ).fetchone()[0]
        if count:
            deleted[f"{schema}.{table}"] = count
    con.execute("commit")
    con.execute("checkpoint")
    return deleted


def _erase_file(path: Path, user_id: str) -> dict[str, int]:
    try:
        con = duckdb.connect(str(path))
    except duckdb.IOException as error:
        if "lock" in str(error).lower():
            raise RuntimeError(
                f"{path} is open for writing: a build is running. Its copy of the warehouse "
                "still holds the user and would bring them back when it publishes; erase "
                "again when it has finished."
            ) from error
        raise
    try:
        return erase_in(con, user_id)
    finally:
        con.close()


def erase_user(published: Path, user_id: str) -> Erasure:
    """Erase ``user_id`` from the kept builds of ``published`` (in place), from the published
    snapshot (through a copy and an atomic publish) and from its Parquet exports (exported again
    from the erased snapshot; older export sets are deleted)."""
    result = Erasure(user_id)
    for kept in snapshots.kept_builds(published):
        result.deleted[str(kept)] = _erase_file(kept, user_id)
    if published.exists():
        run_id = f"erasure-{uuid.uuid4()}"
        working = snapshots.working_path(published, run_id)
        lock = snapshots.WarehouseLock(published)
        lock.acquire(on_wait=print)  # a run building this warehouse publishes first
        try:
            lock.mark(f"erasure {run_id}")
            snapshots.prepare_working_copy(published, working)
            try:
                result.deleted[str(published)] = _erase_file(working, user_id)
            except BaseException:
                snapshots.remove_build(working)
                raise
            snapshots.publish(working, published, run_id)
        finally:
            lock.release()
        _erase_exports(published, result)
    return result


def _erase_exports(published: Path, result: Erasure) -> None:
    """Export the marts again from the erased snapshot; count the rows each export lost."""
    current = exports.current_set(published)
    before = exports.read_set_manifest(current)["marts"] if current is not None else []
    rows_before = {mart["table"]: mart["rows"] for mart in before}
    exported = exports.refresh(published)
    if exported is not None:
        result.deleted[str(exports.current_link(published))] = {
            table: rows_before[table] - rows
            for table, rows in exported.rows.items()
            if rows_before.get(table, rows) != rows
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m touchpoint_alchemy.erase",
        description="Remove every row about a user from the warehouse and its snapshots.",
    )
    parser.add_argument("user_id", help="the user_id as it appears in the raw users file")
    parser.add_argument(
        "--warehouse",
        type=Path,
        default=None,
        help="the published warehouse file (default: WAREHOUSE_DUCKDB_PATH)",
    )
    args = parser.parse_args(argv)
    if not args.user_id.strip():
        parser.error("user_id must not be empty")
    published = (args.warehouse or Settings.from_env().warehouse_path).resolve()
    result = erase_user(published, args.user_id)
    for path, tables in result.deleted.items():
        print(f"{path}: {sum(tables.values())} rows deleted")
        for table, count in sorted(tables.items()):
            print(f"  {table:<48} {count:>8}")
    print(
        "Done. Delete the user from the raw files too (RAW_DATA_DIR), or the next build brings "
        "them back; the aggregates are recomputed without them by that build."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
