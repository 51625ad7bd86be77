"""RAW_DATA_DIR: CSV and Parquet mixed in one folder, and clear errors for a broken contract."""

from __future__ import annotations

import shutil

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from touchpoint_alchemy.settings import DEMO_RAW_DATA_DIR

from compare import assert_same_rows
from conftest import DATA_DIR, Warehouse, build_warehouse

MARTS = {
    "funnel_conversion": [
        "funnel_name",
        "entry_date",
        "acquisition_channel",
        "device_type",
        "step_number",
    ],
    "cohort_retention": ["cohort_month", "months_since_first_order"],
    "cohort_ltv": ["cohort_month", "months_since_first_order"],
    "customers": ["user_id"],
}


@pytest.fixture(scope="module")
def mixed_warehouse(tmp_path_factory) -> Warehouse:
    """The demo data with touchpoints and orders as Parquet (typed by DuckDB's sniffer, so
    timestamps and numbers arrive as Parquet types) and the rest as CSV."""
    raw = tmp_path_factory.mktemp("mixed_raw")
    for path in DEMO_RAW_DATA_DIR.glob("*.csv"):
        shutil.copy(path, raw / path.name)
    con = duckdb.connect()
    for name in ("touchpoints", "orders"):
        csv = raw / f"{name}.csv"
        con.execute(
            f"copy (select * from read_csv('{csv}', header = true)) to '{raw / name}.parquet'"
        )
        csv.unlink()
    # an extra column is ignored
    users = pd.read_csv(raw / "users.csv", dtype=str, keep_default_na=False)
    users["favourite_colour"] = "blue"
    users.to_csv(raw / "users.csv", index=False)
    path = tmp_path_factory.mktemp("mixed") / "warehouse.duckdb"
    result = build_warehouse(raw, path)
    assert result.success
    return Warehouse(path, raw, result)


@pytest.mark.parametrize("mart", sorted(MARTS))
def test_mixed_csv_and_parquet_give_the_same_marts(mixed_warehouse, demo_warehouse, mart):
    assert {p.suffix for p in mixed_warehouse.raw_dir.iterdir()} == {".csv", ".parquet"}
    expected = demo_warehouse.df(f"select * from marts.{mart}")
    actual = mixed_warehouse.df(f"select * from marts.{mart}")
    assert len(expected) > 0
    assert_same_rows(actual, expected, keys=MARTS[mart])


