"""The dbt project as Dagster sees it, and the dbt executable every dbt command runs.

``prepare_if_dev`` parses the project when ``dagster dev`` loads the code location; everywhere
else (``make run``, tests, deployment) the manifest is prepared beforehand with
``dagster-dbt project prepare-and-package`` (see the Makefile), so importing the definitions
never parses dbt.
"""

import os
from collections.abc import Sequence
from functools import cached_property
from importlib import metadata

from dagster_dbt import DagsterDbtProjectPreparer, DbtCliResource, DbtProject
from packaging import version

from orchestration.parse import parse_project
from touchpoint_alchemy.dbt_targets import dbt_executable
from touchpoint_alchemy.settings import DBT_PROJECT_DIR

__all__ = ["WarehouseDbtCli", "dbt_executable", "dbt_project"]


class WarehouseDbtCli(DbtCliResource):
    """dagster-dbt's dbt CLI resource without two costs paid on every dbt step.

    - ``DbtCliResource.cli`` opens a dbt adapter inside the Dagster process (loading the
      profile, the project and every macro: about 1.5 s a step) only for ``fetch_row_counts``
      and ``fetch_column_metadata``, which this project does not use: the dbt steps read row
      counts and schemas themselves after dbt has finished (``assets/dbt.py``).
    - It runs ``dbt --version`` (a Python start-up with dbt's imports) to learn the version of
      the executable, which is always the dbt-core installed beside this Python
      (:func:`dbt_executable`).

    Both are private methods of dagster-dbt 0.29 (pinned); ``tests/unit`` fails if they go."""

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(metadata.version("dbt-core"))


class EnvironmentDbtPreparer(DagsterDbtProjectPreparer):
    """dagster-dbt's preparer (``dagster dev`` parses the project), running the environment's
    own dbt: dagster-dbt's runs ``dbt`` from PATH. The lock against concurrent parses, the
    packages step and the seeds' invalidation stay dagster-dbt's."""

    def _prepare_manifest(self, project: DbtProject) -> None:
        parse_project()  # as `make manifest` parses: the runs' first dbt step starts from it
        self._invalidate_seeds_in_partial_parse(project)


dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    # dbt's own variable: where the manifest and the run artifacts go (default dbt_project/target)
    target_path=os.environ.get("DBT_TARGET_PATH") or "target",
)
EnvironmentDbtPreparer().prepare_if_dev(dbt_project)
