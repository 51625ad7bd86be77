"""`make run`'s Dagster command (orchestration/dagster_cli.py): Dagster's own exit status and
all of its output through a pipe, though the process ends without Python's teardown."""

from __future__ import annotations

import subprocess
import sys

from orchestration.dagster_cli import exit_code
from touchpoint_alchemy.settings import REPO_ROOT


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "orchestration.dagster_cli", *args],
        cwd=REPO_ROOT,
        capture_output=True,  # pipes: block-buffered, so an unflushed ending would lose output
        text=True,
        timeout=120,
    )


def test_the_help_is_dagsters_and_complete():
    result = cli("asset", "materialize", "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: dagster asset materialize")
    # the last option of the help, so the whole text reached the pipe
    assert result.stdout.rstrip().endswith("Show this message and exit.")


def test_dagsters_exit_status_is_the_process_exit_status():
    result = cli("asset", "no-such-command")
    assert result.returncode == 2  # click's usage error
    assert "No such command" in result.stderr


def test_exit_codes():
    assert exit_code(None) == 0
    assert exit_code(0) == 0
    assert exit_code(3) == 3
    assert exit_code("a message") == 1
