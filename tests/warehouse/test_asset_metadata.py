"""What the Dagster UI shows for a built asset: a markdown preview of every mart's first rows and
the score distributions, read from the demo build's materialization events. (The row count is the
same `count(*)` the asset runs, so it is not compared again here.)"""

from __future__ import annotations

import dagster as dg


def _materializations(result) -> dict[str, dict]:
    return {
        event.asset_key.to_user_string(): event.step_materialization_data.materialization.metadata
        for event in result.all_events
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION
    }


def test_marts_carry_a_preview_of_their_first_rows(demo_warehouse):
    metadata = _materializations(demo_warehouse.result)
    marts = sorted(key for key in metadata if key.startswith("marts/"))
    assert "marts/funnel_conversion" in marts and len(marts) >= 15
    for key in marts:
        table = key.split("/", 1)[1]
        frame = demo_warehouse.df(f'select * from marts."{table}"')
        preview = metadata[key]["preview"].value.splitlines()
        assert preview[0] == "| " + " | ".join(frame.columns) + " |", key
        assert len(preview) == 2 + max(1, min(5, len(frame))), key
    # the funnel's preview rows are rows of the mart (step numbers and users as built)
    frame = demo_warehouse.df("select * from marts.funnel_conversion")
    for line in metadata["marts/funnel_conversion"]["preview"].value.splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert cells[frame.columns.get_loc("funnel_name")] in set(frame["funnel_name"])
        assert int(cells[frame.columns.get_loc("step_number")]) in set(frame["step_number"])


def test_staging_and_intermediate_tables_have_no_preview(demo_warehouse):
    metadata = _materializations(demo_warehouse.result)
    assert "preview" not in metadata["intermediate/int_sessions"]
    assert "preview" not in metadata["staging/stg_touchpoints"]


def _bar_counts(markdown: str) -> list[int]:
    import base64
    import re

    encoded = re.search(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\)", markdown)[1]
    svg = base64.b64decode(encoded).decode()
    assert svg.startswith("<svg")
    return [int(n) for n in re.findall(r"<title>(\d+)</title>", svg)]


def test_scores_carry_their_distribution_as_an_image(demo_warehouse):
    """The CLV and churn histograms in the metadata count the scored customers per bin, the
    same as numpy's histogram of the scoring tables."""
    import numpy as np

    metadata = _materializations(demo_warehouse.result)
    for key, table, column, name in (
        ("scoring/customer_clv", "customer_clv", "clv_12m", "clv_12m_distribution"),
        (
            "scoring/customer_churn",
            "customer_churn",
            "churn_probability",
            "churn_probability_distribution",
        ),
    ):
        values = demo_warehouse.df(f"select {column} from scoring.{table}")[column].to_numpy()
        expected, _ = np.histogram(values, bins=20, range=(values.min(), values.max()))
        assert _bar_counts(metadata[key][name].value) == expected.tolist(), key
        assert "model_metrics" in metadata[key]


def test_the_side_tables_of_the_scores_are_assets_of_their_own(demo_warehouse):
    """The tables a scoring asset writes beside its scores are materialized as assets, each
    with its row count (counted here); scoring.model_metrics, which three models write, is
    reported once by each of them, and holds exactly their rows."""
    metadata = _materializations(demo_warehouse.result)
    for table in ("markov_channel_effects", "clv_model_parameters", "cluster_profiles"):
        rows = int(demo_warehouse.df(f"select count(*) as n from scoring.{table}")["n"].iloc[0])
        assert rows > 0, table
        assert metadata[f"scoring/{table}"]["dagster/row_count"].value == rows, table
    reports = [
        event.step_materialization_data.materialization.metadata
        for event in demo_warehouse.result.all_events
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION
        and event.asset_key.to_user_string() == "scoring/model_metrics"
    ]
    models = sorted(report["model"].value for report in reports)
    stored = demo_warehouse.df("select model, count(*) as n from scoring.model_metrics group by 1")
    assert models == sorted(stored["model"])
    for report in reports:
        model = report["model"].value
        expected = int(stored.loc[stored["model"] == model, "n"].iloc[0])
        assert report["rows_of_model"].value == expected, model


def _lineage(metadata: dict, key: str) -> dict[str, set[tuple[str, str]]]:
    lineage = metadata[key]["dagster/column_lineage"].value
    return {
        column: {(dep.asset_key.to_user_string(), dep.column_name) for dep in deps}
        for column, deps in lineage.deps_by_column.items()
    }


def test_dbt_models_carry_the_column_lineage_read_from_their_sql(demo_warehouse):
    """Hand-picked columns, their sources read in the model SQL: customers.sql divides
    int_customer_orders' net_revenue by its orders and takes clv_12m from the CLV scores' view;
    cohort_retention.sql divides active customers by the cohort size; int_sessions.sql sums the
    touchpoints' dwell_ms; base_users.sql hashes the raw file's email, read in place."""
    metadata = _materializations(demo_warehouse.result)
    customers = _lineage(metadata, "marts/customers")
    assert customers["avg_order_value"] == {
        ("intermediate/int_customer_orders", "net_revenue"),
        ("intermediate/int_customer_orders", "orders"),
    }
    assert customers["clv_12m"] == {("staging/stg_scoring__customer_clv", "clv_12m")}
    assert _lineage(metadata, "marts/cohort_retention")["retention_rate"] == {
        ("intermediate/int_cohort_months", "active_customers"),
        ("intermediate/int_cohort_months", "cohort_size"),
    }
    assert _lineage(metadata, "intermediate/int_sessions")["engaged_ms"] == {
        ("intermediate/int_touchpoints", "dwell_ms")
    }
    assert _lineage(metadata, "staging/base_users")["email_hash"] == {("raw/users", "email")}
    assert _lineage(metadata, "marts/customer_actions")["total_clv_12m"] == {
        ("marts/customers", "clv_12m")
    }


def test_every_dbt_model_has_lineage_for_each_column_to_real_upstream_columns(demo_warehouse):
    """Each built dbt model lists every column of its table, and each upstream column it names
    is a column of that upstream table (in the warehouse, the raw file's header, or an ephemeral
    model's declared columns)."""
    import csv
    import json

    from builds import MANIFEST

    metadata = _materializations(demo_warehouse.result)
    with demo_warehouse.connect() as con:
        tables: dict[str, set[str]] = {}
        for schema, table, column in con.execute(
            "select table_schema, table_name, column_name from information_schema.columns"
        ).fetchall():
            tables.setdefault(f"{schema}/{table}", set()).add(column)
    for raw in demo_warehouse.raw_dir.glob("*.csv"):
        with raw.open() as handle:
            tables[f"raw/{raw.stem}"] = set(next(csv.reader(handle)))
    for node in json.loads(MANIFEST.read_text())["nodes"].values():
        if node["config"].get("materialized") == "ephemeral":
            tables[f"{node['schema']}/{node['name']}"] = set(node["columns"])
    models = [
        key
        for key, values in metadata.items()
        if key.split("/")[0] in ("staging", "intermediate", "marts", "audit")
        and "dagster/column_schema" in values
        and key != "staging/benchmarks"  # a seed: no SQL
    ]
    assert len(models) > 60
    with_deps = 0
    for key in models:
        lineage = _lineage(metadata, key)
        assert set(lineage) == tables[key], key
        for column, deps in lineage.items():
            with_deps += bool(deps)
            for upstream, upstream_column in deps:
                assert upstream_column in tables[upstream], (key, column, upstream)
    # most columns come from columns (the rest: counts, constants)
    assert with_deps > 0.7 * sum(len(tables[key]) for key in models)
