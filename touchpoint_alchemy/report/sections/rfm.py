"""Customers, net revenue and expected CLV per RFM segment (marts.rfm_segments)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from touchpoint_alchemy.report.figures import DARK, SAND, TEAL, floats, layout
from touchpoint_alchemy.report.format import num, pct
from touchpoint_alchemy.report.section import Section

if TYPE_CHECKING:
    import pandas as pd

READS = ("rfm_segments",)


def build(rfm_segments: pd.DataFrame) -> Section:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    section = Section(
        id="rfm",
        title="RFM segments: customers and value",
        source="marts.rfm_segments (net revenue to date, expected 12-month CLV)",
    )
    if rfm_segments.empty:
        section.no_data = "No scored customers in marts.rfm_segments."
        return section
    segments = floats(rfm_segments, "net_revenue", "total_clv_12m")
    segments = segments.sort_values(["net_revenue", "rfm_segment"], ascending=[False, True])
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("customers", "net revenue and expected 12-month CLV")
    )
    names = segments["rfm_segment"].tolist()
    fig.add_trace(
        go.Bar(x=names, y=segments["customers"].tolist(), name="customers", marker_color=DARK),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Bar(x=names, y=segments["net_revenue"].tolist(), name="net revenue", marker_color=TEAL),
        row=1,
        col=2,
    )
    if segments["total_clv_12m"].notna().any():
        fig.add_trace(
            go.Bar(
                x=names,
                y=segments["total_clv_12m"].fillna(0).tolist(),
                name="CLV 12m",
                marker_color=SAND,
            ),
            row=1,
            col=2,
        )
    section.figure = layout(fig, height=440, barmode="group")
    top = segments.iloc[0]
    largest = segments.sort_values(["customers", "rfm_segment"], ascending=[False, True]).iloc[0]
    section.takeaway = (
        f"{top['rfm_segment']} are {pct(top['share_of_customers'])} of customers and bring "
        f"{pct(top['share_of_net_revenue'])} of net revenue; {largest['rfm_segment']} is the "
        f"largest segment ({num(largest['customers'])} customers)."
    )
    return section
