"""Shared fixtures: real dbt, real DuckDB files, real Dagster materializations.

The suite is in tiers, one folder each (docs/testing.md): ``unit`` (no warehouse, no dbt run),
``dbt`` (parse and compile), ``warehouse`` (read-only tests of one demo build made once per run),
``scenarios`` (tests that build warehouses of their own); ``support`` holds the reference
implementation and the helpers (``builds.py``: how warehouses are built and shared).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from touchpoint_alchemy.settings import DEMO_RAW_DATA_DIR

from builds import (
    DATA_DIR,
    MANIFEST,
    DbtSandbox,
    Warehouse,
    prepare_manifest,
    shared_build,
    shared_root,
    start_shared_build,
)

# Two xdist workers share the two cores. OpenMP threads (the churn model's gradient boosting)
# spin while they wait, so when both workers fit at once each fit ran about ten times slower
# (a demo build took 11 minutes instead of 2). Passive waiting yields the core instead. Set here,
# before any test module loads scikit-learn's OpenMP runtime; subprocesses inherit it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

TESTS_DIR = Path(__file__).parent


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest(request: pytest.FixtureRequest) -> Path:
    """Prepare the manifest once per session, before the code location is imported (not for a
    run of the unit tier alone: it needs no dbt)."""
    if any(_tier(item) != "unit" for item in request.session.items):
        prepare_manifest()
    return MANIFEST


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory) -> Warehouse:
    """The demo build of this run, shared by every worker (started by the controller)."""
    return shared_build(shared_root(tmp_path_factory), DEMO_BUILD, DEMO_RAW_DATA_DIR)


@pytest.fixture(scope="session")
def demo_dbt(demo_warehouse, tmp_path_factory) -> DbtSandbox:
    """Plain `dbt` on a copy of the demo build, one saved parse for the modules that use it
    (one unit of the schedule: ``SHARED_BUILD_UNITS``)."""
    return DbtSandbox(demo_warehouse, tmp_path_factory.mktemp("demo_dbt"))


@pytest.fixture(scope="session")
def _demo_validated():
    import reference

    return reference.validate(reference.load_raw(DEMO_RAW_DATA_DIR))


@pytest.fixture(scope="module")
def demo_validated(_demo_validated):
    """The pandas reference's staged tables and rejected rows of the demo data
    (``tests/support/reference.py``), validated once per worker (seconds); each module gets its
    own copies, so no module sees another's changes."""
    staged, rejected = _demo_validated
    return {name: frame.copy() for name, frame in staged.items()}, rejected.copy()


@pytest.fixture(scope="session")
def cohorts_small_warehouse(tmp_path_factory) -> Warehouse:
    """The cohorts_small fixture built once per run, shared by every worker."""
    return shared_build(shared_root(tmp_path_factory), "cohorts_small", DATA_DIR / "cohorts_small")


@pytest.fixture(scope="session")
def funnel_edges_warehouse(tmp_path_factory) -> Warehouse:
    return shared_build(shared_root(tmp_path_factory), "funnel_edges", DATA_DIR / "funnel_edges")


# --- tiers ---------------------------------------------------------------------------------------

#: tests/<folder> -> the marker every test in it gets (`pytest -m unit` is the fast loop)
TIERS = {"unit": "unit", "dbt": "dbt", "warehouse": "warehouse", "scenarios": "scenario"}
DEMO_BUILD = "demo"


