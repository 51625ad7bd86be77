"""The dbt CLI resource skips two costs of dagster-dbt's (orchestration/project.py): both are
overrides of private methods of dagster-dbt, so these tests fail when an upgrade renames them."""

import inspect
import re
import subprocess

from dagster_dbt import DbtCliResource

from orchestration.project import WarehouseDbtCli, dbt_executable, dbt_project


def test_the_overridden_methods_are_still_dagster_dbts():
    for name in ("_initialize_dbt_core_adapter", "_cli_version"):
        assert name in vars(DbtCliResource), f"dagster-dbt no longer has {name}"
        assert name in vars(WarehouseDbtCli)
    # the adapter handle is used only by fetch_row_counts / fetch_column_metadata
    cli_source = inspect.getsource(DbtCliResource.cli)
    assert "adapter = self._initialize_dbt_core_adapter(args)" in cli_source


def test_the_version_is_the_executables():
    printed = subprocess.run(
        [dbt_executable(), "--version"], capture_output=True, text=True, check=True
    ).stdout
    expected = re.search(r"(\d+\.\d+\.\d+)", printed).group(1)
    resource = WarehouseDbtCli(project_dir=dbt_project, dbt_executable=dbt_executable())
    assert str(resource._cli_version) == expected
    assert resource._initialize_dbt_core_adapter(["build"]) is None
