"""``parse_timestamp`` on DuckDB (macros/parsing.sql), compiled by dbt and run over hand-worked
values: ISO-8601 with and without an offset (no offset means UTC), a named time zone, blanks
around the value, and the texts that are not timestamps (infinities, garbage, a 13th month)."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pytest

from builds import compile_inline

CASES = [
    ("2025-01-01T10:00:00Z", datetime(2025, 1, 1, 10)),
    ("2025-01-01 10:00:00", datetime(2025, 1, 1, 10)),
    ("2025-01-01T10:00:00.123456+08:00", datetime(2025, 1, 1, 2, 0, 0, 123456)),
    ("2025-01-01T10:00:00+14:00", datetime(2024, 12, 31, 20)),
    ("2025-01-01T10:00:00-12:30", datetime(2025, 1, 1, 22, 30)),
    ("2025-01-01", datetime(2025, 1, 1)),
    ("2025-1-1", datetime(2025, 1, 1)),
    ("2025-01-01T24:00:00", datetime(2025, 1, 2)),
    ("1970-01-01 00:00:00+00", datetime(1970, 1, 1)),
    ("  2025-01-01 10:00:00Z  ", datetime(2025, 1, 1, 10)),
    ("\t2025-01-01 10:00:00", datetime(2025, 1, 1, 10)),
    ("infinity", None),
    ("-infinity", None),
    (" Infinity ", None),
    ("+infinity", None),
    ("infinity BC", None),
    ("2025-13-01", None),
    ("2025-01-01 BC", None),
    ("not a time", None),
    ("", None),
    (" ", None),
    (None, None),
    # Last: DuckDB 1.5 reads the values after a named time zone, in the same vector, in that
    # zone (found here; not ISO-8601, so not in the raw contract).
    ("2025-01-01 10:00:00 America/New_York", datetime(2025, 1, 1, 15)),
]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> str:
    """The macro over a table ``cases(position, raw)``, compiled by dbt."""
    tmp_path = tmp_path_factory.mktemp("parse_timestamp")
    return compile_inline(
        "select position, {{ parse_timestamp('raw') }} as parsed from cases order by position",
        tmp_path,
    )


def test_parse_timestamp_worked_values(compiled):
    """In the profile's session time zone, UTC: a value without an offset is UTC."""
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute("create table cases (position integer, raw varchar)")
        con.executemany("insert into cases values (?, ?)", list(enumerate(c[0] for c in CASES)))
        rows = con.execute(compiled).fetchall()
    assert [parsed for _, parsed in rows] == [expected for _, expected in CASES]