def test_parquet_column_of_null_type_is_accepted(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(DATA_DIR / "cohorts_small", raw)
    orders = raw / "orders.csv"
    table = pa.Table.from_pandas(
        pd.read_csv(orders, dtype=str, keep_default_na=False).replace("", None),
        preserve_index=False,
    )
    column = table.schema.get_field_index("currency")
    table = table.set_column(column, "currency", pa.nulls(len(table)))
    pq.write_table(table, raw / "orders.parquet")
    orders.unlink()
    assert pq.read_schema(raw / "orders.parquet").field("currency").type == pa.null()
    warehouse = tmp_path / "warehouse.duckdb"
    assert build_warehouse(raw, warehouse).success
    expected = pd.read_csv(DATA_DIR / "cohorts_small" / "expected_cohort_retention.csv")
    actual = Warehouse(warehouse, raw).df("select * from marts.cohort_retention")
    assert_same_rows(actual, expected, keys=["cohort_month", "months_since_first_order"])


def _failure_message(result) -> str:
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failures
    return "\n".join(str(e.event_specific_data.error.message) for e in failures)


def _tables(path) -> list[str]:
    if not path.exists():
        return []
    with duckdb.connect(str(path), read_only=True) as con:
        return [
            r[0]
            for r in con.execute(
                "select table_schema || '.' || table_name from information_schema.tables "
                "where table_catalog = current_database()"
            ).fetchall()
        ]


def test_missing_column_fails_fast_naming_file_and_column(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(DATA_DIR / "cohorts_small", raw)
    orders = pd.read_csv(raw / "orders.csv", dtype=str, keep_default_na=False)
    orders.drop(columns=["discount"]).to_csv(raw / "orders.csv", index=False)
    warehouse = tmp_path / "warehouse.duckdb"
    result = build_warehouse(raw, warehouse, raise_on_error=False)
    assert not result.success
    message = _failure_message(result)
    assert str(raw / "orders.csv") in message
    assert "'discount'" in message
    assert _tables(warehouse) == [], "no model may be built when the contract is broken"


def test_missing_file_fails_fast_naming_the_file(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(DATA_DIR / "cohorts_small", raw)
    (raw / "nps_responses.csv").unlink()
    warehouse = tmp_path / "warehouse.duckdb"
    result = build_warehouse(raw, warehouse, raise_on_error=False)
    assert not result.success
    message = _failure_message(result)
    assert str(raw / "nps_responses.csv") in message
    assert _tables(warehouse) == []


def _touchpoints_as_daily_parts(raw, folder_name: str = "touchpoints") -> None:
    """Replace touchpoints.csv by a folder of Parquet parts, one per UTC day of the raw text
    (Hive layout ``date=YYYY-MM-DD/part-0.parquet``), every column kept as text."""
    frame = pd.read_csv(raw / "touchpoints.csv", dtype=str, keep_default_na=False)
    frame = frame.replace({"": None})
    day = frame["occurred_at"].str.slice(0, 10).fillna("unknown")
    day = day.where(day.str.fullmatch(r"\d{4}-\d{2}-\d{2}"), "unknown")
    for value, part in frame.groupby(day, sort=True):
        folder = raw / folder_name / f"date={value}"
        folder.mkdir(parents=True)
        table = pa.Table.from_pandas(
            part,
            preserve_index=False,
            schema=pa.schema([(column, pa.string()) for column in frame.columns]),
        )
        pq.write_table(table, folder / "part-0.parquet")
    (raw / "touchpoints.csv").unlink()


@pytest.fixture(scope="module")
def folder_warehouse(tmp_path_factory) -> Warehouse:
    raw = tmp_path_factory.mktemp("folder_raw")
    for path in DEMO_RAW_DATA_DIR.glob("*.csv"):
        shutil.copy(path, raw / path.name)
    _touchpoints_as_daily_parts(raw)
    path = tmp_path_factory.mktemp("folder") / "warehouse.duckdb"
    result = build_warehouse(raw, path)
    assert result.success
    return Warehouse(path, raw, result)


@pytest.mark.parametrize("mart", sorted(MARTS))
def test_a_folder_of_daily_parquet_parts_gives_the_same_marts(
    folder_warehouse, demo_warehouse, mart
):
    parts = list((folder_warehouse.raw_dir / "touchpoints").rglob("*.parquet"))
    assert len(parts) > 300
    expected = demo_warehouse.df(f"select * from marts.{mart}")
    actual = folder_warehouse.df(f"select * from marts.{mart}")
    assert_same_rows(actual, expected, MARTS[mart])


def test_a_folder_keeps_every_row_and_its_first_occurrence(folder_warehouse, demo_warehouse):
    query = (
        "select source, reason, record_key from audit.rejected_rows "
        "where source = 'touchpoints' order by all"
    )
    assert folder_warehouse.df(query).equals(demo_warehouse.df(query))
    count = "select count(*) as n from intermediate.int_touchpoints"
    assert folder_warehouse.df(count)["n"][0] == demo_warehouse.df(count)["n"][0]


def test_a_part_missing_a_column_fails_naming_the_part(tmp_path):
    from orchestration.assets.raw import CONTRACT_COLUMNS
    from touchpoint_alchemy.raw_contract import RawContractError, check_raw_file

    folder = tmp_path / "touchpoints" / "date=2025-01-02"
    folder.mkdir(parents=True)
    good = pa.table({c: pa.array(["x"], pa.string()) for c in CONTRACT_COLUMNS["touchpoints"]})
    pq.write_table(good, folder.parent / "part-a.parquet")
    pq.write_table(good.drop(["touchpoint"]), folder / "part-b.parquet")
    with pytest.raises(RawContractError, match=r"part-b\.parquet.*'touchpoint'"):
        check_raw_file(tmp_path, "touchpoints", CONTRACT_COLUMNS["touchpoints"])
    (folder / "part-b.parquet").unlink()
    checked = check_raw_file(tmp_path, "touchpoints", CONTRACT_COLUMNS["touchpoints"])
    assert checked.format == "parquet folder" and checked.row_count == 1
