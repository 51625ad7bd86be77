"""Predictive scores on the demo data: churn features and labels against pandas, the model
against its baseline, the scores joined into marts.customers, and the action rules recomputed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

HORIZON_DAYS = 90
TRAINING_SNAPSHOTS = 4


@pytest.fixture(scope="module")
def metrics(demo_warehouse) -> pd.DataFrame:
    return demo_warehouse.df("select * from scoring.model_metrics")


def metric(metrics: pd.DataFrame, model: str, name: str) -> float:
    row = metrics[(metrics["model"] == model) & (metrics["metric"] == name)]
    assert len(row) == 1, (model, name)
    return float(row["value"].iloc[0])


def test_churn_model_beats_the_recency_baseline(metrics):
    auc = metric(metrics, "churn", "holdout_auc")
    baseline = metric(metrics, "churn", "baseline_recency_auc")
    assert auc > baseline
    assert 0.5 < baseline < 1
    assert 0 < metric(metrics, "churn", "holdout_brier") < 0.25


def test_model_metrics_name_every_model_and_the_cutoff(demo_warehouse, metrics):
    columns = ["model", "metric", "value", "n", "fitted_at", "data_cutoff", "detail"]
    assert list(metrics.columns) == columns
    # a figure has no detail (but for the excluded customers and the model version that
    # scored); the demo data fits every model cleanly
    described = metrics["metric"].isin(["gamma_gamma_excluded_nonpositive_spend", "model_version"])
    assert metrics.loc[~described, "detail"].isna().all()
    assert not metrics["metric"].isin(["fit_failed", "insufficient_data"]).any()
    assert not metrics["metric"].str.endswith("_not_converged").any()
    assert set(metrics["model"]) == {
        "clv",
        "churn",
        "clusters",
        "product_recommendations",
        "demand_forecast",
    }
    cutoff = demo_warehouse.df("select data_cutoff_at from intermediate.int_data_cutoff")
    assert (metrics["data_cutoff"] == cutoff["data_cutoff_at"][0]).all()
    for name in ("holdout_mae", "holdout_aggregate_error", "bg_nbd_log_likelihood"):
        assert np.isfinite(metric(metrics, "clv", name))
    k = metric(metrics, "clusters", "k")
    assert 3 <= k <= 8
    silhouettes = {
        int(m.removeprefix("silhouette_k")): v
        for m, v in zip(metrics["metric"], metrics["value"], strict=True)
        if m.startswith("silhouette_k")
    }
    assert max(silhouettes, key=lambda c: (silhouettes[c], -c)) == k


def test_gamma_gamma_leaves_out_repeat_customers_without_positive_spend(demo_warehouse, metrics):
    """Counted from the purchase days with pandas: repeat customers whose mean repeat spend is
    <= 0 are out of the Gamma-Gamma fit, the others are in it."""
    days = demo_warehouse.df(
        "select user_id, purchase_date, revenue from intermediate.int_customer_purchase_days"
    )
    first = days.groupby("user_id")["purchase_date"].transform("min")
    mean_repeat = days[days["purchase_date"] > first].groupby("user_id")["revenue"].mean()
    excluded = int((mean_repeat.astype(float) <= 0).sum())
    assert metric(metrics, "clv", "gamma_gamma_excluded_nonpositive_spend") == excluded
    fitted_on = demo_warehouse.df(
        "select distinct n_customers from scoring.clv_model_parameters where model = 'gamma_gamma'"
    )
    assert fitted_on["n_customers"].tolist() == [len(mean_repeat) - excluded]


def test_churn_snapshots_features_and_labels_match_pandas(demo_warehouse):
    """frequency, monetary, recency and the label of every (customer, snapshot), recomputed."""
    purchases = demo_warehouse.df(
        "select user_id, purchased_at, revenue from intermediate.int_purchases"
    )
    cutoff = pd.Timestamp(
        demo_warehouse.df("select data_cutoff_at from intermediate.int_data_cutoff").iloc[0, 0]
    )
    purchases = purchases[purchases["purchased_at"] <= cutoff]
    as_of = {"score": cutoff, "validation": cutoff - pd.Timedelta(days=HORIZON_DAYS)}
    for k in range(TRAINING_SNAPSHOTS):
        as_of[f"train_{k}"] = cutoff - pd.Timedelta(days=2 * HORIZON_DAYS + 30 * k)
    expected = []
    for snapshot, at in as_of.items():
        before = purchases[purchases["purchased_at"] <= at]
        after = purchases[
            (purchases["purchased_at"] > at)
            & (purchases["purchased_at"] <= at + pd.Timedelta(days=HORIZON_DAYS))
        ]
        summary = before.groupby("user_id").agg(
            frequency=("revenue", "size"),
            monetary=("revenue", "sum"),
            last=("purchased_at", "max"),
        )
        summary["recency_days"] = (at.normalize() - summary["last"].dt.normalize()).dt.days
        future = after.groupby("user_id").size()
        summary["churned"] = None if snapshot == "score" else ~summary.index.isin(future.index)
        summary["snapshot"] = snapshot
        expected.append(summary.reset_index())
    expected = pd.concat(expected).sort_values(["snapshot", "user_id"]).reset_index(drop=True)
    actual = demo_warehouse.df(
        "select user_id, snapshot, frequency, monetary, recency_days, churned "
        "from intermediate.int_customer_features order by snapshot, user_id"
    )
    assert len(actual) == len(expected)
    assert (actual["user_id"] == expected["user_id"]).all()
    assert (actual["snapshot"] == expected["snapshot"]).all()
    assert (actual["frequency"] == expected["frequency"]).all()
    np.testing.assert_allclose(
        actual["monetary"].astype(float), expected["monetary"].astype(float), rtol=1e-12
    )
    assert (actual["recency_days"] == expected["recency_days"]).all()
    labelled = expected["snapshot"] != "score"
    assert (
        actual.loc[labelled, "churned"].astype(bool)
        == expected.loc[labelled, "churned"].astype(bool)
    ).all()
    assert actual.loc[~labelled, "churned"].isna().all()
    # the user's own sessions that started in the 30 and 90 days up to as_of (end inclusive)
    sessions = demo_warehouse.df(
        "select user_id, started_at from intermediate.int_sessions where not is_anonymous_actor"
    )
    counted = []
    for snapshot, at in as_of.items():
        for days in (30, 90):
            window = sessions[
                (sessions["started_at"] <= at)
                & (sessions["started_at"] > at - pd.Timedelta(days=days))
            ]
            counts = window.groupby("user_id").size().rename(f"sessions_{days}d")
            counted.append(counts.reset_index().assign(snapshot=snapshot))
    sessions_expected = (
        expected[["snapshot", "user_id"]]
        .merge(
            pd.concat(counted).groupby(["snapshot", "user_id"]).sum().reset_index(),
            on=["snapshot", "user_id"],
            how="left",
        )
        .fillna({"sessions_30d": 0, "sessions_90d": 0})
    )
    actual_sessions = demo_warehouse.df(
        "select snapshot, user_id, sessions_30d, sessions_90d "
        "from intermediate.int_customer_features order by snapshot, user_id"
    )
    assert actual_sessions["sessions_90d"].sum() > 0
    for column in ("sessions_30d", "sessions_90d"):
        assert (actual_sessions[column] == sessions_expected[column].astype(int)).all(), column


def test_every_customer_carries_every_score(demo_warehouse):
    customers = demo_warehouse.df("select * from marts.customers")
    for column in ("p_alive", "clv_12m", "churn_probability", "risk_band", "cluster_name"):
        assert customers[column].notna().all(), column
    assert customers["p_alive"].between(0, 1).all()
    assert customers["churn_probability"].between(0, 1).all()
    assert (customers["clv_12m"] >= 0).all()
    bands = np.where(
        customers["churn_probability"] >= 0.75,
        "high",
        np.where(customers["churn_probability"] >= 0.5, "medium", "low"),
    )
    assert (customers["risk_band"] == bands).all()
    clv = demo_warehouse.df("select * from scoring.customer_clv")
    assert set(clv["user_id"]) == set(customers["user_id"])
    assert (clv["expected_purchases_365d"] >= clv["expected_purchases_90d"]).all()
    assert clv["clv_12m_lower"].isna().all()  # MAP: no credible interval
    drivers = demo_warehouse.df("select top_drivers from scoring.customer_churn")["top_drivers"]
    assert (drivers.str.split("; ").str.len() == 3).all()


def test_cluster_profiles_match_pandas(demo_warehouse):
    features = demo_warehouse.df(
        "select f.*, c.cluster_id from intermediate.int_customer_features f "
        "join scoring.customer_clusters c using (user_id) where f.snapshot = 'score'"
    )
    profiles = demo_warehouse.df("select * from scoring.cluster_profiles order by cluster_id")
    grouped = features.groupby("cluster_id")
    assert profiles["customers"].tolist() == grouped.size().sort_index().tolist()
    assert profiles["customers"].is_monotonic_decreasing
    np.testing.assert_allclose(
        profiles["mean_frequency"], grouped["frequency"].mean().sort_index(), rtol=1e-12
    )
    np.testing.assert_allclose(
        profiles["mobile_share"],
        grouped["is_mobile"].mean().sort_index().astype(float),
        rtol=1e-12,
    )
    assert profiles["cluster_name"].is_unique
    assert profiles["cluster_name"].str.endswith("buyers").all()


def test_customer_actions_follow_the_documented_rules(demo_warehouse):
    """The action of every customer, recomputed from marts.customers in pandas."""
    customers = demo_warehouse.df(
        "select user_id, rfm_segment, risk_band, churn_probability, clv_12m from marts.customers"
    )
    customers = customers.sort_values(["clv_12m", "user_id"]).reset_index(drop=True)
    n = len(customers)
    # ntile(10): the first n % 10 tiles get one row more
    sizes = [n // 10 + (1 if i < n % 10 else 0) for i in range(10)]
    customers["clv_decile"] = np.repeat(np.arange(1, 11), sizes)
    valued = customers["rfm_segment"].isin(["Champions", "Loyal", "Can't lose", "At risk"])
    risky = customers["risk_band"].isin(["medium", "high"])
    customers["action"] = np.select(
        [
            risky & ((customers["clv_decile"] >= 6) | valued),
            (customers["risk_band"] == "low")
            & (
                customers["rfm_segment"].isin(["Champions", "Loyal"])
                | (customers["clv_decile"] >= 9)
            ),
            customers["risk_band"] == "high",
        ],
        ["win back", "reward", "leave alone"],
        default="nurture",
    )
    expected = (
        customers.groupby(["action", "rfm_segment", "risk_band"])
        .agg(
            customers=("user_id", "size"),
            min_clv_decile=("clv_decile", "min"),
            max_clv_decile=("clv_decile", "max"),
            total_clv_12m=("clv_12m", "sum"),
        )
        .reset_index()
        .sort_values(["action", "rfm_segment", "risk_band"])
        .reset_index(drop=True)
    )
    actual = demo_warehouse.df(
        "select action, rfm_segment, risk_band, customers, min_clv_decile, max_clv_decile, "
        "total_clv_12m, priority, example_user_ids from marts.customer_actions "
        "order by action, rfm_segment, risk_band"
    )
    assert actual["customers"].sum() == n
    for column in ("action", "rfm_segment", "risk_band", "customers"):
        assert actual[column].tolist() == expected[column].tolist(), column
    assert actual["min_clv_decile"].tolist() == expected["min_clv_decile"].tolist()
    assert actual["max_clv_decile"].tolist() == expected["max_clv_decile"].tolist()
    np.testing.assert_allclose(actual["total_clv_12m"], expected["total_clv_12m"], rtol=1e-9)
    priority = {"win back": 1, "reward": 2, "nurture": 3, "leave alone": 4}
    assert (actual["priority"] == actual["action"].map(priority)).all()
    examples = actual["example_user_ids"].str.split(", ")
    assert (examples.str.len() == actual["customers"].clip(upper=5)).all()


def test_the_scoring_schema_is_exactly_the_declared_registry(demo_warehouse):
    """Every table of the scoring schema is declared in the dbt source ``scoring``, with the
    declared columns in order and the DuckDB type of each declared data_type; and every
    declared table was written (models/staging/scoring/_scoring.yml)."""
    from orchestration.assets.scoring_factory import SCORING_TABLES, declared_columns

    duckdb_types = {
        "string": "VARCHAR",
        "integer": "INTEGER",
        "bigint": "BIGINT",
        "double": "DOUBLE",
        "boolean": "BOOLEAN",
        "timestamp": "TIMESTAMP",
        "date": "DATE",
    }
    rows = demo_warehouse.df(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = 'scoring' order by table_name, ordinal_position"
    )
    written = {
        table: list(zip(group["column_name"], group["data_type"], strict=True))
        for table, group in rows.groupby("table_name", sort=True)
    }
    declared = {
        table: [(column, duckdb_types[t]) for column, t in declared_columns(table).items()]
        for table in SCORING_TABLES
    }
    assert written == declared
