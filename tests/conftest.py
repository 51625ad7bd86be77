"""Shared fixtures: real dbt, real DuckDB files, real Dagster materializations.

The dbt manifest is prepared once per session (``dbt parse``), the way ``make`` does it, and every
warehouse is built by ``dagster.materialize`` over the code location's own assets into a DuckDB
file under pytest's tmp_path. Warehouses are built once per session and shared read-only.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from orchestration.run_config import build_run_config
from touchpoint_alchemy.settings import DBT_PROJECT_DIR, DEMO_RAW_DATA_DIR, Settings

# Two xdist workers share the two cores. OpenMP threads (the churn model's gradient boosting)
# spin while they wait, so when both workers fit at once each fit ran about ten times slower
# (a demo build took 11 minutes instead of 2). Passive waiting yields the core instead. Set here,
# before any test module loads scikit-learn's OpenMP runtime; subprocesses inherit it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

TESTS_DIR = Path(__file__).parent
DATA_DIR = TESTS_DIR / "data"


MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
PROJECT_SOURCES = ("dbt_project.yml", "profiles.yml", "models", "macros", "tests")


def manifest_is_fresh() -> bool:
    """The manifest is newer than every file of the dbt project (``make manifest`` just ran)."""
    if not MANIFEST.exists():
        return False
    built = MANIFEST.stat().st_mtime
    for name in PROJECT_SOURCES:
        path = DBT_PROJECT_DIR / name
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        if any(file.stat().st_mtime > built for file in files):
            return False
    return True


def prepare_manifest() -> None:
    """``dbt parse`` unless the manifest is fresh. The pytest-xdist workers share the project
    folder, so they take turns under a file lock, and the second finds the manifest fresh."""
    import fcntl

    MANIFEST.parent.mkdir(exist_ok=True)
    with open(MANIFEST.parent / ".parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not manifest_is_fresh():
            dbt = Path(sys.executable).parent / "dbt"
            subprocess.run([str(dbt), "parse", "--quiet"], cwd=DBT_PROJECT_DIR, check=True)


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest() -> Path:
    """Prepare the manifest once per session, before the code location is imported."""
    prepare_manifest()
    return MANIFEST


def build_warehouse(
    raw_dir: Path,
    warehouse_path: Path,
    data_cutoff: str | None = None,
    raise_on_error=True,
    partition_key: str | None = None,
    full_refresh: bool = False,
):
    """Materialize every asset of the code location into ``warehouse_path``, for daily partition
    ``partition_key`` (default: yesterday). A new file gets a full build either way."""
    import dagster as dg

    from orchestration.definitions import defs
    from orchestration.resources import build_resources
    from touchpoint_alchemy.settings import last_partition_key

    settings = Settings(
        warehouse_path=warehouse_path, raw_data_dir=raw_dir, data_cutoff=data_cutoff
    )
    assets = [*(defs.assets or []), *(defs.asset_checks or [])]
    with dg.DagsterInstance.ephemeral() as instance:
        return dg.materialize(
            assets,
            resources=build_resources(settings),
            instance=instance,
            raise_on_error=raise_on_error,
            partition_key=partition_key or last_partition_key(),
            run_config=build_run_config(full_refresh=full_refresh),
        )


class Warehouse:
    """A built warehouse file, queried read-only."""

    def __init__(self, path: Path, raw_dir: Path, result=None) -> None:
        self.path = path
        self.raw_dir = raw_dir
        self.result = result

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.path), read_only=True)

    def df(self, sql: str):
        with self.connect() as con:
            return con.execute(sql).df()


def _built(tmp_path_factory, name: str, raw_dir: Path, **kwargs) -> Warehouse:
    path = tmp_path_factory.mktemp(name) / "warehouse.duckdb"
    result = build_warehouse(raw_dir, path, **kwargs)
    assert result.success
    return Warehouse(path, raw_dir, result)


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory) -> Iterator[Warehouse]:
    yield _built(tmp_path_factory, "demo", DEMO_RAW_DATA_DIR)


@pytest.fixture(scope="session")
def funnel_edges_warehouse(tmp_path_factory) -> Iterator[Warehouse]:
    yield _built(tmp_path_factory, "funnel_edges", DATA_DIR / "funnel_edges")


@pytest.fixture(scope="session")
def cohorts_small_warehouse(tmp_path_factory) -> Iterator[Warehouse]:
    yield _built(tmp_path_factory, "cohorts_small", DATA_DIR / "cohorts_small")


# --- spreading the suite over pytest-xdist workers (make pytest: --dist loadscope) ---------------

#: Modules that share an expensive session-scoped build run as one unit on one worker, so the
#: build is made once: the cohorts_small warehouse and the hostile build made on top of it
#: (tests/hostile.py). Every other module is a unit of its own.
SHARED_BUILD_UNITS = {
    module: "cohorts_small and hostile builds"
    for module in (
        "test_hostile_input.py",
        "test_privacy_checks.py",
        "test_injection.py",
        "test_build.py",
        "test_hand_worked_fixtures.py",
        "test_predictive_scores.py",
    )
}

#: Units handed out first, longest first (setup plus calls, from a CI run's junit report on
#: 2026-12-02; the CDNOW master and fit-failure modules were placed by their own timings), so
#: that the suite ends on short modules instead of one worker waiting for the other's long one.
#: Units not listed follow in collection order.
LONGEST_UNITS_FIRST = (
    "test_clv_cdnow_master.py",
    "cohorts_small and hostile builds",
    "test_raw_data_dir.py",
    "test_publish.py",
    "test_incremental.py",
    "test_reliability.py",
    "test_scoring_leakage.py",
    "test_experiments_and_nps.py",
    "test_clv_cdnow.py",
    "test_fit_failures.py",
    "test_salt_secrecy.py",  # not from the CI report: 295 s alone, measured 2026-12-02
    "test_privacy.py",
    "test_erasure.py",
    "test_dagster_smoke.py",
)


def _unit(module_name: str) -> str:
    return SHARED_BUILD_UNITS.get(module_name, module_name)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest units first (a stable sort: the order within a module is kept)."""
    rank = {unit: i for i, unit in enumerate(LONGEST_UNITS_FIRST)}
    items.sort(key=lambda item: rank.get(_unit(item.path.name), len(rank)))


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """--dist loadscope with the shared-build units above, handed out in collection order."""
    if config.getoption("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SharedBuildScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return _unit(Path(module).name) if module.endswith(".py") else module

    # collection order is already longest first; loadscope would reorder by number of tests
    config.option.loadscopereorder = False
    return SharedBuildScheduling(config, log)
