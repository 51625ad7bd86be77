"""Which scope a run's PII scan takes (orchestration/privacy.py ``scan_since``) and what a daily
scope reads (touchpoint_alchemy/pii_scope.py), on a small hand-made manifest; the lineage rule's
walk through models, an ephemeral model and the raw columns."""

from __future__ import annotations

from datetime import date

import duckdb

from orchestration.assets.model_store import REFIT_TAG
from orchestration.privacy import lower_scan_memory_limit, memory_bytes, scan_scope, scan_since
from orchestration.run_config import build_run_config
from touchpoint_alchemy import pii_scope
from touchpoint_alchemy.pii_scan import FULL, scan

P = "model.p."
RAW = "source.p.raw."


def test_only_a_daily_partition_run_scans_its_window():
    day = {"dagster/partition": "2025-12-31"}
    # the window's first day minus incremental_lookback_days (3, dbt_project.yml)
    assert scan_since(day, {}) == date(2025, 12, 28)
    assert scan_since({"dagster/asset_partition_range_start": "2025-12-30"}, None) == date(
        2025, 12, 27
    )
    assert scan_since({**day, REFIT_TAG: "false"}, {}) == date(2025, 12, 28)
    # the weekly refit run, a full refresh (make run), a run without a partition: no window
    assert scan_since({**day, REFIT_TAG: "true"}, {}) is None
    assert scan_since(day, build_run_config(full_refresh=True)) is None
    assert scan_since({}, {}) is None


def test_a_build_from_all_history_scans_every_staged_row_and_the_weekly_run_everything():
    """The scope each kind of run takes (DECISIONLOG 75, 115). ``built_before``: whether the
    published warehouse has the windowed tables (false: a first build)."""
    manifest = _manifest()
    day = {"dagster/partition": "2025-12-31"}
    derived = {("intermediate", "int_events"), ("marts", "report")}

    def scope(tags, run_config=None, built_before=True):
        return scan_scope(manifest, tags, run_config, lambda tables: built_before)

    daily = scope(day)
    assert daily.name == "rows written since 2025-12-28"
    assert daily.skip == derived and set(daily.row_filters) == {("staging", "base_events")}
    for staged in (
        scope(day, build_run_config(full_refresh=True)),
        scope({}),
        scope(day, built_before=False),
    ):
        assert staged.name == "every staged row"
        assert staged.skip == derived and staged.row_filters == {}
    assert scope({**day, REFIT_TAG: "true"}) is FULL
    assert scope({REFIT_TAG: "true"}, build_run_config(full_refresh=True)) is FULL


def _model(name, folder, schema, columns=(), materialized="table", parents=(), meta=None):
    return {
        "unique_id": P + name,
        "resource_type": "model",
        "name": name,
        "alias": name,
        "schema": schema,
        "fqn": ["p", folder, name],
        "config": {"materialized": materialized, "meta": meta or {}},
        "columns": {c: {"name": c} for c in columns},
        "depends_on": {"nodes": list(parents)},
    }


def _manifest() -> dict:
    window = "occurred_at is null or occurred_at >= {since}"
    models = [
        _model("base_events", "staging", "staging", ["page"], meta={"pii_scan_window": window}),
        _model("int_events", "intermediate", "intermediate", ["page", "note"]),
        _model(
            "int_ephemeral",
            "intermediate",
            "intermediate",
            ["page"],
            "ephemeral",
            [P + "int_events"],
        ),
        _model("report", "marts", "marts", ["page", "from_ephemeral"]),
        _model("rejected", "audit", "audit", ["raw_record"]),
    ]
    columns = {
        "page": {"config": {"meta": {"pii_lineage": "allowed"}}},
        "comment": {},
    }
    source = {
        "unique_id": RAW + "events",
        "resource_type": "source",
        "source_name": "raw",
        "name": "events",
        "schema": "main",
        "identifier": "events",
        "columns": columns,
    }
    return {"nodes": {m["unique_id"]: m for m in models}, "sources": {source["unique_id"]: source}}


