"""The benchmark's result file: the markdown tables written to ``bench/results/<scale>.md``."""

from __future__ import annotations

import os
import platform
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench import REPO

#: models measured one by one in every result file, whatever their rank (the newest marts)
WATCHED_MODELS = (
    "intermediate/int_order_lines",
    "marts/product_performance",
    "marts/product_performance_overall",
    "marts/category_performance",
    "marts/product_affinity",
    "intermediate/int_customer_products",
    "intermediate/int_customer_second_purchases",
    "marts/repeat_purchase_curve",
    "marts/early_churn",
    "marts/aarrr_benchmarks",
    "intermediate/int_actor_days",
    "intermediate/int_actor_event_days",
    "marts/active_users_daily",
    "marts/stickiness",
    "marts/activity_retention",
    "intermediate/int_session_paths",
    "intermediate/int_actor_path_transitions",
    "marts/paths",
    "intermediate/int_demand_daily",
    "intermediate/int_attribution_paths",
)


def fmt_seconds(value: float | None) -> str:
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
        f"| generation (Parquet, zstd) | {fmt_seconds(figures['generation'][0])}"
        + (" (measured when the data was generated)" if figures["generation"][1] else "")
        + " |",
        f"| full build, wall time (make run's command) | {fmt_seconds(build['wall'])} |",
        f"| full build, peak RSS of the process tree | {build['peak_rss'] / 2**30:,.2f} GiB |",
        f"| one-day incremental run (partition {incremental['partition']}, lookback 3 days), "
        f"wall time | {fmt_seconds(incremental['wall'])} "
        f"({incremental['wall'] / build['wall']:.0%} of the full build) |",
        f"| scan floor (one pass: count by user_id, DuckDB) | {fmt_seconds(figures['scan'])} |",
        "",
        "## Purchase funnel per actor and entry day (windowFunnel, strict_increase, 7 days)",
        "",
        "| engine | seconds | vs chdb |",
        "|---|---|---|",
    ]
    chdb_time = figures["peers"].get("chdb funnel")
    peer_names = ("chdb funnel", "polars funnel", "pandas funnel")
    alone = figures.get("alone", {})
    rows = [
        ("warehouse: dbt int_funnel_chains, in the full build", funnel_model),
        ("warehouse: dbt int_funnel_chains, alone (dbt run, full refresh)", alone.get("funnel")),
    ] + [(name, figures["peers"].get(name)) for name in peer_names]
    for name, seconds in rows:
        ratio = f"{seconds / chdb_time:.2f}x" if seconds and chdb_time else ""
        lines.append(f"| {name} | {fmt_seconds(seconds)} | {ratio} |")
    lines += [
        "",
        "## Monthly cohort retention",
        "",
        "| engine | seconds | vs polars |",
        "|---|---|---|",
    ]
    polars_time = figures["peers"].get("polars retention")
    rows = [
        ("warehouse: dbt int_cohort_months + cohort_retention, in the full build", retention_model),
        ("warehouse: the same models, alone (one dbt run, full refresh)", alone.get("retention")),
    ] + [(name, figures["peers"].get(name)) for name in ("polars retention", "pandas retention")]
    for name, seconds in rows:
        ratio = f"{seconds / polars_time:.2f}x" if seconds and polars_time else ""
        lines.append(f"| {name} | {fmt_seconds(seconds)} | {ratio} |")
    lines += peak_rss_by_step(build)
    lines += build_tables(build, models_total=True)
    lines += one_day_steps(build, incremental)
    lines += [
        "",
        "## Product, repeat-purchase and activity models (issues #20, #21)",
        "",
        "| model | full build | one-day run |",
        "|---|---|---|",
    ]
    for key in WATCHED_MODELS:
        lines.append(
            f"| {key} | {fmt_seconds(models.get(key))} | "
            f"{fmt_seconds(incremental['models'].get(key))} |"
        )
    lines += [
        "",
        "## One-day incremental run: dbt time per model (top 10)",
        "",
        "| model | seconds | full build |",
        "|---|---|---|",
    ]
    for key, seconds in sorted(incremental["models"].items(), key=lambda kv: -kv[1])[:10]:
        lines.append(f"| {key} | {seconds:,.1f} | {fmt_seconds(models.get(key))} |")
    if figures.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {note}" for note in figures["notes"]]
    return "\n".join(lines) + "\n"


