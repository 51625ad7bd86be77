"""Smoke test of `make dev`: a real `dagster dev`, started from the environment's own `dagster`
without make and without the environment on PATH, serves the code location without a load error,
with every asset, asset check and the daily schedule the in-process definitions have, and shuts
down cleanly on Ctrl-C.

It runs on a free local port with a temporary DAGSTER_HOME and a warehouse path under tmp_path,
so it never touches data/warehouse.duckdb or .dagster/. Nothing is materialized.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 120
SCHEDULE = "daily_warehouse_build"

LOCATION_QUERY = """
{
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on PythonError { message }
          ... on RepositoryLocation {
            repositories { name schedules { name } }
          }
        }
      }
    }
  }
}
"""

ASSETS_QUERY = """
{
  assetNodes {
    assetKey { path }
    assetChecksOrError {
      __typename
      ... on AssetChecks { checks { name } }
    }
  }
}
"""


def _path_without(bin_dir: Path) -> str:
    """PATH without the environment's folder (nor any other that holds a dbt)."""
    kept = [
        folder
        for folder in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep)
        if folder and Path(folder).resolve() != bin_dir.resolve()
        and not (Path(folder) / "dbt").exists()
    ]  # fmt: skip
    return os.pathsep.join(kept)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = json.loads(response.read())
    assert "errors" not in body, body["errors"]
    return body["data"]


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _reset_sigint() -> None:
    # A process started in the background inherits SIGINT as ignored; dagster dev only shuts
    # down on SIGINT (its Ctrl-C path), so restore the default handler before exec.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _stop(process: subprocess.Popen) -> bool:
    """SIGINT to the whole group (webserver, daemon, code server); SIGKILL as a last resort.
    True when SIGINT alone was enough."""
    pgid = process.pid  # start_new_session: the group id is the leader's pid
    if process.poll() is None:
        os.killpg(pgid, signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if not _group_alive(pgid) and process.poll() is not None:
        return True
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    process.wait(timeout=10)
    return False


@pytest.fixture(scope="module")
def expected(dbt_manifest):
    """Asset keys, asset checks and schedules of the definitions loaded in-process."""
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    return {
        "assets": {key.to_user_string() for key in graph.get_all_asset_keys()},
        "checks": {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys},
        "schedules": {s.name for s in defs.schedules or []},
    }


@pytest.fixture(scope="module")
def dagster_dev(tmp_path_factory, dbt_manifest):
    """A running `dagster dev`; yields (port, process, log path); stops it afterwards."""
    tmp = tmp_path_factory.mktemp("dagster_dev")
    home = tmp / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    port = _free_port()
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "WAREHOUSE_DUCKDB_PATH": str(tmp / "warehouse.duckdb"),
        "RUN_FAILURE_DIR": str(tmp / "run_failures"),
        # dagster dev parses the project (prepare_if_dev); its manifest goes here, not over the
        # one other test processes are reading
        "DBT_TARGET_PATH": str(tmp / "dbt_target"),
        # Started as `.venv/bin/dagster dev` is, outside make and without an activated
        # environment: no dbt on PATH. The code location (prepare_if_dev's parse, the dbt
        # resource) must find the environment's own dbt (orchestration/project.py).
        "PATH": _path_without(bin_dir),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }
    env.pop("VIRTUAL_ENV", None)
    assert shutil.which("dbt", path=env["PATH"]) is None, "a dbt on PATH would hide the bug"
    log = tmp / "dagster_dev.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(bin_dir / "dagster"),
                "dev",
                "-m",
                "orchestration.definitions",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_reset_sigint,
        )
    try:
        yield port, process, log
    finally:
        _stop(process)


def _wait_for_location(port: int, process: subprocess.Popen, log: Path) -> dict:
    """Poll GraphQL until the code location has finished loading (or failed to)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dagster dev exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            workspace = _graphql(port, LOCATION_QUERY)["workspaceOrError"]
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            last = repr(error)
        else:
            entries = workspace.get("locationEntries") or []
            if entries and all(entry["loadStatus"] == "LOADED" for entry in entries):
                return workspace
            last = json.dumps(workspace)[:500]
        time.sleep(1)
    pytest.fail(
        f"dagster dev not ready after {READY_TIMEOUT_S} s ({last}):\n{log.read_text()[-3000:]}"
    )


def test_dagster_dev_serves_the_code_location_and_stops_cleanly(dagster_dev, expected):
    port, process, log = dagster_dev
    workspace = _wait_for_location(port, process, log)

    (entry,) = workspace["locationEntries"]
    location = entry["locationOrLoadError"]
    assert location["__typename"] == "RepositoryLocation", (
        f"{location.get('message')}\n{log.read_text()[-3000:]}"
    )
    schedules = {s["name"] for repo in location["repositories"] for s in repo["schedules"]}
    assert SCHEDULE in schedules
    assert expected["schedules"] <= schedules

    nodes = _graphql(port, ASSETS_QUERY)["assetNodes"]
    served_assets = {"/".join(node["assetKey"]["path"]) for node in nodes}
    assert {key.split("/")[0] for key in expected["assets"]} >= {"raw", "marts", "scoring"}
    assert expected["assets"] <= served_assets, sorted(expected["assets"] - served_assets)
    served_checks = {
        ("/".join(node["assetKey"]["path"]), check["name"])
        for node in nodes
        if node["assetChecksOrError"]["__typename"] == "AssetChecks"
        for check in node["assetChecksOrError"]["checks"]
    }
    assert expected["checks"] <= served_checks, sorted(expected["checks"] - served_checks)

    assert _stop(process), "dagster dev ignored SIGINT and had to be killed"
    assert process.returncode is not None
    assert not _group_alive(process.pid), "dagster dev left processes behind"
    assert not _port_in_use(port), f"port {port} still accepts connections"
