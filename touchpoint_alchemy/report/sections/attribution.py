"""Conversions credited to each channel under every attribution model, side by side
(marts.attribution_by_channel, summed over the purchase months)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from touchpoint_alchemy.report.figures import layout
from touchpoint_alchemy.report.format import num
from touchpoint_alchemy.report.section import Section

if TYPE_CHECKING:
    import pandas as pd

READS = ("attribution_by_channel",)
#: the order of the bars: the rule-based models, then Markov, then any other
MODELS = ("first_touch", "last_touch", "linear", "position_based", "time_decay", "markov")


def build(attribution_by_channel: pd.DataFrame) -> Section:
    import plotly.graph_objects as go

    section = Section(
        id="attribution",
        title="Attribution: conversions credited to each channel, by model",
        source="marts.attribution_by_channel (credited conversions summed over the months)",
    )
    if attribution_by_channel.empty:
        section.no_data = "No purchases in marts.attribution_by_channel."
        return section
    credit = attribution_by_channel.pivot_table(
        index="channel", columns="model", values="credited_conversions", aggfunc="sum"
    ).fillna(0.0)
    models = [m for m in MODELS if m in credit.columns]
    models += sorted(set(credit.columns) - set(models))
    credit = credit[models]
    # channels in the order of their credit, averaged over the models
    credit = credit.loc[credit.mean(axis=1).sort_values(ascending=False).index]
    fig = go.Figure()
    for model in models:
        fig.add_trace(
            go.Bar(
                x=credit.index.tolist(),
                y=credit[model].tolist(),
                name=model,
                hovertemplate=f"{model}<br>%{{x}}: %{{y:,.1f}} conversions<extra></extra>",
            )
        )
    fig.update_yaxes(title="credited conversions")
    section.figure = layout(fig, barmode="group")
    spread = credit.max(axis=1) - credit.min(axis=1)
    channel = spread.idxmax()
    low, high = credit.loc[channel].idxmin(), credit.loc[channel].idxmax()
    if spread.max() < 0.5:
        section.takeaway = (
            f"The models agree on every channel; {credit.index[0]} gets the most credit "
            f"({num(credit.iloc[0].mean())} conversions)."
        )
    else:
        section.takeaway = (
            f"The models disagree most on {channel}: {num(credit.loc[channel, high])} "
            f"conversions under {high} vs {num(credit.loc[channel, low])} under {low}; "
            f"{credit.index[0]} gets the most credit on average."
        )
    return section
