"""The benchmark: ``make bench SCALE=5m`` (or ``python -m bench.run --scale 5m``).

One run generates the demo data at the given scale as Parquet (or reuses it), builds the whole
warehouse through Dagster exactly as ``make run`` does, measures the scan floor, and runs the
peers (chdb, polars, and pandas up to 10M touchpoints) on the same Parquet files. It prints a
markdown table and writes it to ``bench/results/<scale>.md``.

Scale is a touchpoint count (``5m``, ``50m``, ``500k``); the generator makes about 56.5
touchpoints per user, so ``50m`` is about 885,000 users. Data lives in ``bench/data/<scale>/``
and the warehouse in ``bench/work/<scale>/`` (both git-ignored).

The peers compute the purchase funnel per actor and entry day with windowFunnel semantics
(``strict_increase``, 7-day window, the boundary counts, the first step on the entry day) and
the monthly cohort retention of paying customers. They read the raw Parquet and take the actor
as ``coalesce(user_id, anonymous_id)``: no identity stitching, consent filter or quarantine, so
their work is a subset of the warehouse's. The warehouse's figures for the same results are the
dbt model times of ``int_funnel_chains`` and of ``int_cohort_months`` + ``cohort_retention``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from orchestration.run_config import build_run_config
from touchpoint_alchemy.settings import last_partition_key

REPO = Path(__file__).resolve().parent.parent
TOUCHPOINTS_PER_USER = 56.5  # measured on the demo data: 113,259 touchpoints / 2,005 users
FUNNEL = ("product_view", "add_to_cart", "checkout_start", "payment_submit", "payment_success")
WINDOW_SECONDS = 7 * 24 * 3600
PANDAS_MAX_TOUCHPOINTS = 10_000_000


def parse_scale(text: str) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([km]?)", text.strip().lower())
    if not match:
        raise SystemExit(f"SCALE must look like 500k, 5m or 50m, got {text!r}")
    number, unit = float(match.group(1)), match.group(2)
    return int(number * {"": 1, "k": 1_000, "m": 1_000_000}[unit])


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


def duckdb_seconds(sql: str, threads: int) -> float:
    import duckdb

    con = duckdb.connect(config={"threads": threads})
    started = time.perf_counter()
    con.execute(sql).fetchall()
    return time.perf_counter() - started


def scan_floor(data_dir: Path, threads: int) -> float:
    path = data_dir / "touchpoints.parquet"
    return duckdb_seconds(
        f"select user_id, count(*) from read_parquet('{path}') group by user_id", threads
    )


def chdb_funnel(data_dir: Path) -> float:
    import chdb

    path = data_dir / "touchpoints.parquet"
    steps = ", ".join(f"touchpoint = '{step}'" for step in FUNNEL[1:])
    sql = f"""
        with events as (
            select coalesce(user_id, anonymous_id) as actor,
                   parseDateTime64BestEffortOrNull(occurred_at, 6) as ts,
                   touchpoint
            from file('{path}', Parquet)
            where touchpoint in ({", ".join(f"'{s}'" for s in FUNNEL)}) and ts is not null
        ),
        entries as (
            select distinct actor, toDate(ts) as entry_day
            from events where touchpoint = '{FUNNEL[0]}'
        )
        select count(), sum(level) from (
            select entries.actor, entries.entry_day,
                   windowFunnel({WINDOW_SECONDS * 1_000_000}, 'strict_increase')(
                       toUInt64(toUnixTimestamp64Micro(events.ts)),
                       events.touchpoint = '{FUNNEL[0]}' and toDate(events.ts) = entries.entry_day,
                       {steps}
                   ) as level
            from entries
            inner join events on events.actor = entries.actor
            where events.ts >= entries.entry_day
              and events.ts < entries.entry_day + interval 8 day
            group by entries.actor, entries.entry_day
        )
    """
    started = time.perf_counter()
    chdb.query(sql, "CSV")
    return time.perf_counter() - started


def _funnel_frame(frame_lib: str, data_dir: Path):
    """Funnel events as a sorted frame: actor, ts (datetime, UTC), step (0-based)."""
    path = data_dir / "touchpoints.parquet"
    if frame_lib == "polars":
        import polars as pl

        return (
            pl.scan_parquet(path)
            .filter(pl.col("touchpoint").is_in(FUNNEL))
            .select(
                pl.coalesce("user_id", "anonymous_id").alias("actor"),
                pl.col("occurred_at")
                .str.to_datetime(time_zone="UTC", strict=False, format=None)
                .alias("ts"),
                pl.col("touchpoint")
                .replace_strict(FUNNEL, list(range(len(FUNNEL))), return_dtype=pl.Int8)
                .alias("step"),
            )
            .drop_nulls(["actor", "ts"])
        )
    import pandas as pd

    raw = pd.read_parquet(path, columns=["user_id", "anonymous_id", "occurred_at", "touchpoint"])
    raw = raw[raw["touchpoint"].isin(FUNNEL)]
    frame = pd.DataFrame(
        {
            "actor": raw["user_id"].fillna(raw["anonymous_id"]),
            "ts": pd.to_datetime(raw["occurred_at"], utc=True, errors="coerce", format="mixed"),
            "step": raw["touchpoint"].map({s: i for i, s in enumerate(FUNNEL)}),
        }
    )
    return frame.dropna(subset=["actor", "ts"])


def polars_funnel(data_dir: Path) -> float:
    """Exact windowFunnel per (actor, entry day): for a fixed start, taking the earliest
    strictly later event of each next step is optimal, so one forward as-of join per step
    from every start, then the best start per day."""
    import polars as pl

    started = time.perf_counter()
    events = _funnel_frame("polars", data_dir).collect()
    chains = (
        events.filter(pl.col("step") == 0)
        .select("actor", pl.col("ts").alias("start"), pl.col("ts").alias("at"))
        .with_columns(level=pl.lit(1, pl.Int8))
        .sort("at")
    )
    for step in range(1, len(FUNNEL)):
        nxt = events.filter(pl.col("step") == step).select("actor", pl.col("ts").alias("next"))
        nxt = nxt.sort("next")
        chains = chains.join_asof(
            nxt,
            left_on="at",
            right_on="next",
            by="actor",
            strategy="forward",
            allow_exact_matches=False,
            check_sortedness=False,
        )
        ok = (
            (pl.col("level") == step)
            & pl.col("next").is_not_null()
            & (pl.col("next") <= pl.col("start") + pl.duration(seconds=WINDOW_SECONDS))
        )
        chains = chains.with_columns(
            level=pl.when(ok).then(pl.lit(step + 1, pl.Int8)).otherwise(pl.col("level")),
            at=pl.when(ok).then(pl.col("next")).otherwise(pl.col("at")),
        ).drop("next")
        chains = chains.sort("at")
    result = chains.group_by("actor", pl.col("start").dt.date().alias("entry_day")).agg(
        pl.col("level").max()
    )
    assert result.height > 0
    return time.perf_counter() - started


def pandas_funnel(data_dir: Path) -> float:
    import pandas as pd

    started = time.perf_counter()
    events = _funnel_frame("pandas", data_dir)
    chains = events[events["step"] == 0][["actor", "ts"]].rename(columns={"ts": "start"})
    chains["at"] = chains["start"]
    chains["level"] = 1
    for step in range(1, len(FUNNEL)):
        nxt = events[events["step"] == step][["actor", "ts"]].rename(columns={"ts": "next"})
        chains = pd.merge_asof(
            chains.sort_values("at"),
            nxt.sort_values("next"),
            left_on="at",
            right_on="next",
            by="actor",
            direction="forward",
            allow_exact_matches=False,
        )
        ok = (
            (chains["level"] == step)
            & chains["next"].notna()
            & (chains["next"] <= chains["start"] + pd.Timedelta(seconds=WINDOW_SECONDS))
        )
        chains.loc[ok, "level"] = step + 1
        chains.loc[ok, "at"] = chains.loc[ok, "next"]
        chains = chains.drop(columns="next")
    chains["entry_day"] = chains["start"].dt.date
    chains.groupby(["actor", "entry_day"])["level"].max()
    return time.perf_counter() - started


def polars_retention(data_dir: Path) -> float:
    import polars as pl

    started = time.perf_counter()
    orders = (
        pl.scan_parquet(data_dir / "orders.parquet")
        .filter(
            pl.col("paid_at").is_not_null() & ~pl.col("status").is_in(["cancelled", "refunded"])
        )
        .select(
            "user_id",
            pl.col("created_at")
            .str.to_datetime(time_zone="UTC", strict=False)
            .dt.truncate("1mo")
            .alias("month"),
        )
        .drop_nulls()
    )
    first = orders.group_by("user_id").agg(pl.col("month").min().alias("cohort"))
    active = orders.unique(["user_id", "month"]).join(first, on="user_id")
    grid = (
        active.with_columns(
            k=(pl.col("month").dt.year() - pl.col("cohort").dt.year()) * 12
            + pl.col("month").dt.month()
            - pl.col("cohort").dt.month()
        )
        .group_by("cohort", "k")
        .agg(pl.len().alias("retained"))
        .join(first.group_by("cohort").agg(pl.len().alias("size")), on="cohort")
        .with_columns(rate=pl.col("retained") / pl.col("size"))
        .collect()
    )
    assert grid.height > 0
    return time.perf_counter() - started


def pandas_retention(data_dir: Path) -> float:
    import pandas as pd

    started = time.perf_counter()
    orders = pd.read_parquet(
        data_dir / "orders.parquet", columns=["user_id", "created_at", "paid_at", "status"]
    )
    orders = orders[orders["paid_at"].notna() & ~orders["status"].isin(["cancelled", "refunded"])]
    created = pd.to_datetime(orders["created_at"], utc=True, errors="coerce", format="mixed")
    months = created.dt.tz_localize(None).dt.to_period("M")
    frame = pd.DataFrame({"user_id": orders["user_id"], "month": months}).dropna()
    frame = frame.drop_duplicates()
    frame["cohort"] = frame.groupby("user_id")["month"].transform("min")
    frame["k"] = (frame["month"] - frame["cohort"]).apply(lambda d: d.n)
    retained = frame.groupby(["cohort", "k"]).size()
    size = frame.groupby("cohort")["user_id"].nunique()
    (retained / size.reindex(retained.index.get_level_values(0)).to_numpy()).to_frame("rate")
    return time.perf_counter() - started


def _fmt_seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.1f} s"


def render(scale_name: str, scale: int, figures: dict) -> str:
    build = figures["build"]
    incremental = figures["incremental"]
    models = build["models"]
    funnel_model = models.get("intermediate/int_funnel_chains")
    retention_model = sum(
        models.get(key, 0.0) for key in ("intermediate/int_cohort_months", "marts/cohort_retention")
    )
    lines = [
        f"# Benchmark at {scale_name} touchpoints",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {figures['machine']}.",
        f"Rows: {figures['rows']}.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| generation (Parquet, zstd) | {_fmt_seconds(figures['generation'][0])}"
        + (" (measured when the data was generated)" if figures["generation"][1] else "")
        + " |",
        f"| full build, wall time (make run's command) | {_fmt_seconds(build['wall'])} |",
        f"| full build, peak RSS of the process tree | {build['peak_rss'] / 2**30:,.2f} GiB |",
        f"| one-day incremental run (partition {incremental['partition']}, lookback 3 days), "
        f"wall time | {_fmt_seconds(incremental['wall'])} "
        f"({incremental['wall'] / build['wall']:.0%} of the full build) |",
        f"| scan floor (one pass: count by user_id, DuckDB) | {_fmt_seconds(figures['scan'])} |",
        "",
        "## Purchase funnel per actor and entry day (windowFunnel, strict_increase, 7 days)",
        "",
        "| engine | seconds | vs chdb |",
        "|---|---|---|",
    ]
    chdb_time = figures["peers"].get("chdb funnel")
    peer_names = ("chdb funnel", "polars funnel", "pandas funnel")
    rows = [("warehouse: dbt int_funnel_chains", funnel_model)] + [
        (name, figures["peers"].get(name)) for name in peer_names
    ]
    for name, seconds in rows:
        ratio = f"{seconds / chdb_time:.2f}x" if seconds and chdb_time else ""
        lines.append(f"| {name} | {_fmt_seconds(seconds)} | {ratio} |")
    lines += [
        "",
        "## Monthly cohort retention",
        "",
        "| engine | seconds | vs polars |",
        "|---|---|---|",
    ]
    polars_time = figures["peers"].get("polars retention")
    rows = [("warehouse: dbt int_cohort_months + cohort_retention", retention_model)] + [
        (name, figures["peers"].get(name)) for name in ("polars retention", "pandas retention")
    ]
    for name, seconds in rows:
        ratio = f"{seconds / polars_time:.2f}x" if seconds and polars_time else ""
        lines.append(f"| {name} | {_fmt_seconds(seconds)} | {ratio} |")
    lines += _build_tables(build, models_total=True)
    lines += [
        "",
        "## One-day incremental run: dbt time per model (top 10)",
        "",
        "| model | seconds | full build |",
        "|---|---|---|",
    ]
    for key, seconds in sorted(incremental["models"].items(), key=lambda kv: -kv[1])[:10]:
        lines.append(f"| {key} | {seconds:,.1f} | {_fmt_seconds(models.get(key))} |")
    if figures.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {note}" for note in figures["notes"]]
    return "\n".join(lines) + "\n"


def _build_tables(build: dict, models_total: bool) -> list[str]:
    """Markdown: a build's top 10 dbt models (and their total) and its Dagster steps."""
    models = build["models"]
    lines = ["", "## dbt time per model (top 10)", "", "| model | seconds |", "|---|---|"]
    for key, seconds in sorted(models.items(), key=lambda kv: -kv[1])[:10]:
        lines.append(f"| {key} | {seconds:,.1f} |")
    if models_total:
        total = f"dbt models in total: {sum(models.values()):,.1f} s over {len(models)} models."
        lines += ["", total]
    lines += ["", "## Dagster steps", "", "| step | seconds |", "|---|---|"]
    for step, seconds in sorted(build["steps"].items(), key=lambda kv: -kv[1]):
        lines.append(f"| {step} | {seconds:,.1f} |")
    return lines