def render_memory_limited(name: str, limit: str, data_dir: Path, build: dict) -> str:
    """The result file of a full build with ``DUCKDB_MEMORY_LIMIT`` set to ``limit``."""
    lines = [
        f"# Full build at {name} touchpoints with DUCKDB_MEMORY_LIMIT={limit}",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}.",
        f"Rows: {raw_rows(data_dir)}. Command: `python -m bench.run --scale {name} "
        f"--memory-limit {limit}`.",
        "",
        "| measure | value |",
        "|---|---|",
        "| completed | yes |",
        f"| full build, wall time | {fmt_seconds(build['wall'])} |",
        f"| full build, peak RSS of the process tree | {build['peak_rss'] / 2**30:,.2f} GiB |",
    ]
    lines += peak_rss_by_step(build)
    lines += build_tables(build, models_total=False)
    return "\n".join(lines) + "\n"


def build_tables(build: dict, models_total: bool) -> list[str]:
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


def peak_rss_by_step(build: dict, top: int = 8) -> list[str]:
    """Markdown: what holds the full build's peak memory. Per Dagster step (the ``top`` highest),
    the process tree's highest RSS while it ran and, at that moment, the Dagster process's own
    RSS (the Python steps run in it: in-process executor) and its dbt subprocesses'."""
    memory = build.get("memory")
    if not memory:
        return []
    ranked = sorted(memory.items(), key=lambda kv: -kv[1]["peak"])
    step, worst = ranked[0]
    holders = {"the Dagster process": "process", "dbt": "dbt", "other subprocesses": "other"}
    held = max(holders, key=lambda name: worst[holders[name]])
    lines = [
        "",
        "## Peak RSS by step (full build)",
        "",
        f"The peak, {gib(worst['peak'])} GiB, was during `{step}`, held by {held}: "
        f"{gib(worst['process'])} GiB in the Dagster process (which runs the Python steps), "
        f"{gib(worst['dbt'])} GiB in dbt, {gib(worst['other'])} GiB in other subprocesses.",
        "",
        "| step | peak RSS of the tree | Dagster process | dbt | other subprocesses |",
        "|---|---|---|---|---|",
    ]
    for step, figures in ranked[:top]:
        lines.append(
            f"| {step} | {gib(figures['peak'])} GiB | {gib(figures['process'])} GiB | "
            f"{gib(figures['dbt'])} GiB | {gib(figures['other'])} GiB |"
        )
    return lines


def gib(value: int) -> str:
    return f"{value / 2**30:,.2f}"


def one_day_steps(build: dict, incremental: dict) -> list[str]:
    """Markdown: the one-day run's Dagster steps beside the full build's (the daily run scores
    with the stored models, so its scoring steps are where the two differ most)."""
    lines = ["", "## One-day incremental run: Dagster steps", ""]
    lines += ["| step | seconds | full build |", "|---|---|---|"]
    for step, seconds in sorted(incremental["steps"].items(), key=lambda kv: -kv[1]):
        full = build["steps"].get(step)
        lines.append(f"| {step} | {seconds:,.1f} | {fmt_seconds(full)} |")
    return lines


def raw_rows(data_dir: Path) -> str:
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


#: a section of a result file a person wrote (``## ... (written by hand)``): kept by a re-run
HAND_WRITTEN = re.compile(r"^## [^\n]*\(written by hand\)$.*?(?=^## |\Z)", re.M | re.S)


def hand_written_sections(previous: str) -> str:
    """The hand-written sections of a result file, to carry over when a run rewrites it (their
    figures then name the run they came from; the docs link to them)."""
    return "".join(match.group(0).rstrip() + "\n\n" for match in HAND_WRITTEN.finditer(previous))


def write_result(filename: str, text: str) -> None:
    results = REPO / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    target = results / filename
    if target.exists():
        kept = hand_written_sections(target.read_text())
        if kept:
            text = text.rstrip() + "\n\n" + kept.rstrip() + "\n"
    with tempfile.NamedTemporaryFile("w", dir=results, delete=False, suffix=".tmp") as out:
        out.write(text)
    os.replace(out.name, target)
    print(text)
