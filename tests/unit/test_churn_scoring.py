"""Churn scoring (touchpoint_alchemy.scoring.churn) on small synthetic frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from touchpoint_alchemy.scoring.churn import (
    METRICS,
    RISK_BANDS,
    SCORE_COLUMNS,
    build_feature_matrix,
    score_churn,
)
from touchpoint_alchemy.scoring.churn_drivers import describe_feature

N_CUSTOMERS = 600
AS_OF = {"train": "2025-01-01", "validation": "2025-04-01", "score": "2025-07-01"}


def synthetic(seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Churn rises with recency and support chats and falls with frequency."""
    rng = np.random.default_rng(seed)
    frames, counts = [], []
    for snapshot, as_of in AS_OF.items():
        n = N_CUSTOMERS
        user_id = [f"u{i:04d}" for i in range(n)]
        recency = rng.integers(1, 366, n)
        frequency = 1 + rng.poisson(2.5, n)
        aov = np.round(rng.lognormal(3.5, 0.5, n), 2)
        first = recency + rng.integers(0, 400, n)
        support_90 = rng.poisson(1.0, n)
        support_30 = rng.binomial(support_90, 0.4)
        page_90 = rng.poisson(20, n)
        page_30 = rng.binomial(page_90, 0.35)
        delivery_90 = rng.poisson(2, n)
        delivery_30 = rng.binomial(delivery_90, 0.35)
        nps = rng.integers(0, 11, n).astype("float64")
        nps[rng.random(n) < 0.4] = np.nan
        is_mobile = rng.random(n) < 0.5
        logit = (
            -0.8
            + 1.2 * (recency - 183) / 105
            + 1.4 * (support_90 - 1.0)
            - 1.2 * (frequency - 3.5) / 1.6
        )
        churned = rng.random(n) < 1 / (1 + np.exp(-logit))
        frames.append(
            pd.DataFrame(
                {
                    "user_id": user_id,
                    "snapshot": snapshot,
                    "as_of_at": pd.Timestamp(as_of),
                    "frequency": frequency,
                    "monetary": np.round(frequency * aov, 2),
                    "avg_order_value": aov,
                    "recency_days": recency,
                    "days_since_first_purchase": first,
                    "tenure_days": first + rng.integers(0, 60, n),
                    "sessions_30d": rng.poisson(4, n),
                    "sessions_90d": rng.poisson(12, n),
                    "touchpoints_30d": support_30 + page_30 + delivery_30,
                    "touchpoints_90d": support_90 + page_90 + delivery_90,
                    "latest_nps_score": nps,
                    "device_type": np.where(is_mobile, "mobile", "desktop"),
                    "is_mobile": is_mobile,
                    "purchases_in_horizon": None if snapshot == "score" else (~churned) * 1,
                    "churned": None if snapshot == "score" else churned,
                }
            )
        )
        for touchpoint, c30, c90 in (
            ("support_chat", support_30, support_90),
            ("page_view", page_30, page_90),
            ("view_delivery_info", delivery_30, delivery_90),
        ):
            long = pd.DataFrame(
                {
                    "user_id": user_id,
                    "snapshot": snapshot,
                    "touchpoint": touchpoint,
                    "touchpoints_30d": c30,
                    "touchpoints_90d": c90,
                }
            )
            counts.append(long[long["touchpoints_90d"] > 0])  # missing rows mean 0
    features = pd.concat(frames, ignore_index=True)
    features["churned"] = features["churned"].astype(object)
    return features, pd.concat(counts, ignore_index=True)


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.DataFrame]:
    return synthetic()


@pytest.fixture(scope="module")
def result(data):
    return score_churn(*data, seed=42)


def metric(result, name: str) -> float:
    return float(result.metrics.set_index("metric").loc[name, "value"])


def test_model_beats_recency_baseline(result):
    assert list(result.metrics["metric"]) == list(METRICS)
    auc, baseline = metric(result, "holdout_auc"), metric(result, "baseline_recency_auc")
    assert auc > baseline + 0.05
    assert 0.5 < baseline < auc < 1.0
    assert 0.0 < metric(result, "holdout_brier") < 0.25
    assert 0.1 < metric(result, "holdout_churn_rate") < 0.9
    for name in ("train_rows", "validation_customers", "scored_customers"):
        assert metric(result, name) == N_CUSTOMERS
    assert set(result.metrics["n"]) == {N_CUSTOMERS}
    assert result.calibration_method == {"train": "sigmoid", "final": "sigmoid"}


def test_scores_shape_and_bands(result):
    scores = result.scores
    assert list(scores.columns) == list(SCORE_COLUMNS)
    assert len(scores) == N_CUSTOMERS
    assert scores["user_id"].is_monotonic_increasing and scores["user_id"].is_unique
    assert scores["churn_probability"].dtype == "float64"
    p = scores["churn_probability"].to_numpy()
    assert ((p >= 0) & (p <= 1)).all()
    expected = np.where(p >= 0.75, "high", np.where(p >= 0.5, "medium", "low"))
    assert (scores["risk_band"].to_numpy() == expected).all()
    assert set(scores["risk_band"]) == set(RISK_BANDS)


