"""Print what a build produced: every table with its row count, and the headline metrics.

Usage: ``python -m touchpoint_alchemy.summary`` (``make run`` calls it). It only reads the
warehouse (read-only); the figures themselves are computed by the dbt mart
``marts.headline_metrics``. The tables it reads are the dbt exposure ``run_summary``
(``dbt_project/models/exposures.yml``), found in the manifest by name.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from functools import cache

import duckdb

from touchpoint_alchemy import catalog, exports
from touchpoint_alchemy.report.files import default_report_path
from touchpoint_alchemy.report.inputs import Relation, exposure_inputs, load_manifest
from touchpoint_alchemy.scoring import (
    GAMMA_GAMMA_EXCLUDED,
    NOT_CONVERGED_SUFFIX,
    Metric,
    ModelStatus,
    model_status,
)
from touchpoint_alchemy.settings import DBT_PROJECT_DIR, Settings
from touchpoint_alchemy.sql import quote_relation

SCHEMAS = ("staging", "intermediate", "marts", "scoring", "audit")
#: the dbt exposure that lists the tables the summary reads
SUMMARY_EXPOSURE = "run_summary"
#: the model_metrics rows of the recommendations
RECOMMENDATIONS = "product_recommendations"


@cache
def _relations() -> Mapping[str, Relation]:
    manifest = load_manifest(DBT_PROJECT_DIR / "target" / "manifest.json")
    return exposure_inputs(manifest, SUMMARY_EXPOSURE)


def _table(name: str) -> str:
    """``schema.table`` of table ``name`` of the exposure, as the summary prints it."""
    relation = _relations()[name]
    return f"{relation.schema}.{relation.identifier}"


def _sql(name: str) -> str:
    """Table ``name`` of the exposure, quoted for SQL."""
    relation = _relations()[name]
    return f'"{relation.schema}"."{relation.identifier}"'


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
    tables = catalog.tables(con, schemas=SCHEMAS)
    lines.append("Tables built")
    for schema, name, kind in tables:
        count = con.execute(f"select count(*) from {quote_relation(schema, name)}").fetchone()[0]
        label = "view " if kind == catalog.VIEW else "table"
        lines.append(f"  {label} {schema + '.' + name:<45} {count:>10,} rows")
    rejected = con.execute(
        f"select source, reason, count(*) from {_sql('rejected_rows')} group by all order by all"
    ).fetchall()
    lines.append("")
    lines.append(f"Quarantined rows ({_table('rejected_rows')}): {sum(r[2] for r in rejected):,}")
    for source, reason, count in rejected:
        lines.append(f"  {source:<24} {reason:<24} {count:>6,}")
    cutoff = con.execute(f"select data_cutoff_at from {_sql('int_data_cutoff')}").fetchone()
    lines.append("")
    lines.append(f"Headline metrics (as of the data cutoff {cutoff[0] if cutoff else 'n/a'})")
    for metric, value, unit in con.execute(
        f"select metric, metric_value, unit from {_sql('headline_metrics')} order by metric"
    ).fetchall():
        lines.append(f"  {metric:<32} {_format_value(value, unit):>14}")

    lines.append("")
    lines.append(
        f"Top touchpoints by payment-abandoner lift ({_table('touchpoint_value_overall')})"
    )
    for touchpoint, lift, abandoners, converters in con.execute(
        "select touchpoint, abandoner_lift, share_of_abandoners, share_of_converters "
        f"from {_sql('touchpoint_value_overall')} where abandoner_lift is not null "
        "order by abandoner_lift desc, touchpoint limit 3"
    ).fetchall():
        lines.append(
            f"  {touchpoint:<24} lift {lift:>5.1f}x  "
            f"({abandoners:.0%} of abandoners vs {converters:.0%} of converters)"
        )

    best = con.execute(
        "select channel, ltv_to_cac, ltv_90d_per_new_customer, cac "
        f"from {_sql('channel_performance_overall')} where ltv_to_cac is not null "
        "order by ltv_to_cac desc, channel limit 1"
    ).fetchone()
    lines.append("")
    if best:
        channel, ratio, ltv, cac = best
        lines.append(
            f"Best LTV:CAC channel ({_table('channel_performance_overall')}): {channel} "
            f"({ratio:.1f}: 90-day LTV {ltv:,.2f} per new customer, CAC {cac:,.2f})"
        )
    else:
        lines.append("Best LTV:CAC channel: n/a (no channel has both spend and new customers)")
    lines.append(_early_churn_line(con))
    lines.append("")
    lines.extend(_scoring_lines(con))
    return "\n".join(lines)


def _early_churn_line(con: duckdb.DuckDBPyConnection) -> str:
    """The latest closed first-purchase cohort's 30-day early churn against its benchmark."""
    latest = con.execute(
        "select cohort_month, customers, churn_30d_rate, benchmark_churn_30d_rate, gap "
        f"from {_sql('early_churn')} order by cohort_month desc limit 1"
    ).fetchone()
    if latest is None:
        return f"Early churn ({_table('early_churn')}): n/a (no cohort's window has closed yet)"
    cohort, customers, rate, benchmark, gap = latest
    if benchmark is None:
        verdict = "no benchmark"
    else:
        verdict = f"{'better' if gap <= 0 else 'worse'} than the benchmark {benchmark:.0%}"
    return (
        f"Early churn ({_table('early_churn')}): {rate:.1%} of the {cohort:%Y-%m} cohort "
        f"({customers:,} customers) neither bought nor visited within 30 days, {verdict}"
    )


