"""NPS per month (marts.nps_monthly) and comment themes over every month (marts.nps_overall),
all channels."""

from __future__ import annotations

from typing import TYPE_CHECKING

from touchpoint_alchemy.report.figures import DARK, SAND, layout
from touchpoint_alchemy.report.format import month, num, pct
from touchpoint_alchemy.report.section import Section

if TYPE_CHECKING:
    import pandas as pd

READS = ("nps_monthly", "nps_overall")
ALL = "(all)"
RATE = "_mention_rate"


def build(nps_monthly: pd.DataFrame, nps_overall: pd.DataFrame) -> Section:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    section = Section(
        id="nps",
        title="NPS trend and comment themes",
        source="marts.nps_monthly and marts.nps_overall (all channels)",
    )
    monthly = nps_monthly
    if not monthly.empty:
        monthly = monthly[(monthly["acquisition_channel"] == ALL) & (monthly["responses"] > 0)]
    overall = nps_overall
    if not overall.empty:
        overall = overall[overall["acquisition_channel"] == ALL]
    if monthly.empty or overall.empty:
        section.no_data = "No NPS responses in marts.nps_monthly."
        return section
    monthly = monthly.sort_values("month")
    everyone = overall.iloc[0]
    rates = {c.removesuffix(RATE): everyone[c] for c in overall.columns if c.endswith(RATE)}
    rates = dict(sorted(rates.items(), key=lambda item: (-item[1], item[0])))
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.65, 0.35],
        subplot_titles=("NPS per month", "share of responses mentioning a theme"),
    )
    months = [month(m) for m in monthly["month"]]
    fig.add_trace(
        go.Scatter(
            x=months,
            y=monthly["nps"].tolist(),
            mode="lines+markers",
            name="NPS",
            customdata=monthly["responses"].tolist(),
            line={"color": DARK},
            hovertemplate="%{x}: NPS %{y:.0f} (%{customdata:,} responses)<extra></extra>",
        ),
        row=1,
        col=1,
    )
    if rates:
        fig.add_trace(
            go.Bar(
                x=list(rates),
                y=list(rates.values()),
                name="themes",
                marker_color=SAND,
                hovertemplate="%{x}: %{y:.1%} of responses<extra></extra>",
            ),
            row=1,
            col=2,
        )
        fig.update_yaxes(tickformat=".0%", row=1, col=2)
    fig.update_xaxes(type="category", row=1, col=1)
    section.figure = layout(fig, showlegend=False)
    first, last = monthly.iloc[0], monthly.iloc[-1]
    takeaway = (
        f"NPS is {everyone['nps']:.0f} over {num(everyone['responses'])} responses, "
        f"{first['nps']:.0f} in {months[0]} and {last['nps']:.0f} in {months[-1]}"
    )
    if rates:
        theme, rate = next(iter(rates.items()))
        takeaway += f"; {theme} is the most mentioned theme ({pct(rate)} of responses)"
    section.takeaway = takeaway + "."
    return section
