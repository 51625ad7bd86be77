"""The warehouse side of the benchmark: generate the data, build it through Dagster, measure
the wall time, the peak memory of the process tree and the dbt time per model."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench import REPO
from orchestration.run_config import build_run_config
from touchpoint_alchemy.settings import last_partition_key

TOUCHPOINTS_PER_USER = 56.5  # measured on the demo data: 113,259 touchpoints / 2,005 users


class PeakRss:
    """Resident memory of a process and all its descendants, sampled every 0.1 s: the peak of
    the tree, and per sample (time, the process's own RSS, its dbt subprocesses', its other
    descendants') so that :func:`peak_by_step` can say which step and which process held it."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.process = psutil.Process(pid)
        self.peak = 0
        self.samples: list[tuple[float, int, int, int]] = []
        self._kinds: dict[int, bool] = {}  # pid -> is a dbt process
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _is_dbt(self, proc) -> bool:
        import psutil

        if proc.pid not in self._kinds:
            try:  # a dbt command, or a descendant of one (the children come parents first);
                # the runs fork theirs from a dbt server (orchestration/dbt_server.py), which
                # counts as dbt too, as do the forked commands (they keep its command line)
                cmdline = proc.cmdline()
                dbt = "orchestration.dbt_server" in cmdline or any(
                    Path(part).name in ("dbt", "touchpoint-dbt") for part in cmdline
                )
                self._kinds[proc.pid] = dbt or self._kinds.get(proc.ppid(), False)
            except psutil.Error:
                return False
        return self._kinds[proc.pid]

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                own = self.process.memory_info().rss
                dbt = other = 0
                for proc in self.process.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        rss = proc.memory_info().rss
                        if self._is_dbt(proc):
                            dbt += rss
                        else:
                            other += rss
            except psutil.Error:
                return
            self.samples.append((time.time(), own, dbt, other))
            self.peak = max(self.peak, own + dbt + other)
            time.sleep(0.1)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


#: the label of the samples taken while no Dagster step ran (start-up, between steps)
OUTSIDE_STEPS = "(outside the steps)"


def peak_by_step(
    samples: list[tuple[float, int, int, int]], intervals: dict[str, tuple[float, float]]
) -> dict[str, dict[str, int]]:
    """Per Dagster step, the sample of its run (``intervals``: step -> (start, end), epoch
    seconds) where the process tree's RSS was highest: ``{"peak", "process", "dbt", "other"}``
    in bytes (the Dagster process's own RSS, its dbt subprocesses', its other descendants').
    Samples outside every step count for :data:`OUTSIDE_STEPS`. The in-process executor runs one
    step at a time; should steps overlap, a sample counts for each of them."""
    result: dict[str, dict[str, int]] = {}
    for at, own, dbt, other in samples:
        steps = [step for step, (start, end) in intervals.items() if start <= at <= end]
        total = own + dbt + other
        for step in steps or [OUTSIDE_STEPS]:
            best = result.get(step)
            if best is None or total > best["peak"]:
                result[step] = {"peak": total, "process": own, "dbt": dbt, "other": other}
    return result


def generate(scale: int, data_dir: Path) -> tuple[float, bool]:
    """Generate the raw files unless they are there: (seconds the generation took, reused)."""
    timing = data_dir / "generation_seconds.txt"
    if (data_dir / "touchpoints.parquet").exists() and timing.exists():
        return float(timing.read_text()), True
    data_dir.mkdir(parents=True, exist_ok=True)
    users = max(1000, round(scale / TOUCHPOINTS_PER_USER))
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "touchpoint_alchemy.datagen",
            "--out",
            str(data_dir),
            "--users",
            str(users),
            "--format",
            "parquet",
        ],
        check=True,
        cwd=REPO,
    )
    seconds = time.perf_counter() - started
    timing.write_text(f"{seconds:.1f}\n")
    return seconds, False


def full_build(data_dir: Path, work_dir: Path, memory_limit: str | None = None) -> dict:
    """``make run``'s command (a full refresh) into a fresh warehouse, measured."""
    if work_dir.exists():
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True)
    return dagster_build(
        data_dir, work_dir, last_partition_key(), full_refresh=True, memory_limit=memory_limit
    )


