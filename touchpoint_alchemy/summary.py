"""Print what a build produced: every table with its row count, and the headline metrics.

Usage: ``python -m touchpoint_alchemy.summary`` (``make run`` calls it). It only reads the
warehouse (read-only); the figures themselves are computed by the dbt mart
``marts.headline_metrics``.
"""

from __future__ import annotations

import sys

import duckdb

from touchpoint_alchemy.settings import Settings

SCHEMAS = ("staging", "intermediate", "marts", "scoring", "audit")


def _format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "ratio":
        return f"{value:.1%}"
    if unit == "customers":
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def render(con: duckdb.DuckDBPyConnection) -> str:
    lines = []
    tables = con.execute(
        "select table_schema, table_name, table_type from information_schema.tables "
        "where table_catalog = current_database() and table_schema in "
        f"({', '.join(repr(s) for s in SCHEMAS)}) order by table_schema, table_name"
    ).fetchall()
    lines.append("Tables built")
    for schema, name, kind in tables:
        count = con.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0]
        label = "view " if kind == "VIEW" else "table"
        lines.append(f"  {label} {schema + '.' + name:<45} {count:>10,} rows")
    rejected = con.execute(
        "select source, reason, count(*) from audit.rejected_rows group by all order by all"
    ).fetchall()
    lines.append("")
    lines.append(f"Quarantined rows (audit.rejected_rows): {sum(r[2] for r in rejected):,}")
    for source, reason, count in rejected:
        lines.append(f"  {source:<24} {reason:<24} {count:>6,}")
    cutoff = con.execute("select data_cutoff_at from intermediate.int_data_cutoff").fetchone()
    lines.append("")
    lines.append(f"Headline metrics (as of the data cutoff {cutoff[0] if cutoff else 'n/a'})")
    for metric, value, unit in con.execute(
        "select metric, metric_value, unit from marts.headline_metrics order by metric"
    ).fetchall():
        lines.append(f"  {metric:<32} {_format_value(value, unit):>14}")

    lines.append("")
    lines.append("Top touchpoints by payment-abandoner lift (marts.touchpoint_value_overall)")
    for touchpoint, lift, abandoners, converters in con.execute(
        "select touchpoint, abandoner_lift, share_of_abandoners, share_of_converters "
        "from marts.touchpoint_value_overall where abandoner_lift is not null "
        "order by abandoner_lift desc, touchpoint limit 3"
    ).fetchall():
        lines.append(
            f"  {touchpoint:<24} lift {lift:>5.1f}x  "
            f"({abandoners:.0%} of abandoners vs {converters:.0%} of converters)"
        )

    best = con.execute(
        "select channel, ltv_to_cac, ltv_90d_per_new_customer, cac "
        "from marts.channel_performance_overall where ltv_to_cac is not null "
        "order by ltv_to_cac desc, channel limit 1"
    ).fetchone()
    lines.append("")
    if best:
        channel, ratio, ltv, cac = best
        lines.append(
            f"Best LTV:CAC channel (marts.channel_performance_overall): {channel} "
            f"({ratio:.1f}: 90-day LTV {ltv:,.2f} per new customer, CAC {cac:,.2f})"
        )
    else:
        lines.append("Best LTV:CAC channel: n/a (no channel has both spend and new customers)")
    return "\n".join(lines)


def main() -> int:
    settings = Settings.from_env()
    if not settings.warehouse_path.exists():
        print(f"No warehouse at {settings.warehouse_path}: run `make run` first.", file=sys.stderr)
        return 1
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        print(f"Warehouse: {settings.warehouse_path}")
        print(f"Raw data:  {settings.raw_data_dir}")
        print()
        print(render(con))
    finally:
        con.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
