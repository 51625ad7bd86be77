"""Cohort LTV curves: cumulative revenue per customer by months since first purchase
(marts.cohort_ltv); the takeaway's 6-month LTV of all cohorts is headline_metrics'."""

from __future__ import annotations

from typing import TYPE_CHECKING

from touchpoint_alchemy.report.figures import floats, layout
from touchpoint_alchemy.report.format import month, num, plural
from touchpoint_alchemy.report.section import Section
from touchpoint_alchemy.report.sections.headline import headline

if TYPE_CHECKING:
    import pandas as pd

READS = ("cohort_ltv", "headline_metrics")
LTV_AT_6_MONTHS = "LTV at 6 months"
HORIZON = 6


def build(cohort_ltv: pd.DataFrame, headline_metrics: pd.DataFrame) -> Section:
    import plotly.graph_objects as go

    section = Section(
        id="cohort-ltv",
        title="Cohort LTV: cumulative revenue per customer by months since first purchase",
        source="marts.cohort_ltv; the 6-month LTV of all cohorts from marts.headline_metrics",
    )
    if cohort_ltv.empty:
        section.no_data = "No customers in marts.cohort_ltv."
        return section
    ltv = floats(cohort_ltv, "revenue", "cumulative_revenue", "ltv_per_customer")
    ltv["cohort"] = ltv["cohort_month"].map(month)
    fig = go.Figure()
    for cohort, rows in ltv.sort_values(["cohort", "months_since_first_order"]).groupby("cohort"):
        fig.add_trace(
            go.Scatter(
                x=rows["months_since_first_order"],
                y=rows["ltv_per_customer"],
                mode="lines+markers",
                name=cohort,
                customdata=rows["cohort_size"],
                hovertemplate=f"{cohort}, month %{{x}}: %{{y:,.2f}} per customer"
                " (%{customdata:,} customers)<extra></extra>",
            )
        )
    fig.update_xaxes(title="months since first purchase", dtick=1)
    fig.update_yaxes(title="cumulative revenue per customer")
    section.figure = layout(fig, height=440)
    section.takeaway = _takeaway(ltv, headline(headline_metrics, LTV_AT_6_MONTHS))
    return section


def _takeaway(ltv: pd.DataFrame, ltv_6: float | None) -> str:
    horizon = min(HORIZON, int(ltv["months_since_first_order"].max()))
    at = ltv[ltv["months_since_first_order"] == horizon]
    best = at.sort_values(["ltv_per_customer", "cohort"], ascending=[False, True]).iloc[0]
    best_text = f"{best['cohort']}, reached {num(best['ltv_per_customer'], 2)}"
    if horizon == HORIZON and ltv_6 is not None:
        return (
            f"By month {HORIZON} a customer has brought {num(ltv_6, 2)} on average "
            f"({plural(len(at), 'cohort')} with {HORIZON} months of history); the best cohort, "
            f"{best_text}."
        )
    return (
        f"No cohort has {HORIZON} months of history yet; by month {horizon}, the best cohort, "
        f"{best_text} per customer."
    )
