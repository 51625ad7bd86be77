"""Privacy asset check: after every build, no table holds a raw e-mail address or phone number.

``no_raw_pii`` scans every column of text type of every table in every schema, with one query per
table, for two things:

- a value equal to a raw e-mail or phone of the input: each value of the raw users file's
  ``email`` and ``phone`` columns as given, lower-cased and trimmed, and (phones) reduced to its
  digits and a leading ``+``, the form that is hashed;
- a value that contains something shaped like an e-mail address (``name@domain.tld``) or a phone
  number (9 to 15 digits, optionally with ``+``, spaces, dots, dashes and parentheses, that is not
  a date, a time or a decimal number).

Views are not scanned: they hold no data of their own, only queries over the scanned tables (the
staging views read the base tables, never the raw files), and scanning them would re-run them.
A finding fails the check with severity ERROR and names the table, the column and the kind of
finding, never the value. The check waits for every asset of the build it is given, so it
scans the finished warehouse.

``check_hash_salt`` guards the salt (the HMAC key) of the PII hashes: the development default
warns, and with ``TOUCHPOINT_ENV=production`` it refuses to run (the dbt-duckdb plugin
``touchpoint_alchemy.dbt_duckdb_plugin`` refuses too). ``check_salt_rotation`` compares the key's
fingerprint with the published warehouse's: a change warns, and refuses in production unless
``PII_SALT_ROTATION_CONFIRMED`` names the new fingerprint.
"""

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetsDefinition,
    MetadataValue,
    asset_check,
)

from orchestration.assets.dbt import model_asset_keys_tagged
from orchestration.resources import WarehouseResource
from orchestration.retries import fail_fast_unless_transient
from touchpoint_alchemy import pii_key
from touchpoint_alchemy.raw_contract import CSV_OPTIONS, locate_raw_file
from touchpoint_alchemy.sql import quote_identifier

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
_SYSTEM_SCHEMAS = ("information_schema", "pg_catalog")


#: the development salt; fine on a laptop, never in a real deployment (touchpoint_alchemy.pii_key)
DEFAULT_HASH_SALT = pii_key.DEFAULT_SALT
PRODUCTION_VALUES = pii_key.PRODUCTION_VALUES
HashSaltError = pii_key.HashSaltError


def check_hash_salt(environ: Mapping[str, str] | None = None) -> str | None:
    """None when PII_HASH_SALT is set to a salt of one's own; a warning when the development
    default is used (unset, empty or equal to it); HashSaltError when that happens with
    TOUCHPOINT_ENV=production (the same refusal as the dbt-duckdb plugin's)."""
    if not pii_key.key_from_env(environ).is_default:
        return None
    return (
        "PII_HASH_SALT is not set: e-mail and phone hashes use the development default salt "
        f"('{DEFAULT_HASH_SALT}'). "
        "Fine for the demo; set your own secret salt in any real deployment "
        "(TOUCHPOINT_ENV=production refuses to run without one)."
    )


def check_salt_rotation(
    published: tuple[str | None, str | None] | None,
    environ: Mapping[str, str] | None = None,
) -> str | None:
    """Compare the PII key of this build with the published warehouse's (``published``: its
    recorded (scheme, fingerprint), (None, None) for a snapshot from before fingerprints, None
    when nothing is published yet).

    None when they are the same or there is nothing to compare with; a warning when the
    published snapshot records no fingerprint, or when the key (or the hash scheme) changed.
    With TOUCHPOINT_ENV=production a change raises HashSaltError unless
    PII_SALT_ROTATION_CONFIRMED holds the new fingerprint."""
    env = os.environ if environ is None else environ
    if published is None:
        return None
    scheme, recorded = published
    key = pii_key.key_from_env(env)
    current = key.fingerprint()
    if recorded is None:
        return (
            "The published warehouse records no PII key fingerprint (it was built before "
            f"fingerprints were recorded), so this build cannot tell whether PII_HASH_SALT "
            f"changed. This build records fingerprint {current} ({pii_key.SCHEME}); later "
            "builds compare with it."
        )
    if scheme == pii_key.SCHEME and recorded == current:
        return None
    change = (
        f"The PII key changed: the published warehouse was hashed with fingerprint {recorded} "
        f"({scheme}), this build uses {current} ({pii_key.SCHEME}). Every e-mail and phone "
        "hash of this build differs from the published ones, so joins on them across builds "
        "(exports, CRM matches, earlier snapshots) break."
    )
    confirmed = env.get(pii_key.ROTATION_VARIABLE, "").strip()
    if pii_key.is_production(env) and confirmed != current:
        raise HashSaltError(
            f"Refusing to build: {change} If PII_HASH_SALT was changed by mistake, restore the "
            f"previous one. To rotate it knowingly, set {pii_key.ROTATION_VARIABLE}={current} "
            "and run a full build (make run); later builds with the same key need nothing. "
            "Nothing was built."
        )
    if confirmed == current:
        return f"{change} Rotation confirmed ({pii_key.ROTATION_VARIABLE})."
    return (
        f"{change} If this is not a deliberate rotation, stop and restore the previous "
        f"PII_HASH_SALT (with TOUCHPOINT_ENV=production this build would refuse unless "
        f"{pii_key.ROTATION_VARIABLE}={current})."
    )


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _raw_users_relation(raw_dir: Path) -> str:
    """A DuckDB relation over the raw users file, every column as text (as dbt reads it)."""
    path = locate_raw_file(raw_dir, "users")
    if path.is_dir():
        # a folder name may hold glob characters: [ * ? match themselves (as in read_raw.sql)
        folder = "".join(f"[{c}]" if c in "[*?" else c for c in str(path))
        return f"read_parquet({_quote_literal(folder + '/**/*.parquet')}, union_by_name = true)"
    if path.suffix == ".parquet":
        return f"read_parquet({_quote_literal(str(path))})"
    return f"read_csv({_quote_literal(str(path))}, {CSV_OPTIONS.format(header='true')})"


