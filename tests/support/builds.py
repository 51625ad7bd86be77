"""Building warehouses for the tests: real dbt, real DuckDB files, real Dagster materializations.

- :func:`prepare_manifest`: ``dbt parse`` once, the way ``make manifest`` does it, before the code
  location is imported.
- :func:`build_warehouse`: ``dagster.materialize`` over the code location's own assets into a
  DuckDB file.
- :func:`shared_build`: a warehouse built once per test run and shared, read-only, by every
  pytest-xdist worker as a file. The first worker that needs it builds it under a file lock, the
  others wait for it; the demo build is started by the controller before the workers begin
  (``tests/conftest.py``), so it is ready when the read-only tier reaches it. The build's Dagster
  events are kept beside the file (:class:`RecordedRun`), for tests of check results and
  metadata.
- :class:`DbtSandbox`: plain `dbt` commands on a copy of a shared build, sharing one saved parse.
- :func:`compile_inline`: a macro call compiled by ``dbt compile --inline``, for macro tests.

Run as a script (``python tests/support/builds.py FOLDER RAW_DIR``) it makes one shared build:
that is how the controller starts the demo build in the background.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

from orchestration.parse import PARTIAL_PARSE, parse_project, save_parse
from touchpoint_alchemy.dbt_targets import parse_cache_path, target_base
from touchpoint_alchemy.settings import DBT_PROJECT_DIR, DEMO_RAW_DATA_DIR, Settings

SUPPORT_DIR = Path(__file__).resolve().parent
TESTS_DIR = SUPPORT_DIR.parent
DATA_DIR = TESTS_DIR / "data"

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
PROJECT_SOURCES = ("dbt_project.yml", "profiles.yml", "models", "macros", "tests", "dbt_seeds")

#: the file beside a shared build that holds its Dagster events (written last: the build is done)
EVENTS_FILE = "events.json"
WAREHOUSE_FILE = "warehouse.duckdb"
LOCK_FILE = ".lock"


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
    MANIFEST.parent.mkdir(exist_ok=True)
    with open(MANIFEST.parent / ".parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not manifest_is_fresh():
            parse_project()  # as `make manifest` does


def build_warehouse(
    raw_dir: Path,
    warehouse_path: Path,
    data_cutoff: str | None = None,
    raise_on_error=True,
    partition_key: str | None = None,
    full_refresh: bool = False,
    selection=None,
    upstream_of=None,
):
    """Materialize every asset of the code location (or ``selection``, a Dagster asset
    selection of unpartitioned assets) into ``warehouse_path``, for daily partition
    ``partition_key`` (default: yesterday). A new file gets a full build either way.

    ``upstream_of``: asset keys; only they, everything upstream of them, the quarantine and the
    published snapshot are built, as the same partitioned run: a scenario that reads a few
    tables skips the rest of the build."""
    import dagster as dg

    from orchestration.definitions import defs
    from orchestration.publish import PUBLISHED_SNAPSHOT
    from orchestration.resources import build_resources
    from orchestration.run_config import build_run_config
    from touchpoint_alchemy.settings import last_partition_key

    settings = Settings(
        warehouse_path=warehouse_path, raw_data_dir=raw_dir, data_cutoff=data_cutoff
    )
    assets = [*(defs.assets or []), *(defs.asset_checks or [])]
    if upstream_of is not None:
        # audit.rejected_rows too: the staging models' row-conservation checks read it
        selection = dg.AssetSelection.assets(
            *upstream_of, dg.AssetKey(["audit", "rejected_rows"])
        ).upstream() | dg.AssetSelection.assets(PUBLISHED_SNAPSHOT)
    partitioned = selection is None or upstream_of is not None
    with dg.DagsterInstance.ephemeral() as instance:
        return dg.materialize(
            assets,
            resources=build_resources(settings),
            instance=instance,
            raise_on_error=raise_on_error,
            selection=selection,
            partition_key=(partition_key or last_partition_key()) if partitioned else None,
            run_config=build_run_config(full_refresh=full_refresh) if partitioned else None,
        )


class RecordedRun:
    """The Dagster events of a shared build, read back from its events file: the part of
    ``ExecuteInProcessResult`` the read-only tests use."""

    def __init__(self, events: list) -> None:
        self.all_events = events

    @property
    def success(self) -> bool:
        return any(e.event_type_value == "RUN_SUCCESS" for e in self.all_events)

    @property
    def run_id(self) -> str:
        """The run's id, from the tags its step events were logged with."""
        return next(e.logging_tags["run_id"] for e in self.all_events if "run_id" in e.logging_tags)

    def get_asset_check_evaluations(self) -> list:
        return [
            e.asset_check_evaluation_data
            for e in self.all_events
            if e.event_type_value == "ASSET_CHECK_EVALUATION"
        ]

    def get_asset_materialization_events(self) -> list:
        return [e for e in self.all_events if e.event_type_value == "ASSET_MATERIALIZATION"]


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


def built(tmp_path_factory, name: str, raw_dir: Path, **kwargs) -> Warehouse:
    """A warehouse of this test process only (a scenario's own build)."""
    path = tmp_path_factory.mktemp(name) / WAREHOUSE_FILE
    result = build_warehouse(raw_dir, path, **kwargs)
    assert result.success
    return Warehouse(path, raw_dir, result)


