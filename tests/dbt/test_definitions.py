"""The code location: it loads, and its asset graph, groups, checks, job and schedule are as
documented. The expected keys are a snapshot: a change to the graph shows up here."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def defs():
    from orchestration.definitions import defs

    return defs


@pytest.fixture(scope="module")
def asset_graph(defs):
    return defs.resolve_asset_graph()


#: dbt seeds: reference data users edit (dbt_seeds/); loaded after the raw-file check
SEEDS = {"staging/benchmarks"}

EXPECTED_ASSETS = {
    "raw": {
        "raw/users",
        "raw/touchpoints",
        "raw/orders",
        "raw/order_items",
        "raw/marketing_spend",
        "raw/nps_responses",
        "raw/experiment_assignments",
    },
    "staging": {
        f"staging/{prefix}_{name}"
        for prefix in ("base", "stg")
        for name in (
            "users",
            "touchpoints",
            "orders",
            "order_items",
            "marketing_spend",
            "nps_responses",
            "experiment_assignments",
        )
    }
    | {
        f"staging/stg_scoring__{name}"
        for name in (
            "customer_rfm",
            "markov_attribution",
            "customer_clv",
            "customer_churn",
            "customer_clusters",
            "product_recommendations",
        )
    }
    | {"staging/base_touchpoints_late"}
    | SEEDS,
    "intermediate": {
        "intermediate/int_users",
        "intermediate/int_held_users",
        "intermediate/int_identity_map",
        "intermediate/int_identity_map_changes",
        "intermediate/int_sessions",
        "intermediate/int_touchpoints",
        "intermediate/int_touchpoint_changes",
        "intermediate/int_touchpoint_change_log",
        "intermediate/int_mart_builds",
        "intermediate/int_markov_transitions",
        "intermediate/int_markov_order_channels",
        "intermediate/int_purchases",
        "intermediate/int_data_cutoff",
        "intermediate/int_customer_orders",
        "intermediate/int_funnel_chains",
        "intermediate/int_cohort_months",
        "intermediate/int_attribution_touches",
        "intermediate/int_attribution_paths",
        "intermediate/int_actor_touchpoint_months",
        "intermediate/int_actor_touchpoints",
        "intermediate/int_actor_channel_months",
        "intermediate/int_actor_days",
        "intermediate/int_actor_event_days",
        "intermediate/int_session_paths",
        "intermediate/int_actor_path_transitions",
        "intermediate/int_touchpoint_value",
        "intermediate/int_customer_ltv_90d",
        "intermediate/int_customer_second_purchases",
        "intermediate/int_channel_performance",
        "intermediate/int_customer_purchase_days",
        "intermediate/int_customer_touchpoint_counts",
        "intermediate/int_customer_features",
        "intermediate/int_customer_products",
        "intermediate/int_order_lines",
        "intermediate/int_demand_daily",
    },
    "marts": {
        "marts/funnel_conversion",
        "marts/funnel_conversion_overall",
        "marts/funnel_step_timing",
        "marts/cohort_retention",
        "marts/cohort_ltv",
        "marts/customers",
        "marts/customer_actions",
        "marts/rfm_segments",
        "marts/clv_by_risk_band",
        "marts/headline_metrics",
        "marts/attribution",
        "marts/attribution_by_channel",
        "marts/touchpoint_value",
        "marts/touchpoint_value_overall",
        "marts/context_conversion",
        "marts/context_conversion_overall",
        "marts/user_lifecycle",
        "marts/paths",
        "marts/active_users_daily",
        "marts/stickiness",
        "marts/activity_retention",
        "marts/channel_performance",
        "marts/channel_performance_overall",
        "marts/aarrr_monthly",
        "marts/repeat_purchase_curve",
        "marts/early_churn",
        "marts/aarrr_benchmarks",
        "marts/experiment_results",
        "marts/nps_monthly",
        "marts/nps_overall",
        "marts/metricflow_time_spine",
        "marts/product_performance",
        "marts/product_performance_overall",
        "marts/category_performance",
        "marts/category_performance_overall",
        "marts/product_affinity",
    },
    "scoring": {
        "scoring/customer_rfm",
        "scoring/markov_attribution",
        "scoring/customer_clv",
        "scoring/customer_churn",
        "scoring/customer_clusters",
        "scoring/product_recommendations",
        "scoring/demand_forecast",
        # side tables, each written with its model's scores, and the table of every model
        "scoring/markov_channel_effects",
        "scoring/clv_model_parameters",
        "scoring/cluster_profiles",
        "scoring/demand_history",
        "scoring/model_metrics",
        "scoring/model_store",
    },
    "audit": {"audit/rejected_rows", "audit/order_line_issues"},
    "reports": {"reports/journey_report"},
    "publish": {"warehouse/published_snapshot", "warehouse/parquet_exports"},
}


def test_asset_keys_and_groups(asset_graph):
    actual: dict[str, set[str]] = {}
    for key in asset_graph.get_all_asset_keys():
        actual.setdefault(asset_graph.get(key).group_name, set()).add(key.to_user_string())
    assert actual == EXPECTED_ASSETS


def test_every_model_descends_from_the_raw_files(asset_graph):
    """A dbt model without the raw files among its ancestors (a ref or source() that dbt did not
    see at parse time, e.g. inside an `if execute` block) would run before the raw-file checks,
    in a dbt step of its own: every staging, intermediate, mart and audit model must have them."""
    from dagster import AssetKey

    def ancestors(key: AssetKey) -> set[AssetKey]:
        found: set[AssetKey] = set()
        todo = [key]
        while todo:
            for parent in asset_graph.get(todo.pop()).parent_keys:
                if parent not in found:
                    found.add(parent)
                    todo.append(parent)
        return found

    raw = {AssetKey.from_user_string(key) for key in EXPECTED_ASSETS["raw"]}
    models = [
        key
        for group in ("staging", "intermediate", "marts", "audit")
        for key in map(AssetKey.from_user_string, EXPECTED_ASSETS[group])
    ]
    orphans = [key.to_user_string() for key in models if not ancestors(key) & raw]
    assert not orphans, f"models that do not descend from a raw file: {orphans}"


def test_lineage_runs_raw_to_scoring_to_marts(asset_graph):
    from dagster import AssetKey

    def parents(key: str) -> set[str]:
        return {
            k.to_user_string() for k in asset_graph.get(AssetKey.from_user_string(key)).parent_keys
        }

    assert "raw/users" in parents("staging/base_users")
    assert "intermediate/int_customer_orders" in parents("scoring/customer_rfm")
    assert "scoring/customer_rfm" in parents("staging/stg_scoring__customer_rfm")
    assert "staging/stg_scoring__customer_rfm" in parents("marts/customers")
    assert "intermediate/int_customer_purchase_days" in parents("scoring/customer_clv")
    assert "intermediate/int_customer_features" in parents("scoring/customer_churn")
    assert "intermediate/int_customer_features" in parents("scoring/customer_clusters")
    assert "intermediate/int_customer_products" in parents("scoring/product_recommendations")
    for score in ("customer_clv", "customer_churn", "customer_clusters", "product_recommendations"):
        assert f"scoring/{score}" in parents(f"staging/stg_scoring__{score}")
        assert f"staging/stg_scoring__{score}" in parents("marts/customers")
    assert "staging/stg_scoring__markov_attribution" in parents("marts/attribution")
    assert "marts/customers" in parents("marts/customer_actions")


def test_the_report_depends_on_the_tables_of_its_exposure(asset_graph, dbt_manifest):
    """The report's parents are the nodes of the dbt exposure journey_report, from the
    manifest: its models, and its sources: scoring.model_metrics (an asset whose writers are
    the predictive assets) and the demand forecast's two tables."""
    import json

    from dagster import AssetKey

    manifest = json.loads(dbt_manifest.read_text(encoding="utf-8"))
    (exposure,) = [e for e in manifest["exposures"].values() if e["name"] == "journey_report"]
    nodes = exposure["depends_on"]["nodes"]
    models = {
        f"{manifest['nodes'][n]['schema']}/{manifest['nodes'][n]['name']}"
        for n in nodes
        if n.startswith("model.")
    }
    scoring = ("model_metrics", "demand_history", "demand_forecast")
    assert sorted(n for n in nodes if not n.startswith("model.")) == sorted(
        f"source.touchpoint_alchemy.scoring.{table}" for table in scoring
    )
    assert {"marts/funnel_conversion_overall", "marts/funnel_step_timing"} <= models
    parents = asset_graph.get(AssetKey.from_user_string("reports/journey_report")).parent_keys
    assert {key.to_user_string() for key in parents} == models | {
        f"scoring/{table}" for table in scoring
    }


