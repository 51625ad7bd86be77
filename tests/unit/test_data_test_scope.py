"""Which rows a run's data tests read (orchestration/data_test_scope.py, DECISIONLOG 77): the
rows a daily run wrote, or whole tables on the weekly run, a full refresh, a run without a
partition and a first build. What the dbt macro does with it: tests/warehouse/
test_data_test_window.py."""

from __future__ import annotations

from orchestration.assets.model_store import REFIT_TAG
from orchestration.data_test_scope import FULL, WINDOW, decide, windowed_models


def test_only_a_daily_run_into_a_built_warehouse_reads_the_window():
    day = {"dagster/partition": "2025-12-31"}
    assert decide(day, "2025-12-31", built_before=True)[0] == WINDOW
    assert decide({**day, REFIT_TAG: "false"}, "2025-12-31", built_before=True)[0] == WINDOW
    # the schedule's Sunday run
    scope, why = decide({**day, REFIT_TAG: " True "}, "2025-12-31", built_before=True)
    assert (scope, why) == (FULL, f"the weekly run ({REFIT_TAG}=true)")
    # a first build: the daily models were built from all history
    assert decide(day, "2025-12-31", built_before=False)[0] == FULL
    # a full refresh or a run without a partition: no window at all
    assert decide({}, None, built_before=True)[0] == FULL
    assert decide(day, None, built_before=True)[0] == FULL


def test_the_windowed_models_are_those_that_declare_their_window():
    def node(name, meta, resource_type="model"):
        return {
            "resource_type": resource_type,
            "name": name,
            "alias": name,
            "schema": "intermediate",
            "config": {"meta": meta},
        }

    manifest = {
        "nodes": {
            "model.p.big": node("big", {"test_window": "actor_id in (select 1)"}),
            "model.p.small": node("small", {}),
            "model.p.other_meta": node("other_meta", {"pii_scan_window": "true"}),
            "test.p.t": node("t", {"test_window": "true"}, resource_type="test"),
        }
    }
    assert windowed_models(manifest) == {"big": ("intermediate", "big")}
