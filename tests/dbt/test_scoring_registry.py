"""The dbt source ``scoring`` is the one registry of the tables the Python scoring assets write
(models/staging/scoring/_scoring.yml): every table has a writer among the scoring assets, every
column a data_type, and every scoring asset's fit, run on small synthetic inputs, returns
exactly the declared columns of each table it writes, no more and no fewer, in their order.
The same is checked on the demo build's tables, with their types, in
tests/warehouse/test_predictive_scores.py."""

from __future__ import annotations

import importlib.util
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

#: the scoring assets (a test checks that these are all of them)
ASSETS = (
    "customer_churn",
    "customer_clusters",
    "customer_clv",
    "customer_rfm",
    "demand_forecast",
    "markov_attribution",
    "product_recommendations",
)
FITTED = datetime(2025, 1, 1)


@pytest.fixture(scope="module")
def specs() -> dict:
    """The scoring asset specs, by name (imported here: the code location needs the manifest)."""
    from orchestration.assets.scoring import SCORING_SPECS

    return {spec.name: spec for spec in SCORING_SPECS}


def _unit_tests(name: str):
    """A module of the unit tier, for its synthetic data (churn, clusters)."""
    path = Path(__file__).parents[1] / "unit" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"scoring_registry_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def purchase_days(customers: int = 200, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(customers):
        first = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 200)))
        for k in range(1 + int(rng.poisson(1.5))):
            day = first + pd.Timedelta(days=int(k * rng.integers(10, 60)))
            rows.append((f"c{i:03d}", day.date(), float(rng.gamma(4, 10))))
    frame = pd.DataFrame(rows, columns=["user_id", "purchase_date", "revenue"])
    frame = frame.drop_duplicates(["user_id", "purchase_date"]).reset_index(drop=True)
    return frame.assign(observation_end_date=frame["purchase_date"].max())


def inputs_of(name: str) -> tuple[dict[str, pd.DataFrame], object]:
    """Small synthetic inputs of scoring asset ``name`` (by dbt model) and its default config."""
    from orchestration.assets.scoring import ChurnConfig, ClusterConfig, ClvConfig

    if name == "customer_rfm":
        orders = pd.DataFrame(
            {
                "user_id": [f"u{i}" for i in range(12)],
                "last_order_at": pd.date_range("2024-01-01", periods=12, freq="7D"),
                "orders": [1 + i % 4 for i in range(12)],
                "net_revenue": [10.0 * (i + 1) for i in range(12)],
            }
        )
        return {"int_customer_orders": orders}, None
    if name == "markov_attribution":
        # journeys o1: email, search (converted); j2: email; o3: social, email (converted)
        transitions = pd.DataFrame(
            [
                ("start", "email", 2),
                ("start", "social", 1),
                ("email", "search", 1),
                ("search", "conversion", 1),
                ("email", "null", 1),
                ("social", "email", 1),
                ("email", "conversion", 1),
            ],
            columns=["from_state", "to_state", "transitions"],
        )
        channels = pd.DataFrame(
            {
                "order_id": ["o1", "o1", "o3", "o3"],
                "channel": ["email", "search", "email", "social"],
            }
        )
        return {"int_markov_transitions": transitions, "int_markov_order_channels": channels}, None
    if name == "customer_clv":
        return {"int_customer_purchase_days": purchase_days()}, ClvConfig()
    if name == "customer_churn":
        features, counts = _unit_tests("test_churn_scoring").synthetic()
        inputs = {"int_customer_features": features, "int_customer_touchpoint_counts": counts}
        return inputs, ChurnConfig(threads=1)
    if name == "product_recommendations":
        from orchestration.assets.scoring import RecommendationConfig

        products = pd.DataFrame(
            {
                "user_id": ["a", "a", "b", "b", "c"],
                "product_id": ["p1", "p2", "p1", "p3", "p2"],
                "first_purchased_at": pd.to_datetime(
                    ["2024-01-01", "2024-01-02", "2024-01-03", "2024-06-20", "2024-01-04"]
                ),
            }
        )
        inputs = {
            "int_customer_products": products,
            "int_users": pd.DataFrame({"user_id": ["a", "b", "c", "d"]}),
            "int_data_cutoff": pd.DataFrame({"data_cutoff_at": [datetime(2024, 6, 30)]}),
        }
        return inputs, RecommendationConfig()
    if name == "demand_forecast":
        from orchestration.assets.scoring import DemandForecastConfig

        days = pd.date_range("2024-01-01", periods=140).date
        rng = np.random.default_rng(3)
        rows = [
            (day, series, metric, float(rng.poisson(3)) * (25.0 if metric == "revenue" else 1))
            for day in days
            for series in ("all", "search")
            for metric in ("orders", "revenue")
        ]
        history = pd.DataFrame(rows, columns=["history_date", "series", "metric", "value"])
        cutoff = pd.DataFrame({"data_cutoff_at": [datetime(2024, 5, 19, 18)]})
        inputs = {"int_demand_daily": history, "int_data_cutoff": cutoff}
        return inputs, DemandForecastConfig(interval_samples=200)
    if name == "customer_clusters":
        return {"int_customer_features": _unit_tests("test_clusters").blobs()}, ClusterConfig()
    raise KeyError(name)