def _rows(data_dir: Path) -> str:
    import duckdb

    con = duckdb.connect()
    parts = []
    for name in ("users", "touchpoints", "orders"):
        path = data_dir / f"{name}.parquet"
        count = con.execute(
            f"select sum(num_rows) from parquet_file_metadata('{path}')"
        ).fetchone()[0]
        parts.append(f"{count:,} {name}")
    return ", ".join(parts)


def machine() -> str:
    import psutil

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = psutil.virtual_memory().total / 2**30
    python = platform.python_version()
    return f"{os.cpu_count()} cores ({cpu}), {memory:,.0f} GiB RAM, Python {python}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--scale", default="5m", help="touchpoints: 500k, 5m, 50m ...")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--memory-limit",
        help="only a full build, with DUCKDB_MEMORY_LIMIT set to this (e.g. 2GB); "
        "writes bench/results/<scale>-memory-<limit>.md",
    )
    args = parser.parse_args(argv)
    scale = parse_scale(args.scale)
    name = args.scale.strip().lower()
    data_dir = REPO / "bench" / "data" / name
    work_dir = REPO / "bench" / "work" / name
    notes: list[str] = []

    print(f"[bench] {name}: data in {data_dir}", file=sys.stderr)
    generation = generate(scale, data_dir)
    print(f"[bench] generation: {_fmt_seconds(generation[0])}", file=sys.stderr)
    if args.memory_limit:
        return memory_limited(name, data_dir, args.memory_limit)
    build = full_build(data_dir, work_dir)
    print(f"[bench] full build: {_fmt_seconds(build['wall'])}", file=sys.stderr)
    incremental = incremental_build(data_dir, work_dir)
    print(f"[bench] one-day incremental run: {_fmt_seconds(incremental['wall'])}", file=sys.stderr)
    scan = scan_floor(data_dir, args.threads)
    peers: dict[str, float] = {}
    for label, run in (
        ("chdb funnel", chdb_funnel),
        ("polars funnel", polars_funnel),
        ("polars retention", polars_retention),
    ):
        print(f"[bench] {label} ...", file=sys.stderr)
        peers[label] = run(data_dir)
    if scale <= PANDAS_MAX_TOUCHPOINTS:
        pandas_peers = (("pandas funnel", pandas_funnel), ("pandas retention", pandas_retention))
        for label, run in pandas_peers:
            print(f"[bench] {label} ...", file=sys.stderr)
            peers[label] = run(data_dir)
    else:
        notes.append(f"pandas runs only up to {PANDAS_MAX_TOUCHPOINTS:,} touchpoints.")
    notes.append(
        "The peers read the raw Parquet with actor = coalesce(user_id, anonymous_id): no identity "
        "stitching, consent filter, quarantine or parsing of the mixed timestamp formats beyond "
        "their engine's best-effort parser. The warehouse times are dbt's model times on staged, "
        "stitched touchpoints."
    )
    figures = {
        "machine": machine(),
        "rows": _rows(data_dir),
        "generation": generation,
        "build": build,
        "incremental": incremental,
        "scan": scan,
        "peers": peers,
        "notes": notes,
    }
    write_result(f"{name}.md", render(name, scale, figures))
    return 0


