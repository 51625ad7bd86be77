"""How dbt nodes become Dagster assets: keys and groups come from the dbt project's layout.

A model's asset key is ``<schema>/<model name>`` (``marts/customers``) and its group the layer
folder it lives in (``staging``, ``intermediate``, ``marts``, ``audit``); sources keep dbt's
``<source>/<table>`` key and are grouped by source name (``raw``, ``scoring``); seeds (reference
data users edit, ``dbt_seeds/``) load into the staging schema and join its group. No model name
is written here, so new models land in the right place by where they are put. Every dbt asset is
owned by the analytics-engineering team and carries the kinds ``dbt`` and ``duckdb`` (the UI's
kind badges); its description is the model's YAML description. The marts carry the daily
freshness policy (``orchestration/freshness.py``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from dagster import AssetKey, AssetSpec, BetaWarning
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from orchestration.freshness import DAILY_FRESHNESS

LAYERS = ("staging", "intermediate", "marts", "audit")
OWNER = "team:analytics-engineering"
# The warehouse engine: every model is built by dbt into DuckDB.
DBT_KINDS = frozenset({"dbt", "duckdb"})


def _layer(props: Mapping[str, Any]) -> str | None:
    # fqn is [project, folder, ..., name]; the first folder is the layer.
    fqn = props.get("fqn") or []
    return fqn[1] if len(fqn) > 2 and fqn[1] in LAYERS else None


def _raw_keys(manifest: Mapping[str, Any]) -> list[AssetKey]:
    return sorted(
        (
            AssetKey(["raw", source["name"]])
            for source in manifest["sources"].values()
            if source["source_name"] == "raw"
        ),
        key=lambda key: key.path,
    )


class TouchpointTranslator(DagsterDbtTranslator):
    def __init__(self) -> None:
        super().__init__(
            settings=DagsterDbtTranslatorSettings(
                enable_asset_checks=True,
                # the model's SQL file as a code reference (orchestration/code_references.py)
                enable_code_references=True,
            )
        )

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: Any = None
    ) -> AssetSpec:
        with warnings.catch_warnings():  # code references are a beta feature; we mean to use it
            warnings.simplefilter("ignore", BetaWarning)
            spec = super().get_asset_spec(manifest, unique_id, project)
        spec = spec.merge_attributes(kinds=set(DBT_KINDS))
        node = manifest["nodes"].get(unique_id) or {}
        if node.get("resource_type") == "seed":
            # a seed reads no raw file, but loads only once the raw files passed their check:
            # a build whose raw contract fails writes no table at all
            spec = spec.merge_attributes(deps=_raw_keys(manifest))
        if _layer(node) == "marts":
            # the marts are what BI reads: stale when the night's run is missing
            spec = spec.replace_attributes(freshness_policy=DAILY_FRESHNESS)
        return spec

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return dbt_resource_props["source_name"]
        if dbt_resource_props["resource_type"] == "seed":
            return "staging"
        return _layer(dbt_resource_props)

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return [OWNER]
