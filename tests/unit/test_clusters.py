"""Behaviour clusters (touchpoint_alchemy.scoring.clusters) on synthetic blobs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from touchpoint_alchemy.scoring.clusters import (
    PROFILE_COLUMNS,
    cluster_customers,
    cluster_name,
    unique_names,
)

# blob -> (size, frequency, avg_order_value, recency_days, sessions_90d, mobile share)
BLOBS = {
    "loyal": (200, 20, 15.0, 5, 40, 1.0),
    "lapsed": (120, 1, 60.0, 300, 1, 0.0),
    "big": (80, 4, 400.0, 40, 10, 0.5),
}


def blobs(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for blob, (size, frequency, aov, recency, sessions, mobile) in BLOBS.items():
        frames.append(
            pd.DataFrame(
                {
                    "user_id": [f"{blob}-{i:03d}" for i in range(size)],
                    "blob": blob,
                    "snapshot": "score",
                    "frequency": np.maximum(1, np.round(frequency * rng.lognormal(0, 0.1, size))),
                    "avg_order_value": aov * rng.lognormal(0, 0.1, size),
                    "recency_days": np.round(recency * rng.lognormal(0, 0.1, size)),
                    "tenure_days": rng.integers(350, 450, size),
                    "sessions_90d": np.round(sessions * rng.lognormal(0, 0.1, size)),
                    "touchpoints_90d": np.round(3 * sessions * rng.lognormal(0, 0.1, size)),
                    "is_mobile": np.arange(size) < round(mobile * size),
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True)
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    return blobs()


@pytest.fixture(scope="module")
def result(customers):
    return cluster_customers(customers, seed=42)


def test_three_blobs_found(customers, result):
    assert result.k == 3
    assert sorted(result.silhouettes) == list(range(3, 9))
    assert result.silhouette == max(result.silhouettes.values())
    assert result.silhouette > 0.5
    profiles = result.profiles
    assert list(profiles.columns) == list(PROFILE_COLUMNS)
    assert profiles["cluster_id"].tolist() == [1, 2, 3]
    assert profiles["customers"].tolist() == [200, 120, 80]
    assert profiles["share"].tolist() == pytest.approx([0.5, 0.3, 0.2])
    # Every blob is exactly one cluster: 1 = largest.
    merged = customers.merge(result.assignments, on="user_id")
    assert merged.groupby("blob")["cluster_id"].nunique().eq(1).all()
    assert merged.groupby("blob")["cluster_id"].first().to_dict() == {
        "loyal": 1,
        "lapsed": 2,
        "big": 3,
    }
    assert profiles["mobile_share"].tolist() == pytest.approx([1.0, 0.0, 0.5])
    assert profiles.loc[0, "mean_frequency"] > profiles.loc[1, "mean_frequency"]


def test_names(result):
    names = result.profiles.set_index("cluster_id")["cluster_name"]
    assert names.is_unique
    loyal, lapsed, big = names[1].split(), names[2].split(), names[3].split()
    assert "highly engaged" in names[1] and "low-basket" in loyal
    assert "frequent" in loyal and "mobile" in loyal and "recent" in loyal
    assert "lapsed" in lapsed and "one-off" in lapsed and "desktop" in lapsed
    assert "high-basket" in big and "mixed-device" in big
    assert all(name.endswith("buyers") for name in names)
    assignments = result.assignments
    assert list(assignments.columns) == ["user_id", "cluster_id", "cluster_name"]
    assert assignments["user_id"].is_monotonic_increasing
    assert assignments["cluster_id"].dtype == "int64"
    assert (assignments["cluster_name"] == assignments["cluster_id"].map(names)).all()


def test_deterministic_and_filters_snapshot(customers, result):
    again = cluster_customers(customers, seed=42)
    pd.testing.assert_frame_equal(again.assignments, result.assignments)
    pd.testing.assert_frame_equal(again.profiles, result.profiles)
    assert again.silhouettes == result.silhouettes
    # Rows of other snapshots are ignored.
    other = customers.assign(snapshot="train", frequency=customers["frequency"] * 100)
    mixed = cluster_customers(pd.concat([other, customers]).reset_index(drop=True), seed=42)
    pd.testing.assert_frame_equal(mixed.assignments, result.assignments)


def test_name_rule_and_uniqueness():
    z = pd.Series(
        {"recency_days": 0.8, "frequency": -0.9, "avg_order_value": 0.0, "sessions_90d": 0.2}
    )
    assert cluster_name(z, 0.1) == "lapsed one-off desktop buyers"
    z = pd.Series(
        {"recency_days": -0.6, "frequency": 0.6, "avg_order_value": -0.7, "sessions_90d": 0.9}
    )
    assert cluster_name(z, 0.7) == "recent frequent low-basket highly engaged mobile buyers"
    z = pd.Series({"recency_days": 0, "frequency": 0, "avg_order_value": 0, "sessions_90d": 0})
    assert cluster_name(z, 0.5) == "mixed-device buyers"
    assert unique_names(["a buyers", "b buyers", "a buyers"]) == [
        "a buyers (group 1)",
        "b buyers",
        "a buyers (group 2)",
    ]


def test_too_few_customers(customers):
    with pytest.raises(ValueError, match="at least k_min \\+ 1 = 4 customers, got 3"):
        cluster_customers(customers.head(3))
    few = cluster_customers(customers.head(5), k_min=3, k_max=8)
    assert set(few.silhouettes) <= {3, 4}
