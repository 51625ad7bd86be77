"""The PII scan: no table of the warehouse holds a raw e-mail address or phone number.

:func:`scan_for_pii` scans every column of text type of every table in every schema, with one
query per table, for two things:

- a value equal to a raw e-mail or phone of the input: each value of the raw users file's
  ``email`` and ``phone`` columns as given, lower-cased and trimmed, and (phones) reduced to its
  digits and a leading ``+``, the form that is hashed;
- a value that contains something shaped like an e-mail address (``name@domain.tld``) or a phone
  number (9 to 15 digits, optionally with ``+``, spaces, dots, dashes and parentheses, that is not
  a date, a time or a decimal number).

Views are not scanned: they hold no data of their own, only queries over the scanned tables (the
staging views read the base tables, never the raw files), and scanning them would re-run them.
A finding names the table, the column and the kind of finding, never the value. The Dagster
asset check ``no_raw_pii`` (``orchestration/privacy.py``) runs it after every build.

:func:`scan` takes a :class:`ScanScope`: the whole warehouse (a full refresh, the weekly run),
or a daily run's scope, which skips the derived tables (covered by column lineage) and reads
only the rows the run wrote of a windowed table (``touchpoint_alchemy.pii_scope``, DECISIONLOG
74).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from touchpoint_alchemy import catalog
from touchpoint_alchemy.raw_contract import raw_relation
from touchpoint_alchemy.sql import quote_identifier, quote_literal, quote_relation

#: ``name@domain.tld``
EMAIL_PATTERN = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
#: a run of digits with phone separators, not inside a word or an id (hex hashes and ids such as
#: ``a_4571563289`` have digit runs too); the
#: candidate (group 2) is a phone when it has 9 to 15 digits and is not a date (2025-01-31...) or
#: a decimal number
PHONE_CANDIDATE = r"(^|[^0-9A-Za-z_])(\+?\(?[0-9][0-9 ().-]{6,}[0-9])([^0-9A-Za-z_]|$)"
_NOT_PHONE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}|^[0-9]+\.[0-9]+$"
#: raw values shorter than this are not searched for (a one-letter "e-mail" would match anything)
MIN_RAW_LENGTH = 6
KINDS = ("a raw e-mail or phone of the input", "an e-mail address", "a phone number")


def _load_raw_pii(con, raw_dir: Path) -> None:
    """Fill temp table ``raw_pii(value)`` with the raw e-mails and phones."""
    con.execute(
        f"""
        create or replace temp table raw_pii as
        with raw as (
            select cast(email as varchar) as email, cast(phone as varchar) as phone
            from {raw_relation(raw_dir, "users")}
        ),
        candidates as (
            select email as value from raw
            union all select lower(trim(email)) from raw
            union all select phone from raw
            union all select trim(phone) from raw
            union all select regexp_replace(trim(phone), '[^0-9+]', '', 'g') from raw
        )
        select distinct value from candidates
        where value is not null and length(value) >= {MIN_RAW_LENGTH}
        """
    )


#: a relation, (schema, table)
Relation = tuple[str, str]


@dataclass(frozen=True)
class ScanScope:
    """What a scan reads: every text column of every table, less the tables of ``skip``; of a
    table in ``row_filters``, only the rows its SQL condition selects. ``name`` says which scope
    it is (``full``, or the daily run's window) in the check's metadata."""

    name: str = "full"
    skip: frozenset[Relation] = frozenset()
    row_filters: Mapping[Relation, str] = field(default_factory=dict)


FULL = ScanScope()


@dataclass
class ScanResult:
    #: ``schema.table.column: <kind> in n row(s)``
    findings: list[str]
    tables: int
    columns: int
    #: rows read, over every table scanned
    rows: int
    #: tables with text columns that the scope skipped
    skipped: list[str]
    #: tables read only in part (their row filter), ``schema.table``
    filtered: list[str]


def _findings_query(
    schema: str,
    table: str,
    columns: Sequence[str],
    exact_only: Collection[str] = (),
    where: str | None = None,
) -> str:
    """One query over the table (its rows that ``where`` selects, when given): the row count,
    then per column, rows equal to a raw value, e-mail-like rows and phone-like rows (for a
    column of ``exact_only``, only the first: the other two counts are 0)."""
    parts = ["count(*)"]
    for column in columns:
        c = quote_identifier(column)
        if column in exact_only:
            parts += [f"count(*) filter (where {c} in (select value from raw_pii))", "0", "0"]
            continue
        # `case when cheap then costly` and not `cheap and costly`: DuckDB evaluates both sides
        # of an `and` inside an aggregate's filter for every row, so the e-mail pattern ran on
        # every value, not only on those with an '@' (4.4x slower on the touchpoints)
        parts += [
            f"count(*) filter (where {c} in (select value from raw_pii))",
            f"count(*) filter (where case when contains({c}, '@') "
            f"then regexp_matches({c}, {quote_literal(EMAIL_PATTERN)}) else false end)",
            f"count(*) filter (where case when regexp_matches({c}, "
            f"{quote_literal(PHONE_CANDIDATE)}) then len(list_filter("
            f"regexp_extract_all({c}, {quote_literal(PHONE_CANDIDATE)}, 2), "
            f"x -> length(regexp_replace(x, '[^0-9]', '', 'g')) between 9 and 15 "
            f"and not regexp_matches(x, {quote_literal(_NOT_PHONE)}))) > 0 else false end)",
        ]
    condition = f" where {where}" if where else ""
    return f"select {', '.join(parts)} from {quote_relation(schema, table)}{condition}"


def scan_for_pii(
    con, raw_dir: Path | None, exact_only: Collection[tuple[str, str, str]] = ()
) -> tuple[list[str], int, int]:
    """Scan every table of the connection's database. Returns the findings (``schema.table.column:
    <kind> in n row(s)``), the number of tables and of text columns scanned.

    ``exact_only``: (schema, table, column) of machine-written text (file paths, run ids) whose
    digits can look like a phone number; those columns are searched for the input's raw values
    only. The dbt project declares them (column ``meta: {pii_scan: exact_only}``)."""
    result = scan(con, raw_dir, exact_only)
    return result.findings, result.tables, result.columns


def scan(
    con,
    raw_dir: Path | None,
    exact_only: Collection[tuple[str, str, str]] = (),
    scope: ScanScope = FULL,
) -> ScanResult:
    """Scan the tables of the connection's database that ``scope`` covers (default: all, every
    row); ``exact_only`` as in :func:`scan_for_pii`."""
    con.execute("set enable_progress_bar = false")
    if raw_dir is None:
        con.execute("create or replace temp table raw_pii (value varchar)")
    else:
        _load_raw_pii(con, raw_dir)
    by_table = {
        key: text
        for key, table_columns in catalog.columns(con, base_tables_only=True).items()
        if (text := catalog.text_columns(table_columns))
    }
    skipped = sorted(f"{s}.{t}" for s, t in by_table if (s, t) in scope.skip)
    scanned = {key: names for key, names in by_table.items() if key not in scope.skip}
    findings, rows, filtered = [], 0, []
    for (schema, table), names in scanned.items():
        exempt = {column for s, t, column in exact_only if (s, t) == (schema, table)}
        where = scope.row_filters.get((schema, table))
        if where:
            filtered.append(f"{schema}.{table}")
        counts = con.execute(_findings_query(schema, table, names, exempt, where)).fetchone()
        rows += counts[0]
        for i, column in enumerate(names):
            for kind, count in zip(KINDS, counts[1 + 3 * i : 4 + 3 * i], strict=True):
                if count:
                    findings.append(f"{schema}.{table}.{column}: {kind} in {count} row(s)")
    return ScanResult(
        findings=findings,
        tables=len(scanned),
        columns=sum(len(names) for names in scanned.values()),
        rows=rows,
        skipped=skipped,
        filtered=filtered,
    )
