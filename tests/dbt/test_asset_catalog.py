"""The asset catalog the Dagster UI shows: every asset has a description, an owner, at least one
kind and a group (for the warehouse layers, the layer's name). Loads the code location
in-process; builds nothing."""

from __future__ import annotations

import pytest

# Layers of the warehouse: their assets are keyed <layer>/<name> and grouped by layer. Assets
# outside the warehouse (reports, publishing) have groups of their own.
LAYER_GROUPS = {"raw", "staging", "intermediate", "scoring", "marts", "audit"}


@pytest.fixture(scope="module")
def specs():
    from orchestration.definitions import defs

    found = {}
    for assets_def in defs.resolve_asset_graph().assets_defs:
        for spec in assets_def.specs:
            found[spec.key.to_user_string()] = spec
    assert found, "the code location defines no assets"
    return found


def test_every_asset_has_description_owner_kind_and_group(specs):
    problems = []
    for key, spec in sorted(specs.items()):
        if not (spec.description or "").strip():
            problems.append(f"{key}: no description")
        if not spec.owners:
            problems.append(f"{key}: no owner")
        if not spec.kinds:
            problems.append(f"{key}: no kind")
        if not spec.group_name or spec.group_name == "default":
            problems.append(f"{key}: no group")
    assert not problems, "\n".join(problems)


def test_layer_assets_are_grouped_by_layer(specs):
    # dbt models are keyed <schema>/<model>, raw files raw/<file>, scores scoring/<table>.
    layered = {key: spec for key, spec in specs.items() if key.split("/")[0] in LAYER_GROUPS}
    assert {key.split("/")[0] for key in layered} == LAYER_GROUPS
    wrong = {
        key: spec.group_name
        for key, spec in layered.items()
        if key.split("/")[0] != spec.group_name
    }
    assert not wrong


def test_kinds_name_the_technology(specs):
    dbt_models = {key for key, spec in specs.items() if "dbt" in spec.kinds}
    assert {key.split("/")[0] for key in dbt_models} == {
        "staging",
        "intermediate",
        "marts",
        "audit",
    }
    for key in dbt_models:
        assert {"dbt", "duckdb"} <= specs[key].kinds, key
    for key, spec in specs.items():
        if spec.group_name == "scoring":
            assert "python" in spec.kinds, key
    assert "pymc" in specs["scoring/customer_clv"].kinds
    assert "sklearn" in specs["scoring/customer_churn"].kinds
    assert "sklearn" in specs["scoring/customer_clusters"].kinds
    for key, spec in specs.items():
        if spec.group_name == "raw":
            assert "file" in spec.kinds, key
