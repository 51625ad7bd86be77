"""Properties of the whole demo build: every asset check passed, the schemas are the layers, and
the dbt unit tests pass (they run here, once, not in the builds: `dbt test --select
test_type:unit` against a copy of the demo build, which holds the tables they read).
Idempotence is tests/scenarios/test_idempotence.py."""

from __future__ import annotations


def test_every_asset_check_passed(demo_warehouse):
    evaluations = demo_warehouse.result.get_asset_check_evaluations()
    assert len(evaluations) > 50
    # The demo data is from 2025: its freshness checks warn (tests/scenarios/test_reliability.py).
    failed = [e.check_name for e in evaluations if not e.passed and e.check_name != "raw_fresh"]
    assert not failed


def test_schemas_are_exactly_the_layers(demo_warehouse):
    with demo_warehouse.connect() as con:
        schemas = {
            r[0]
            for r in con.execute(
                "select distinct table_schema from information_schema.tables "
                "where table_catalog = current_database()"
            ).fetchall()
        }
    assert schemas == {"staging", "intermediate", "marts", "scoring", "audit"}


def test_dbt_unit_tests_pass(demo_dbt):
    """Every dbt unit test of the project, once: `dbt test --select test_type:unit` against a
    copy of the demo build (unit tests read their inputs' column types from the built tables).
    The builds themselves skip unit tests (orchestration/assets/dbt.py: they test the SQL, not
    the data)."""
    demo_dbt.reset()
    out = demo_dbt.dbt("test", "--select", "test_type:unit")
    assert out.returncode == 0, out.stdout[-3000:]
    manifest = demo_dbt.artifact("manifest.json")
    declared = {uid for uid in manifest["unit_tests"]}
    results = demo_dbt.artifact("run_results.json")["results"]
    passed = {r["unique_id"] for r in results if r["status"] == "pass"}
    assert len(declared) >= 20
    assert passed == declared, declared - passed
    names = {uid.rsplit(".", 1)[-1] for uid in passed}
    assert {
        "funnel_chain_edge_cases",
        "purchase_sequence",
        "experiment_conversion_window",
        "experiment_without_control_and_srm",
        "nps_scores_months_and_themes",
    } <= names