def _metrics(con: duckdb.DuckDBPyConnection, model: str) -> dict[str, Metric]:
    rows = con.execute(
        f"select metric, value, n, detail from {_sql('model_metrics')} where model = ?", [model]
    ).fetchall()
    return {metric: Metric(value, n, detail) for metric, value, n, detail in rows}


def _no_scores(label: str, status: ModelStatus) -> list[str]:
    """The line of a model without scores: which model, and why (model_metrics' detail)."""
    return [f"  {label:<22} {status.describe()}"]


def _scoring_lines(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The fitted CLV parameters, the churn model against its baseline, the clusters; for a
    model without scores, why; for a fit that did not converge, that it did not."""
    lines = [f"Predictive scores ({_table('model_metrics')})"]
    clv = _metrics(con, "clv")
    status = model_status("clv", clv)
    parameters = con.execute(
        "select model, parameter, value, log_likelihood, n_customers "
        f"from {_sql('clv_model_parameters')} order by model, parameter"
    ).fetchall()
    if status.has_scores and parameters:
        for model in ("bg_nbd", "gamma_gamma"):
            rows = [r for r in parameters if r[0] == model]
            values = ", ".join(f"{r[1]} {r[2]:.4g}" for r in rows)
            warning = clv.get(f"{model}{NOT_CONVERGED_SUFFIX}")
            if warning is not None:
                lines.append(
                    f"  CLV {model:<12} DID NOT CONVERGE, not a clean fit: {warning.detail}"
                )
                lines.append(f"  {'':<16} last values {values} ({rows[0][4]:,} customers)")
                continue
            lines.append(
                f"  CLV {model:<12} {values}  (log-likelihood {rows[0][3]:,.1f}, "
                f"{rows[0][4]:,} customers)"
            )
        excluded = clv.get(GAMMA_GAMMA_EXCLUDED)
        if excluded is not None and excluded.n:
            lines.append(
                f"  CLV spend              {excluded.n:,} repeat customers with a mean repeat "
                "spend <= 0 left out of Gamma-Gamma (expected order value: the population mean)"
            )
        if "holdout_mae" in clv:
            lines.append(
                f"  CLV holdout            predicted {clv['holdout_predicted_purchases'][0]:,.1f} "
                f"vs actual {clv['holdout_actual_purchases'][0]:,.0f} repeat purchases "
                f"({clv['holdout_aggregate_error'][0]:+.1%}), "
                f"MAE {clv['holdout_mae'][0]:.3f} per customer"
                + (" (did not converge)" if "holdout_not_converged" in clv else "")
            )
        elif "holdout_not_fitted" in clv:
            lines.append(f"  CLV holdout            not fitted: {clv['holdout_not_fitted'].detail}")
    else:
        lines += _no_scores("CLV", status)
    churn = _metrics(con, "churn")
    if "holdout_auc" in churn:
        auc, baseline = churn["holdout_auc"][0], churn["baseline_recency_auc"][0]
        verdict = "beats" if auc > baseline else "does NOT beat"
        lines.append(
            f"  Churn holdout AUC      {auc:.3f} {verdict} the recency-only baseline "
            f"{baseline:.3f} (Brier {churn['holdout_brier'][0]:.3f}, "
            f"{churn['holdout_auc'][1]:,} customers)"
        )
    else:
        lines += _no_scores("Churn", model_status("churn", churn))
    clusters = _metrics(con, "clusters")
    if "k" in clusters:
        names = con.execute(
            f"select cluster_name, customers from {_sql('cluster_profiles')} order by cluster_id"
        ).fetchall()
        lines.append(
            f"  Clusters               k = {clusters['k'][0]:.0f} "
            f"(silhouette {clusters['silhouette'][0]:.3f}): "
            + "; ".join(f"{name} ({count:,})" for name, count in names)
        )
    else:
        lines += _no_scores("Clusters", model_status("clusters", clusters))
    lines += _recommendation_lines(_metrics(con, RECOMMENDATIONS))
    return lines


def _recommendation_lines(metrics: Mapping[str, Metric]) -> list[str]:
    """The recommendations' hit rate and recall at 10 on the holdout against popularity."""
    hit, hit_popular = metrics.get("hit_rate_at_10"), metrics.get("hit_rate_at_10_popularity")
    if hit is None or hit.value is None or hit_popular is None or hit_popular.value is None:
        detail = hit.detail if hit is not None and hit.detail else "no holdout evaluation"
        return [f"  {'Recommendations':<22} not evaluated: {detail}"]
    verdict = "beats" if hit.value > hit_popular.value else "does NOT beat"
    recall, recall_popular = metrics["recall_at_10"], metrics["recall_at_10_popularity"]
    return [
        f"  {'Recommendations':<22} hit rate@10 {hit.value:.1%} {verdict} popularity "
        f"{hit_popular.value:.1%} (recall@10 {recall.value:.1%} vs {recall_popular.value:.1%}; "
        f"{hit.n:,} customers in the holdout)"
    ]


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
    report = default_report_path(settings.warehouse_path)
    links = []
    if report.exists():
        links.append(f"Journey report (open in a browser): {report}")
    if exports.current_set(settings.warehouse_path) is not None:
        links.append(
            f"Marts as Parquet (BI tools):         {exports.current_link(settings.warehouse_path)}"
        )
    if links:
        print()
        print("\n".join(links))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
