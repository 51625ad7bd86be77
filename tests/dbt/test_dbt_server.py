"""dbt commands forked from a process that has imported dbt (orchestration/dbt_server.py,
DECISIONLOG 99): each behaves as the command run directly (its arguments, folder, environment,
streams and exit status), a killed client takes its command with it, and without a server the
client runs dbt itself. Every build of the test suite runs its dbt steps this way too."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestration import dbt_server
from touchpoint_alchemy.settings import DBT_PROJECT_DIR

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"


@pytest.fixture(scope="module")
def server() -> str:
    path = dbt_server.ensure_started()
    assert path is not None, "touchpoint-dbt is not installed beside this Python (uv sync)"
    assert client(["--version"], path).returncode == 0  # the server has made its imports
    assert dbt_server._server["process"].poll() is None, "the server stopped"  # noqa: SLF001
    yield path
    dbt_server.stop()


def client(args, server=None, cwd=None, env=None, **kwargs) -> subprocess.CompletedProcess:
    environment = {**os.environ, **(env or {})}
    environment.pop(dbt_server.SERVER_ENV, None)
    if server:
        environment[dbt_server.SERVER_ENV] = server
    return subprocess.run(
        [dbt_server.client_executable(), *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


def test_a_command_gets_its_own_folder_environment_and_streams(server, tmp_path):
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    result = client(
        ["debug", "--config-dir"], server, cwd=tmp_path, env={"DBT_PROFILES_DIR": str(profiles)}
    )
    assert result.returncode == 0, result.stderr
    assert str(profiles) in result.stdout  # the environment's DBT_PROFILES_DIR
    # without it, dbt looks in the working folder when it holds a profiles.yml
    (tmp_path / "profiles.yml").write_text("{}\n", encoding="utf-8")
    result = client(["debug", "--config-dir"], server, cwd=tmp_path)
    assert f"{tmp_path}" in result.stdout and str(profiles) not in result.stdout


def test_the_exit_status_and_the_error_stream_are_dbts(server):
    direct = subprocess.run(
        [dbt_server.real_dbt(), "nosuchcommand"], capture_output=True, text=True
    )
    forked = client(["nosuchcommand"], server)
    assert direct.returncode == forked.returncode == 2
    assert "No such command 'nosuchcommand'" in forked.stderr
    assert forked.stderr == direct.stderr


def test_a_forked_command_skips_the_import(server):
    started = time.perf_counter()
    forked = client(["--version"], server)
    forked_seconds = time.perf_counter() - started
    started = time.perf_counter()
    direct = subprocess.run([dbt_server.real_dbt(), "--version"], capture_output=True, text=True)
    direct_seconds = time.perf_counter() - started
    assert forked.stdout == direct.stdout
    assert forked_seconds < direct_seconds / 2, (forked_seconds, direct_seconds)


def test_without_a_server_the_client_runs_dbt_itself(tmp_path):
    assert client(["--version"]).returncode == 0
    # a socket nobody listens on
    result = client(["--version"], str(tmp_path / "gone"))
    assert result.returncode == 0 and "Core:" in result.stdout


def _children(pid: int) -> set[int]:
    """The server's forked commands: its children but multiprocessing's resource tracker, which
    the warm-up's manifest starts (dbt gives a manifest a multiprocessing lock)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    children = {int(child) for child in path.read_text().split()} if path.exists() else set()
    return {child for child in children if b"resource_tracker" not in _cmdline(child)}


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc")
def test_a_killed_client_takes_its_command_with_it(server, tmp_path):
    server_pid = dbt_server._server["process"].pid  # noqa: SLF001
    env = {**os.environ, dbt_server.SERVER_ENV: server}
    # `dbt init` asks for a project name and waits for it on its stdin, which stays open
    process = subprocess.Popen(
        [dbt_server.client_executable(), "init"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not _children(server_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    (command,) = _children(server_pid) or {None}
    assert command is not None, f"no forked command; the client's status: {process.poll()}"
    time.sleep(0.5)
    assert command in _children(server_pid), "dbt init should be waiting for its answer"
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 10
    while command in _children(server_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert command not in _children(server_pid), "the dbt command outlived its client"
    process.stdin.close()


def test_the_warm_up_compiles_every_macro_and_node_and_starts_no_thread():
    # the server forks its commands: whatever it computes beforehand must leave it one thread
    # (DECISIONLOG 130); the saved parse is the one `make manifest` writes
    script = """
import importlib, os
from orchestration.dbt_server import PRELOAD
from orchestration.dbt_fork import warm_up
for module in PRELOAD:
    importlib.import_module(module)
from orchestration.dbt_fork import cache_compiled_templates
cache_compiled_templates()
steps = sum(1 for _ in warm_up())
from dbt_common.clients.jinja import template_cache
from dbt_common.dataclass_schema import dbtClassMixin
from dbt.artifacts.resources.v1.config import Hook
from dbt.contracts.project import PackageConfig, Project, ProjectFlags
from dbt.contracts.selection import SelectorFile
from dbt_common.contracts.constraints import ColumnLevelConstraint
# each schema a command validates against, already built: looking it up is a cache hit
cache = dbtClassMixin.json_schema.__func__
hits = cache.cache_info().hits
schemas = (Project, ProjectFlags, PackageConfig, SelectorFile, Hook, ColumnLevelConstraint)
for schema in schemas:
    schema.json_schema()
cached = cache.cache_info().hits - hits == len(schemas)
# every node's template compiled too (DECISIONLOG 167): rendering them compiles nothing
import glob, jinja2, dbt.clients.jinja
from dbt.contracts.graph.manifest import Manifest
from touchpoint_alchemy.dbt_targets import PARSE_CACHE, target_base
saved = sorted(glob.glob(str(target_base() / PARSE_CACHE / "*.msgpack")), key=os.path.getmtime)
nodes = [node for node in Manifest.from_msgpack(open(saved[-1], "rb").read()).nodes.values()
         if "{{" in node.raw_code or "{%" in node.raw_code]
compiles = []
compile_ = jinja2.Environment.compile
jinja2.Environment.compile = lambda self, *a, **k: compiles.append(1) or compile_(self, *a, **k)
for node in nodes:
    dbt.clients.jinja.get_template(node.raw_code, {}, node)
print(steps, len(os.listdir('/proc/self/task')), len(template_cache.file_cache), int(cached))
print(len(nodes), len(compiles))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    steps, threads, templates, cached = map(int, done.stdout.splitlines()[0].split())
    nodes, compiled_again = map(int, done.stdout.splitlines()[1].split())
    assert nodes > 200 and compiled_again == 0
    macros = json.loads(MANIFEST.read_text())["macros"]
    assert threads == 1
    assert cached, "a schema the commands validate against was not built (DECISIONLOG 164)"
    # every macro's text compiled (some macros share a text), a step at least every 40 macros
    assert templates == len({macro["macro_sql"] for macro in macros.values()})
    assert steps >= 3 + len(macros) // 40


def test_the_credentials_schema_is_built_by_a_child_and_reused_by_each_command():
    # the adapter's credentials' JSON schema (DECISIONLOG 168): a child of the server builds it,
    # so the server still has one thread and has not imported duckdb; a forked command gets it
    # for the class without building it, the same schema dbt builds, and validates with it
    script = """
import importlib, os, sys
from orchestration.dbt_server import PRELOAD
for module in PRELOAD:
    importlib.import_module(module)
from orchestration import dbt_credentials
steps = sum(1 for _ in dbt_credentials.build_in_child())
threads, loaded = len(os.listdir('/proc/self/task')), 'duckdb' in sys.modules
got = dbt_credentials._schema
from dbt_common.dataclass_schema import dbtClassMixin, ValidationError
cache = dbtClassMixin.json_schema.__func__
dbt_credentials.reuse_in_command()
from dbt.adapters.duckdb.credentials import DuckDBCredentials
misses = cache.cache_info().misses
reused = DuckDBCredentials.json_schema()
built_again = cache.cache_info().misses - misses
same = int(reused is got and got == cache(DuckDBCredentials))
DuckDBCredentials.validate({"database": "w", "schema": "main", "path": "/tmp/w.duckdb"})
try:
    DuckDBCredentials.validate({"database": "w", "schema": "main", "path": 5})
    refused = 0
except ValidationError:
    refused = 1
print(threads, int(loaded), int(got is not None), same, built_again, refused)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    threads, loaded, got, same, built_again, refused = map(int, done.stdout.split())
    assert (threads, loaded, got) == (1, 0, 1)
    assert same == 1 and built_again == 0
    assert refused == 1


def test_a_template_text_is_compiled_once_and_renders_as_before():
    # dbt compiles a node's template every time it renders it; the server's commands compile each
    # text once (DECISIONLOG 167). The same texts render to the same values, in text and native
    # environments, with and without captured macros; a syntax error is still dbt's error; with
    # macro debugging on, every call compiles, as in dbt
    script = """
import jinja2
import dbt.clients.jinja as jinja
import dbt_common.clients.jinja as common
from dbt_common.exceptions import CompilationError
compiles = []
compile_ = jinja2.Environment.compile
def counted(self, source, *args, **kwargs):
    compiles.append(source)
    return compile_(self, source, *args, **kwargs)
jinja2.Environment.compile = counted
texts = ["select {{ x }} as a, {{ y | upper }} as b", "{% if x > 1 %}{{ x * 2 }}{% endif %}",
         "{{ [x, y] }}", "{% set z = x + 1 %}{{ z }}{# note #}"]
contexts = [{"x": 2, "y": "v"}, {"x": 5, "y": "w"}]
def renders():
    return [repr(jinja.get_rendered(text, dict(ctx), native=native, capture_macros=capture))
            for text in texts for ctx in contexts for native in (False, True)
            for capture in (False, True)]
def syntax_error():
    try:
        jinja.get_rendered("{% if %}", {})
    except CompilationError as error:
        return str(error)
before, error_before = renders(), syntax_error()
uncached = len(compiles)
from orchestration.dbt_fork import cache_compiled_templates
cache_compiled_templates()
del compiles[:]
after, error_after = renders(), syntax_error()
cached = len(compiles)
common.MACRO_DEBUGGING = True
del compiles[:]
jinja.get_rendered(texts[0], dict(contexts[0]))
jinja.get_rendered(texts[0], dict(contexts[0]))
print(uncached, cached, len(compiles), int(before == after), int(error_before == error_after))
print(after[0], after[3], error_after.splitlines()[0])
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    counts, shown = done.stdout.splitlines()[0].split(), done.stdout.splitlines()[1]
    uncached, cached, debugging, same, same_error = map(int, counts)
    # 4 texts x 2 contexts x 2 environments x 2 flags, compiled every time by dbt; once per
    # text, environment and flag here (the syntax error included, as it does not compile)
    assert uncached == 4 * 2 * 2 * 2 + 1
    assert cached == 4 * 2 * 2 + 1
    assert debugging == 2
    assert same == 1 and same_error == 1
    assert "select 2 as a, V as b" in shown and "Compilation Error" in shown


def test_a_forked_build_still_writes_its_manifest_results_and_debug_log(server, tmp_path):
    # the parse step's manifest.json is skipped in a forked build (DECISIONLOG 130): the run's
    # own, written at its end with the compiled code, must still be there
    target = tmp_path / "target"
    result = client(
        [
            "build",
            "--target",
            "duckdb",
            "--select",
            "benchmarks",
            "--target-path",
            str(target),
            "--log-path",
            str(target),
        ],
        server,
        cwd=DBT_PROJECT_DIR,
        env={
            "WAREHOUSE_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
            "DBT_LOG_LEVEL_FILE": "debug",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # a log file at debug still gets every statement (DECISIONLOG 134); stdout, at info, none
    assert "select" in (target / "dbt.log").read_text().lower()
    assert "SQL status" in (target / "dbt.log").read_text()
    assert "SQL status" not in result.stdout
    seed = "seed.touchpoint_alchemy.benchmarks"
    nodes = json.loads((target / "manifest.json").read_text())["nodes"]
    tests = [uid for uid, node in nodes.items() if node.get("attached_node") == seed]
    assert seed in nodes and tests
    assert all(nodes[uid].get("compiled_code") for uid in tests), "compiled after the run"
    # and no graph.gpickle, which nothing reads (DECISIONLOG 164); the summary is still written
    assert (target / "graph_summary.json").exists()
    assert not (target / "graph.gpickle").exists()
    results = json.loads((target / "run_results.json").read_text())["results"]
    # besides the project's on-run-end hook (prune_held_users, dbt_project.yml)
    built = {r["unique_id"] for r in results if not r["unique_id"].startswith("operation.")}
    assert built == {seed, *tests}


def test_a_type_tester_is_built_once_and_types_as_before():
    # dbt's agate type testers, one per set of arguments in a forked command (DECISIONLOG 164):
    # the same tester for the same arguments, and the tables typed as dbt types them; one empty
    # table (DECISIONLOG 172)
    script = """
from dbt_common.clients import agate_helper
from orchestration.dbt_fork import reuse_type_testers
rows = [["null", "1", "2025-01-02"], ["x", "2", None]]
names = ["a", "b", "c"]
def tables():
    return [agate_helper.table_from_rows(rows, names, text_only_columns=cols)
            for cols in ([], ["a", "b"])]
before = tables()
reuse_type_testers()
after = tables()
build = agate_helper.build_type_tester
same = build(["a"], string_null_values=()) is build(("a",), string_null_values=())
other = build(["a"], string_null_values=()) is not build(["b"], string_null_values=())
default = build(text_columns=["a"]) is not build(["a"], string_null_values=())
def typed(table):
    return [type(t).__name__ for t in table.column_types], [list(row) for row in table.rows]
print(int(same and other and default), int([typed(t) for t in before] == [typed(t) for t in after]))
print(typed(after[1]))
empty = agate_helper.empty_table()
print(int(empty is agate_helper.empty_table()), len(empty.rows), len(empty.columns))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    reused, unchanged = map(int, done.stdout.splitlines()[0].split())
    assert reused == 1
    assert unchanged == 1
    # the text-only columns keep 'null' and the number as text; the date is still a date
    assert "['Text', 'Text', 'Date']" in done.stdout.splitlines()[1]
    assert "'null'" in done.stdout.splitlines()[1]
    # and one empty table for the statements that fetch nothing: no rows, no columns
    assert done.stdout.splitlines()[2].split() == ["1", "0", "0"]


def test_a_behavior_flag_is_named_after_its_module_without_the_stack(tmp_path):
    # the module that declares a behavior flag, from the frames' globals (DECISIONLOG 165): the
    # same name dbt finds with inspect.stack(), which is not called
    (tmp_path / "declarer.py").write_text(
        "from dbt_common.behavior_flags import Behavior\n"
        "def declare():\n"
        "    flags = Behavior([{'name': 'f', 'default': False, 'description': 'd'}], {})\n"
        "    return flags.f._behavior_change_event.flag_source\n",
        encoding="utf-8",
    )
    script = """
import inspect
from declarer import declare
from orchestration.dbt_fork import name_behavior_flags_from_frames
before = declare()
name_behavior_flags_from_frames()
def no_stack(*args, **kwargs):
    raise AssertionError("inspect.stack() called")
inspect.stack = no_stack
print(before, declare())
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    assert done.stdout.split() == ["declarer", "declarer"]
