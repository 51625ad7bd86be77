"""`sqlfluff lint` for `make lint`, with each file's parse tree left in the worker that linted it.

sqlfluff lints files in worker processes (``--processes``) and sends each result back whole:
violations, timings and the file's parse tree, which the main process unpickles segment by
segment and then drops, as ``sqlfluff lint`` keeps no file (``retain_files=False``). The main
process also renders every file through the dbt templater, one at a time, so it is what the
lint waits for: the trees were about 30 of its 90 CPU-s (DECISIONLOG 169). Here a worker returns
its result without the tree. The violations are the same, and so is every number the lint
prints; only the segment counts of the JSON statistics (``--format json``) become 0.

Run as a script (``python .ci/sqlfluff_lint.py lint ...``, the arguments of ``sqlfluff``): the
workers are started with ``spawn``, which runs this file again in each of them (as
``__mp_main__``), so the change applies there too."""

from __future__ import annotations

import sys
from typing import Any

from sqlfluff.core.linter.runner import ParallelRunner

_lint_in_worker = ParallelRunner._apply  # noqa: SLF001 - the function each worker runs


def _lint_without_tree(partial: Any) -> Any:
    result = _lint_in_worker(partial)
    # a LintedFile (a named tuple); a DelayedException goes back as it is
    return result._replace(tree=None) if hasattr(result, "_replace") else result


ParallelRunner._apply = staticmethod(_lint_without_tree)  # noqa: SLF001

if __name__ == "__main__":
    from sqlfluff.cli.commands import cli

    sys.exit(cli())
