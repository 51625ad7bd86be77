"""The console filter of `make run` over hand-written Dagster log lines: "build finished" only
after Dagster reported the run's success; a failed step as its own message; a run that ends
without a result (killed, or a crash outside any step) as a failure with its last output."""

from __future__ import annotations

import io
from pathlib import Path

from orchestration.console import Console

STAMP = "2026-12-02 21:39:50 +0000 - dagster"
RUN = "__ASSET_JOB - de4f25bd - 11824"


def _line(level: str, text: str) -> str:
    return f"{STAMP} - {level} - {RUN} - {text}\n"


START = _line("DEBUG", 'scoring__rfm - STEP_START - Started execution of step "scoring__rfm".')
SUCCESS = _line("DEBUG", "scoring__rfm - STEP_SUCCESS - Finished execution of step in 1.2s.")
RUN_SUCCESS = _line("DEBUG", 'RUN_SUCCESS - Finished execution of run for "__ASSET_JOB".')


def _run(lines: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    console = Console(out, io.StringIO())
    for line in lines:
        console.feed(line)
    return console.finish(Path("run.log")), out.getvalue()


def test_a_reported_success_is_a_finished_build():
    code, out = _run([START, SUCCESS, RUN_SUCCESS])
    assert code == 0
    assert "> scoring__rfm" in out and "done scoring__rfm in 1.2s" in out
    assert out.rstrip().endswith("build finished")


def test_a_failed_step_is_its_own_message_without_the_stack_trace():
    failure = [
        _line("ERROR", 'scoring__rfm - STEP_FAILURE - Execution of step "scoring__rfm" failed.'),
        "\n",
        "dagster._core.definitions.events.Failure: ValueError: the spend is negative\n",
        "(not retried: not a transient error)\n",
        "\n",
        "Stack Trace:\n",
        '  File "x.py", line 1, in f\n',
        _line("ERROR", 'RUN_FAILURE - Execution of run failed. Steps failed: ["scoring__rfm"].'),
    ]
    code, out = _run([START, *failure])
    assert code == 1
    assert "build finished" not in out
    assert "The build failed in step scoring__rfm:\n\nValueError: the spend is negative" in out
    assert "Stack Trace" not in out and 'File "' not in out


def test_a_run_that_ends_without_a_result_is_a_failure_with_its_last_output():
    crash = [
        "Traceback (most recent call last):\n",
        "dagster._core.errors.DagsterInvalidSubsetError: AssetKey(s) ['raw'] were selected\n",
    ]
    code, out = _run([START, *crash])
    assert code == 1
    assert "build finished" not in out
    assert "stopped without reporting the run's result" in out
    assert "DagsterInvalidSubsetError" in out


def test_an_event_after_a_carriage_return_or_other_output_is_still_read():
    glued = "Sampling 100%|####|\r" + START.replace(STAMP, "progress: " + STAMP)
    code, out = _run([glued, SUCCESS, RUN_SUCCESS])
    assert code == 0
    assert "> scoring__rfm" in out


def test_a_failure_seen_only_in_the_run_failure_is_still_its_own_message():
    """Dagster's capture of a step's output can swallow the STEP_FAILURE line (seen in CI):
    the RUN_FAILURE that names the step, and the error after it, are enough."""
    lines = [
        START,
        _line("DEBUG", "ENGINE_EVENT - Finished steps in process (pid: 1) in 1.4s"),
        _line("ERROR", "RUN_FAILURE - Execution of run failed. Steps failed: ['scoring__rfm']."),
        "\n",
        "dagster._core.definitions.events.Failure: ValueError: holdout_days must be positive\n",
        "(not retried: not a transient error)\n",
        "\n",
        "Stack Trace:\n",
        '  File "x.py", line 1, in f\n',
    ]
    code, out = _run(lines)
    assert code == 1
    assert "The build failed in step scoring__rfm:\n\nValueError: holdout_days must be" in out
    assert "Stack Trace" not in out and "stopped without" not in out
