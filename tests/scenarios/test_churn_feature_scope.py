"""The churn features' training snapshots are computed only for a fit (DECISIONLOG 151).

Only the churn model's fit reads the training and validation snapshots of
``int_customer_features`` and ``int_customer_touchpoint_counts``; scoring with the stored model
reads the score snapshot. So a run whose churn step scores with its stored model computes the
score snapshot alone (``CHURN_FEATURE_SCOPE=score``), and a run whose churn step fits computes
them all. On copies of the demo build (which fitted and stored the churn model), through real
Dagster materializations of the two feature models and the churn step:

- a run that scores with the stored model (``touchpoint/refit=false``): the features hold the
  score snapshot alone, its rows those of the demo build's (every snapshot), and the churn scores
  are the demo build's, from the same stored model;
- the same run without a stored churn model of this code version: the churn step fits, so the
  features hold every snapshot, equal to the demo build's, and the fit's scores are the demo
  build's;
- a refit of the churn step alone on features that hold the score snapshot alone fails, naming
  what to run, and keeps the scores it had.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from orchestration.assets.model_store import REFIT_TAG
from touchpoint_alchemy.settings import DEMO_RAW_DATA_DIR, Settings

FEATURES = ("int_customer_features", "int_customer_touchpoint_counts")
SCORES = "select * from scoring.customer_churn"


def _materialize(
    warehouse: Path, keys: list[dg.AssetKey], refit: bool
) -> dg.ExecuteInProcessResult:
    """The models and steps of ``keys`` (with their dbt tests), then the publish step, on
    ``warehouse``; the run asks for a refit or not (REFIT_TAG)."""
    from orchestration.assets.dbt import daily_dbt_assets, warehouse_dbt_assets
    from orchestration.assets.scoring import SCORING_ASSETS
    from orchestration.publish import PUBLISHED_SNAPSHOT, build_publish_asset
    from orchestration.resources import build_resources

    settings = Settings(warehouse_path=warehouse, raw_data_dir=DEMO_RAW_DATA_DIR)
    assets = [daily_dbt_assets, warehouse_dbt_assets, *SCORING_ASSETS]
    selection = dg.AssetSelection.assets(*keys, PUBLISHED_SNAPSHOT)
    with dg.DagsterInstance.ephemeral() as instance:
        return dg.materialize(
            [*assets, build_publish_asset(assets)],
            selection=selection,
            resources=build_resources(settings),
            instance=instance,
            tags={REFIT_TAG: "true" if refit else "false"},
            raise_on_error=False,
        )


def _feature_keys() -> list[dg.AssetKey]:
    from orchestration.assets.dbt import model_asset_key

    return [model_asset_key(model) for model in FEATURES]


def _churn_key() -> dg.AssetKey:
    from orchestration.assets.scoring_factory import SCORING_KEYS

    return SCORING_KEYS["customer_churn"]


def _frame(path: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        frame = con.execute(sql).df()
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def _model_version(path: Path) -> str:
    with duckdb.connect(str(path), read_only=True) as con:
        (detail,) = con.execute(
            "select detail from scoring.model_metrics "
            "where model = 'churn' and metric = 'model_version'"
        ).fetchone()
    return detail


@pytest.fixture
def copy(demo_warehouse, tmp_path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_warehouse.path, path)
    return path


def test_scoring_with_the_stored_model_computes_the_score_snapshot_alone(demo_warehouse, copy):
    result = _materialize(copy, [*_feature_keys(), _churn_key()], refit=False)
    assert result.success
    assert "stored model, not refitted" in _model_version(copy)
    for model in FEATURES:
        table = f"intermediate.{model}"
        score = f"select * from {table} where snapshot = 'score'"
        assert _frame(copy, f"select distinct snapshot from {table}")["snapshot"].tolist() == [
            "score"
        ]
        built = _frame(demo_warehouse.path, score)
        assert len(built) > 100
        pd.testing.assert_frame_equal(_frame(copy, score), built, check_exact=True)
    # more than the score snapshot in the demo build: the comparison above means something
    assert len(_frame(demo_warehouse.path, "select distinct snapshot from " + table)) > 2
    pd.testing.assert_frame_equal(
        _frame(copy, SCORES), _frame(demo_warehouse.path, SCORES), check_exact=True
    )


def test_a_run_whose_churn_step_fits_computes_every_snapshot(demo_warehouse, copy):
    with duckdb.connect(str(copy)) as con:
        con.execute("delete from scoring.model_store where model = 'churn'")
    result = _materialize(copy, [*_feature_keys(), _churn_key()], refit=False)
    assert result.success
    assert "fitted in this run" in _model_version(copy)
    for model in FEATURES:
        every = f"select * from intermediate.{model}"
        pd.testing.assert_frame_equal(
            _frame(copy, every), _frame(demo_warehouse.path, every), check_exact=True
        )
    pd.testing.assert_frame_equal(
        _frame(copy, SCORES), _frame(demo_warehouse.path, SCORES), check_exact=True
    )


def test_a_refit_on_the_score_snapshot_alone_fails_and_keeps_the_scores(demo_warehouse, copy):
    assert _materialize(copy, _feature_keys(), refit=False).success
    result = _materialize(copy, [_churn_key()], refit=True)
    assert not result.success
    (failure,) = [
        event for event in result.all_events if event.event_type == dg.DagsterEventType.STEP_FAILURE
    ]
    message = failure.event_specific_data.error.message
    assert "holds the score snapshot alone" in message and "touchpoint/refit=true" in message
    pd.testing.assert_frame_equal(
        _frame(copy, SCORES), _frame(demo_warehouse.path, SCORES), check_exact=True
    )
