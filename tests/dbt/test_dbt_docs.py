"""The dbt docs are complete: every model and every column has a description, every column a
model builds is declared in its YAML, the shared definitions are doc blocks, and the exposures
and the semantic layer (headline KPIs) are declared. Reads the manifest prepared by the session
fixture ``dbt_manifest``; the check that the YAML lists every built column reads the demo build
(tests/warehouse/test_declared_columns.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

PROJECT = "touchpoint_alchemy"
SHARED_DOCS = {
    "purchase",
    "customer",
    "cohort_month",
    "cohort_active",
    "months_since_first_order",
    "funnel_level",
    "data_cutoff",
    "actor",
    "session",
    "nps",
    "experiment_converter",
}
KPI_METRICS = {"purchase_funnel_conversion", "month_1_retention", "retention_rate", "ltv_6m", "cac"}


@pytest.fixture(scope="module")
def manifest(dbt_manifest: Path) -> dict:
    return json.loads(dbt_manifest.read_text())


@pytest.fixture(scope="module")
def models(manifest) -> dict[str, dict]:
    found = {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["package_name"] == PROJECT
    }
    assert len(found) > 40
    return found


def test_every_model_and_column_has_a_description(models):
    missing = []
    for name, node in sorted(models.items()):
        if not node["description"].strip():
            missing.append(f"model {name}")
        if not node["columns"]:
            missing.append(f"model {name}: no columns declared")
        missing += [
            f"column {name}.{column}"
            for column, spec in node["columns"].items()
            if not spec["description"].strip()
        ]
    assert not missing, "no description:\n" + "\n".join(missing)


def test_every_source_and_source_column_has_a_description(manifest):
    missing = []
    for source in manifest["sources"].values():
        name = f"{source['source_name']}.{source['name']}"
        if not source["description"].strip():
            missing.append(name)
        missing += [
            f"{name}.{column}"
            for column, spec in source["columns"].items()
            if not spec["description"].strip()
        ]
    assert not missing, "no description:\n" + "\n".join(missing)


def test_shared_definitions_are_doc_blocks_used_in_descriptions(manifest, models):
    docs = {doc["name"]: doc for doc in manifest["docs"].values() if doc["package_name"] == PROJECT}
    assert not SHARED_DOCS - set(docs), sorted(SHARED_DOCS - set(docs))
    texts = [node["description"] for node in models.values()] + [
        column["description"] for node in models.values() for column in node["columns"].values()
    ]
    unused = {
        name for name in SHARED_DOCS if not any(docs[name]["block_contents"] in t for t in texts)
    }
    assert not unused, f"doc blocks not used by any model: {sorted(unused)}"


def test_exposures_depend_on_the_marts_they_read(manifest):
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert {"journey_report", "growth_overview"} <= set(exposures)
    for exposure in exposures.values():
        assert exposure["description"].strip()
        assert exposure["owner"].get("name") or exposure["owner"].get("email")
    report = set(exposures["journey_report"]["depends_on"]["nodes"])
    for mart in ("funnel_conversion", "cohort_retention", "cohort_ltv", "headline_metrics"):
        assert f"model.{PROJECT}.{mart}" in report


def test_the_report_exposure_lists_exactly_the_tables_the_report_reads(manifest):
    """Every table a section or the header of the journey report reads is in the exposure (so
    the asset reads it and depends on it), and the exposure lists nothing the report does not
    read."""
    from touchpoint_alchemy.report import exposure_inputs
    from touchpoint_alchemy.report.header import READS as HEADER_READS
    from touchpoint_alchemy.report.sections import tables_read

    assert tables_read() | set(HEADER_READS) == set(exposure_inputs(manifest))


def test_semantic_layer_declares_the_headline_kpis(manifest):
    metrics = {m["name"]: m for m in manifest["metrics"].values()}
    assert not (KPI_METRICS | {"nps", "ltv_to_cac"}) - set(metrics)
    assert all(m["description"].strip() for m in metrics.values())
    semantic = {s["name"]: s for s in manifest["semantic_models"].values()}
    for model in semantic.values():
        assert model["description"].strip()
        assert model["defaults"]["agg_time_dimension"]
        assert any(entity["type"] == "primary" for entity in model["entities"])
