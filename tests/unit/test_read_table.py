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
