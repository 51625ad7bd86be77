"""What sells: the categories' share of revenue and the top products by revenue, all time
(marts.category_performance_overall, marts.product_performance_overall)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from touchpoint_alchemy.report.figures import DARK, TEAL, floats, layout
from touchpoint_alchemy.report.format import num, pct
from touchpoint_alchemy.report.section import Section

if TYPE_CHECKING:
    import pandas as pd

READS = ("product_performance_overall", "category_performance_overall")
#: products shown
TOP = 10


def build(
    product_performance_overall: pd.DataFrame, category_performance_overall: pd.DataFrame
) -> Section:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    section = Section(
        id="products",
        title="Top products and categories: revenue with discounts allocated to the lines",
        source="marts.product_performance_overall and marts.category_performance_overall "
        "(revenue share and rank as the marts compute them)",
    )
    products = floats(product_performance_overall, "revenue")
    categories = floats(category_performance_overall, "revenue")
    if products.empty or categories.empty:
        section.no_data = "No purchase has order lines yet."
        return section
    products = products.sort_values(["revenue_rank", "product_id"]).head(TOP)
    categories = categories.sort_values(["revenue_rank", "category"])
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.4, 0.6],
        subplot_titles=("Categories: share of revenue", f"Top {len(products)} products"),
    )
    fig.add_trace(
        go.Bar(
            x=categories["revenue_share"].tolist(),
            y=categories["category"].tolist(),
            orientation="h",
            marker={"color": DARK},
            texttemplate="%{x:.0%}",
            hovertemplate="%{y}: %{x:.1%} of revenue<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Bar(
            x=products["revenue"].tolist(),
            y=products["product_id"].tolist(),
            orientation="h",
            customdata=products[["category", "customers", "repeat_customers"]].to_numpy(),
            marker={"color": TEAL},
            hovertemplate="%{y} (%{customdata[0]}): revenue %{x:,.2f}, %{customdata[1]:,} "
            "customers, %{customdata[2]:,} bought it again<extra></extra>",
        ),
        row=1,
        col=2,
    )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(tickformat=".0%", row=1, col=1)
    section.figure = layout(fig, height=420, showlegend=False)
    best, category = products.iloc[0], categories.iloc[0]
    section.takeaway = (
        f"{category['category']} brings {pct(category['revenue_share'])} of revenue; the best "
        f"seller is {best['product_id']} ({best['category']}: {num(best['revenue'], 2)}, "
        f"{pct(best['revenue_share'], 1)} of revenue, {num(best['customers'])} customers)."
    )
    return section