def _load_raw_pii(con, raw_dir: Path) -> None:
    """Fill temp table ``raw_pii(value)`` with the raw e-mails and phones."""
    relation = _raw_users_relation(raw_dir)
    con.execute(
        f"""
        create or replace temp table raw_pii as
        with raw as (
            select cast(email as varchar) as email, cast(phone as varchar) as phone
            from {relation}
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


def _findings_query(schema: str, table: str, columns: Sequence[str]) -> str:
    """One query over the table: per column, rows equal to a raw value, e-mail-like rows and
    phone-like rows."""
    parts = []
    for column in columns:
        c = quote_identifier(column)
        # `case when cheap then costly` and not `cheap and costly`: DuckDB evaluates both sides
        # of an `and` inside an aggregate's filter for every row, so the e-mail pattern ran on
        # every value, not only on those with an '@' (4.4x slower on the touchpoints)
        parts += [
            f"count(*) filter (where {c} in (select value from raw_pii))",
            f"count(*) filter (where case when contains({c}, '@') "
            f"then regexp_matches({c}, {_quote_literal(EMAIL_PATTERN)}) else false end)",
            f"count(*) filter (where case when regexp_matches({c}, "
            f"{_quote_literal(PHONE_CANDIDATE)}) then len(list_filter("
            f"regexp_extract_all({c}, {_quote_literal(PHONE_CANDIDATE)}, 2), "
            f"x -> length(regexp_replace(x, '[^0-9]', '', 'g')) between 9 and 15 "
            f"and not regexp_matches(x, {_quote_literal(_NOT_PHONE)}))) > 0 else false end)",
        ]
    relation = f"{quote_identifier(schema)}.{quote_identifier(table)}"
    return f"select {', '.join(parts)} from {relation}"


#: the dbt tag of the model the no_raw_pii check sits on (the staged file that carries PII)
PII_TAG = "pii"
KINDS = ("a raw e-mail or phone of the input", "an e-mail address", "a phone number")


def scan_for_pii(con, raw_dir: Path | None) -> tuple[list[str], int, int]:
    """Scan every table of the connection's database. Returns the findings (``schema.table.column:
    <kind> in n row(s)``), the number of tables and of text columns scanned."""
    con.execute("set enable_progress_bar = false")
    if raw_dir is None:
        con.execute("create or replace temp table raw_pii (value varchar)")
    else:
        _load_raw_pii(con, raw_dir)
    columns = con.execute(
        """
        select c.table_schema, c.table_name, c.column_name
        from information_schema.columns as c
        inner join information_schema.tables as t
            on c.table_catalog = t.table_catalog
            and c.table_schema = t.table_schema
            and c.table_name = t.table_name
        where c.table_catalog = current_database()
            and t.table_type = 'BASE TABLE'
            and c.table_schema not in ?
            and c.data_type = 'VARCHAR'
        order by c.table_schema, c.table_name, c.ordinal_position
        """,
        [list(_SYSTEM_SCHEMAS)],
    ).fetchall()
    by_table: dict[tuple[str, str], list[str]] = {}
    for schema, table, column in columns:
        by_table.setdefault((schema, table), []).append(column)
    findings = []
    for (schema, table), names in by_table.items():
        counts = con.execute(_findings_query(schema, table, names)).fetchone()
        for i, column in enumerate(names):
            for kind, count in zip(KINDS, counts[3 * i : 3 * i + 3], strict=True):
                if count:
                    findings.append(f"{schema}.{table}.{column}: {kind} in {count} row(s)")
    return findings, len(by_table), len(columns)


def pii_scan_check(wait_for: Iterable[AssetsDefinition]) -> AssetChecksDefinition:
    """The ``no_raw_pii`` check, on the staged users (the file that carries PII); it runs after
    every asset of ``wait_for``, so it scans the finished warehouse."""
    keys = {key for assets in wait_for for key in assets.keys}
    targets = [key for key in model_asset_keys_tagged(PII_TAG) if key in keys]
    if len(targets) != 1:
        raise ValueError(
            f"expected one model tagged {PII_TAG!r} among the build's assets, got {targets}"
        )
    target = targets[0]
    deps = sorted(keys - {target}, key=lambda key: key.to_user_string())

    @asset_check(
        asset=target,
        name="no_raw_pii",
        additional_deps=deps,
        description=(
            "No table in any schema holds a raw e-mail or phone of the raw users file, or any "
            "value shaped like an e-mail address or a phone number (one query per table, text "
            "columns only). Fails with severity ERROR, naming the table and column."
        ),
    )
    @fail_fast_unless_transient
    def no_raw_pii(
        context: AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> AssetCheckResult:
        with warehouse.get_connection() as con:
            findings, tables, columns = scan_for_pii(con, Path(warehouse.raw_data_dir))
        description = (
            f"PII found in {len(findings)} column(s): " + "; ".join(findings)
            if findings
            else f"no raw e-mail or phone in {columns} text column(s) of {tables} table(s)"
        )
        if findings:
            context.log.error(description)
        return AssetCheckResult(
            passed=not findings,
            severity=AssetCheckSeverity.ERROR,
            description=description,
            metadata={
                "tables_scanned": tables,
                "text_columns_scanned": columns,
                "findings": MetadataValue.json(findings),
            },
        )

    return no_raw_pii
