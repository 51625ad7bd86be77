"""Which touchpoints payment abandoners use more than converters
(marts.touchpoint_value_overall)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from touchpoint_alchemy.report.figures import CORAL, TEAL, layout
from touchpoint_alchemy.report.format import pct
from touchpoint_alchemy.report.section import Section

if TYPE_CHECKING:
    import pandas as pd

READS = ("touchpoint_value_overall",)


def build(touchpoint_value_overall: pd.DataFrame) -> Section:
    import plotly.graph_objects as go

    section = Section(
        id="touchpoint-value",
        title="Touchpoint value: which touchpoints payment abandoners use more than converters",
        source="marts.touchpoint_value_overall (share of each group that had the touchpoint)",
    )
    value = touchpoint_value_overall
    if not value.empty:
        value = value[value["abandoner_lift"].notna()]
    if value.empty:
        section.no_data = "No payment converters and abandoners to compare."
        return section
    value = value.sort_values(["abandoner_lift", "touchpoint"], ascending=[True, False])
    fig = go.Figure()
    for column, name, color in (
        ("share_of_converters", "converters", TEAL),
        ("share_of_abandoners", "payment abandoners", CORAL),
    ):
        fig.add_trace(
            go.Bar(
                y=value["touchpoint"].tolist(),
                x=value[column].tolist(),
                orientation="h",
                name=name,
                marker={"color": color},
                customdata=value["abandoner_lift"].tolist(),
                hovertemplate=f"%{{y}}: %{{x:.0%}} of {name} (lift %{{customdata:.1f}}x)"
                "<extra></extra>",
            )
        )
    fig.update_xaxes(tickformat=".0%", title="share of the group with the touchpoint")
    section.figure = layout(fig, height=max(360, 28 * len(value) + 120), barmode="group")
    top = value.iloc[-1]
    section.takeaway = (
        f"{pct(top['share_of_abandoners'])} of payment abandoners had {top['touchpoint']}, vs "
        f"{pct(top['share_of_converters'])} of converters ({top['abandoner_lift']:.1f}x lift)."
    )
    return section
