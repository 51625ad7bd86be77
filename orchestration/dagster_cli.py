"""``dagster``'s command line for the builds this repository starts (`make run`, the benchmark),
ended without the interpreter's teardown (DECISIONLOG 99).

After a build the process holds the scoring libraries (pymc-marketing, pytensor, Prophet,
scikit-learn) and Dagster: Python's teardown, which frees every module and object one by one,
took 2.3 s of a 50 s demo build after Dagster had returned. Here Dagster's command runs as
``dagster`` runs it; then the ``atexit`` handlers run (they close what registered itself for
closing), the standard streams are flushed and the process ends with ``os._exit`` and Dagster's
exit code. Everything a run writes is committed by then: the warehouse through closed DuckDB
connections and the publish's rename, Dagster's event log through committed SQLite transactions.

Usage: ``python -m orchestration.dagster_cli asset materialize ...`` (the same arguments as
``dagster``).
"""

from __future__ import annotations

import atexit
import os
import sys


def exit_code(code: object) -> int:
    """The process exit status of ``SystemExit(code)``: None is 0, an int itself, anything
    else (a message, printed to stderr) 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def main() -> None:
    # The dbt steps' server first: its imports and warm-up (3.5 s) overlap Dagster's own start-up
    # and the loading of the code location (5 s), so that even the run's first dbt step forks
    # from a warm server (DECISIONLOG 131). The dbt resource finds it running in this process.
    from orchestration import dbt_server

    dbt_server.ensure_started()
    from dagster._cli import ENV_PREFIX, cli

    try:
        # what dagster._cli.main runs, named as the `dagster` command
        cli(prog_name="dagster", auto_envvar_prefix=ENV_PREFIX)
        code = 0
    except SystemExit as exit_:
        code = exit_code(exit_.code)
    atexit._run_exitfuncs()  # noqa: SLF001 - what the interpreter's exit would run first
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
