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
    """Peak resident memory of a process and all its descendants, sampled every 0.1 s."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                tree = [self.process, *self.process.children(recursive=True)]
                total = 0
                for proc in tree:
                    with contextlib.suppress(psutil.Error):
                        total += proc.memory_info().rss
                self.peak = max(self.peak, total)
            except psutil.Error:
                return
            time.sleep(0.1)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


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
    dagster_home.mkdir(exist_ok=True)
    (dagster_home / "dagster.yaml").write_text("")
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
            str(bin_dir / "dagster"),
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
    models, steps = _timings(dagster_home)
    return {"wall": wall, "peak_rss": peak, "models": models, "steps": steps}


def _timings(dagster_home: Path) -> tuple[dict[str, float], dict[str, float]]:
    """dbt time per model (dagster-dbt's "Execution Duration") and time per Dagster step."""
    from dagster import DagsterEventType, DagsterInstance

    os.environ["DAGSTER_HOME"] = str(dagster_home)
    models: dict[str, float] = {}
    steps: dict[str, float] = {}
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
            elif event.event_type == DagsterEventType.STEP_SUCCESS:
                steps[event.step_key] = event.event_specific_data.duration_ms / 1000
    return models, steps