def memory_limited(name: str, data_dir: Path, limit: str) -> int:
    """A full build with DuckDB's memory limit set to ``limit``: does it complete, how long,
    and how much memory the process tree took (DuckDB's limit bounds its buffer manager, not
    the Python assets' own frames)."""
    label = re.sub(r"[^0-9a-z]+", "", limit.lower())
    work_dir = REPO / "bench" / "work" / f"{name}-memory-{label}"
    build = full_build(data_dir, work_dir, memory_limit=limit)
    print(f"[bench] full build at {limit}: {_fmt_seconds(build['wall'])}", file=sys.stderr)
    lines = [
        f"# Full build at {name} touchpoints with DUCKDB_MEMORY_LIMIT={limit}",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}.",
        f"Rows: {_rows(data_dir)}. Command: `python -m bench.run --scale {name} "
        f"--memory-limit {limit}`.",
        "",
        "| measure | value |",
        "|---|---|",
        "| completed | yes |",
        f"| full build, wall time | {_fmt_seconds(build['wall'])} |",
        f"| full build, peak RSS of the process tree | {build['peak_rss'] / 2**30:,.2f} GiB |",
    ]
    lines += _build_tables(build, models_total=False)
    write_result(f"{name}-memory-{label}.md", "\n".join(lines) + "\n")
    return 0


def write_result(filename: str, text: str) -> None:
    results = REPO / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=results, delete=False, suffix=".tmp") as out:
        out.write(text)
    os.replace(out.name, results / filename)
    print(text)


if __name__ == "__main__":
    raise SystemExit(main())
