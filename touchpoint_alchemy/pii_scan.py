"""The PII scan: no table of the warehouse holds a raw e-mail address or phone number.

:func:`scan_for_pii` scans every column of text type of every table in every schema for two
things:

- a value equal to a raw e-mail or phone of the input: each value of the raw users file's
  ``email`` and ``phone`` columns as given, lower-cased and trimmed, and (phones) reduced to its
  digits and a leading ``+``, the form that is hashed;
- a value that contains something shaped like an e-mail address (``name@domain.tld``) or a phone
  number (9 to 15 digits, optionally with ``+``, spaces, dots, dashes and parentheses, that is not
  a date, a time or a decimal number).

A table is read in one query for the columns of (nearly) unique values, row by row, and one query
per column of repeated values, over its distinct values weighted by their rows, so the patterns run
once per value (``ROWS_PER_VALUE_TO_GROUP``, DECISIONLOG 104); the counts are the same. A table
read in part (a row filter) is read in one query, row by row. The raw values are found by a join
with them, one per table (or per column of repeated values), whose hash table is the smaller
side; only a table of a million rows or more counts them in its one pass (DECISIONLOG 133).

Views are not scanned: they hold no data of their own, only queries over the scanned tables (the
staging views read the base tables, never the raw files), and scanning them would re-run them.
A finding names the table, the column and the kind of finding, never the value. The Dagster
asset check ``no_raw_pii`` (``orchestration/privacy.py``) runs it after every build.

:func:`scan` takes a :class:`ScanScope`: the whole warehouse (the weekly run), or a build's
scope, which skips the derived tables (covered by column lineage) and, in a daily run, reads
only the rows the run wrote of a windowed table (``touchpoint_alchemy.pii_scope``, DECISIONLOG
75 and 115).
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
    """Fill temp table ``raw_pii(value)`` with the raw e-mails and phones, each in every form
    searched for. The forms are listed per row and unnested, in one read of the file: a union of
    one select per form read it five times (885k users at 50M: 1.1 s against 2.1-2.5 s)."""
    con.execute(
        f"""
        create or replace temp table raw_pii as
        with raw as (
            select cast(email as varchar) as email, cast(phone as varchar) as phone
            from {raw_relation(raw_dir, "users")}
        ),
        candidates as (
            select unnest([
                email,
                lower(trim(email)),
                phone,
                trim(phone),
                regexp_replace(trim(phone), '[^0-9+]', '', 'g')
            ]) as value
            from raw
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


#: a column with at least this many rows per distinct value (estimated) is scanned by its distinct
#: values, each weighted by its row count: the patterns then run once per value, not once per row
#: (a column of 15 event names over 52.8M rows: 1.6 s to 0.1 s). A column of nearly unique values
#: (ids) is scanned row by row, which is cheaper than grouping it. Both give the same counts; the
#: choice is only about cost.
ROWS_PER_VALUE_TO_GROUP = 4


def _pattern_counts(value: str, rows: str = "count(*)") -> list[str]:
    """The two pattern counts of one column, over the rows whose text is ``value``: e-mail-like
    rows and phone-like rows. ``rows`` is the aggregate that counts the rows a condition selects:
    ``count(*)``, or over distinct values, the sum of their row counts."""

    def rows_where(condition: str) -> str:
        if rows == "count(*)":
            return f"count(*) filter (where {condition})"
        return f"coalesce(sum({rows}) filter (where {condition}), 0)"

    # `case when cheap then costly` and not `cheap and costly`: DuckDB evaluates both sides of an
    # `and` inside an aggregate's filter for every row, so the e-mail pattern ran on every value,
    # not only on those with an '@' (4.4x slower on the touchpoints)
    return [
        rows_where(
            f"case when contains({value}, '@') "
            f"then regexp_matches({value}, {quote_literal(EMAIL_PATTERN)}) else false end"
        ),
        rows_where(
            f"case when regexp_matches({value}, {quote_literal(PHONE_CANDIDATE)}) "
            f"then len(list_filter(regexp_extract_all({value}, "
            f"{quote_literal(PHONE_CANDIDATE)}, 2), "
            f"x -> length(regexp_replace(x, '[^0-9]', '', 'g')) between 9 and 15 "
            f"and not regexp_matches(x, {quote_literal(_NOT_PHONE)}))) > 0 else false end"
        ),
    ]


def _rows_condition(relation: str, where: str | None) -> str:
    # the rows by their rowid: DuckDB then reads the text of the selected rows only, not of every
    # row before the filter (a daily run's 229k of 52.8M touchpoints: 0.16 against 2.4-2.9 s)
    return f" where rowid in (select rowid from {relation} where {where})" if where else ""


def _findings_query(
    schema: str,
    table: str,
    columns: Sequence[str],
    exact_only: Collection[str] = (),
    where: str | None = None,
    raw_inline: bool = False,
) -> str:
    """One query over the table (its rows that ``where`` selects, when given): the row count,
    then per column, row by row, the rows equal to a raw value (only when ``raw_inline``) and
    the two pattern counts of :func:`_pattern_counts` (none for a column of ``exact_only``)."""
    parts = ["count(*)"]
    for column in columns:
        value = quote_identifier(column)
        if raw_inline:
            parts.append(f"count(*) filter (where {value} in (select value from raw_pii))")
        if column not in exact_only:
            parts += _pattern_counts(value)
    relation = quote_relation(schema, table)
    return f"select {', '.join(parts)} from {relation}{_rows_condition(relation, where)}"


def _raw_counts_query(
    schema: str, table: str, columns: Sequence[str], where: str | None = None
) -> str:
    """(column, rows) of each of ``columns`` with rows equal to a raw value of the input: one
    join of the table's values (its rows that ``where`` selects; the columns unpivoted) with
    ``raw_pii``, for a table of fewer rows than ``RAW_INLINE_FROM_ROWS``. One hash table a
    table, of its own values when they are fewer than the raw ones: an ``in (select value from
    raw_pii)`` per column built one of the 1.7M raw values (50M touchpoints) for each column,
    60 ms even on a 4-row table (DECISIONLOG 133)."""
    relation = quote_relation(schema, table)
    names = [quote_identifier(column) for column in columns]
    text = ", ".join(f"cast({name} as varchar) as {name}" for name in names)
    return (
        f"select column_, count(*) from ("
        f"unpivot (select {text} from {relation}{_rows_condition(relation, where)}) "
        f"on {', '.join(names)} into name column_ value value_"
        f") as values_ join raw_pii on values_.value_ = raw_pii.value group by column_"
    )


def _grouped_findings_query(schema: str, table: str, column: str, exact: bool) -> str:
    """The three counts of one column over its distinct values, each weighted by its number of
    rows: rows equal to a raw value (a join, whose hash table is the smaller side, the distinct
    values), then the two pattern counts (for an ``exact`` column, 0)."""
    c = quote_identifier(column)
    raw = (
        "(select coalesce(sum(d.rows_), 0) from distinct_values as d "
        "join raw_pii on d.value_ = raw_pii.value)"
    )
    patterns = ["0", "0"] if exact else _pattern_counts("value_", rows="rows_")
    return (
        f"with distinct_values as materialized (select {c} as value_, count(*) as rows_ "
        f"from {quote_relation(schema, table)} group by {c}) "
        f"select {', '.join([raw, *patterns])} from distinct_values"
    )


#: a table of at least this many rows (read whole) counts its raw values in its one pass, with
#: an ``in`` per column: at 52.8M touchpoints that costs 1 s against 1.9 s for a second pass
#: joined with the raw values (:func:`_raw_counts_query`); below it the join is cheaper
RAW_INLINE_FROM_ROWS = 1_000_000
#: tables of at least this many rows estimate their columns' distinct values on a sample of
#: ``SAMPLE_PERCENT`` % of their rows (DuckDB's system sample: whole vectors, almost free), smaller
#: ones on all their rows. DuckDB's stored statistics are no help: at 46.5M rows they put 2.5M
#: distinct values in a column of unique ids.
SAMPLE_FROM_ROWS = 1_000_000
SAMPLE_PERCENT = 1


def _grouped_columns(con, schema: str, table: str, columns: Sequence[str]) -> list[str]:
    """The columns to scan by distinct value: at least ``ROWS_PER_VALUE_TO_GROUP`` rows per
    distinct value (an estimate: HyperLogLog, on a sample of a large table)."""
    if not columns:
        return []
    relation = quote_relation(schema, table)
    (rows,) = con.execute(f"select count(*) from {relation}").fetchone()
    sample = f" using sample {SAMPLE_PERCENT}% (system)" if rows >= SAMPLE_FROM_ROWS else ""
    names = [quote_identifier(column) for column in columns]
    sampled, *distinct = con.execute(
        f"select count(*), {', '.join(f'approx_count_distinct({n})' for n in names)} "
        f"from (select {', '.join(names)} from {relation}{sample})"
    ).fetchone()
    return [
        column
        for column, values in zip(columns, distinct, strict=True)
        if sampled and sampled >= ROWS_PER_VALUE_TO_GROUP * max(values, 1)
    ]


def _rows(con, schema: str, table: str) -> int:
    return con.execute(f"select count(*) from {quote_relation(schema, table)}").fetchone()[0]


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
        # a table read in part (a daily run's window: few rows) is read once, row by row: a query
        # per column would evaluate the row filter over the whole table each time
        grouped = [] if where else _grouped_columns(con, schema, table, names)
        by_row = [name for name in names if name not in grouped]
        inline = not where and _rows(con, schema, table) >= RAW_INLINE_FROM_ROWS
        count, *counts = con.execute(
            _findings_query(schema, table, by_row, exempt, where, raw_inline=inline)
        ).fetchone()
        rows += count
        joined = (
            dict(con.execute(_raw_counts_query(schema, table, by_row, where)).fetchall())
            if by_row and not inline
            else {}
        )
        found = iter(counts)
        by_column = {
            column: (
                next(found) if inline else joined.get(column, 0),
                *((0, 0) if column in exempt else (next(found), next(found))),
            )
            for column in by_row
        } | {
            column: con.execute(
                _grouped_findings_query(schema, table, column, column in exempt)
            ).fetchone()
            for column in grouped
        }
        for column in names:
            for kind, count in zip(KINDS, by_column[column], strict=True):
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
