"""LTV:CAC per acquisition channel, as marts.channel_performance_overall has it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from touchpoint_alchemy.report.figures import CORAL, TEAL, floats, layout
from touchpoint_alchemy.report.format import num
from touchpoint_alchemy.report.section import Section

if TYPE_CHECKING:
    import pandas as pd

READS = ("channel_performance_overall",)


def build(channel_performance_overall: pd.DataFrame) -> Section:
    import plotly.graph_objects as go

    section = Section(
        id="ltv-cac",
        title="LTV:CAC by acquisition channel (90-day LTV per new customer / CAC)",
        source="marts.channel_performance_overall (channels with spend and new customers)",
    )
    channels = floats(channel_performance_overall, "spend", "revenue", "ltv_90d_revenue")
    if not channels.empty:
        channels = channels[channels["ltv_to_cac"].notna()]
    if channels.empty:
        section.no_data = "No channel has both marketing spend and new customers."
        return section
    channels = channels.sort_values(["ltv_to_cac", "channel"], ascending=[False, True])
    fig = go.Figure(
        go.Bar(
            x=channels["channel"].tolist(),
            y=channels["ltv_to_cac"].tolist(),
            customdata=channels[["ltv_90d_per_new_customer", "cac", "new_customers"]].to_numpy(),
            marker={"color": TEAL},
            texttemplate="%{y:.1f}",
            hovertemplate="%{x}: LTV:CAC %{y:.1f}<br>90-day LTV %{customdata[0]:,.2f}, "
            "CAC %{customdata[1]:,.2f}, %{customdata[2]:,} new customers<extra></extra>",
        )
    )
    fig.add_hline(y=1, line_dash="dot", line_color=CORAL, annotation_text="break-even")
    fig.update_yaxes(title="LTV:CAC")
    section.figure = layout(fig, height=380, showlegend=False)
    best, worst = channels.iloc[0], channels.iloc[-1]
    section.takeaway = (
        f"{best['channel']} returns the most per acquisition cost: LTV:CAC "
        f"{best['ltv_to_cac']:.1f} (90-day LTV {num(best['ltv_90d_per_new_customer'], 2)} vs "
        f"CAC {num(best['cac'], 2)})"
        + (
            f"; {worst['channel']} the least ({worst['ltv_to_cac']:.1f})."
            if len(channels) > 1
            else "."
        )
    )
    if (channels["ltv_90d_is_complete"] == False).any():  # noqa: E712
        section.note = "Some recent customers' 90-day windows are still open, so LTV can grow."
    return section