def shared_root(tmp_path_factory) -> Path:
    """The base temporary folder of the whole run: the controller's, which pytest-xdist
    workers' own folders (``popen-gw<n>``) sit in."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _build_into(folder: Path, raw_dir: Path) -> None:
    """Build, then write the events file (its presence marks the build as done)."""
    from dagster._serdes import serialize_value

    prepare_manifest()
    result = build_warehouse(raw_dir, folder / WAREHOUSE_FILE)
    assert result.success, f"the shared build in {folder} failed"
    (folder / EVENTS_FILE).write_text(serialize_value(list(result.all_events)))


def shared_build(root: Path, name: str, raw_dir: Path) -> Warehouse:
    """The warehouse ``name`` of this test run, built from ``raw_dir`` once for all workers."""
    from dagster._serdes import deserialize_value

    folder = root / name
    folder.mkdir(exist_ok=True)
    with open(folder / LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # waits while another process builds it
        if not (folder / EVENTS_FILE).exists():
            _build_into(folder, raw_dir)
    events = deserialize_value((folder / EVENTS_FILE).read_text(), list)
    return Warehouse(folder / WAREHOUSE_FILE, raw_dir, RecordedRun(events))


#: the database of ``compile_inline``: always the same, so dbt's check of the profile finds the
#: connection settings of the saved parse it is given; in memory, so that every process can
#: open it at once (an inline compile reads no table)
COMPILE_DATABASE = ":memory:"


def compile_inline(
    sql: str,
    tmp_path: Path,
    dbt_vars: dict | None = None,
    env: dict | None = None,
    expect_success: bool = True,
) -> str:
    """``sql`` (Jinja calling the project's macros) compiled by ``dbt compile --inline`` on the
    DuckDB target, its SQL text; ``tmp_path`` holds dbt's target folder (the database is in
    memory). ``dbt_vars``: default the demo folder as ``raw_data_dir``; ``env``: more variables.
    ``expect_success=False``: the compile must fail; its output (stdout and stderr).

    dbt starts from the saved parse of the last compile with the same vars (in ``parse-cache`` of
    dbt's target folder, as the runs' dbt steps do: orchestration/dbt_steps.py) and re-parses
    only what changed since; without one it parses the whole project (15 against 7 s a compile
    on 2 cores)."""
    dbt_vars = {"raw_data_dir": str(DEMO_RAW_DATA_DIR)} if dbt_vars is None else dbt_vars
    environment = {**os.environ, "DBT_DEV_DUCKDB_PATH": COMPILE_DATABASE, **(env or {})}
    target = tmp_path / "target"
    target.mkdir(parents=True, exist_ok=True)
    # keyed on the vars and the profile, as dbt's check is: the other variables (``env``) dbt
    # checks file by file, re-parsing the files that read one that changed
    cache = parse_cache_path(
        target_base(environment), json.dumps(dbt_vars, sort_keys=True), "dev", environment
    )
    if cache.exists():
        shutil.copy(cache, target / PARTIAL_PARSE)
    out = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "compile",
            "--quiet",
            "--inline",
            sql,
            "--target-path",
            str(target),
            *(["--vars", json.dumps(dbt_vars)] if dbt_vars else []),
        ],
        cwd=DBT_PROJECT_DIR,
        env=environment,
        capture_output=True,
        text=True,
    )
    save_parse(target, cache)
    if not expect_success:
        assert out.returncode != 0, out.stdout[-3000:]
        return out.stdout + out.stderr
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout


class DbtSandbox:
    """Plain `dbt` (profiles.yml's dev target) on a copy of a built warehouse, always at the same
    path and with the same target folder and vars: every command after the first starts from
    the first one's saved parse (dbt parses the whole project again, about 10 s, when the
    database path or the vars change). The modules that share one run on one worker
    (``SHARED_BUILD_UNITS`` in tests/conftest.py)."""

    def __init__(self, source: Warehouse, folder: Path) -> None:
        self.source = source
        self.path = folder / WAREHOUSE_FILE
        self.target = folder / "target"

    def reset(self) -> Path:
        """A fresh copy of the built warehouse, for the next command."""
        shutil.copy(self.source.path, self.path)
        return self.path

    def dbt(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """`dbt <args>` on the copy; ``env``: variables besides the copy's path (the window and
        the data tests' scope are unset unless given)."""
        environment = {**os.environ, "DBT_DEV_DUCKDB_PATH": str(self.path)}
        for name in ("INCREMENTAL_WINDOW_START", "DATA_TEST_SCOPE"):
            environment.pop(name, None)
        dbt = Path(sys.executable).parent / "dbt"
        options = ["--target-path", str(self.target), "--log-path", str(self.target)]
        raw_dir = json.dumps({"raw_data_dir": str(self.source.raw_dir)})
        return subprocess.run(
            [str(dbt), *args, *options, "--vars", raw_dir],
            cwd=DBT_PROJECT_DIR,
            env={**environment, **(env or {})},
            capture_output=True,
            text=True,
        )

    def artifact(self, name: str) -> dict:
        """``manifest.json`` or ``run_results.json`` of the last command."""
        return json.loads((self.target / name).read_text())


def start_shared_build(root: Path, name: str, raw_dir: Path) -> subprocess.Popen:
    """Start building ``name`` in a background process that holds the build's lock from the
    start (the lock is taken here and the open file handed to the child), so a worker that asks
    for it early waits instead of building it twice. If the child dies, the lock goes with it and
    the first worker that needs the build makes it itself."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return subprocess.Popen(
            [sys.executable, __file__, str(folder), str(raw_dir), str(lock.fileno())],
            pass_fds=(lock.fileno(),),
            stdout=(folder / "build.log").open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


if __name__ == "__main__":
    # The lock's file descriptor (argv[3]) is inherited and held until this process exits.
    _build_into(Path(sys.argv[1]), Path(sys.argv[2]))
