"""RFM scoring (touchpoint_alchemy.scoring.rfm) against the independent reference and by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from touchpoint_alchemy.scoring.rfm import SEGMENTS, score_rfm

import reference


def test_hand_worked_quintiles_with_ties():
    # 5 customers, every metric tied for two of them: ties go by user_id.
    customers = pd.DataFrame(
        {
            "user_id": ["a", "b", "c", "d", "e"],
            "last_order_at": pd.to_datetime(
                ["2025-01-01", "2025-03-01", "2025-03-01", "2025-02-01", "2025-04-01"]
            ),
            "orders": [1, 1, 2, 3, 5],
            "net_revenue": [10.0, 50.0, 50.0, 20.0, 5.0],
        }
    )
    scored = score_rfm(customers).set_index("user_id")
    # recency order: a(01) d(02) b(03, tie, 'b'<'c') c(03) e(04)
    assert scored["recency_score"].to_dict() == {"a": 1, "d": 2, "b": 3, "c": 4, "e": 5}
    # frequency order: a(1) b(1) c(2) d(3) e(5)
    assert scored["frequency_score"].to_dict() == {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}
    # monetary order: e(5) a(10) d(20) b(50) c(50)
    assert scored["monetary_score"].to_dict() == {"e": 1, "a": 2, "d": 3, "b": 4, "c": 5}
    # e: R5, FM = ceil((5+1)/2) = 3 -> Potential loyalist; a: R1, FM 2 -> Lost
    assert scored.loc["e", "rfm_segment"] == "Potential loyalist"
    assert scored.loc["a", "rfm_segment"] == "Lost"
    assert scored.loc["c", "rfm_score"] == "435"


@pytest.mark.parametrize("n", [1, 3, 5, 7, 10, 101])
def test_matches_reference_on_random_customers(n):
    rng = np.random.default_rng(n)
    customers = pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in rng.permutation(n)],
            "last_order_at": pd.Timestamp("2025-01-01")
            + pd.to_timedelta(rng.integers(0, 30, n), unit="D"),
            "orders": rng.integers(1, 4, n),
            "net_revenue": rng.integers(1, 6, n) * 10.0,
        }
    )
    scored = score_rfm(customers).set_index("user_id")
    for column, metric in (
        ("recency_score", "last_order_at"),
        ("frequency_score", "orders"),
        ("monetary_score", "net_revenue"),
    ):
        expected = reference.quintile_scores(customers[metric], customers["user_id"])
        expected.index = customers["user_id"]
        assert scored[column].to_dict() == expected.astype(int).to_dict()
    for user_id, row in scored.iterrows():
        assert row["rfm_segment"] == reference.rfm_segment(
            row["recency_score"], row["frequency_score"], row["monetary_score"]
        ), user_id
    if n >= 5:
        assert set(scored["recency_score"]) == {1, 2, 3, 4, 5}


def test_segment_map_uses_the_documented_names():
    cells = {reference.segment_for(r, fm) for r in range(1, 6) for fm in range(1, 6)}
    assert cells == set(SEGMENTS)


def test_rejects_duplicate_customers():
    customers = pd.DataFrame(
        {
            "user_id": ["a", "a"],
            "last_order_at": ["2025-01-01"] * 2,
            "orders": [1, 1],
            "net_revenue": [1.0, 1.0],
        }
    )
    with pytest.raises(ValueError, match="one row per user_id"):
        score_rfm(customers)
