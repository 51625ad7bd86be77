"""The daily runs score with the model the last refit stored; a refit replaces it
(orchestration/assets/model_store.py, DECISIONLOG 72 and 74).

On a copy of the demo build, a scoring step runs again: once as a daily run does (tag
``touchpoint/refit=false``: the stored model scores), once with a refit, once after the stored
model's code version changed. On the same data the stored model and a refit give the same scores,
so only the stored row and the model_version metric tell them apart. On changed data a daily run
scores CLV from the stored parameters (checked against the closed form), recomputes the
product recommendations, keeping the last refit's holdout evaluation, and forecasts demand from
the day's history, keeping the last refit's backtest."""

from __future__ import annotations

import shutil

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest

from touchpoint_alchemy.settings import Settings

from clv_reference import conditional_expected_purchases

PUBLISH = dg.AssetKey(["warehouse", "published_snapshot"])
#: model -> its asset's own table (the asset key's name) and the tables its scores are in
MODELS = {
    "churn": ("customer_churn", ("customer_churn",)),
    "clusters": ("customer_clusters", ("customer_clusters", "cluster_profiles")),
    "clv": ("customer_clv", ("customer_clv", "clv_model_parameters")),
    "product_recommendations": ("product_recommendations", ("product_recommendations",)),
    "demand_forecast": ("demand_forecast", ("demand_forecast", "demand_history")),
}
#: the tables' columns of the fit's wall-clock time, compared apart
FIT_TIME = {"clv_model_parameters": "fitted_at"}


def _run(warehouse, path, model: str, refit: str) -> dg.ExecuteInProcessResult:
    from orchestration.definitions import defs
    from orchestration.resources import build_resources

    settings = Settings(warehouse_path=path, raw_data_dir=warehouse.raw_dir)
    asset = dg.AssetKey(["scoring", MODELS[model][0]])
    with dg.DagsterInstance.ephemeral() as instance:
        return dg.materialize(
            [*(defs.assets or [])],
            selection=dg.AssetSelection.assets(asset, PUBLISH),
            resources=build_resources(settings),
            instance=instance,
            tags={"touchpoint/refit": refit},
        )


def _state(path, model: str):
    with duckdb.connect(str(path), read_only=True) as con:
        store = con.execute(
            "select code_version, fitted_at, length(artifact) > 0 as has_model "
            "from scoring.model_store where model = ?",
            [model],
        ).fetchall()
        scores = {
            table: con.execute(
                f"select * exclude ({FIT_TIME[table]}) from scoring.{table} order by all"
                if table in FIT_TIME
                else f"select * from scoring.{table} order by all"
            ).df()
            for table in MODELS[model][1]
        }
        metrics = con.execute(
            "select metric, value, n, detail from scoring.model_metrics "
            "where model = ? order by metric",
            [model],
        ).df()
    return store, scores, metrics


def _same(left: dict, right: dict) -> bool:
    return all(left[table].equals(right[table]) for table in left)


@pytest.fixture(scope="module")
def demo_states(demo_warehouse):
    return {model: _state(demo_warehouse.path, model) for model in MODELS}


@pytest.mark.parametrize("model", sorted(MODELS))
def test_the_full_build_stores_the_model_it_scored_with(demo_states, model):
    (store,), scores, metrics = demo_states[model]
    assert store[2], f"no {model} model stored"
    version = metrics.set_index("metric").loc["model_version"]
    assert version["detail"].startswith(f"{store[0]} (")
    assert "fitted in this run" in version["detail"]
    assert version["n"] == len(scores[MODELS[model][0]]) > 0


