"""The PII scan's counts (touchpoint_alchemy/pii_scan.py), on a hand-made table: a column of few
values is scanned by its distinct values, weighted by their rows, a column of unique ids row by
row, and both ways give the counts worked out by hand."""

from __future__ import annotations

import duckdb
import pytest

from touchpoint_alchemy import pii_scan
from touchpoint_alchemy.pii_scan import scan

RAW_EMAIL = "ana.silva@example.com"
RAW_PHONE = "+351 912 345 678"


@pytest.fixture
def con(tmp_path):
    (tmp_path / "users.csv").write_text(f"user_id,email,phone\nu1,{RAW_EMAIL},{RAW_PHONE}\n")
    connection = duckdb.connect()
    # 1,000 rows. `note`, four values: 600 rows 'plain', 250 rows an e-mail address that is not
    # the input's, 100 rows the input's phone (a raw value, and phone-shaped), 50 rows NULL.
    # `id`: unique; row 7 is the input's e-mail, rows 1-3 a phone-shaped text, rows 8-9 'x@y.io'.
    connection.execute(
        f"""
        create schema s;
        create table s.t as
        select
            case
                when i < 600 then 'plain'
                when i < 850 then 'write to Someone.Else@Mail.example.org'
                when i < 950 then '{RAW_PHONE}'
            end as note,
            case
                when i = 7 then '{RAW_EMAIL}'
                when i between 1 and 3 then 'call (212) 555-0199 now ' || i
                when i in (8, 9) then 'x' || i || '@y.io'
                else 't_' || lpad(cast(i as varchar), 6, '0')
            end as id
        from range(1000) as r(i)
        """
    )
    yield connection, tmp_path
    connection.close()


EXPECTED = sorted(
    [
        "s.t.note: a raw e-mail or phone of the input in 100 row(s)",
        "s.t.note: an e-mail address in 250 row(s)",
        "s.t.note: a phone number in 100 row(s)",
        "s.t.id: a raw e-mail or phone of the input in 1 row(s)",
        "s.t.id: an e-mail address in 3 row(s)",
        "s.t.id: a phone number in 3 row(s)",
    ]
)


def test_few_values_are_scanned_by_value_and_ids_row_by_row(con):
    connection, _ = con
    assert pii_scan._grouped_columns(connection, "s", "t", ["note", "id"]) == ["note"]


@pytest.mark.parametrize("raw_inline_from_rows", [pii_scan.RAW_INLINE_FROM_ROWS, 0])
@pytest.mark.parametrize("rows_per_value", [pii_scan.ROWS_PER_VALUE_TO_GROUP, 0, 10**9])
def test_the_counts_are_the_rows_either_way(con, monkeypatch, rows_per_value, raw_inline_from_rows):
    """The default (`note` by value, `id` by row), every column by value, every column by row;
    the raw values of the columns read by row counted by a join (the default below 1M rows) or
    in the table's one pass."""
    connection, raw_dir = con
    monkeypatch.setattr(pii_scan, "ROWS_PER_VALUE_TO_GROUP", rows_per_value)
    monkeypatch.setattr(pii_scan, "RAW_INLINE_FROM_ROWS", raw_inline_from_rows)
    result = scan(connection, raw_dir)
    assert sorted(result.findings) == EXPECTED
    assert result.rows == 1000
    assert (result.tables, result.columns) == (1, 2)


@pytest.mark.parametrize(
    ("rows_per_value", "raw_inline_from_rows"),
    [(pii_scan.ROWS_PER_VALUE_TO_GROUP, pii_scan.RAW_INLINE_FROM_ROWS), (10**9, 0), (10**9, 10**9)],
)
def test_an_exact_only_column_is_searched_for_raw_values_only(
    con, monkeypatch, rows_per_value, raw_inline_from_rows
):
    """`note` by value (the default), and by row with its raw values counted either way."""
    connection, raw_dir = con
    monkeypatch.setattr(pii_scan, "ROWS_PER_VALUE_TO_GROUP", rows_per_value)
    monkeypatch.setattr(pii_scan, "RAW_INLINE_FROM_ROWS", raw_inline_from_rows)
    findings = scan(connection, raw_dir, exact_only=[("s", "t", "note")]).findings
    assert [f for f in findings if f.startswith("s.t.note")] == [
        "s.t.note: a raw e-mail or phone of the input in 100 row(s)"
    ]


def test_a_row_filter_counts_only_its_rows(con):
    connection, raw_dir = con
    scope = pii_scan.ScanScope(name="window", row_filters={("s", "t"): "note is null"})
    result = scan(connection, raw_dir, scope=scope)
    assert result.rows == 50
    assert result.findings == []
    connection.execute(f"update s.t set note = '{RAW_EMAIL}' where id = 't_000960'")
    assert scan(connection, raw_dir, scope=scope).findings == []
    connection.execute(f"update s.t set id = '{RAW_EMAIL}' where id = 't_000970'")
    assert scan(connection, raw_dir, scope=scope).findings == [
        "s.t.id: a raw e-mail or phone of the input in 1 row(s)",
        "s.t.id: an e-mail address in 1 row(s)",
    ]


def test_each_raw_value_is_searched_in_every_form_it_is_hashed_from(tmp_path):
    """The raw e-mail as given and lower-cased and trimmed; the raw phone as given, trimmed and
    reduced to its digits and leading '+'; a value shorter than MIN_RAW_LENGTH not at all."""
    (tmp_path / "users.csv").write_text(
        'user_id,email,phone\nu1," Ana.Silva@Example.COM "," +351 (912) 345-678 "\nu2,a@b.c,12\n'
    )
    connection = duckdb.connect()
    pii_scan._load_raw_pii(connection, tmp_path)
    values = sorted(v for (v,) in connection.execute("select value from raw_pii").fetchall())
    assert values == sorted(
        [
            " Ana.Silva@Example.COM ",
            "ana.silva@example.com",
            " +351 (912) 345-678 ",
            "+351 (912) 345-678",
            "+351912345678",
        ]
    )