def test_custom_thresholds(data):
    scores = score_churn(*data, medium_threshold=0.3, high_threshold=0.6).scores
    p = scores["churn_probability"]
    assert (scores.loc[p < 0.3, "risk_band"] == "low").all()
    assert (scores.loc[(p >= 0.3) & (p < 0.6), "risk_band"] == "medium").all()
    assert (scores.loc[p >= 0.6, "risk_band"] == "high").all()
    with pytest.raises(ValueError, match="threshold"):
        score_churn(*data, medium_threshold=0.8, high_threshold=0.6)


def test_scores_rank_the_true_risk(data, result):
    # The score snapshot has no label, but the customers' true churn logit is known.
    features = data[0]
    score = features[features["snapshot"] == "score"].set_index("user_id")
    support = (
        data[1][(data[1]["snapshot"] == "score") & (data[1]["touchpoint"] == "support_chat")]
        .set_index("user_id")["touchpoints_90d"]
        .reindex(score.index, fill_value=0)
    )
    logit = (
        1.2 * (score["recency_days"] - 183) / 105
        + 1.4 * support
        - 1.2 * (score["frequency"] - 3.5) / 1.6
    )
    p = result.scores.set_index("user_id")["churn_probability"].reindex(score.index)
    assert np.corrcoef(logit.rank(), p.rank())[0, 1] > 0.7


def test_drivers_name_the_features_that_matter(result):
    drivers = result.scores["top_drivers"]
    parts = drivers.str.split("; ")
    assert (parts.str.len() == 3).all()
    assert parts.map(lambda p: len(set(p)) == 3).all()
    important = ("since the last purchase", "support chat in the last", "so far")
    risky = result.scores["churn_probability"] >= 0.5
    first = parts[risky].str[0]
    share = first.map(lambda text: any(word in text for word in important)).mean()
    assert share > 0.8
    # A lapsed customer with many support chats has them among the drivers.
    mentions = drivers[risky].str.contains("since the last purchase|support chat", regex=True)
    assert mentions.mean() > 0.8


def test_same_input_same_output(data, result):
    again = score_churn(*data, seed=42)
    pd.testing.assert_frame_equal(again.scores, result.scores)
    pd.testing.assert_frame_equal(again.metrics, result.metrics)
    # Row order of the inputs does not matter either.
    features, counts = data
    shuffled = score_churn(
        features.sample(frac=1.0, random_state=1), counts.sample(frac=1.0, random_state=2)
    )
    pd.testing.assert_frame_equal(shuffled.scores, result.scores)


def test_single_class_and_small_snapshots_raise(data):
    features, counts = data
    one_class = features.copy()
    one_class.loc[one_class["snapshot"] == "train", "churned"] = False
    with pytest.raises(ValueError, match="'train'.*both classes"):
        score_churn(one_class, counts)
    small = features[(features["snapshot"] != "validation") | (features["user_id"] < "u0019")]
    with pytest.raises(ValueError, match="'validation' snapshot has 19 rows"):
        score_churn(small, counts)


