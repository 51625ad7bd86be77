"""Column lineage from a manifest and compiled SQL (touchpoint_alchemy/lineage.py), on a small
hand-made manifest whose lineage is read off the SQL by hand: a raw file read in place, an
ephemeral model, a join, an aggregate; a model sqlglot cannot resolve; the cache. The same code
on the demo project's real manifest: tests/warehouse/test_asset_metadata.py."""

from __future__ import annotations

import json

from touchpoint_alchemy import lineage

P = "model.demo."
RAW = "source.demo.raw.users"


def _node(name: str, columns: dict[str, str | None], sql: str | None, parents=(), **config):
    return {
        "unique_id": P + name,
        "resource_type": "model",
        "name": name,
        "schema": "intermediate" if name.startswith("int_") else "marts",
        "alias": name,
        "config": {"materialized": "table", **config},
        "columns": {column: {"data_type": t} for column, t in columns.items()},
        "depends_on": {"nodes": list(parents)},
        "compiled_code": sql,
    }


def _manifest() -> dict:
    orders = {
        "unique_id": "source.demo.raw.orders",
        "resource_type": "source",
        "name": "orders",
        "schema": "raw",
        "identifier": "orders",
        "columns": {c: {"data_type": None} for c in ("order_id", "user_id", "amount", "discount")},
    }
    users = {**orders, "unique_id": RAW, "name": "users", "identifier": "users"}
    users["columns"] = {c: {} for c in ("user_id", "email", "channel")}
    nodes = [
        # reads the raw file in place (as the base_* models do): attributed to its one source
        _node(
            "int_users",
            {"user_id": "varchar", "email_hash": "varchar", "channel": None},
            "select user_id, sha256(lower(email)) as email_hash, channel "
            "from read_csv('/data/users.csv', all_varchar = true)",
            [RAW],
        ),
        _node(
            "int_net",
            {"order_id": None, "user_id": None, "net": None},
            None,  # ephemeral: inlined below as __dbt__cte__int_net
            ["source.demo.raw.orders"],
            materialized="ephemeral",
        ),
        _node(
            "customers",
            {"user_id": "varchar", "channel": "varchar", "revenue": "double", "orders": "bigint"},
            """with __dbt__cte__int_net as (
                select order_id, user_id, amount - discount as net from "db"."raw"."orders"
            ),
            users as (select * from "db"."intermediate"."int_users"),
            final as (
                select users.user_id, users.channel, sum(n.net) as revenue, count(*) as orders
                from users join __dbt__cte__int_net as n on n.user_id = users.user_id
                group by 1, 2
            )
            select * from final""",
            [P + "int_users", P + "int_net"],
        ),
        _node("broken", {"x": None}, "select x from (", [P + "customers"]),
    ]
    return {
        "metadata": {"adapter_type": "duckdb"},
        "nodes": {node["unique_id"]: node for node in nodes},
        "sources": {orders["unique_id"]: orders, RAW: users},
    }


def test_lineage_follows_the_sql_to_the_upstream_columns():
    result = lineage.column_lineage(_manifest())
    assert result.lineage[P + "int_users"] == {
        "user_id": [(RAW, "user_id")],
        "email_hash": [(RAW, "email")],
        "channel": [(RAW, "channel")],
    }
    assert result.lineage[P + "customers"] == {
        "user_id": [(P + "int_users", "user_id")],
        "channel": [(P + "int_users", "channel")],
        # through the ephemeral model's CTE to the ephemeral model itself, not its source
        "revenue": [(P + "int_net", "net")],
        "orders": [],  # count(*) reads no column
    }
    # the ephemeral model has no SQL of its own in the manifest: no lineage, not an error
    assert P + "int_net" not in result.lineage and P + "int_net" not in result.unresolved


def test_a_model_sqlglot_cannot_resolve_gets_no_lineage_and_no_error():
    result = lineage.column_lineage(_manifest())
    assert P + "broken" not in result.lineage
    assert "ParseError" in result.unresolved[P + "broken"]


def test_results_are_cached_by_the_compiled_sql(tmp_path):
    cache = tmp_path / lineage.CACHE_FILE
    first = lineage.column_lineage(_manifest(), cache_path=cache)
    assert first.computed == 3 and cache.exists()
    again = lineage.column_lineage(_manifest(), cache_path=cache)
    assert again.computed == 0
    assert again.lineage == first.lineage and again.unresolved == first.unresolved
    # a changed SQL is computed again, the others still come from the cache
    changed = _manifest()
    node = changed["nodes"][P + "int_users"]
    node["compiled_code"] = node["compiled_code"].replace("lower(email)", "channel")
    result = lineage.column_lineage(changed, cache_path=cache)
    assert result.computed == 1
    assert result.lineage[P + "int_users"]["email_hash"] == [(RAW, "channel")]
    # both versions are kept; an unreadable cache is ignored, not an error
    assert len(json.loads(cache.read_text())) == 4
    cache.write_text("{not json")
    assert lineage.column_lineage(_manifest(), cache_path=cache).lineage == first.lineage


def test_a_run_time_in_the_sql_does_not_miss_the_cache(tmp_path):
    # the quarantine stamps its rows with the run's time: new SQL on every run, the same lineage
    cache = tmp_path / lineage.CACHE_FILE

    def stamped(at: str) -> dict:
        manifest = _manifest()
        node = manifest["nodes"][P + "int_users"]
        node["compiled_code"] = node["compiled_code"].replace(
            "channel from", f"channel, cast('{at}' as timestamp) as checked_at from"
        )
        return manifest

    first = lineage.column_lineage(stamped("2026-12-05 14:28:13"), cache_path=cache)
    assert first.computed == 3
    again = lineage.column_lineage(stamped("2026-12-06 02:00:01.5"), cache_path=cache)
    assert again.computed == 0 and again.lineage == first.lineage
    # any other change to the SQL is still a new entry
    changed = stamped("2026-12-06 02:00:01.5")
    node = changed["nodes"][P + "int_users"]
    node["compiled_code"] = node["compiled_code"].replace("lower(email)", "channel")
    assert lineage.column_lineage(changed, cache_path=cache).computed == 1


def test_a_full_cache_keeps_the_entries_the_last_run_used(tmp_path, monkeypatch):
    # A cache at its size limit drops the oldest entries, never the ones just computed or used:
    # written sorted by key (hash order), a full cache dropped arbitrary entries, so in a
    # long-used checkout a few models missed it in every run (DECISIONLOG 136).
    cache = tmp_path / lineage.CACHE_FILE
    monkeypatch.setattr(lineage, "CACHE_ENTRIES", 5)
    # five older entries whose keys sort before and after any other
    cache.write_text(json.dumps({f"{c * 64}": {"lineage": {}} for c in "0f9a1"}))
    first = lineage.column_lineage(_manifest(), cache_path=cache)
    assert first.computed == 3
    again = lineage.column_lineage(_manifest(), cache_path=cache)
    assert again.computed == 0 and again.lineage == first.lineage
    kept = list(json.loads(cache.read_text()))
    assert len(kept) == 5 and kept[3:] == ["0" * 64, "f" * 64]
