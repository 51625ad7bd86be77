"""The dbt project as Dagster sees it, and the dbt executable every dbt command runs.

``prepare_if_dev`` parses the project when ``dagster dev`` loads the code location; everywhere
else (``make run``, tests, deployment) the manifest is prepared beforehand with
``dagster-dbt project prepare-and-package`` (see the Makefile), so importing the definitions
never parses dbt.
"""

import os
import shutil
import sys

from dagster_dbt import DagsterDbtProjectPreparer, DbtCliResource, DbtProject

from touchpoint_alchemy.settings import DBT_PROJECT_DIR


def dbt_executable() -> str:
    """The dbt next to this Python (the project's virtual environment), else dbt on PATH: a
    ``dagster dev`` started as ``.venv/bin/dagster dev`` or ``uv run dagster dev``, without the
    environment on PATH, still finds it."""
    beside_python = os.path.join(os.path.dirname(sys.executable), "dbt")
    return beside_python if os.path.exists(beside_python) else (shutil.which("dbt") or "dbt")


class EnvironmentDbtPreparer(DagsterDbtProjectPreparer):
    """dagster-dbt's preparer (``dagster dev`` parses the project), running the environment's
    own dbt: dagster-dbt's runs ``dbt`` from PATH. The lock against concurrent parses, the
    packages step and the seeds' invalidation stay dagster-dbt's."""

    def _prepare_manifest(self, project: DbtProject) -> None:
        cli = DbtCliResource(project_dir=project, dbt_executable=dbt_executable())
        cli.cli(["parse", "--quiet"], target_path=project.target_path).wait()
        self._invalidate_seeds_in_partial_parse(project)


dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    # dbt's own variable: where the manifest and the run artifacts go (default dbt_project/target)
    target_path=os.environ.get("DBT_TARGET_PATH") or "target",
)
EnvironmentDbtPreparer().prepare_if_dev(dbt_project)
