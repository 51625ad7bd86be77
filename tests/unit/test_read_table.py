"""WarehouseResource.read_table, the scoring steps' way in: a real DuckDB file, read outside a
run (the resource then opens the file itself)."""

from __future__ import annotations

import duckdb

from orchestration.resources import WarehouseResource


def _warehouse(tmp_path) -> WarehouseResource:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema intermediate")
        con.execute(
            "create table intermediate.features as select * from (values "
            "('u2', 'score', 3), ('u1', 'train', 1), ('u1', 'score', 2), ('u3', 'score', 1), "
            "('u2', 'train', 5)) as t(user_id, snapshot, visits)"
        )
    return WarehouseResource(database=str(path))


def test_rows_come_sorted_by_every_column(tmp_path):
    rows = _warehouse(tmp_path).read_table("intermediate", "features").to_pylist()
    assert [(r["user_id"], r["snapshot"]) for r in rows] == [
        ("u1", "score"),
        ("u1", "train"),
        ("u2", "score"),
        ("u2", "train"),
        ("u3", "score"),
    ]


def test_where_keeps_the_rows_equal_to_its_values_in_the_same_order(tmp_path):
    """What a daily churn step reads: the score snapshot only, in the order those rows have in
    the whole table's stable order."""
    warehouse = _warehouse(tmp_path)
    everything = warehouse.read_table("intermediate", "features").to_pylist()
    scored = warehouse.read_table(
        "intermediate", "features", columns=["user_id", "visits"], where={"snapshot": "score"}
    ).to_pylist()
    assert scored == [
        {"user_id": r["user_id"], "visits": r["visits"]}
        for r in everything
        if r["snapshot"] == "score"
    ]
    assert len(scored) == 3
    two = {"snapshot": "train", "visits": 5}
    assert warehouse.read_table("intermediate", "features", where=two).to_pylist() == [
        {"user_id": "u2", "snapshot": "train", "visits": 5}
    ]


def test_a_session_keeps_one_connection_for_its_reads(tmp_path):
    """WarehouseResource.session (the journey report's ~30 reads, DECISIONLOG 99): every
    connection inside it is the same one, so what one read's connection holds (here a
    temporary table) the next one sees; outside it, each read opens its own."""
    warehouse = _warehouse(tmp_path)
    with warehouse.session():
        with warehouse.get_connection() as con:
            con.execute("create temp table seen as select 1 as x")
        assert warehouse.read_table("temp", "seen").to_pylist() == [{"x": 1}]
        assert len(warehouse.read_table("intermediate", "features")) == 5
    with warehouse.get_connection() as con:
        con.execute("create temp table seen as select 2 as x")  # a new connection: no clash
    with warehouse.get_connection() as con:
        assert con.execute("select count(*) from duckdb_tables() where temporary").fetchone() == (
            0,
        )


def test_a_write_hands_duckdb_batches_and_writes_every_row_as_given(tmp_path):
    """write_table and replace_rows pass a table of one chunk (as numpy and pandas give) to
    DuckDB in row-group sized batches (slices), which it inserts on every core (DECISIONLOG
    157); what is written is the rows given, with their values and types."""
    import numpy as np
    import pyarrow as pa

    from orchestration.resources import INSERT_BATCH_ROWS, in_insert_batches

    n = 2 * INSERT_BATCH_ROWS + 7
    order = np.random.default_rng(0).permutation(n)
    data = pa.table({"position": pa.array(order), "user_id": pa.array([f"u{i}" for i in order])})
    assert data.column("user_id").num_chunks == 1
    batched = in_insert_batches(data)
    assert [b.num_rows for b in batched.to_batches()] == [INSERT_BATCH_ROWS] * 2 + [7]
    assert batched.equals(data)
    assert in_insert_batches(data.slice(0, 0)).num_rows == 0
    warehouse = _warehouse(tmp_path)
    warehouse.write_table("scoring", "written", data)
    warehouse.replace_rows("scoring", "replaced", data, key_column="user_id")
    expected = data.sort_by("position")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        for table in ("written", "replaced"):
            back = con.execute(f"select * from scoring.{table} order by position").to_arrow_table()
            assert back.equals(expected), table
