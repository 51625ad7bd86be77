"""Every column a model builds is declared in its YAML (the manifest alone cannot tell: this reads
the demo build). The rest of the docs checks, manifest only, are tests/dbt/test_dbt_docs.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

PROJECT = "touchpoint_alchemy"


@pytest.fixture(scope="module")
def models(dbt_manifest: Path) -> dict[str, dict]:
    manifest = json.loads(dbt_manifest.read_text())
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["package_name"] == PROJECT
    }


def test_every_built_column_is_declared(models, demo_warehouse):
    """The YAML lists every column a model actually has (the manifest alone cannot tell)."""
    with demo_warehouse.connect() as con:
        built: dict[tuple[str, str], set[str]] = {}
        for schema, table, column in con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_catalog = current_database()"
        ).fetchall():
            built.setdefault((schema, table), set()).add(column.lower())
    undeclared = []
    checked = 0
    for name, node in sorted(models.items()):
        if node["config"]["materialized"] == "ephemeral":
            continue
        columns = built.get((node["schema"], node["alias"]))
        assert columns is not None, f"{node['schema']}.{node['alias']} is not in the warehouse"
        checked += 1
        declared = {column.lower() for column in node["columns"]}
        undeclared += [f"{name}.{column}" for column in sorted(columns - declared)]
    assert checked > 40
    assert not undeclared, "columns missing from the YAML:\n" + "\n".join(undeclared)
