"""Small raw datasets with hand-worked answers (tests/data/*/README.md explains each case).

Each dataset is a RAW_DATA_DIR of its own, built through the whole pipeline, so these are also
the "another dataset that follows the contract" acceptance tests.
"""

from __future__ import annotations

import math

import pandas as pd

import reference
from builds import DATA_DIR
from compare import assert_same_rows

FUNNEL_EDGES = DATA_DIR / "funnel_edges"
COHORTS_SMALL = DATA_DIR / "cohorts_small"


def test_funnel_levels_match_hand_worked_levels(funnel_edges_warehouse):
    """Window boundary, 1 us past it, equal timestamps, steps out of order, repeated steps, a
    restart on the same day, two entry days, midnight, offsets, rejected and non-consenting,
    stitched pre-login touchpoints and an anonymous device."""
    expected = pd.read_csv(FUNNEL_EDGES / "expected_funnel_levels.csv")
    actual = funnel_edges_warehouse.df(
        "select distinct actor_id as user_id, entry_date, level "
        "from intermediate.int_funnel_chains where funnel_name = 'purchase'"
    )
    assert_same_rows(actual, expected, keys=["user_id", "entry_date"])


def test_funnel_conversion_hand_worked_group(funnel_edges_warehouse):
    group = funnel_edges_warehouse.df(
        "select * from marts.funnel_conversion where entry_date = date '2025-03-05' "
        "order by step_number"
    )
    assert set(group["acquisition_channel"]) == {"social"}
    assert set(group["device_type"]) == {"desktop"}
    assert group["users"].tolist() == [2, 2, 1, 0, 0]
    previous = group["conversion_from_previous"].tolist()
    assert previous[:4] == [1.0, 1.0, 0.5, 0.0] and math.isnan(previous[4])
    assert group["conversion_from_start"].tolist() == [1.0, 1.0, 0.5, 0.0, 0.0]
    median = group["median_seconds_from_entry"].tolist()
    assert median[:3] == [0.0, 90.0, 300.0] and all(math.isnan(m) for m in median[3:])


def test_funnel_conversion_matches_reference_on_edges(funnel_edges_warehouse):
    staged, _ = reference.validate(reference.load_raw(FUNNEL_EDGES))
    expected = reference.funnel_conversion(staged)
    actual = funnel_edges_warehouse.df("select * from marts.funnel_conversion")
    assert_same_rows(
        actual,
        expected,
        keys=["funnel_name", "entry_date", "acquisition_channel", "device_type", "step_number"],
    )


def test_funnel_edges_rejections(funnel_edges_warehouse):
    actual = funnel_edges_warehouse.df(
        "select source, record_key, reason from audit.rejected_rows order by all"
    )
    assert sorted(map(tuple, actual.values.tolist())) == sorted(
        [
            ("touchpoints", "tp-f12-3", "duplicate key"),
            ("touchpoints", "tp-f12-4", "unparseable timestamp"),
            ("touchpoints", "tp-f12-5", "negative amount"),
            ("users", "f16_rejected_user", "invalid boolean"),
        ]
    )


def test_cohort_retention_matches_hand_worked_grid(cohorts_small_warehouse):
    expected = pd.read_csv(COHORTS_SMALL / "expected_cohort_retention.csv")
    actual = cohorts_small_warehouse.df("select * from marts.cohort_retention")
    assert_same_rows(actual, expected, keys=["cohort_month", "months_since_first_order"])


def test_cohort_ltv_matches_hand_worked_grid(cohorts_small_warehouse):
    expected = pd.read_csv(COHORTS_SMALL / "expected_cohort_ltv.csv")
    actual = cohorts_small_warehouse.df("select * from marts.cohort_ltv")
    assert_same_rows(
        actual, expected, keys=["cohort_month", "months_since_first_order"], atol=0.005
    )


def test_cohorts_small_data_cutoff_is_latest_purchase(cohorts_small_warehouse):
    cutoff = cohorts_small_warehouse.df("select * from intermediate.int_data_cutoff")
    assert cutoff["data_cutoff_at"].iloc[0] == pd.Timestamp("2025-04-29 10:00:00")
    assert cutoff["cutoff_source"].iloc[0] == "latest purchase"


def test_customers_on_cohorts_small_match_reference(cohorts_small_warehouse):
    staged, _ = reference.validate(reference.load_raw(COHORTS_SMALL))
    expected = reference.customers(staged)
    actual = cohorts_small_warehouse.df("select * from marts.customers")
    assert_same_rows(actual, expected, keys=["user_id"], atol=0.005)


def test_tiny_data_records_insufficient_data_instead_of_failing(cohorts_small_warehouse):
    """A fixture with a handful of customers still builds; the scores are empty and say why."""
    metrics = cohorts_small_warehouse.df("select model, metric from scoring.model_metrics")
    assert set(metrics["model"]) == {"clv", "churn", "clusters", "product_recommendations"}
    churn = metrics[metrics["model"] == "churn"]["metric"].tolist()
    assert churn == ["insufficient_data"]
    customers = cohorts_small_warehouse.df("select churn_probability from marts.customers")
    assert len(customers) > 0 and customers["churn_probability"].isna().all()
