"""The look the report's plotly charts share: layout, colours and the chart toolbar."""

from __future__ import annotations

from typing import Any

#: plotly's config for every chart: no logo in the toolbar, resize with the window
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
#: lifecycle statuses and churn risk bands
COLORS = {
    "new": "#2a9d8f",
    "returning": "#264653",
    "resurrecting": "#e9c46a",
    "dormant": "#e76f51",
    "low": "#2a9d8f",
    "medium": "#e9c46a",
    "high": "#e76f51",
}
DARK, TEAL, SAND, CORAL, GREY = "#264653", "#2a9d8f", "#e9c46a", "#e76f51", "#8d99ae"


def layout(fig: Any, height: int = 420, **kwargs: Any) -> Any:
    """``fig`` with the report's template, size, margins, font and legend below the plot."""
    fig.update_layout(
        template="plotly_white",
        height=height,
        margin={"l": 60, "r": 20, "t": 40, "b": 50},
        font={"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12},
        legend={"orientation": "h", "y": -0.18},
        **kwargs,
    )
    return fig


def floats(frame: Any, *columns: str) -> Any:
    """Decimal columns (revenue, spend) arrive as Python Decimals: make them floats."""
    for column in columns:
        if column in frame.columns:
            frame[column] = frame[column].astype(float)
    return frame