def test_every_declared_table_has_a_scoring_asset_that_writes_it(specs):
    from orchestration.assets.scoring_factory import (
        MODEL_METRICS_TABLE,
        SCORING_TABLES,
        declared_columns,
        tables_written_by,
        writers,
    )

    assert sorted(specs) == sorted(ASSETS)
    for table in SCORING_TABLES:
        assert writers(table), f"scoring.{table} has no meta.written_by"
        assert set(writers(table)) <= set(specs), table
        declared_columns(table)  # every column has a known data_type
    for name in specs:
        assert tables_written_by(name)[0] == name
    with_metrics = {name for name, spec in specs.items() if spec.model}
    assert set(writers(MODEL_METRICS_TABLE)) == with_metrics
    assert {specs[name].model for name in with_metrics} == {
        "clv",
        "churn",
        "clusters",
        "product_recommendations",
        "demand_forecast",
    }


@pytest.mark.parametrize("name", ASSETS)
def test_every_scoring_asset_writes_exactly_the_declared_columns(specs, name):
    """(CLV fits with pymc: about 15 s with its import.)"""
    from orchestration.assets.scoring_factory import (
        FITTED_AT,
        declared_columns,
        tables_written_by,
        to_arrow,
    )

    spec = specs[name]
    inputs, config = inputs_of(name)
    scored = spec.fit(inputs, config)
    assert set(scored.tables) == set(tables_written_by(name))
    for table, frame in scored.tables.items():
        declared = [c for c in declared_columns(table) if c != FITTED_AT]
        assert len(frame), (name, table)
        # a DataFrame, or an Arrow table (the recommendations' millions of rows)
        columns = getattr(frame, "column_names", None) or list(frame.columns)
        assert columns == declared, f"scoring.{table}: written != declared"
        written = to_arrow(table, frame, FITTED)
        assert written.schema.names == list(declared_columns(table))
    if spec.model:
        assert scored.metrics, name
        assert spec.describe(scored, config) is not None


def test_a_column_not_declared_or_a_declared_one_missing_fails_the_write(specs):
    from orchestration.assets.scoring_factory import to_arrow

    inputs, _ = inputs_of("customer_rfm")
    frame = specs["customer_rfm"].fit(inputs, None).tables["customer_rfm"]
    with pytest.raises(ValueError, match="not the declared columns"):
        to_arrow("customer_rfm", frame.assign(extra=1), FITTED)
    with pytest.raises(ValueError, match="not the declared columns"):
        to_arrow("customer_rfm", frame.drop(columns=["rfm_score"]), FITTED)
    # an Arrow table is checked the same way, and taken in the declared order and types
    inputs, config = inputs_of("product_recommendations")
    lists = specs["product_recommendations"].fit(inputs, config).tables["product_recommendations"]
    with pytest.raises(ValueError, match="not the declared columns"):
        to_arrow("product_recommendations", lists.append_column("extra", lists["rank"]), FITTED)
    with pytest.raises(ValueError, match="not the declared columns"):
        to_arrow("product_recommendations", lists.drop_columns(["score"]), FITTED)
    reordered = lists.select(list(reversed(lists.column_names)))
    assert to_arrow("product_recommendations", reordered, FITTED).equals(
        to_arrow("product_recommendations", lists, FITTED)
    )
    assert to_arrow("customer_rfm", frame.iloc[:0], FITTED).num_rows == 0


def test_labels_shared_with_sql_are_the_dbt_vars():
    """The labels the scoring writes and the SQL matches are the dbt vars (dbt_project.yml):
    the churn model's own constants equal them, and the RFM map uses only listed segments."""
    from touchpoint_alchemy import labels
    from touchpoint_alchemy.scoring import churn, rfm

    assert churn.RISK_BANDS == labels.churn_risk_bands() == ("low", "medium", "high")
    assert churn.SNAPSHOTS == labels.churn_snapshots() == ("train", "validation", "score")
    assert {s for row in rfm.SEGMENT_MAP.values() for s in row.values()} == set(rfm.SEGMENTS)
    assert sorted(rfm.SEGMENT_MAP) == [1, 2, 3, 4, 5]
    assert all(sorted(row) == [1, 2, 3, 4, 5] for row in rfm.SEGMENT_MAP.values())