def _needs_the_demo_build(config: pytest.Config) -> bool:
    """Whether this run reaches the read-only tier: the demo build is then started before the
    workers, in the background. Not for `-m unit` or `-m dbt`, nor a run of other folders."""
    markexpr = config.getoption("markexpr") or ""
    if markexpr.strip() in {"unit", "dbt", "unit or dbt", "spark"}:
        return False
    paths = [Path(arg.split("::")[0]).resolve() for arg in config.args] or [TESTS_DIR]
    warehouse = (TESTS_DIR / "warehouse").resolve()
    return any(
        path == warehouse or warehouse.is_relative_to(path) or path.is_relative_to(warehouse)
        for path in paths
    )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """`-m <tier>` alone (the fast loop's `pytest -m unit`) collects that tier's folder only:
    tiers are marked by folder, so no test of another folder can match, and importing their
    modules (Dagster, the build helpers) took about 5 s of the fast loop."""
    folders = {marker: folder for folder, marker in TIERS.items()}
    chosen = folders.get((config.getoption("markexpr") or "").strip())
    if chosen is None or collection_path.parent != TESTS_DIR:
        return None
    return True if collection_path.name in TIERS and collection_path.name != chosen else None


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under pytest-xdist, the controller starts the shared demo build before the workers run
    their first test; the workers begin with the scenario tier, which builds its own warehouses,
    and the read-only tier finds the demo warehouse ready (or waits for it)."""
    config = session.config
    if hasattr(config, "workerinput") or not config.getoption("numprocesses", None):
        return
    if not _needs_the_demo_build(config):
        return
    root = config._tmp_path_factory.getbasetemp()  # the workers' basetemp is under it
    config._shared_demo_build = start_shared_build(root, DEMO_BUILD, DEMO_RAW_DATA_DIR)


def pytest_sessionfinish(session: pytest.Session) -> None:
    process = getattr(session.config, "_shared_demo_build", None)
    if process is not None and process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


# --- spreading the suite over pytest-xdist workers (make pytest: --dist loadscope) ---------------

#: Modules that share the hostile build (tests/support/hostile.py, session-scoped, made on top of
#: the cohorts_small build) run as one unit on one worker, so it is made once; so do the modules
#: that run plain dbt on a copy of the demo build (one saved parse). Every other module is a unit
#: of its own: the demo, cohorts_small and funnel_edges builds are shared as files.
SHARED_BUILD_UNITS = {
    **{
        module: "hostile build"
        for module in ("test_hostile_input.py", "test_privacy_checks.py", "test_injection.py")
    },
    # plain dbt on a copy of the demo build (the demo_dbt fixture): one full parse, not two
    **{module: "demo dbt" for module in ("test_build.py", "test_data_test_window.py")},
}

#: Scenario units handed out first, longest first (setup plus calls, from `--durations=0` of
#: 2026-12-04), so that the run ends on short modules instead of one worker waiting for the
#: other's long one. Then the rest of the scenarios, the dbt and unit tiers, and last the
#: read-only tier, by when the demo build started by the controller is ready.
LONGEST_UNITS_FIRST = (
    "test_incremental.py",
    "test_salt_secrecy.py",
    "hostile build",
    "test_raw_data_dir.py",
    "test_publish.py",
    "test_scoring_leakage.py",
    "test_idempotence.py",
    "test_clv_cdnow_master.py",
    "test_fit_failures.py",
    "test_erasure.py",
    "test_clv_cdnow.py",
    "test_reliability.py",
    "test_hand_worked_fixtures.py",
    "test_dagster_smoke.py",
    "test_console.py",
)
TIER_ORDER = ("scenarios", "dbt", "unit", "warehouse")


def _unit(module_name: str) -> str:
    return SHARED_BUILD_UNITS.get(module_name, module_name)


def _tier(item: pytest.Item) -> str:
    return item.path.parent.name


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with its tier (its folder), and order the units: scenarios longest
    first, then dbt, unit and the read-only tier (a stable sort: the order within a module is
    kept)."""
    for item in items:
        if _tier(item) in TIERS:
            item.add_marker(TIERS[_tier(item)])
    rank = {unit: i for i, unit in enumerate(LONGEST_UNITS_FIRST)}
    tiers = {tier: i for i, tier in enumerate(TIER_ORDER)}
    items.sort(
        key=lambda item: (
            tiers.get(_tier(item), len(tiers)),
            rank.get(_unit(item.path.name), len(rank)),
        )
    )


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