@pytest.mark.parametrize("model", sorted(MODELS))
def test_a_daily_run_scores_with_the_stored_model_and_a_refit_replaces_it(
    demo_warehouse, demo_states, tmp_path, model
):
    (stored,), scores, metrics = demo_states[model]
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_warehouse.path, path)

    _run(demo_warehouse, path, model, refit="false")
    (after_daily,), daily_scores, daily_metrics = _state(path, model)
    assert after_daily == stored  # not refitted
    assert _same(daily_scores, scores), "the stored model scored unlike the fit that stored it"
    fit_rows = metrics[metrics["metric"] != "model_version"].reset_index(drop=True)
    daily_fit_rows = daily_metrics[daily_metrics["metric"] != "model_version"]
    assert daily_fit_rows.reset_index(drop=True).equals(fit_rows)
    version = daily_metrics.set_index("metric").loc["model_version", "detail"]
    assert "stored model, not refitted" in version
    if model == "clv":
        # the parameters still name the fit they come from; the CLV fit's own reproducibility
        # is test_scoring_leakage's (two builds): no refit here, it costs 10 s
        assert _fit_times(path) == {stored[1]}
        return

    _run(demo_warehouse, path, model, refit="true")
    (after_refit,), refit_scores, refit_metrics = _state(path, model)
    assert after_refit[1] > stored[1]  # a new fit
    assert _same(refit_scores, scores)  # the same data and seed: the same model
    assert "fitted in this run" in refit_metrics.set_index("metric").loc["model_version", "detail"]


def test_a_model_stored_by_other_code_is_refitted_even_on_a_daily_run(demo_warehouse, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_warehouse.path, path)
    with duckdb.connect(str(path)) as con:
        con.execute("update scoring.model_store set code_version = 'older' where model = 'churn'")
    result = _run(demo_warehouse, path, "churn", refit="false")
    (store,), _, _ = _state(path, "churn")
    assert store[0] != "older"
    stored = [
        event
        for event in result.get_asset_materialization_events()
        if event.asset_key == dg.AssetKey(["scoring", "model_store"])
    ]
    assert stored, "the refit did not report scoring/model_store"


def _fit_times(path) -> set:
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute("select fitted_at from scoring.clv_model_parameters").fetchall()
    return {t for (t,) in rows}


def _daily_run_on_changed_data(demo_warehouse, tmp_path, model: str, change: str):
    """A copy of the demo build whose scoring input ``change`` (SQL) altered, then a daily run."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_warehouse.path, path)
    with duckdb.connect(str(path)) as con:
        con.execute(change)
    _run(demo_warehouse, path, model, refit="false")
    return path


def test_a_daily_run_scores_clv_from_the_stored_parameters(demo_warehouse, demo_states, tmp_path):
    """The last 30 days of purchases removed: the stored parameters score the customers as they
    now are (the closed form, recomputed here), the fit's parameter rows and metrics stay."""
    (stored,), scores, metrics = demo_states["clv"]
    path = _daily_run_on_changed_data(
        demo_warehouse,
        tmp_path,
        "clv",
        "delete from intermediate.int_customer_purchase_days "
        "where purchase_date > (select max(purchase_date) - 30 "
        "from intermediate.int_customer_purchase_days)",
    )
    (after,), daily, daily_metrics = _state(path, "clv")
    assert after == stored
    assert daily["clv_model_parameters"].equals(scores["clv_model_parameters"])
    assert _fit_times(path) == {stored[1]}
    same = daily_metrics["metric"] != "model_version"
    assert (
        daily_metrics[same]
        .reset_index(drop=True)
        .equals(metrics[metrics["metric"] != "model_version"].reset_index(drop=True))
    )
    clv = daily["customer_clv"]
    assert len(clv) < len(scores["customer_clv"])  # customers of the last 30 days only: gone
    bg = scores["clv_model_parameters"].query("model == 'bg_nbd'")
    bg = dict(zip(bg["parameter"], bg["value"], strict=True))
    x, t_x, big_t = (clv[c].to_numpy(float) for c in ("frequency", "recency", "t"))
    r, alpha, a, b = bg["r"], bg["alpha"], bg["a"], bg["b"]
    with np.errstate(divide="ignore"):
        odds = (a / np.maximum(b + x - 1, 1e-12)) * ((alpha + big_t) / (alpha + t_x)) ** (r + x)
    np.testing.assert_allclose(clv["p_alive"], 1 / (1 + (x > 0) * odds), rtol=1e-9)
    expected = conditional_expected_purchases(365 / 7, x, t_x, big_t, **bg)
    np.testing.assert_allclose(clv["expected_purchases_365d"], expected, rtol=1e-9)


