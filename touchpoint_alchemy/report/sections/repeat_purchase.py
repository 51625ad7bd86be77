"""The repeat-purchase curve of the latest cohorts, with the 30-day early churn against its
benchmark (marts.repeat_purchase_curve, marts.early_churn)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from touchpoint_alchemy.report.figures import CORAL, DARK, GREY, SAND, TEAL, layout
from touchpoint_alchemy.report.format import month, num, pct
from touchpoint_alchemy.report.section import Section

if TYPE_CHECKING:
    import pandas as pd

READS = ("repeat_purchase_curve", "early_churn")
#: cohorts drawn: the latest ones with a complete 30-day window
COHORTS = 4
DAY = 30
PALETTE = (DARK, TEAL, SAND, GREY)


def build(repeat_purchase_curve: pd.DataFrame, early_churn: pd.DataFrame) -> Section:
    import plotly.graph_objects as go

    section = Section(
        id="repeat-purchase",
        title="Repeat purchase: share of each cohort back for a second purchase within d days",
        source="marts.repeat_purchase_curve (eligible days only) and marts.early_churn (no "
        "purchase and no visit within 30 days of the first purchase, against the benchmark)",
    )
    curve = repeat_purchase_curve
    if not curve.empty:
        curve = curve[curve["eligible"] == True]  # noqa: E712
    if curve.empty or early_churn.empty:
        section.no_data = "No first-purchase cohort has a complete 30-day window yet."
        return section
    closed = sorted(early_churn["cohort_month"].unique())[-COHORTS:]
    fig = go.Figure()
    for color, cohort in zip(PALETTE, reversed(closed), strict=False):
        rows = curve[curve["cohort_month"] == cohort].sort_values("days_since_first_purchase")
        fig.add_trace(
            go.Scatter(
                x=rows["days_since_first_purchase"].tolist(),
                y=rows["second_purchase_rate"].tolist(),
                mode="lines",
                name=month(cohort),
                line={"color": color},
                hovertemplate=f"cohort {month(cohort)}, day %{{x}}: %{{y:.1%}} bought again"
                "<extra></extra>",
            )
        )
    fig.add_vline(x=DAY, line_dash="dot", line_color=CORAL, annotation_text=f"day {DAY}")
    fig.update_xaxes(title="days since the first purchase")
    fig.update_yaxes(title="bought again", tickformat=".0%", rangemode="tozero")
    section.figure = layout(fig, height=420)
    latest = early_churn[early_churn["cohort_month"] == closed[-1]].iloc[0]
    verdict = "better than" if latest["gap"] <= 0 else "worse than"
    section.takeaway = (
        f"{pct(latest['churn_30d_rate'], 1)} of the {month(latest['cohort_month'])} cohort "
        f"({num(latest['customers'])} customers) neither bought nor visited within {DAY} days "
        f"of their first purchase, {verdict} the benchmark of "
        f"{pct(latest['benchmark_churn_30d_rate'])}; the median second purchase came after "
        f"{num(latest['median_days_to_second_purchase'], 1)} days."
    )
    return section
