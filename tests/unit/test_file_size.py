"""No Python file outside tests is over 400 lines (issue #18): a file that grows past it is
doing more than one job. An exception would be named here and explained in one line in
DECISIONLOG.md; there is none."""

from __future__ import annotations

import subprocess

from touchpoint_alchemy.settings import REPO_ROOT

MAX_LINES = 400
#: path -> the DECISIONLOG section that explains it
EXCEPTIONS: dict[str, str] = {}


def _python_files_outside_tests() -> list[str]:
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [path for path in tracked if not path.startswith("tests/")]


def test_no_python_file_outside_tests_is_over_400_lines():
    files = _python_files_outside_tests()
    assert len(files) > 30, "the file list must hold the project's modules"
    too_long = {
        path: count
        for path in files
        if (REPO_ROOT / path).exists()
        and (count := len((REPO_ROOT / path).read_text(encoding="utf-8").splitlines())) > MAX_LINES
        and path not in EXCEPTIONS
    }
    assert not too_long, f"over {MAX_LINES} lines (split by job): {too_long}"
