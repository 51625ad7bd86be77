"""Hostile and broken raw input: every case ends in a clear error or a quarantined row with a
reason, and no good row is lost.

Row-level cases are rows of one hostile build (tests/support/hostile.py: the cohorts_small fixture
plus tagged rows, one build). File-level cases fail in the raw-contract check before any model runs,
so they call ``check_raw_file`` directly; one of them also runs end to end through Dagster. The
matrix is in docs/raw_data_contract.md ("Hostile input").
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from touchpoint_alchemy.raw_contract import RawContractError, check_raw_file, raw_relation

import hostile
from builds import DATA_DIR, build_warehouse
from hostile import DROP, JSON_DEPTH, SQL_TEXT, TEN_MB
from reference import RAW_NAMES

SOURCES = list(RAW_NAMES)
STAGED_KEY = {
    "users": ["user_id"],
    "touchpoints": ["touchpoint_id"],
    "orders": ["order_id"],
    "order_items": ["order_id", "line_number"],
    "marketing_spend": ["spend_date", "channel", "campaign"],
    "nps_responses": ["response_id"],
    "experiment_assignments": ["experiment_id", "user_id"],
}


@pytest.fixture(scope="module")
def build(tmp_path_factory, cohorts_small_warehouse) -> hostile.HostileBuild:
    built = hostile.hostile_build(tmp_path_factory, cohorts_small_warehouse.path)
    assert built.result.success, _failures(built.result)
    return built


def _failures(result) -> str:
    return "\n".join(
        str(e.event_specific_data.error.message)
        for e in result.all_events
        if e.event_type_value == "STEP_FAILURE"
    )


# --- row-level cases: one hostile build --------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """A tagged raw row and its expected fate: staged with these values, or rejected."""

    case: str
    source: str
    record_key: str  # audit.rejected_rows.record_key of the row (composite keys joined by |)
    reason: str | None = None  # None: staged
    staged: dict = field(default_factory=dict)  # column -> expected value in stg_<source>


UTC_0430 = dt.datetime(2025, 2, 1, 4, 30)
ROWS = [
    Row("utf-8 BOM (users.csv)", "users", "c2", staged={"acquisition_channel": "paid_search"}),
    Row("CRLF line endings (orders.csv)", "orders", "o01", staged={"currency": "EUR"}),
    Row("CRLF line endings (orders.csv)", "orders", "o19", staged={"status": "pending"}),
    Row(
        "quoted newlines and commas",
        "touchpoints",
        "hx-newline-comma",
        staged={"campaign": 'spring, "sale"\nline two', "page": "/p/a,b\nc"},
    ),
    Row("text in amount", "orders", "hx-amount-comma", "unparseable number"),
    Row("text in amount", "orders", "hx-amount-word", "unparseable number"),
    Row("text in integer", "touchpoints", "hx-dwell-text", "unparseable number"),
    Row("huge number (decimal overflow)", "orders", "hx-amount-1e30", "unparseable number"),
    Row(
        "huge number (largest decimal(18,2))",
        "orders",
        "hx-amount-max",
        staged={"amount": Decimal("9999999999999999.99")},
    ),
    Row("huge number (bigint overflow)", "touchpoints", "hx-dwell-huge", "unparseable number"),
    Row(
        "huge number (fraction above 2^53)",
        "touchpoints",
        "hx-dwell-2p53-fraction",
        "unparseable number",
    ),
    Row(
        "huge number (integer above 2^53, exact)",
        "touchpoints",
        "hx-dwell-2p53",
        staged={"dwell_ms": 9007199254740993},
    ),
    Row("NaN", "orders", "hx-amount-nan", "unparseable number"),
    Row("Infinity", "orders", "hx-amount-infinity", "unparseable number"),
    Row("-Infinity", "orders", "hx-amount-minus-infinity", "unparseable number"),
    Row("NaN", "touchpoints", "hx-dwell-nan", "unparseable number"),
    Row("Infinity", "touchpoints", "hx-dwell-infinity", "unparseable number"),
    Row("NaN", "order_items", "o01|90", "unparseable number"),
    Row("Infinity", "order_items", "o01|91", "unparseable number"),
    Row("Infinity timestamp", "touchpoints", "hx-ts-infinity", "unparseable timestamp"),
    Row(
        "mixed offsets (+05:30)", "touchpoints", "hx-offset-plus", staged={"occurred_at": UTC_0430}
    ),
    Row("mixed offsets (Z)", "touchpoints", "hx-offset-z", staged={"occurred_at": UTC_0430}),
    Row("mixed offsets (none)", "touchpoints", "hx-offset-none", staged={"occurred_at": UTC_0430}),
    Row(
        "mixed offsets (-08:00)", "touchpoints", "hx-offset-minus", staged={"occurred_at": UTC_0430}
    ),
    Row(
        "before 1970",
        "users",
        "hx-before-1970",
        staged={"signed_up_at": dt.datetime(1969, 12, 31, 23, 59, 59)},
    ),
    Row(
        "before 1970",
        "touchpoints",
        "hx-ts-1950",
        staged={"occurred_at": dt.datetime(1950, 6, 1)},
    ),
    Row(
        "before 1970",
        "orders",
        "hx-created-1900",
        staged={"created_at": dt.datetime(1900, 1, 1)},
    ),
    Row("after 2100", "users", "hx-after-2100", "future timestamp"),
    Row("after 2100", "touchpoints", "hx-ts-2150", "future timestamp"),
    Row("after 2100", "orders", "hx-created-2101", "future timestamp"),
    Row("year 294277 (beyond timestamp range)", "users", "hx-year-294277", "unparseable timestamp"),
    Row(
        "Chinese and emoji",
        "users",
        "hx-unicode-user",
        staged={"acquisition_channel": "微信", "device_type": "📱", "city": "北京 🚀"},
    ),
    Row(
        "Chinese and emoji",
        "touchpoints",
        "hx-unicode-tp",
        staged={"campaign": "双十一🔥", "page": "/商品/👟"},
    ),
    Row(
        "SQL-looking strings in every text field",
        "users",
        f"hx-sql-user{DROP}",
        staged={
            "acquisition_channel": SQL_TEXT[1],
            "device_type": SQL_TEXT[2],
            "city": SQL_TEXT[3],
            "has_analytics_consent": True,
        },
    ),
    Row(
        "SQL-looking strings in every text field",
        "touchpoints",
        f"hx-sql-tp{DROP}",
        staged={
            "anonymous_id": SQL_TEXT[1],
            "touchpoint": f"product_view{DROP}",
            "channel": SQL_TEXT[3],
            "campaign": SQL_TEXT[4],
            "page": SQL_TEXT[5],
            "properties": json.dumps({"q": SQL_TEXT[6]}),
        },
    ),
    Row(
        "SQL-looking strings in every text field",
        "orders",
        f"hx-sql-order{DROP}",
        staged={"currency": SQL_TEXT[4].upper()},
    ),
    Row("SQL-looking strings in every text field", "orders", "hx-sql-status", "unknown status"),
    Row("SQL-looking boolean", "users", "hx-consent-sql", "invalid boolean"),
    Row(
        f"JSON bomb (nesting depth {JSON_DEPTH:,})",
        "touchpoints",
        "hx-json-deep",
        staged={"properties_is_valid_json": True},
    ),
    Row(
        "JSON bomb (unclosed nesting)",
        "touchpoints",
        "hx-json-deep-broken",
        staged={"properties_is_valid_json": False, "properties": None},
    ),
    Row(
        "JSON bomb (200,000 keys)",
        "touchpoints",
        "hx-json-large",
        staged={"properties_is_valid_json": True},
    ),
    Row("10 MB single field", "touchpoints", "hx-10mb-field", staged={"length(page)": TEN_MB}),
    Row(
        "Parquet with the wrong types (double, date, struct)",
        "marketing_spend",
        "2025-01-01|paid_search|",
        staged={"spend": Decimal("250.00"), "impressions": 20000, "clicks": 400},
    ),
    Row("Parquet NaN", "marketing_spend", "2025-01-02|hx-spend-nan|", "unparseable number"),
    Row(
        "Parquet Infinity",
        "marketing_spend",
        "2025-01-02|hx-spend-infinity|",
        "unparseable number",
    ),
    Row(
        "Parquet fraction in an integer",
        "marketing_spend",
        "2025-01-02|hx-clicks-fraction|",
        "unparseable number",
    ),
    Row("before 1970", "marketing_spend", "1969-07-20|hx-before-1970|", staged={"spend": 1}),
    Row("after 2100", "marketing_spend", "2101-01-01|hx-after-2100|", "future timestamp"),
    Row(
        "path-like id",
        "users",
        "../../etc/passwd",
        staged={"city": "..\\..\\windows"},
    ),
    Row(
        "path-like id",
        "touchpoints",
        "../../etc/passwd",
        staged={"anonymous_id": "..\\..\\windows\\system32", "page": "file:///etc/passwd"},
    ),
    Row("path-like id", "orders", "/etc/shadow", staged={"status": "pending"}),
]


def _staged_row(con, row: Row) -> list[tuple]:
    keys = STAGED_KEY[row.source]
    condition = " || '|' || ".join(f"coalesce(cast({k} as varchar), '')" for k in keys)
    columns = ", ".join(row.staged) or "1"
    return con.execute(
        f"select {columns} from staging.stg_{row.source} where {condition} = ?",
        [row.record_key],
    ).fetchall()


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.case}-{r.source}-{r.record_key[:24]}")
def test_row_is_staged_or_quarantined_with_its_reason(build, row: Row):
    with build.connect() as con:
        rejected = con.execute(
            "select reason, raw_record from audit.rejected_rows "
            "where source = ? and record_key = ?",
            [row.source, row.record_key],
        ).fetchall()
        staged = _staged_row(con, row)
    if row.reason is None:
        assert rejected == [], f"expected staged, got {rejected}"
        assert len(staged) == 1
        assert dict(zip(row.staged, staged[0], strict=True)) == row.staged
    else:
        assert staged == [], "a rejected row must not be staged"
        assert [reason for reason, _ in rejected] == [row.reason]
        assert json.loads(rejected[0][1]), "the quarantine keeps the raw row"


def test_json_bombs_and_the_10mb_field_arrive_intact(build):
    with build.connect() as con:
        lengths = dict(
            con.execute(
                "select touchpoint_id, length(coalesce(properties, page)) from "
                "staging.stg_touchpoints where touchpoint_id in "
                "('hx-json-deep', 'hx-json-large', 'hx-10mb-field')"
            ).fetchall()
        )
    assert lengths == {
        "hx-json-deep": 2 * JSON_DEPTH,
        "hx-json-large": len(json.dumps({f"k{i}": i for i in range(hostile.JSON_LARGE_KEYS)})),
        "hx-10mb-field": TEN_MB,
    }


def _raw_count(raw_dir: Path, source: str) -> int:
    with duckdb.connect() as con:
        return con.execute(f"select count(*) from {raw_relation(raw_dir, source)}").fetchone()[0]


@pytest.mark.parametrize("source", SOURCES)
def test_no_good_row_is_lost(build, cohorts_small_warehouse, source):
    """Every row the clean fixture stages is staged from the hostile file too, and every raw row
    is either staged or quarantined (raw = staged + rejected)."""
    keys = " || '|' || ".join(f"coalesce(cast({k} as varchar), '')" for k in STAGED_KEY[source])
    query = f"select {keys} from staging.stg_{source}"
    with cohorts_small_warehouse.connect() as con:
        good = {r[0] for r in con.execute(query).fetchall()}
    with build.connect() as con:
        staged = {r[0] for r in con.execute(query).fetchall()}
        rejected = con.execute(
            "select count(*) from audit.rejected_rows where source = ?", [source]
        ).fetchone()[0]
    assert good <= staged, f"good rows lost: {sorted(good - staged)}"
    assert _raw_count(build.raw_dir, source) == len(staged) + rejected
    if source == "nps_responses":  # the empty file: a header and no row
        assert staged == set() and rejected == 0


def test_every_row_case_is_in_the_raw_files(build):
    """The matrix tests what it says: each tagged key occurs in its raw file."""
    with build.connect() as con:
        for row in ROWS:
            count = con.execute(
                "select count(*) from audit.rejected_rows where source = ? and record_key = ?",
                [row.source, row.record_key],
            ).fetchone()[0] + len(_staged_row(con, row))
            assert count == 1, row


# --- file-level cases: the raw-contract check, before any model -------------------------------

USERS_COLUMNS = [
    "user_id",
    "signed_up_at",
    "acquisition_channel",
    "device_type",
    "city",
    "email",
    "phone",
    "consent_analytics",
]
HEADER = ",".join(USERS_COLUMNS)
GOOD_ROW = "u1,2025-01-01T00:00:00Z,organic,mobile,Lisbon,,,true"


def _parquet_bytes(table: pa.Table, tmp_path: Path) -> bytes:
    path = tmp_path / "scratch.parquet"
    pq.write_table(table, path)
    return path.read_bytes()


@dataclass(frozen=True)
class FileCase:
    case: str
    filename: str
    content: object  # bytes, or a function of tmp_path returning bytes
    error: str | None  # a regex the error must match; None: the file passes the check


FILE_CASES = [
    FileCase("empty file (header only)", "users.csv", (HEADER + "\n").encode(), None),
    FileCase("zero-byte file", "users.csv", b"", r"is empty \(0 bytes\)"),
    FileCase("UTF-8 BOM", "users.csv", ("\ufeff" + HEADER + "\n").encode(), None),
    FileCase(
        "CRLF line endings", "users.csv", (HEADER + "\r\n" + GOOD_ROW + "\r\n").encode(), None
    ),
    FileCase(
        "non-UTF-8 file (GBK)",
        "users.csv",
        (HEADER + "\n" + GOOD_ROW.replace("Lisbon", "北京") + "\n").encode("gbk"),
        r"is not UTF-8 text: invalid byte 0xb1 at line 2",
    ),
    FileCase(
        "non-UTF-8 byte deep in the file",
        "users.csv",
        (HEADER + "\n" + (GOOD_ROW + "\n") * 50_000).encode() + b"u2,\xff\n",
        r"is not UTF-8 text: invalid byte 0xff at line 50002",
    ),
    FileCase(
        "duplicate header column",
        "users.csv",
        (HEADER + ",city\n" + GOOD_ROW + ",Porto\n").encode(),
        r"duplicate column\(s\) 'city'",
    ),
    FileCase(
        "Parquet with the wrong schema (renamed columns)",
        "users.parquet",
        lambda tmp: _parquet_bytes(
            pa.table({"userId": ["u1"], "signupDate": [dt.date(2025, 1, 1)]}), tmp
        ),
        r"missing required column\(s\) 'user_id', 'signed_up_at'",
    ),
    FileCase(
        "Parquet file named .csv",
        "users.csv",
        lambda tmp: _parquet_bytes(pa.table({c: ["x"] for c in USERS_COLUMNS}), tmp),
        r"is a Parquet file, not CSV text: name it \.parquet",
    ),
    FileCase(
        "CSV file named .parquet",
        "users.parquet",
        (HEADER + "\n" + GOOD_ROW + "\n").encode(),
        r"is not a Parquet file",
    ),
    FileCase(
        "gzip file named .csv",
        "users.csv",
        b"\x1f\x8b\x08\x00" + b"\x00" * 20,
        r"is gzip-compressed, not CSV text",
    ),
    FileCase("binary garbage named .csv", "users.csv", b"\x00\xff\xfe\x00" * 10, r"not UTF-8"),
]


@pytest.mark.parametrize("case", FILE_CASES, ids=lambda c: c.case)
def test_file_level_case(tmp_path, case: FileCase):
    raw = tmp_path / "raw"
    raw.mkdir()
    content = case.content(tmp_path) if callable(case.content) else case.content
    path = raw / case.filename
    path.write_bytes(content)
    if case.error is None:
        checked = check_raw_file(raw, "users", USERS_COLUMNS)
        assert list(checked.columns[: len(USERS_COLUMNS)]) == USERS_COLUMNS
        return
    with pytest.raises(RawContractError) as raised:
        check_raw_file(raw, "users", USERS_COLUMNS)
    message = str(raised.value)
    assert str(path) in message, "the error names the file"
    assert re.search(case.error, message), message
    assert "Traceback" not in message and "Original Line" not in message


def test_a_broken_file_fails_the_run_before_any_model_with_a_clear_message(tmp_path):
    """End to end: the raw_files asset turns the contract error into a Dagster Failure whose
    message names the file and the line, and no table is built."""
    raw = tmp_path / "raw"
    shutil.copytree(DATA_DIR / "cohorts_small", raw)
    users = (raw / "users.csv").read_text().replace("Lisbon", "北京")
    (raw / "users.csv").write_bytes(users.encode("gbk"))
    warehouse = tmp_path / "warehouse.duckdb"
    result = build_warehouse(raw, warehouse, raise_on_error=False)
    assert not result.success
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert [e.step_key for e in failures] == ["raw_files"]
    error = failures[0].event_specific_data.error
    assert error.cls_name == "Failure"
    assert f"{raw / 'users.csv'} is not UTF-8 text" in error.message
    assert "line 2" in error.message and "Traceback" not in error.message
    assert not warehouse.exists() or hostile.tables(warehouse) == set()
