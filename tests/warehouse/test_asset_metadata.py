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
