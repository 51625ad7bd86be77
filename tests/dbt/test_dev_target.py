"""Plain dbt's default target is the development database, never the published warehouse; the
orchestrated runs name their target (DECISIONLOG.md, 54; docs/develop.md).

The profile is rendered by dbt itself (``load_profile``, in a subprocess: it sets dbt's global
flags), for the environments an analytics engineer and Dagster have."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from touchpoint_alchemy.settings import DBT_PROJECT_DIR, Settings, dev_warehouse_path

RENDER = """
import json, os, sys
from argparse import Namespace
from dbt_common.context import set_invocation_context
from dbt.flags import set_from_args
from dbt.config.runtime import load_profile
set_from_args(Namespace(profiles_dir="."), None)
rendered = []
for env, target in json.loads(sys.argv[1]):
    set_invocation_context(env)
    profile = load_profile(".", {}, None, target)
    rendered.append([profile.target_name, profile.credentials.path])
print(json.dumps(rendered))
"""

PUBLISHED = "/srv/bi/mine.duckdb"
CASES = [
    ({}, None),
    ({"WAREHOUSE_DUCKDB_PATH": PUBLISHED}, None),
    ({"WAREHOUSE_DUCKDB_PATH": PUBLISHED, "WAREHOUSE_TARGET": "duckdb"}, None),
    ({"WAREHOUSE_DUCKDB_PATH": PUBLISHED, "DBT_DEV_DUCKDB_PATH": "/tmp/d/mine.duckdb"}, None),
    ({"WAREHOUSE_DUCKDB_PATH": PUBLISHED}, "duckdb"),
]


def _render() -> list[tuple[str, str]]:
    out = subprocess.run(
        [sys.executable, "-c", RENDER, json.dumps(CASES)],
        cwd=DBT_PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return [tuple(row) for row in json.loads(out.stdout.strip().splitlines()[-1])]


def _as_python_sees_it(path: str) -> Path:
    return (DBT_PROJECT_DIR / path).resolve() if not path.startswith("/") else Path(path)


def test_plain_dbt_writes_the_dev_database_and_the_runs_the_warehouse():
    rendered = _render()
    for (env, target), (target_name, path) in zip(CASES, rendered, strict=True):
        if target is None:
            # plain dbt: the dev database, whatever WAREHOUSE_DUCKDB_PATH says, and where
            # `make dev-db` puts it
            assert target_name == "dev", env
            assert _as_python_sees_it(path) == dev_warehouse_path(env), env
            assert _as_python_sees_it(path) != Settings.from_env(env).warehouse_path, env
        else:
            assert (target_name, path) == ("duckdb", PUBLISHED)


def test_the_orchestrated_dbt_names_its_target():
    from orchestration.resources import build_resources

    settings = Settings.from_env({"WAREHOUSE_DUCKDB_PATH": PUBLISHED})
    dbt = build_resources(settings)["dbt"]
    assert dbt.target == "duckdb"
    # the dbt server's client (DECISIONLOG 99), which runs the dbt beside it without a server
    from orchestration.dbt_server import real_dbt

    assert Path(dbt.dbt_executable) == Path(sys.executable).parent / "touchpoint-dbt"
    assert Path(real_dbt()) == Path(sys.executable).parent / "dbt"


def test_plain_dbt_before_make_dev_db_is_told_to_run_it(tmp_path, monkeypatch):
    """DuckDB's own error for a database in a missing folder is a stack trace; the profile's
    plugin names the cause and the fix before dbt connects."""
    from dbt.adapters.duckdb.plugins import BasePlugin

    monkeypatch.delenv("TOUCHPOINT_ENV", raising=False)
    missing = tmp_path / "data" / "dev" / "warehouse.duckdb"
    with pytest.raises(RuntimeError, match=r"No folder .*run `make dev-db` first"):
        BasePlugin.create(
            "touchpoint_alchemy.dbt_duckdb_plugin",
            credentials=SimpleNamespace(path=str(missing), settings={}),
        )
    missing.parent.mkdir(parents=True)  # a new database in an existing folder is fine
    BasePlugin.create(
        "touchpoint_alchemy.dbt_duckdb_plugin",
        credentials=SimpleNamespace(path=str(missing), settings={}),
    )
