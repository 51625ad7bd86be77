"""RAW_DATA_DIR: the formats a raw folder may hold, and clear errors for a broken contract.

One build (the funnel_edges fixture: duplicate touchpoint ids, rejected rows, a funnel) with every
format at once: touchpoints as a folder of daily Parquet parts (Hive layout, text columns),
orders as one Parquet file typed by DuckDB's sniffer (timestamps and numbers arrive as Parquet
types) with a column of Parquet's null type, users as CSV with an extra column, the rest as
CSV. The marts of ``MARTS`` (funnels, cohorts and the customers mart with its scores), the
quarantine and the staged touchpoints must equal the all-CSV build of the same fixture (the run's
shared ``funnel_edges_warehouse``); the formats build makes only those and what they read. A
build costs most of a minute whatever its size, so the formats share one small build instead of
three demo-size ones.
"""

from __future__ import annotations

import shutil

import dagster as dg
import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from builds import DATA_DIR, Warehouse, build_warehouse
from compare import assert_same_rows

FIXTURE = DATA_DIR / "funnel_edges"
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
def formats_warehouse(tmp_path_factory) -> Warehouse:
    raw = tmp_path_factory.mktemp("formats_raw")
    for path in FIXTURE.glob("*.csv"):
        shutil.copy(path, raw / path.name)
    _touchpoints_as_daily_parts(raw)
    # orders: Parquet typed by DuckDB's sniffer, and `discount` (empty in the fixture) of null type
    with duckdb.connect() as con:
        orders = con.execute(
            f"select * from read_csv('{raw / 'orders.csv'}', header = true)"
        ).to_arrow_table()
    discount = orders.schema.get_field_index("discount")
    orders = orders.set_column(discount, "discount", pa.nulls(len(orders)))
    pq.write_table(orders, raw / "orders.parquet")
    (raw / "orders.csv").unlink()
    # an extra column is ignored
    users = pd.read_csv(raw / "users.csv", dtype=str, keep_default_na=False)
    users["favourite_colour"] = "blue"
    users.to_csv(raw / "users.csv", index=False)
    path = tmp_path_factory.mktemp("formats") / "warehouse.duckdb"
    # the marts compared and what they read (the staged touchpoints and the quarantine included)
    result = build_warehouse(
        raw,
        path,
        upstream_of=[
            *(dg.AssetKey(["marts", mart]) for mart in MARTS),
            dg.AssetKey(["staging", "stg_touchpoints"]),
        ],
    )
    assert result.success
    return Warehouse(path, raw, result)


def test_the_fixture_holds_every_format(formats_warehouse):
    raw = formats_warehouse.raw_dir
    assert {p.suffix for p in raw.iterdir() if p.is_file()} == {".csv", ".parquet"}
    assert len(list((raw / "touchpoints").rglob("*.parquet"))) > 10
    schema = pq.read_schema(raw / "orders.parquet")
    assert schema.field("discount").type == pa.null()
    assert pa.types.is_timestamp(schema.field("created_at").type)
    assert pa.types.is_floating(schema.field("amount").type) or pa.types.is_decimal(
        schema.field("amount").type
    )


@pytest.mark.parametrize("mart", sorted(MARTS))
def test_every_format_gives_the_same_marts(formats_warehouse, funnel_edges_warehouse, mart):
    expected = funnel_edges_warehouse.df(f"select * from marts.{mart}")
    actual = formats_warehouse.df(f"select * from marts.{mart}")
    assert len(expected) > 0
    assert_same_rows(actual, expected, keys=MARTS[mart])


def test_a_folder_keeps_every_row_and_its_first_occurrence(
    formats_warehouse, funnel_edges_warehouse
):
    query = "select source, reason, record_key from audit.rejected_rows order by all"
    expected = funnel_edges_warehouse.df(query)
    # the fixture's README: the duplicate key, an unparseable timestamp, a negative amount
    assert {("touchpoints", "tp-f12-3", "duplicate key")} <= set(
        zip(expected["source"], expected["record_key"], expected["reason"], strict=True)
    )
    assert formats_warehouse.df(query).equals(expected)
    # touchpoint_key is the raw row's position, which the folder's parts number differently
    staged = "select * exclude (touchpoint_key) from staging.stg_touchpoints order by all"
    assert formats_warehouse.df(staged).equals(funnel_edges_warehouse.df(staged))
    for warehouse in (formats_warehouse, funnel_edges_warehouse):
        keys = warehouse.df("select touchpoint_key from staging.stg_touchpoints")["touchpoint_key"]
        assert keys.notna().all() and keys.is_unique


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
