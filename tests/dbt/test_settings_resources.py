"""One place for settings (issue #19): every setting a run reads is a field of a Dagster resource
of the code location, listed with its field in docs/configuration.md and in .env.example, and a
variable set when the code location loads reaches the resource as ``EnvVar`` (resolved when a
run starts)."""

from __future__ import annotations

import os
import re

import dagster as dg
import pytest

from touchpoint_alchemy.settings import REPO_ROOT


def _documented_fields() -> dict[str, str]:
    """variable -> ``resource.field``: the last column of docs/configuration.md's table."""
    text = (REPO_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    section = text.split("## Environment variables", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert header[-1] == "Dagster resource field"
    documented = {}
    for line in rows[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        names = re.findall(r"`([A-Z][A-Z0-9_]*)`", cells[0])
        if cells[-1]:
            assert len(names) == 1, line
            documented[names[0]] = cells[-1].strip("`")
    return documented


def test_every_documented_setting_is_a_field_of_a_resource_of_the_definitions():
    from orchestration.definitions import defs
    from orchestration.resources import WarehouseResource
    from orchestration.settings import RESOURCE_SETTINGS
    from orchestration.spark_warehouse import SparkWarehouseResource

    documented = _documented_fields()
    assert documented == {
        variable: f"{key}.{field}" for variable, (key, field) in RESOURCE_SETTINGS.items()
    }
    assert len(documented) >= 10
    example = (REPO_ROOT / ".env.example").read_text(encoding="utf-8")
    assert [v for v in documented if not re.search(rf"^#? ?{v}=", example, re.M)] == []

    resources = defs.resources
    assert isinstance(resources["warehouse"], WarehouseResource)  # WAREHOUSE_TARGET unset
    for variable, (key, field) in RESOURCE_SETTINGS.items():
        # SPARK_DATA_DIR: a field of the Spark warehouse (the resource under WAREHOUSE_TARGET=spark)
        resource = SparkWarehouseResource if field == "data_dir" else type(resources[key])
        assert field in resource.model_fields, variable
        assert variable in resource.model_fields[field].description, variable
    # the failure sensor and the freshness checks read theirs from the operations resource
    sensor = next(s for s in defs.sensors if s.name == "record_run_failure")
    assert "operations" in sensor.required_resource_keys
    checks = [c for c in defs.asset_checks if any(k.name == "raw_fresh" for k in c.check_keys)]
    assert checks and all("operations" in c.required_resource_keys for c in checks)


VALUES = {
    "WAREHOUSE_DUCKDB_PATH": "data/settings-test/mine.duckdb",
    "RAW_DATA_DIR": "/srv/raw files",
    "DATA_CUTOFF": "2025-06-30",
    "DUCKDB_MEMORY_LIMIT": "3GB",
    "PARQUET_EXPORTS": "off",
    "RAW_FRESHNESS_HOURS": "5.5",
    "RAW_FRESHNESS_ACTION": "fail",
    "RUN_FAILURE_DIR": "/srv/failures",
    "RUN_FAILURE_WEBHOOK_URL": "https://hooks.example.com/services/T0/B0/x",
}


def test_a_variable_set_at_load_time_reaches_the_resource(monkeypatch):
    from orchestration.resources import build_resources

    for variable, value in VALUES.items():
        monkeypatch.setenv(variable, value)
    resources = build_resources()  # what orchestration/definitions.py calls at import
    warehouse, operations = resources["warehouse"], resources["operations"]
    # the resource holds the variable, not its value: the UI shows where the value comes from
    assert warehouse.database == dg.EnvVar("WAREHOUSE_DUCKDB_PATH")
    assert operations.run_failure_webhook_url == dg.EnvVar("RUN_FAILURE_WEBHOOK_URL")
    # a run resolves them when it starts; a later change of the variable reaches the next run
    monkeypatch.setenv("RAW_FRESHNESS_HOURS", "7")
    with dg.build_resources({"warehouse": warehouse, "operations": operations}) as built:
        assert built.warehouse.published_path == REPO_ROOT / "data/settings-test/mine.duckdb"
        assert str(built.warehouse.raw_path) == "/srv/raw files"
        # dbt gets them as environment variables, the values the run resolved (no vars: a
        # change of vars would make dbt parse the project again)
        monkeypatch.setenv("RAW_DATA_DIR", "/elsewhere")
        monkeypatch.delenv("DATA_CUTOFF")
        assert built.warehouse.dbt_vars() == {}
        with built.warehouse.dbt_environment():
            assert os.environ["RAW_DATA_DIR"] == "/srv/raw files"
            assert os.environ["DATA_CUTOFF"] == "2025-06-30"
        assert os.environ["RAW_DATA_DIR"] == "/elsewhere" and "DATA_CUTOFF" not in os.environ
        assert built.warehouse.memory_limit == "3GB"
        assert built.warehouse.exports_enabled is False
        assert built.operations.freshness_limit() == (7.0, True)
        assert str(built.operations.failure_directory()) == "/srv/failures"
        assert built.operations.webhook_url() == VALUES["RUN_FAILURE_WEBHOOK_URL"]


def test_unset_variables_leave_the_defaults_and_a_bad_value_stops_the_load(monkeypatch):
    from orchestration.resources import build_resources
    from orchestration.settings import RESOURCE_SETTINGS

    for variable in RESOURCE_SETTINGS:
        monkeypatch.delenv(variable, raising=False)
    resources = build_resources()
    with dg.build_resources(
        {"warehouse": resources["warehouse"], "operations": resources["operations"]}
    ) as built:
        assert built.warehouse.published_path == REPO_ROOT / "data" / "warehouse.duckdb"
        assert built.warehouse.raw_path == REPO_ROOT / "seeds"
        assert built.warehouse.exports_enabled is True
        assert built.operations.freshness_limit() == (36.0, False)
        assert built.operations.failure_directory() == REPO_ROOT / "data" / "run_failures"
        assert built.operations.webhook_url() is None
    for variable, value in (("RAW_FRESHNESS_ACTION", "later"), ("PARQUET_EXPORTS", "maybe")):
        monkeypatch.setenv(variable, value)
        with pytest.raises(ValueError, match=variable):
            build_resources()
        monkeypatch.delenv(variable)


def test_plain_dbt_reads_the_raw_folder_and_cutoff_from_the_environment(tmp_path):
    """Without vars, the macros read RAW_DATA_DIR (relative: to the repository root, the folder
    above dbt_project/, where dbt runs) and DATA_CUTOFF (a date: the end of that day), as the
    orchestrated runs pass them (DECISIONLOG 91)."""
    from builds import compile_inline

    compiled = compile_inline(
        "select '{{ raw_data_dir() }}' as raw, {{ configured_data_cutoff() }} as cutoff",
        tmp_path,
        dbt_vars={},
        env={"RAW_DATA_DIR": "tests/data/cohorts_small", "DATA_CUTOFF": "2025-06-30"},
    )
    assert "'../tests/data/cohorts_small' as raw" in compiled
    assert "cast('2025-06-30 23:59:59.999999' as timestamp) as cutoff" in compiled


def test_python_checks_the_cutoff_with_the_macro_s_own_pattern():
    """A run checks DATA_CUTOFF before dbt starts (settings.checked_data_cutoff), with the
    pattern the macro configured_data_cutoff uses (macros/definitions.sql): the same rule."""
    from touchpoint_alchemy.settings import (
        DATA_CUTOFF_PATTERN,
        DBT_PROJECT_DIR,
        checked_data_cutoff,
    )

    macro = (DBT_PROJECT_DIR / "macros" / "definitions.sql").read_text()
    assert f"modules.re.match('{DATA_CUTOFF_PATTERN}', text)" in macro
    assert checked_data_cutoff(" 2025-06-30 ") == "2025-06-30"
    assert checked_data_cutoff("2025-06-30T12:00:00") == "2025-06-30T12:00:00"
    assert checked_data_cutoff("  ") is None
    with pytest.raises(ValueError, match="data_cutoff must be a date"):
        checked_data_cutoff("30/06/2025")
