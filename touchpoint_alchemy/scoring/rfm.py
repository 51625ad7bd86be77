"""RFM scoring: recency, frequency and monetary quintiles and the customer segment.

Each metric is scored 1 to 5 by quintile of rank. Customers are sorted ascending by
``(metric, user_id)`` and ranked r = 1..n; the score is ``floor((r - 1) * 5 / n) + 1``. Ranking
resolves ties (by user_id), so every score from 1 to 5 is used whenever there are at least five
customers, and the result is deterministic. Higher is better: the most recent last purchase,
the most purchases and the highest net revenue score 5.

The segment comes from the recency score R and FM = ceil((F + M) / 2), by this map (its one
definition is the dbt var ``rfm_segment_map``, read through ``touchpoint_alchemy.labels``):

======  =========================  =========================  ============  ============  ==========
R \\ FM  1                          2                          3             4             5
======  =========================  =========================  ============  ============  ==========
5       New                        Potential loyalist         Potential l.  Champions     Champions
4       Promising                  Potential loyalist         Potential l.  Loyal         Champions
3       Hibernating                Need attention             Need attent.  Loyal         Loyal
2       Hibernating                Hibernating                At risk       At risk       Can't lose
1       Lost                       Lost                       At risk       At risk       Can't lose
======  =========================  =========================  ============  ============  ==========
"""

from __future__ import annotations

import pandas as pd

from touchpoint_alchemy import labels

#: every segment, best first, and SEGMENT_MAP[recency_score][fm_score] -> segment: the dbt vars
#: rfm_segments and rfm_segment_map (dbt_project.yml), which the marts' SQL shares
SEGMENTS = labels.rfm_segments()
SEGMENT_MAP: dict[int, dict[int, str]] = labels.rfm_segment_map()

INPUT_COLUMNS = ("user_id", "last_order_at", "orders", "net_revenue")
OUTPUT_COLUMNS = (
    "user_id",
    "recency_score",
    "frequency_score",
    "monetary_score",
    "rfm_score",
    "rfm_segment",
)


def quintile_scores(metric: pd.Series, tie_breaker: pd.Series) -> pd.Series:
    """1-5 by quintile of rank, ascending by (metric, tie_breaker); aligned to metric's index."""
    n = len(metric)
    if n == 0:
        return pd.Series([], index=metric.index, dtype="int64")
    frame = pd.DataFrame({"metric": metric, "tie": tie_breaker})
    order = frame.sort_values(["metric", "tie"], kind="mergesort").index
    rank = pd.Series(range(1, n + 1), index=order)
    return ((rank - 1) * 5 // n + 1).astype("int64").reindex(metric.index)


def segment(recency_score: int, frequency_score: int, monetary_score: int) -> str:
    fm_score = (frequency_score + monetary_score + 1) // 2
    return SEGMENT_MAP[recency_score][fm_score]


def score_rfm(customers: pd.DataFrame) -> pd.DataFrame:
    """Score customers (one row each, columns INPUT_COLUMNS) and name their segment."""
    missing = [column for column in INPUT_COLUMNS if column not in customers.columns]
    if missing:
        raise ValueError(f"score_rfm needs columns {missing}")
    if customers["user_id"].duplicated().any():
        raise ValueError("score_rfm needs one row per user_id")
    frame = customers.reset_index(drop=True)
    user_id = frame["user_id"].astype(str)
    scored = pd.DataFrame({"user_id": user_id})
    scored["recency_score"] = quintile_scores(pd.to_datetime(frame["last_order_at"]), user_id)
    scored["frequency_score"] = quintile_scores(frame["orders"].astype("int64"), user_id)
    scored["monetary_score"] = quintile_scores(frame["net_revenue"].astype("float64"), user_id)
    scored["rfm_score"] = (
        scored["recency_score"].astype(str)
        + scored["frequency_score"].astype(str)
        + scored["monetary_score"].astype(str)
    )
    scored["rfm_segment"] = [
        segment(r, f, m)
        for r, f, m in zip(
            scored["recency_score"],
            scored["frequency_score"],
            scored["monetary_score"],
            strict=True,
        )
    ]
    return scored.sort_values("user_id", kind="mergesort").reset_index(drop=True)[
        list(OUTPUT_COLUMNS)
    ]
