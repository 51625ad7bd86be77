"""Reading one figure of marts.headline_metrics by its metric name."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def headline(metrics: pd.DataFrame, metric: str) -> float | None:
    """The value of ``metric`` in marts.headline_metrics; None when absent or null."""
    if metrics.empty:
        return None
    values = metrics.loc[metrics["metric"] == metric, "metric_value"]
    if values.empty or values.isna().iloc[0]:
        return None
    return float(values.iloc[0])