def incremental_build(data_dir: Path, work_dir: Path) -> dict:
    """The daily job on the built warehouse: the partition of the data's last day (its
    touchpoints since that day minus the lookback), then every unpartitioned model."""
    import duckdb

    # The newest day that is a partition: the generator plants a few rows dated in the future
    # (rejected as `future timestamp`), and the partitions end yesterday.
    (last_day,) = duckdb.sql(
        "select max(ts)::date from (select try_cast(occurred_at as timestamp) as ts "
        f"from read_parquet('{data_dir}/touchpoints.parquet')) "
        f"where ts < date '{last_partition_key()}' + interval 1 day"
    ).fetchone()
    figures = dagster_build(data_dir, work_dir, str(last_day), full_refresh=False)
    figures["partition"] = str(last_day)
    return figures


def dagster_build(
    data_dir: Path,
    work_dir: Path,
    partition: str,
    full_refresh: bool,
    memory_limit: str | None = None,
) -> dict:
    """``dagster asset materialize --select '*'`` for one partition, measured. With
    ``memory_limit`` it runs with ``DUCKDB_MEMORY_LIMIT`` set to it."""
    dagster_home = work_dir / "dagster_home"
    instance(dagster_home)
    env = {
        **os.environ,
        "WAREHOUSE_DUCKDB_PATH": str(work_dir / "warehouse.duckdb"),
        "RAW_DATA_DIR": str(data_dir),
        "DAGSTER_HOME": str(dagster_home),
    }
    if memory_limit:
        env["DUCKDB_MEMORY_LIMIT"] = memory_limit
    config = build_run_config(full_refresh=full_refresh)
    bin_dir = Path(sys.executable).parent
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            str(bin_dir / "python"),
            "-m",
            "orchestration.dagster_cli",  # as make run starts it
            "asset",
            "materialize",
            "--select",
            "*",
            "-m",
            "orchestration.definitions",
            "--partition",
            partition,
            "--config-json",
            json.dumps(config),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    memory = PeakRss(process.pid)
    log = process.communicate()[0]
    wall = time.perf_counter() - started
    peak = memory.stop()
    kind = "full" if full_refresh else "incremental"
    (work_dir / f"{kind}_build.log").write_text(log)
    if process.returncode != 0:
        tail = "\n".join(log.splitlines()[-40:])
        raise SystemExit(f"The {kind} build failed (log: {work_dir / kind}_build.log):\n{tail}")
    models, steps, intervals = _timings(dagster_home)
    return {
        "wall": wall,
        "peak_rss": peak,
        "models": models,
        "steps": steps,
        "memory": peak_by_step(memory.samples, intervals),
    }


def instance(dagster_home: Path) -> None:
    """The Dagster instance of ``make run`` in ``dagster_home``: ``make instance`` writes its
    storage (the event log kept open, orchestration/instance_storage.py) into a home without a
    ``dagster.yaml``. With Dagster's default storage every event opens and closes a database
    connection, which the measured runs would pay and ``make run`` does not."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").unlink(missing_ok=True)
    subprocess.run(
        ["make", "--no-print-directory", "-s", "instance", f"DAGSTER_HOME={dagster_home}"],
        cwd=REPO,
        check=True,
    )


def _timings(
    dagster_home: Path,
) -> tuple[dict[str, float], dict[str, float], dict[str, tuple[float, float]]]:
    """dbt time per model (dagster-dbt's "Execution Duration"), time per Dagster step and each
    step's (start, end) in epoch seconds."""
    from dagster import DagsterEventType, DagsterInstance

    os.environ["DAGSTER_HOME"] = str(dagster_home)
    models: dict[str, float] = {}
    steps: dict[str, float] = {}
    starts: dict[str, float] = {}
    intervals: dict[str, tuple[float, float]] = {}
    with DagsterInstance.get() as instance:
        run = instance.get_runs(limit=1)[0]
        for record in instance.all_logs(run.run_id):
            event = record.dagster_event
            if event is None:
                continue
            if event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
                materialization = event.event_specific_data.materialization
                duration = materialization.metadata.get("Execution Duration")
                if duration is not None:
                    models[materialization.asset_key.to_user_string()] = float(duration.value)
            elif event.event_type == DagsterEventType.STEP_START:
                starts[event.step_key] = record.timestamp
            elif event.event_type == DagsterEventType.STEP_SUCCESS:
                steps[event.step_key] = event.event_specific_data.duration_ms / 1000
            ended = (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE)
            if event.event_type in ended and event.step_key in starts:
                intervals[event.step_key] = (starts[event.step_key], record.timestamp)
    return models, steps, intervals
