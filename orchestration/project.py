"""The dbt project as Dagster sees it.

``prepare_if_dev`` parses the project when ``dagster dev`` loads the code location; everywhere
else (``make run``, tests, deployment) the manifest is prepared beforehand with
``dagster-dbt project prepare-and-package`` (see the Makefile), so importing the definitions
never parses dbt.
"""

from dagster_dbt import DbtProject

from touchpoint_alchemy.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()
