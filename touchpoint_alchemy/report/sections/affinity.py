"""What sells together: the product pairs with the highest lift (marts.product_affinity,
pairs with at least `affinity_min_co_orders` co-orders; each pair once)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from touchpoint_alchemy.report.figures import CORAL, SAND, floats, layout
from touchpoint_alchemy.report.format import num, pct
from touchpoint_alchemy.report.section import Section

if TYPE_CHECKING:
    import pandas as pd

READS = ("product_affinity",)
#: pairs shown
TOP = 12


def build(product_affinity: pd.DataFrame) -> Section:
    import plotly.graph_objects as go

    section = Section(
        id="affinity",
        title="Bought together: product pairs by lift",
        source="marts.product_affinity (both directions in the mart; each pair once here, "
        "with the confidence of the first product's direction)",
    )
    pairs = floats(product_affinity, "support", "confidence", "lift")
    if not pairs.empty:
        pairs = pairs[pairs["product_id"] < pairs["related_product_id"]]
    if pairs.empty:
        section.no_data = "No pair of products reaches the co-order threshold yet."
        return section
    pairs = pairs.sort_values(
        ["lift", "co_orders", "product_id", "related_product_id"],
        ascending=[False, False, True, True],
    ).head(TOP)
    labels = (pairs["product_id"] + " + " + pairs["related_product_id"]).tolist()
    fig = go.Figure(
        go.Bar(
            x=pairs["lift"].tolist(),
            y=labels,
            orientation="h",
            customdata=pairs[["co_orders", "support", "confidence"]].to_numpy(),
            marker={"color": SAND},
            texttemplate="%{x:.1f}x",
            hovertemplate="%{y}: lift %{x:.2f}, %{customdata[0]:,} orders together, support "
            "%{customdata[1]:.2%}, confidence %{customdata[2]:.0%}<extra></extra>",
        )
    )
    fig.add_vline(x=1, line_dash="dot", line_color=CORAL, annotation_text="independent")
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(title="lift")
    section.figure = layout(fig, height=420, showlegend=False)
    top = pairs.iloc[0]
    section.takeaway = (
        f"{top['product_id']} and {top['related_product_id']} are bought together "
        f"{top['lift']:.1f} times as often as chance would have it ({num(top['co_orders'])} "
        f"orders; {pct(top['confidence'])} of orders with {top['product_id']} hold both)."
    )
    return section