def test_a_daily_scope_skips_derived_tables_and_filters_windowed_ones():
    manifest = _manifest()
    scope = pii_scope.daily_scope(manifest, date(2025, 12, 28))
    assert scope.name == "rows written since 2025-12-28"
    assert scope.skip == {("intermediate", "int_events"), ("marts", "report")}
    assert scope.row_filters == {
        ("staging", "base_events"): (
            "occurred_at is null or occurred_at >= cast('2025-12-28' as timestamp)"
        )
    }


def test_the_scan_reads_only_what_the_scope_covers():
    con = duckdb.connect()
    for schema in ("staging", "intermediate", "marts", "audit"):
        con.execute(f"create schema {schema}")
    con.execute(
        "create table staging.base_events as select * from (values "
        "('a@example.org', timestamp '2025-12-30'), ('b@example.org', timestamp '2025-01-01'), "
        "('/home', null)) as t(page, occurred_at)"
    )
    con.execute("create table intermediate.int_events as select 'c@example.org' as page")
    con.execute('create table audit.rejected as select \'{"x": "+44 20 7946 0958"}\' as raw')
    scope = pii_scope.daily_scope(_manifest(), date(2025, 12, 28))
    daily = scan(con, None, scope=scope)
    assert daily.findings == [
        "audit.rejected.raw: a phone number in 1 row(s)",
        "staging.base_events.page: an e-mail address in 1 row(s)",
    ]
    assert (daily.tables, daily.rows, daily.filtered) == (2, 3, ["staging.base_events"])
    assert daily.skipped == ["intermediate.int_events"]
    full = scan(con, None)
    assert "staging.base_events.page: an e-mail address in 2 row(s)" in full.findings
    assert "intermediate.int_events.page: an e-mail address in 1 row(s)" in full.findings
    assert (full.tables, full.rows, full.skipped) == (3, 5, [])


def test_a_derived_text_column_from_a_raw_column_off_the_allow_list_is_reported():
    manifest = _manifest()
    text = {("intermediate", "int_events"): ["page", "note"], ("marts", "report"): ["page"]}
    lineage = {
        P + "base_events": {"page": [(RAW + "events", "page")]},
        P + "int_events": {"page": [(P + "base_events", "page")], "note": []},
        P + "report": {"page": [(P + "int_events", "page")]},
    }
    assert pii_scope.lineage_violations(manifest, lineage, text) == []
    # the note reads the free-text comment: reported, on int_events and on what reads it
    lineage[P + "int_events"]["note"] = [(RAW + "events", "comment")]
    lineage[P + "report"]["from_ephemeral"] = [(P + "int_ephemeral", "page")]
    text[("marts", "report")] = ["page", "from_ephemeral"]
    assert pii_scope.lineage_violations(manifest, lineage, text) == [
        "intermediate.int_events.note: from raw.events.comment, not declared pii_lineage: allowed",
        # the ephemeral model has no lineage: every text column of its parent counts
        "marts.report.from_ephemeral: from raw.events.comment, not declared pii_lineage: allowed",
    ]
    # a derived text column without lineage is reported too
    del lineage[P + "report"]
    assert "marts.report.page: from no column lineage for marts.report.page" in (
        pii_scope.lineage_violations(manifest, lineage, text)
    )


def _limit(con) -> float:
    return memory_bytes(con.execute("select current_setting('memory_limit')").fetchone()[0])


def test_the_scan_lowers_a_high_memory_limit_and_keeps_a_low_one():
    """A full scan fills DuckDB's buffers to the limit in the Dagster process (DECISIONLOG 81):
    its connection gets 2GB when the warehouse's limit is higher, and keeps a lower one."""
    assert memory_bytes("4GB") == 4e9
    assert memory_bytes("3.7 GiB") == 3.7 * 2**30
    assert memory_bytes("80%") is None
    high = duckdb.connect(config={"memory_limit": "4GB"})
    lower_scan_memory_limit(high)
    assert 1.8 * 2**30 <= _limit(high) <= 2e9
    low = duckdb.connect(config={"memory_limit": "1GB"})
    lower_scan_memory_limit(low)
    assert 0.9e9 <= _limit(low) <= 1e9
