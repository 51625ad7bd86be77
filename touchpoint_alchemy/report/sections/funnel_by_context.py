"""The first funnel's conversion (entries reaching the last step) by acquisition channel and by
device: the last step's conversion_from_start of marts.funnel_conversion_overall, per channel
and per device."""

from __future__ import annotations

from typing import TYPE_CHECKING

from touchpoint_alchemy.report.figures import DARK, TEAL, layout
from touchpoint_alchemy.report.format import pct, sentence
from touchpoint_alchemy.report.section import Section
from touchpoint_alchemy.report.sections.funnel import ALL, NO_ENTRIES, funnel_names

if TYPE_CHECKING:
    import pandas as pd

READS = ("funnel_conversion_overall",)
#: anonymous actors cannot reach a purchase step as themselves: the takeaway compares known users
NOT_COMPARED = ("(anonymous)", "(unknown)")
DIMENSIONS = {"acquisition_channel": "channel", "device_type": "device"}


def build(funnel_conversion_overall: pd.DataFrame) -> Section:
    names = funnel_names(funnel_conversion_overall)
    if not names:
        return Section(
            id="funnel-by-context",
            title="Funnel conversion by acquisition channel and device",
            source="marts.funnel_conversion_overall",
            no_data=NO_ENTRIES,
        )
    return context_section(names[0], funnel_conversion_overall)


def conversion_by(overall: pd.DataFrame, funnel: str, dimension: str) -> pd.DataFrame:
    """One row per value of ``dimension`` (the other dimension '(all)'): its entries and the
    share of them that reached the last step, best first."""
    other = next(d for d in DIMENSIONS if d != dimension)
    rows = overall[
        (overall["funnel_name"] == funnel) & (overall[other] == ALL) & (overall[dimension] != ALL)
    ]
    first = rows[rows["step_number"] == rows["step_number"].min()]
    last = rows[rows["step_number"] == rows["step_number"].max()]
    joined = last[[dimension, "conversion_from_start"]].merge(
        first[[dimension, "users"]].rename(columns={"users": "entries"}), on=dimension
    )
    joined = joined.dropna(subset=["conversion_from_start"])
    return joined.sort_values(
        ["conversion_from_start", dimension], ascending=[False, True]
    ).reset_index(drop=True)


def context_section(funnel: str, overall: pd.DataFrame) -> Section:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    section = Section(
        id="funnel-by-context",
        title=f"{funnel.capitalize()} funnel conversion by acquisition channel and device",
        source="marts.funnel_conversion_overall: entries reaching the last step / entries; "
        "the takeaway leaves out (anonymous) and (unknown)",
    )
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("by acquisition channel", "by device"), shared_yaxes=True
    )
    parts = []
    for col, (dimension, label) in enumerate(DIMENSIONS.items(), start=1):
        rates = conversion_by(overall, funnel, dimension)
        if rates.empty:
            section.no_data = NO_ENTRIES
            return section
        fig.add_trace(
            go.Bar(
                x=rates[dimension].tolist(),
                y=rates["conversion_from_start"].tolist(),
                customdata=rates["entries"].tolist(),
                marker={"color": TEAL if col == 1 else DARK},
                hovertemplate="%{x}<br>%{y:.1%} of %{customdata:,} entries<extra></extra>",
                name=dimension,
            ),
            row=1,
            col=col,
        )
        known = rates[~rates[dimension].isin(NOT_COMPARED)]
        if len(known) >= 2:
            best, worst = known.iloc[0], known.iloc[-1]
            parts.append(
                f"by {label}, {best[dimension]} converts best "
                f"({pct(best['conversion_from_start'], 1)}) and {worst[dimension]} worst "
                f"({pct(worst['conversion_from_start'], 1)})"
            )
        elif len(known) == 1:
            only = known.iloc[0]
            parts.append(
                f"by {label}, only {only[dimension]} ({pct(only['conversion_from_start'], 1)})"
            )
    fig.update_yaxes(tickformat=".0%", row=1, col=1)
    section.figure = layout(fig, showlegend=False)
    if parts:
        section.takeaway = sentence("; ".join(parts) + ".")
    return section
