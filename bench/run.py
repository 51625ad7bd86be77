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
import os
import re
import sys
from pathlib import Path

from bench import REPO
from bench.alone import models_alone
from bench.build import full_build, generate, incremental_build
from bench.peers import (
    PANDAS_MAX_TOUCHPOINTS,
    chdb_funnel,
    pandas_funnel,
    pandas_retention,
    polars_funnel,
    polars_retention,
    scan_floor,
)
from bench.result_file import (
    fmt_seconds,
    machine,
    raw_rows,
    render,
    render_memory_limited,
    write_result,
)


def parse_scale(text: str) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([km]?)", text.strip().lower())
    if not match:
        raise SystemExit(f"SCALE must look like 500k, 5m or 50m, got {text!r}")
    number, unit = float(match.group(1)), match.group(2)
    return int(number * {"": 1, "k": 1_000, "m": 1_000_000}[unit])


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
    print(f"[bench] generation: {fmt_seconds(generation[0])}", file=sys.stderr)
    if args.memory_limit:
        return memory_limited(name, data_dir, args.memory_limit)
    build = full_build(data_dir, work_dir)
    print(f"[bench] full build: {fmt_seconds(build['wall'])}", file=sys.stderr)
    incremental = incremental_build(data_dir, work_dir)
    print(f"[bench] one-day incremental run: {fmt_seconds(incremental['wall'])}", file=sys.stderr)
    alone = models_alone(data_dir, work_dir)
    print(f"[bench] models alone: {alone}", file=sys.stderr)
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
        "rows": raw_rows(data_dir),
        "generation": generation,
        "build": build,
        "incremental": incremental,
        "scan": scan,
        "alone": alone,
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
    print(f"[bench] full build at {limit}: {fmt_seconds(build['wall'])}", file=sys.stderr)
    write_result(f"{name}-memory-{label}.md", render_memory_limited(name, limit, data_dir, build))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
