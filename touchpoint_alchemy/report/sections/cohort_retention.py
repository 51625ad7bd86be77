"""Cohort retention heatmap: the share of each first-purchase cohort buying again in month k
(marts.cohort_retention); the takeaway's overall month-1 rate is headline_metrics'."""

from __future__ import annotations

from typing import TYPE_CHECKING

from touchpoint_alchemy.report.figures import layout
from touchpoint_alchemy.report.format import month, num, pct, plural
from touchpoint_alchemy.report.section import Section
from touchpoint_alchemy.report.sections.headline import headline

if TYPE_CHECKING:
    import pandas as pd

READS = ("cohort_retention", "headline_metrics")
MONTH_1_RETENTION = "month-1 retention"


def build(cohort_retention: pd.DataFrame, headline_metrics: pd.DataFrame) -> Section:
    import plotly.graph_objects as go

    section = Section(
        id="cohort-retention",
        title="Cohort retention: share of each first-purchase cohort buying again in month k",
        source="marts.cohort_retention (month 0 is 100% by definition and left out); the "
        "month-1 rate of all cohorts from marts.headline_metrics",
    )
    later = cohort_retention
    if not later.empty:
        later = later[later["months_since_first_order"] >= 1]
    if later.empty:
        section.no_data = "No cohort has a month after its first purchase yet."
        return section
    later = later.assign(cohort=later["cohort_month"].map(month))
    grid = later.pivot(index="cohort", columns="months_since_first_order", values="retention_rate")
    grid = grid.sort_index(ascending=False)
    fig = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=[f"M{k}" for k in grid.columns],
            y=grid.index.tolist(),
            colorscale="Blues",
            zmin=0,
            texttemplate="%{z:.0%}",
            hovertemplate="cohort %{y}, %{x}: %{z:.1%} active<extra></extra>",
            colorbar={"tickformat": ".0%"},
        )
    )
    fig.update_yaxes(type="category")
    section.figure = layout(fig, height=460)
    month1 = later[later["months_since_first_order"] == 1]
    if month1.empty:
        return section
    best = month1.sort_values(["retention_rate", "cohort"], ascending=[False, True]).iloc[0]
    section.takeaway = (
        f"{pct(headline(headline_metrics, MONTH_1_RETENTION))} of customers buy again in the "
        f"month after their first purchase ({plural(len(month1), 'cohort')}); the "
        f"{best['cohort']} cohort retains best ({pct(best['retention_rate'])} of "
        f"{num(best['cohort_size'])})."
    )
    return section
