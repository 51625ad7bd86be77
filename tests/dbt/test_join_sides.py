"""The hooks that make DuckDB build a model's joins on the sides its SQL names
(macros/planner.sql, DECISIONLOG 152): the setting they change, only in a windowed run, and
every model that turns the planner's choice off turns it back on."""

from __future__ import annotations

import json

from builds import compile_inline

HOOKS = "[{{ joins_build_as_written() }}|{{ joins_build_as_planned() }}]"


def test_only_a_windowed_run_changes_the_setting_and_sets_it_back(tmp_path):
    assert compile_inline(HOOKS, tmp_path / "full").strip() == "[|]"
    windowed = compile_inline(
        HOOKS, tmp_path / "day", env={"INCREMENTAL_WINDOW_START": "2026-01-01"}
    )
    assert windowed.strip() == (
        "[set disabled_optimizers = 'build_side_probe_side'|reset disabled_optimizers]"
    )


def test_every_model_that_builds_as_written_sets_the_planner_back(dbt_manifest):
    nodes = json.loads(dbt_manifest.read_text())["nodes"].values()

    def calls(hooks: list[dict], macro: str) -> bool:
        return any(macro in hook["sql"] for hook in hooks)

    written = {
        node["name"]
        for node in nodes
        if node["resource_type"] == "model"
        and calls(node["config"]["pre-hook"], "joins_build_as_written")
    }
    assert written == {"base_touchpoints", "int_touchpoint_changes"}
    for node in nodes:
        if node["name"] in written:
            assert calls(node["config"]["post-hook"], "joins_build_as_planned"), node["name"]
            # after the delete: the planner's own sides for it
            assert "joins_build_as_written" in node["config"]["pre-hook"][-1]["sql"]
