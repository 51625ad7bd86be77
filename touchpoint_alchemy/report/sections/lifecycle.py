"""New, returning, resurrecting and dormant actors per month (marts.user_lifecycle)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from touchpoint_alchemy.report.figures import COLORS, layout
from touchpoint_alchemy.report.format import month, num
from touchpoint_alchemy.report.section import Section

if TYPE_CHECKING:
    import pandas as pd

READS = ("user_lifecycle",)
STATUSES = ("new", "returning", "resurrecting", "dormant")


def build(user_lifecycle: pd.DataFrame) -> Section:
    import plotly.graph_objects as go

    section = Section(
        id="lifecycle",
        title="Lifecycle: new, returning, resurrecting and dormant actors per month",
        source="marts.user_lifecycle (dormant counts are negative)",
    )
    if user_lifecycle.empty:
        section.no_data = "No activity in marts.user_lifecycle."
        return section
    period = "month" if (user_lifecycle["period_type"] == "month").any() else "week"
    rows = user_lifecycle[user_lifecycle["period_type"] == period]
    grid = rows.pivot_table(
        index="period_start", columns="status", values="actors", aggfunc="sum"
    ).fillna(0)
    grid = grid.reindex(columns=[s for s in STATUSES if s in grid.columns])
    labels = [f"{p:%Y-%m-%d}" if period == "week" else month(p) for p in grid.index]
    fig = go.Figure()
    for status in grid.columns:
        fig.add_trace(
            go.Bar(
                x=labels,
                y=grid[status].tolist(),
                name=status,
                marker={"color": COLORS.get(status)},
                hovertemplate=f"%{{x}} {status}: %{{y:,}}<extra></extra>",
            )
        )
    fig.update_xaxes(type="category")
    fig.update_yaxes(title=f"actors per {period}")
    section.figure = layout(fig, barmode="relative")
    last = grid.iloc[-1]
    new, resurrecting = last.get("new", 0), last.get("resurrecting", 0)
    returning, dormant = last.get("returning", 0), last.get("dormant", 0)
    # the mart's dormant counts are negative: the three add up to the change of the active base
    change = new + resurrecting + dormant
    section.takeaway = (
        f"In {labels[-1]}: {num(new)} new, {num(returning)} returning, "
        f"{num(resurrecting)} resurrecting and {num(abs(dormant))} gone dormant, so the active "
        f"base {'grew' if change >= 0 else 'shrank'} by {num(abs(change))}."
    )
    return section
