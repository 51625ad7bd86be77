"""The daily runs score with the model the last refit stored; a refit replaces it
(orchestration/assets/model_store.py, DECISIONLOG 72).

On a copy of the demo build, a scoring step runs again: once as a daily run does (tag
``touchpoint/refit=false``: the stored model scores), once with a refit, once after the stored
model's code version changed. On the same data the stored model and a refit give the same scores,
so only the stored row and the model_version metric tell them apart."""

from __future__ import annotations

import shutil

import dagster as dg
import duckdb
import pytest

from touchpoint_alchemy.settings import Settings

PUBLISH = dg.AssetKey(["warehouse", "published_snapshot"])
#: model -> its asset's own table (the asset key's name) and the tables its scores are in
MODELS = {
    "churn": ("customer_churn", ("customer_churn",)),
    "clusters": ("customer_clusters", ("customer_clusters", "cluster_profiles")),
}


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
            table: con.execute(f"select * from scoring.{table} order by all").df()
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