def test_dbt_tests_are_asset_checks(asset_graph):
    checks = {(c.asset_key.to_user_string(), c.name) for c in asset_graph.asset_check_keys}
    assert len(checks) > 50
    assert ("staging/stg_users", "raw_rows_conserved_stg_users_users") in checks
    assert any(key == "marts/customers" for key, _ in checks)


def test_every_asset_is_described_and_owned(asset_graph):
    for key in asset_graph.get_all_asset_keys():
        node = asset_graph.get(key)
        assert node.description, key
        assert node.owners, key


def test_daily_schedule_materializes_everything_at_two_utc(defs, asset_graph):
    from datetime import datetime

    import dagster as dg

    schedule = defs.resolve_schedule_def("daily_warehouse_build")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "UTC"
    job = defs.resolve_job_def(schedule.job_name)
    # every asset with a step (scoring.model_metrics and model_store have none: their writers
    # report them)
    executable = {k for k in asset_graph.get_all_asset_keys() if asset_graph.get(k).is_executable}
    assert set(job.asset_layer.selected_asset_keys) == executable
    assert len(executable) == len(asset_graph.get_all_asset_keys()) - 2
    # the run of Monday 2026-03-02 02:00 UTC builds partition 2026-03-01 (yesterday), scoring
    # with the stored models; Sunday's run refits them
    repository = defs.get_repository_def()
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 3, 2, 2, 0), repository_def=repository
    )
    (request,) = list(schedule.evaluate_tick(context).run_requests or [])
    assert request.partition_key == "2026-03-01"
    assert "touchpoint/refit" not in request.tags
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 3, 8, 2, 0), repository_def=repository
    )
    (request,) = list(schedule.evaluate_tick(context).run_requests or [])
    assert (request.partition_key, request.tags["touchpoint/refit"]) == ("2026-03-07", "true")


