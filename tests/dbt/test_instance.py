"""The Dagster instance the project ships (dagster.yaml) and the freshness of what BI reads:
one run at a time, a dead run started again once, freshness evaluated, and the marts and the
published snapshot stale 30 hours after their last materialization (warned at 26)."""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest

from touchpoint_alchemy.settings import REPO_ROOT


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    from dagster import DagsterInstance

    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    with DagsterInstance.from_config(str(home)) as loaded:
        yield loaded


def test_runs_queue_one_at_a_time(instance):
    from dagster._core.run_coordinator import QueuedRunCoordinator

    assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
    assert instance.run_coordinator.get_run_queue_config().max_concurrent_runs == 1


def test_a_dead_run_is_retried_once_a_failed_step_is_not(instance):
    assert instance.run_retries_enabled
    assert instance.run_retries_max_retries == 1
    assert not instance.run_retries_retry_on_asset_or_op_failure


def test_freshness_is_evaluated(instance):
    assert instance.get_settings("freshness").get("enabled") is True


def test_the_marts_and_the_published_snapshot_have_the_daily_freshness_policy():
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = [key for key in graph.get_all_asset_keys() if key.path[0] == "marts"]
    keys.append(
        next(key for key in graph.get_all_asset_keys() if key.path[-1] == "published_snapshot")
    )
    assert len(keys) > 20
    for key in keys:
        policy = graph.get(key).freshness_policy
        assert policy is not None, key.to_user_string()
        assert policy.fail_window.to_timedelta() == timedelta(hours=30), key.to_user_string()
        assert policy.warn_window.to_timedelta() == timedelta(hours=26), key.to_user_string()
    # a staging model has none: only what BI reads is watched
    staging = next(key for key in graph.get_all_asset_keys() if key.path[0] == "staging")
    assert graph.get(staging).freshness_policy is None