def test_build_feature_matrix_by_hand():
    features = pd.DataFrame(
        {
            "user_id": ["b", "a", "a"],
            "snapshot": ["train", "train", "score"],
            "recency_days": [10, 20, 5],
            "frequency": [1, 2, 3],
            "monetary": [10.0, 30.0, 60.0],
            "avg_order_value": [10.0, 15.0, 20.0],
            "tenure_days": [100, 200, 290],
            "days_since_first_purchase": [50, 150, 240],
            "sessions_30d": [1, 2, 3],
            "sessions_90d": [4, 5, 6],
            "touchpoints_30d": [0, 7, 8],
            "touchpoints_90d": [0, 9, 10],
            "latest_nps_score": [np.nan, 9.0, 3.0],
            "is_mobile": [True, False, None],
        }
    )
    counts = pd.DataFrame(
        {
            "user_id": ["a", "a", "a", "a", "zz"],
            "snapshot": ["train", "train", "score", "score", "score"],
            "touchpoint": ["support_chat", "Page View", "page-view", "sessions", "support_chat"],
            "touchpoints_30d": [2, 5, 1, 4, 99],
            "touchpoints_90d": [3, 6, 2, 5, 99],
        }
    )
    matrix = build_feature_matrix(features, counts)
    assert list(matrix.index) == [("score", "a"), ("train", "a"), ("train", "b")]
    assert list(matrix.columns[12:]) == [
        "page_view_30d",
        "page_view_90d",
        "sessions_touchpoint_30d",
        "sessions_touchpoint_90d",
        "support_chat_30d",
        "support_chat_90d",
    ]
    assert list(matrix.columns[:2]) == ["recency_days", "frequency"]
    assert (matrix.dtypes == "float64").all()
    assert matrix.loc[("train", "a"), ["support_chat_30d", "support_chat_90d"]].tolist() == [2, 3]
    assert matrix.loc[("train", "a"), ["page_view_30d", "page_view_90d"]].tolist() == [5, 6]
    assert matrix.loc[("score", "a"), ["page_view_90d", "sessions_touchpoint_90d"]].tolist() == [
        2,
        5,
    ]
    assert matrix.loc[("score", "a"), "support_chat_90d"] == 0  # zero fill; 'zz' not a customer
    assert (matrix.loc[("train", "b"), matrix.columns[12:]] == 0).all()
    assert np.isnan(matrix.loc[("train", "b"), "latest_nps_score"])
    assert matrix.loc[("score", "a"), "latest_nps_score"] == 3
    assert matrix["is_mobile"].tolist() == [0.0, 0.0, 1.0]
    assert matrix.loc[("train", "a"), "sessions_90d"] == 5  # the base column is untouched

    # a type only a non-customer has still gets its columns, zero; repeated rows of a (snapshot,
    # user, type) add up, and every other cell is untouched by them
    more = pd.concat(
        [
            counts,
            pd.DataFrame(
                {
                    "user_id": ["zz", "b", "b"],
                    "snapshot": ["score", "train", "train"],
                    "touchpoint": ["Only ZZ", "support_chat", "Support Chat"],
                    "touchpoints_30d": [7, 1, 2],
                    "touchpoints_90d": [8, 10, 20],
                }
            ),
        ]
    )
    wider = build_feature_matrix(features, more)
    assert list(wider.columns[12:14]) == ["only_zz_30d", "only_zz_90d"]
    assert (wider[["only_zz_30d", "only_zz_90d"]] == 0).all().all()
    assert wider.loc[("train", "b"), ["support_chat_30d", "support_chat_90d"]].tolist() == [3, 30]
    pd.testing.assert_frame_equal(
        wider.drop(columns=["only_zz_30d", "only_zz_90d"]).drop(index=[("train", "b")]),
        matrix.drop(index=[("train", "b")]),
    )


@pytest.mark.parametrize(
    ("name", "value", "text"),
    [
        ("recency_days", 212, "212 days since the last purchase"),
        ("recency_days", 1.0, "1 day since the last purchase"),
        ("frequency", 1, "1 purchase so far"),
        ("frequency", 3.0, "3 purchases so far"),
        ("support_chat_90d", 4, "4 support chat in the last 90 days"),
        ("view_delivery_info_30d", 2, "2 view delivery info in the last 30 days"),
        ("latest_nps_score", 3.0, "latest NPS score 3"),
        ("latest_nps_score", np.nan, "no NPS answer"),
        ("latest_nps_score", None, "no NPS answer"),
        ("is_mobile", 1.0, "mobile user"),
        ("is_mobile", 0, "not on mobile"),
        ("sessions_30d", 12, "12 sessions in the last 30 days"),
        ("sessions_90d", 1, "1 session in the last 90 days"),
        ("touchpoints_90d", 7, "7 touchpoints in the last 90 days"),
        ("monetary", 1234.5, "spent 1,234.50 in total"),
        ("avg_order_value", 61.2, "average order 61.20"),
        ("tenure_days", 300, "signed up 300 days ago"),
        ("days_since_first_purchase", 200, "first purchase 200 days ago"),
    ],
)
def test_describe_feature(name, value, text):
    assert describe_feature(name, value) == text


@pytest.mark.parametrize("width", [0, 1, 3])
def test_the_drivers_words_equal_each_row_described_and_joined(width):
    """churn_drivers.worded (each distinct feature and value described once, the rows joined by
    Arrow) against the plain way: every row's picks described one by one and joined with '; '.
    Values repeat, and include NaN, -0.0 and 0.0, a whole number and a fraction."""
    from touchpoint_alchemy.scoring.churn_drivers import worded

    names = ("recency_days", "frequency", "monetary", "latest_nps_score", "sessions_30d")
    rng = np.random.default_rng(7)
    rows = 500
    chosen = rng.integers(0, len(names), (rows, width))
    pool = np.array([np.nan, -0.0, 0.0, 1.0, 2.0, 12.5, 1234.0, 0.333])
    values = pool[rng.integers(0, len(pool), (rows, width))]
    plain = [
        "; ".join(describe_feature(names[j], v) for j, v in zip(picks, row, strict=True))
        for picks, row in zip(chosen.tolist(), values.tolist(), strict=True)
    ]
    assert worded(chosen, values, names) == plain
    assert worded(chosen[:0], values[:0], names) == []
