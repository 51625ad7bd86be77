"""AARRR against benchmarks: each stage's latest monthly value over its benchmark
(marts.aarrr_benchmarks; the benchmarks are dbt_seeds/benchmarks.csv, which you edit)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from touchpoint_alchemy.report.figures import CORAL, TEAL, floats, layout
from touchpoint_alchemy.report.format import month
from touchpoint_alchemy.report.section import Section

if TYPE_CHECKING:
    import pandas as pd

READS = ("aarrr_benchmarks",)
#: the stages in funnel order (a stage not listed goes last)
STAGES = ("awareness", "acquisition", "activation", "retention", "revenue", "referral")


def _value(value: float, unit: str) -> str:
    """A rate (the seed's unit says "fraction of ...") as a percentage, else a number."""
    if str(unit).startswith("fraction"):
        return f"{value:.1%}"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def build(aarrr_benchmarks: pd.DataFrame) -> Section:
    import plotly.graph_objects as go

    section = Section(
        id="aarrr-benchmarks",
        title="AARRR against benchmarks: each metric's latest month over its benchmark",
        source="marts.aarrr_benchmarks (status better or worse as the mart sets it, aware of "
        "whether higher is better); benchmarks from dbt_seeds/benchmarks.csv",
    )
    rows = floats(aarrr_benchmarks, "current_value", "benchmark_value", "gap")
    if not rows.empty:
        rows = rows[rows["status"].notna() & (rows["benchmark_value"] != 0)]
    if rows.empty:
        section.no_data = "No month has a value for a benchmarked metric yet."
        return section
    latest = rows.sort_values("month").groupby("metric", sort=False).tail(1)
    order = {stage: i for i, stage in enumerate(STAGES)}
    latest = latest.assign(_order=latest["stage"].map(order).fillna(len(STAGES)))
    latest = latest.sort_values(["_order", "metric"])
    ratio = (latest["current_value"] / latest["benchmark_value"]).tolist()
    texts = [
        f"{_value(r['current_value'], r['unit'])} vs {_value(r['benchmark_value'], r['unit'])}"
        f" ({month(r['month'])})"
        for _, r in latest.iterrows()
    ]
    fig = go.Figure(
        go.Bar(
            x=ratio,
            y=latest["metric"].tolist(),
            orientation="h",
            text=texts,
            marker={"color": [TEAL if s == "better" else CORAL for s in latest["status"]]},
            hovertemplate="%{y}: %{text}, %{x:.2f}x the benchmark<extra></extra>",
        )
    )
    fig.add_vline(x=1, line_dash="dot", line_color="#555", annotation_text="benchmark")
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(title="latest value / benchmark")
    section.figure = layout(fig, height=380, showlegend=False)
    worse = latest[latest["status"] == "worse"]["metric"].tolist()
    better = latest[latest["status"] == "better"]["metric"].tolist()
    section.takeaway = (
        f"Worse than the benchmark: {', '.join(worse)}; "
        if worse
        else "No metric is worse than its benchmark; "
    ) + (f"better: {', '.join(better)}." if better else "none is better.")
    return section
