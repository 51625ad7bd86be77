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
from typing import Any

from dagster import InitResourceContext
from dagster_dbt import DagsterDbtProjectPreparer, DbtCliInvocation, DbtCliResource, DbtProject
from packaging import version

from orchestration import dbt_server
from orchestration.parse import parse_project
from orchestration.run_environment import environment
from touchpoint_alchemy.dbt_targets import dbt_executable
from touchpoint_alchemy.settings import DBT_PROJECT_DIR

#: the client script of orchestration/dbt_server.py (pyproject.toml's [project.scripts])
CLIENT = "touchpoint-dbt"
#: dbt's variable for the level of its log file (dbt.log), info unless set (WarehouseDbtCli)
LOG_LEVEL_FILE = "DBT_LOG_LEVEL_FILE"

__all__ = ["WarehouseDbtCli", "dbt_executable", "dbt_project", "run_executable"]


def run_executable() -> str:
    """The dbt executable of the runs: the server's client beside this Python when it is
    installed (``uv sync`` installs it), else dbt itself."""
    client = dbt_server.client_executable()
    return client if os.path.exists(client) else dbt_executable()


class WarehouseDbtCli(DbtCliResource):
    """dagster-dbt's dbt CLI resource without two costs paid on every dbt step.

    - ``DbtCliResource.cli`` opens a dbt adapter inside the Dagster process (loading the
      profile, the project and every macro: about 1.5 s a step) only for ``fetch_row_counts``
      and ``fetch_column_metadata``, which this project does not use: the dbt steps read row
      counts and schemas themselves after dbt has finished (``assets/dbt.py``).
    - It runs ``dbt --version`` (a Python start-up with dbt's imports) to learn the version of
      the executable, which is always the dbt-core installed beside this Python
      (:func:`dbt_executable`).

    Both are private methods of dagster-dbt 0.29 (pinned); ``tests/unit`` fails if they go.

    With ``touchpoint-dbt`` as its executable (``build_resources``), each dbt command forks from
    this process's dbt server instead of importing dbt again (``orchestration.dbt_server``): the
    server starts with the resource, the commands find it through their environment.

    dbt's own log file (``dbt.log`` in each step's target folder) is written at ``info`` level:
    the version, the parse, each node's result and the errors. At dbt's default, ``debug``, it
    also holds every SQL statement and cache action, and formatting those lines (as JSON, with
    secrets scrubbed) cost about 7% of a demo dbt step (DECISIONLOG 113). ``DBT_LOG_LEVEL_FILE``
    set in the environment wins: ``debug`` brings the statements back."""

    def setup_for_execution(self, context: InitResourceContext) -> None:
        super().setup_for_execution(context)
        if self._uses_server():
            dbt_server.ensure_started()  # imports dbt while the run's first steps work

    def cli(self, args: Sequence[str], **kwargs: Any) -> DbtCliInvocation:
        server = dbt_server.ensure_started() if self._uses_server() else None
        env = {LOG_LEVEL_FILE: os.environ.get(LOG_LEVEL_FILE, "").strip() or "info"}
        with environment({**env, dbt_server.SERVER_ENV: server} if server else env):
            return super().cli(args, **kwargs)

    def _uses_server(self) -> bool:
        return os.path.basename(self.dbt_executable) == CLIENT

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
