"""The dbt project as Dagster sees it.

``prepare_if_dev`` parses the project when ``dagster dev`` loads the code location; everywhere
else (``make run``, tests, deployment) the manifest is prepared beforehand with
``dagster-dbt project prepare-and-package`` (see the Makefile), so importing the definitions
never parses dbt.
"""

import os

from dagster_dbt import DbtProject

from touchpoint_alchemy.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    # dbt's own variable: where the manifest and the run artifacts go (default dbt_project/target)
    target_path=os.environ.get("DBT_TARGET_PATH") or "target",
)
dbt_project.prepare_if_dev()
