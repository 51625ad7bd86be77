"""Labels shared by SQL and Python, read from the dbt project's vars (``dbt_project.yml``),
their one home: the RFM segments and the R x FM map, the churn risk bands and the churn
snapshot names. SQL takes the same vars through the ``label()`` macro (macros/labels.sql).
Read on first use, not at import.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from touchpoint_alchemy.settings import DBT_PROJECT_DIR


@cache
def _vars() -> dict[str, Any]:
    import yaml

    text = (DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8")
    return yaml.safe_load(text)["vars"]


def rfm_segments() -> tuple[str, ...]:
    """Every RFM segment, best first (var ``rfm_segments``)."""
    return tuple(_vars()["rfm_segments"])


def rfm_segment_map() -> dict[int, dict[int, str]]:
    """map[recency_score][fm_score] -> segment (var ``rfm_segment_map``)."""
    return {
        int(recency): dict(enumerate(row, start=1))
        for recency, row in _vars()["rfm_segment_map"].items()
    }


def churn_risk_bands() -> tuple[str, ...]:
    """The churn risk bands, low to high (var ``churn_risk_bands``)."""
    return tuple(_vars()["churn_risk_bands"])


def churn_snapshots() -> tuple[str, ...]:
    """The churn model's training, validation and score snapshot names (var
    ``churn_snapshots``; a training snapshot is ``<train>`` or ``<train>_<k>``)."""
    return tuple(_vars()["churn_snapshots"])


def churn_horizon_days() -> int:
    """Days after a churn snapshot that its label looks at (var ``churn_horizon_days``); the
    validation snapshot is this many days before the data cutoff."""
    return int(_vars()["churn_horizon_days"])


def forecast_horizon_days() -> int:
    """Days forecast after the data cutoff date, and the length of a backtest fold (var
    ``forecast_horizon_days``)."""
    return int(_vars()["forecast_horizon_days"])


def incremental_lookback_days() -> int:
    """Days before a daily run's window start that the daily models reprocess too (var
    ``incremental_lookback_days``, macros/incremental.sql)."""
    return int(_vars()["incremental_lookback_days"])
