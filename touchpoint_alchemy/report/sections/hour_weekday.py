"""Session conversion by local hour and weekday (marts.context_conversion_overall): the heatmap
of the cells, and the best and worst weekday and hour over the whole week or day."""

from __future__ import annotations

from typing import TYPE_CHECKING

from touchpoint_alchemy.report.figures import layout
from touchpoint_alchemy.report.format import pct
from touchpoint_alchemy.report.section import Section

if TYPE_CHECKING:
    import pandas as pd

READS = ("context_conversion_overall",)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def build(context_conversion_overall: pd.DataFrame) -> Section:
    import plotly.graph_objects as go

    section = Section(
        id="hour-weekday",
        title="Session conversion by hour of day and weekday",
        source="marts.context_conversion_overall (sessions with a payment_success / sessions, "
        "all devices and channels; hours in the reporting time zone)",
    )
    cells = context_conversion_overall
    if cells.empty:
        section.no_data = "No sessions in marts.context_conversion."
        return section
    rate = cells.pivot(index="weekday", columns="hour_of_day", values="conversion_rate")
    sessions = cells.pivot(index="weekday", columns="hour_of_day", values="sessions")
    rate = rate.reindex(index=range(1, 8), columns=range(24))
    sessions = sessions.reindex(index=range(1, 8), columns=range(24)).fillna(0)
    fig = go.Figure(
        go.Heatmap(
            z=rate.to_numpy(),
            x=[f"{h:02d}:00" for h in rate.columns],
            y=list(WEEKDAYS),
            customdata=sessions.to_numpy(),
            colorscale="YlGnBu",
            zmin=0,
            colorbar={"tickformat": ".0%"},
            hovertemplate="%{y} %{x}: %{z:.1%} of %{customdata:,} sessions<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    section.figure = layout(fig, height=380)
    days = _ranked(cells, "weekday", "weekday_conversion_rate")
    hours = _ranked(cells, "hour_of_day", "hour_conversion_rate")
    day = [f"{WEEKDAYS[int(d) - 1]} ({pct(r, 1)})" for d, r in days]
    hour = [f"{int(h):02d}:00 ({pct(r, 1)})" for h, r in hours]
    days_text = (
        f"Sessions convert best on {day[0]} and worst on {day[-1]}"
        if len(day) > 1
        else f"All sessions start on {day[0]}"
    )
    hours_text = (
        f"the best hour is {hour[0]}, the worst {hour[-1]}"
        if len(hour) > 1
        else f"all at {hour[0]}"
    )
    section.takeaway = f"{days_text}; {hours_text}."
    return section


def _ranked(cells: pd.DataFrame, key: str, rate: str) -> list[tuple[int, float]]:
    """Each weekday (or hour) once with its rate, best first."""
    ranked = cells[[key, rate]].drop_duplicates().sort_values([rate, key], ascending=[False, True])
    return list(ranked.itertuples(index=False, name=None))