def test_a_daily_run_recomputes_the_recommendations_without_evaluating(
    demo_warehouse, demo_states, tmp_path
):
    """Half the customers' purchases removed: the lists are the day's, the metrics the stored
    evaluation's (an evaluation of the day's data would differ)."""
    from touchpoint_alchemy.scoring.recommendation_evaluation import evaluate
    from touchpoint_alchemy.scoring.recommendations import (
        RecommendationSettings,
        recommend_everyone,
    )

    (stored,), _, metrics = demo_states["product_recommendations"]
    path = _daily_run_on_changed_data(
        demo_warehouse,
        tmp_path,
        "product_recommendations",
        "delete from intermediate.int_customer_products where hash(user_id) % 2 = 0",
    )
    (after,), daily, daily_metrics = _state(path, "product_recommendations")
    assert after == stored
    with duckdb.connect(str(path), read_only=True) as con:
        products = con.execute("select * from intermediate.int_customer_products").df()
        users = con.execute("select user_id from intermediate.int_users").df()["user_id"]
        cutoff = con.execute("select data_cutoff_at from intermediate.int_data_cutoff").fetchone()
    lists = recommend_everyone(products, users, RecommendationSettings()).to_pandas()
    lists = lists.sort_values(list(lists.columns)).reset_index(drop=True)
    assert daily["product_recommendations"].equals(lists)
    kept = daily_metrics[daily_metrics["metric"] != "model_version"].reset_index(drop=True)
    assert kept.equals(metrics[metrics["metric"] != "model_version"].reset_index(drop=True))
    today = evaluate(products, cutoff[0])
    assert today["hit_rate_at_10"].value != kept.set_index("metric").loc["hit_rate_at_10", "value"]


def test_a_daily_run_forecasts_the_days_history_without_backtesting(
    demo_warehouse, demo_states, tmp_path
):
    """The last 30 days of the daily series removed: the forecast is fitted on what is left
    (and differs), the backtest's figures are the stored refit's, while a backtest of the day's
    series would give others."""
    from touchpoint_alchemy.labels import forecast_horizon_days
    from touchpoint_alchemy.scoring.forecast import backtest
    from touchpoint_alchemy.scoring.forecast_fit import ForecastSettings, prophet_forecast

    (stored,), scores, metrics = demo_states["demand_forecast"]
    path = _daily_run_on_changed_data(
        demo_warehouse,
        tmp_path,
        "demand_forecast",
        "delete from intermediate.int_demand_daily where history_date > "
        "(select max(history_date) - 30 from intermediate.int_demand_daily)",
    )
    (after,), daily, daily_metrics = _state(path, "demand_forecast")
    assert after == stored
    with duckdb.connect(str(path), read_only=True) as con:
        history = con.execute(
            "select history_date, series, metric, value from intermediate.int_demand_daily "
            "order by all"
        ).df()
    assert daily["demand_history"].equals(history)
    assert not daily["demand_forecast"].equals(scores["demand_forecast"])
    assert len(daily["demand_forecast"]) == len(scores["demand_forecast"])
    kept = daily_metrics[daily_metrics["metric"] != "model_version"].reset_index(drop=True)
    assert kept.equals(metrics[metrics["metric"] != "model_version"].reset_index(drop=True))
    orders = history.query("series == 'all' and metric == 'orders'")
    settings = ForecastSettings()
    today = backtest(
        list(pd.to_datetime(orders["history_date"]).dt.date),
        orders["value"].to_numpy(),
        lambda values, dates, horizon: prophet_forecast(values, dates, horizon, settings),
        forecast_horizon_days(),
    )
    assert today.metrics["mase"] != kept.set_index("metric").loc["mase", "value"]