def test_incremental_models_are_daily_partitioned(asset_graph):
    """The touchpoint-heavy incremental models and everything upstream of them are partitioned
    by day, with single-run backfills; the marts are not."""
    from dagster import AssetKey, BackfillPolicy, DailyPartitionsDefinition

    for key in (
        "staging/base_touchpoints",
        "intermediate/int_touchpoints",
        "intermediate/int_sessions",
        "intermediate/int_funnel_chains",
        "intermediate/int_attribution_touches",
        "intermediate/int_attribution_paths",
        "intermediate/int_actor_touchpoint_months",
        "intermediate/int_actor_touchpoints",
        "intermediate/int_actor_channel_months",
        "intermediate/int_actor_days",
        "intermediate/int_actor_event_days",
        "intermediate/int_session_paths",
    ):
        node = asset_graph.get(AssetKey.from_user_string(key))
        assert isinstance(node.partitions_def, DailyPartitionsDefinition), key
        assert node.backfill_policy == BackfillPolicy.single_run(), key
    for key in ("marts/funnel_conversion", "marts/customers", "scoring/customer_clv"):
        assert asset_graph.get(AssetKey.from_user_string(key)).partitions_def is None, key


def test_the_daily_step_reads_nothing_the_unpartitioned_step_builds():
    """A daily partition run builds the daily dbt assets alone (the incremental runs): none of
    them may read a model of the unpartitioned definition, which that run does not build."""
    from orchestration.assets.dbt import daily_dbt_assets, warehouse_dbt_assets

    unpartitioned = set(warehouse_dbt_assets.keys)
    assert len(daily_dbt_assets.keys) > 20
    reads = {
        key.to_user_string(): sorted(dep.to_user_string() for dep in deps & unpartitioned)
        for key, deps in daily_dbt_assets.asset_deps.items()
        if deps & unpartitioned
    }
    assert reads == {}


