"""What `make run` prints: progress while Dagster works, one readable paragraph when it fails.

``dagster asset materialize`` logs every event, with stack traces, to the terminal. This filter
reads that log on stdin, writes all of it to a file, and prints only:

- each step as it starts and ends, with the elapsed time;
- each dbt model as it is built (its number of the total, and its time);
- when a step fails: the error's own message (the raw-data contract and configuration errors are
  written to be read) without the stack trace, and where the full log is (from the step's
  STEP_FAILURE, or, when Dagster's capture of the step's output swallowed that line, from the
  RUN_FAILURE that names the step);
- "build finished" only when Dagster reported the run's success: a run that ends without a result
  (the process was killed, or crashed outside a step) is a failure, shown with the last lines of
  its output.

Usage: ``dagster asset materialize ... 2>&1 | python -m orchestration.console LOG_FILE``. It
imports nothing from Dagster, so it starts at once.
"""

from __future__ import annotations

import re
import sys
import time
from collections import deque
from pathlib import Path
from typing import TextIO

# 2026-11-23 18:16:29 +0000 - dagster - DEBUG - <job> - <run id> - ...
PREFIX = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} - dagster - (?P<level>[A-Z]+) - ")
EVENT = re.compile(r" - (?P<step>[\w.\[\]-]+) - (?P<event>STEP_[A-Z_]+) - (?P<message>.*)$")
RUN_END = re.compile(r" - (?P<event>RUN_SUCCESS|RUN_FAILURE|RUN_CANCELED) - (?P<message>.*)$")
DBT_MODEL = re.compile(
    r"(?P<done>\d+) of (?P<total>\d+) OK created \S+ \S+ model (?P<model>\S+)"
    r".*?\[\S*OK\S* in (?P<seconds>[\d.]+)s\]"
)
DBT_PROBLEM = re.compile(r"\d+ of \d+ (ERROR|FAIL|WARN) ")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: lines of other output shown when the run ends without a result
TAIL_LINES = 15


def failure_paragraph(block: list[str]) -> str:
    """The readable part of a STEP_FAILURE message: the error's text, without the exception's
    module path and without the stack trace."""
    lines = []
    for line in block[1:]:
        if line.strip().startswith(("Stack Trace:", "The above exception")):
            break
        lines.append(line.rstrip())
    text = "\n".join(lines).strip()
    # "dagster._core.definitions.events.Failure: The raw data ..." -> "The raw data ..."
    text = re.sub(r"^[\w.]+(Error|Failure|Exception): ", "", text)
    return text or block[0].strip()


class Console:
    def __init__(self, out: TextIO, log: TextIO) -> None:
        self.out = out
        self.log = log
        self.started = time.monotonic()
        self.failure: list[str] | None = None
        self.failures: list[tuple[str, str]] = []
        self.failed_step = ""
        #: RUN_SUCCESS, RUN_FAILURE or RUN_CANCELED with its message, once Dagster reports it
        self.run_end: tuple[str, str] | None = None
        #: the last lines that are not Dagster events (a crash's traceback ends up here)
        self.other_lines: deque[str] = deque(maxlen=TAIL_LINES)

    def elapsed(self) -> str:
        seconds = int(time.monotonic() - self.started)
        return f"{seconds // 60:02d}:{seconds % 60:02d}"

    def say(self, text: str) -> None:
        print(f"[{self.elapsed()}] {text}", file=self.out, flush=True)

    def feed(self, raw_line: str) -> None:
        self.log.write(raw_line)
        # a progress bar's carriage returns, or another write without a newline, may come first
        line = ANSI.sub("", raw_line.rstrip("\n")).rsplit("\r", 1)[-1]
        prefixed = PREFIX.search(line)
        if self.failure is not None:
            if not prefixed:
                self.failure.append(line)
                return
            self._close_failure()
        if not prefixed:
            if line.strip():
                self.other_lines.append(line)
            return
        line = line[prefixed.start() :]
        event = EVENT.search(line)
        if event:
            self._event(event["step"], event["event"], event["message"])
            return
        run_end = RUN_END.search(line)
        if run_end:
            self.run_end = (run_end["event"], run_end["message"].strip())
            self._unreported_failures(run_end["message"])
            return
        model = DBT_MODEL.search(line)
        if model:
            self.say(
                f"  dbt {model['done']:>3}/{model['total']} {model['model']} "
                f"({float(model['seconds']):.1f} s)"
            )
        elif DBT_PROBLEM.search(line):
            self.say("  dbt " + line.split(" - ")[-1].strip())

    def _event(self, step: str, event: str, message: str) -> None:
        if event == "STEP_START":
            self.say(f"> {step}")
        elif event == "STEP_SUCCESS":
            took = re.search(r" in ([\d.]+(?:ms|s|m))", message)
            self.say(f"done {step}" + (f" in {took[1]}" if took else ""))
        elif event == "STEP_FAILURE":
            self.failed_step = step
            self.failure = [message]
        elif event == "STEP_RESTARTED":
            self.say(f"retrying {step} ({message})")

    def _unreported_failures(self, message: str) -> None:
        """Dagster captures a step's output while the step runs, and its STEP_FAILURE line can
        land in that capture instead of on the terminal. RUN_FAILURE names the failed steps and
        is followed by the error: read it for the steps whose failure was not seen."""
        failed = re.search(r"Steps failed: \[(.*)\]", message)
        if not failed:
            return
        seen = {step for step, _ in self.failures}
        missing = [s for s in re.findall(r"'([^']+)'", failed[1]) if s not in seen]
        if missing:
            self.failed_step = ", ".join(missing)
            self.failure = [message]

    def _close_failure(self) -> None:
        if self.failure is not None:
            self.failures.append((self.failed_step, failure_paragraph(self.failure)))
            self.say(f"FAILED {self.failed_step}")
            self.failure = None

    def finish(self, log_path: Path) -> int:
        self._close_failure()
        succeeded = self.run_end is not None and self.run_end[0] == "RUN_SUCCESS"
        if succeeded and not self.failures:
            self.say("build finished")
            return 0
        print("", file=self.out)
        for step, paragraph in self.failures:
            print(f"The build failed in step {step}:\n\n{paragraph}\n", file=self.out)
        if not self.failures:
            if self.run_end is not None:
                ended = f"Dagster reported {self.run_end[0]}: {self.run_end[1]}"
            else:
                ended = "Dagster stopped without reporting the run's result (killed, or crashed)."
            tail = "\n".join(self.other_lines)
            print(ended + (f" Its last output:\n\n{tail}\n" if tail else "\n"), file=self.out)
        print(f"Nothing was published. The full log is in {log_path}.", file=self.out)
        return 1


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    log_path = Path(args[0] if args else "data/logs/last_run.log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        console = Console(sys.stdout, log)
        for line in sys.stdin:
            console.feed(line)
        return console.finish(log_path)


if __name__ == "__main__":
    raise SystemExit(main())