def test_definitions_import_does_not_parse_dbt_or_open_the_warehouse(tmp_path):
    """Importing the code location reads the prepared manifest only: no dbt parse (the target
    folder gets no new files), no DuckDB file is created, and no heavy scoring imports."""
    import subprocess
    import sys

    from touchpoint_alchemy.settings import DBT_PROJECT_DIR

    # a parse would rewrite the manifest (other test processes may add run folders meanwhile)
    manifest = DBT_PROJECT_DIR / "target" / "manifest.json"
    before = manifest.stat().st_mtime_ns
    warehouse = tmp_path / "never-created.duckdb"
    code = (
        "import sys; import orchestration.definitions; "
        "heavy = [m for m in ('pandas', 'sklearn', 'pymc', 'pymc_marketing', 'pytensor', "
        "'prophet', 'cmdstanpy') "
        "if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"WAREHOUSE_DUCKDB_PATH": str(warehouse), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert not warehouse.exists()
    assert manifest.stat().st_mtime_ns == before
    assert out.stdout.strip() == "", f"heavy modules imported at load time: {out.stdout}"


def test_failure_sensor_and_freshness_checks_are_defined(defs, asset_graph):
    sensor = defs.resolve_sensor_def("record_run_failure")
    assert sensor.default_status.value == "RUNNING"
    fresh = {
        c.asset_key.to_user_string() for c in asset_graph.asset_check_keys if c.name == "raw_fresh"
    }
    assert fresh == {
        f"staging/stg_{name}"
        for name in (
            "users",
            "touchpoints",
            "orders",
            "marketing_spend",
            "nps_responses",
            "experiment_assignments",
        )
    }


def test_every_python_step_fails_fast_unless_transient(defs):
    """Every asset and asset check runs through orchestration.retries'
    fail_fast_unless_transient, so the retry policy retries transient errors only (issue #15)."""
    from orchestration.retries import FAILS_FAST

    nodes = [assets.node_def for assets in defs.assets if assets.is_executable]
    nodes += [check.node_def for check in defs.asset_checks]
    unwrapped = [
        node.name for node in nodes if not getattr(node.compute_fn.decorated_fn, FAILS_FAST, False)
    ]
    assert len(nodes) >= 17
    assert not unwrapped, f"not wrapped in fail_fast_unless_transient: {unwrapped}"


def test_freshness_and_pii_targets_come_from_the_dbt_project(dbt_manifest):
    """The raw_fresh checks' models and columns are the raw source's meta.freshness, each a
    column of its model; the no_raw_pii check's model is the one tagged `pii`."""
    import json

    from orchestration.privacy import PII_TAG
    from orchestration.reliability import FRESHNESS_COLUMNS

    manifest = json.loads(dbt_manifest.read_text(encoding="utf-8"))
    models = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    assert set(FRESHNESS_COLUMNS) == {
        "users",
        "touchpoints",
        "orders",
        "marketing_spend",
        "nps_responses",
        "experiment_assignments",
    }
    for model, column in FRESHNESS_COLUMNS.values():
        assert column in models[model]["columns"], (model, column)
    assert [name for name, node in models.items() if PII_TAG in node["tags"]] == ["stg_users"]
