"""The report's product, affinity, repeat-purchase and AARRR-benchmark sections on small
hand-made frames (no warehouse): what each picks from its marts and the sentence it writes,
worked out by hand."""

from __future__ import annotations

from datetime import date

import pandas as pd

from touchpoint_alchemy.report.sections import (
    aarrr_benchmarks,
    affinity,
    products,
    repeat_purchase,
)


def test_products_rank_by_the_marts_rank():
    product_rows = pd.DataFrame(
        {
            "product_id": ["p-b", "p-a", "p-c"],
            "category": ["shoes", "socks", "shoes"],
            "revenue": [300.0, 500.0, 200.0],
            "customers": [3, 5, 2],
            "repeat_customers": [1, 2, 0],
            "revenue_share": [0.3, 0.5, 0.2],
            "revenue_rank": [2, 1, 3],
        }
    )
    categories = pd.DataFrame(
        {
            "category": ["socks", "shoes"],
            "revenue_share": [0.5, 0.5],
            "revenue_rank": [1, 1],
            "revenue": [500.0, 500.0],
        }
    )
    section = products.build(product_rows, categories)
    assert section.has_chart
    # rank 1 first; a tie of categories goes to the name
    assert section.takeaway == (
        "shoes brings 50% of revenue; the best seller is p-a (socks: 500.00, 50.0% of revenue, "
        "5 customers)."
    )


def test_affinity_shows_each_pair_once_by_lift():
    pairs = pd.DataFrame(
        {
            "product_id": ["a", "b", "a", "c"],
            "related_product_id": ["b", "a", "c", "a"],
            "co_orders": [4, 4, 3, 3],
            "support": [0.1, 0.1, 0.05, 0.05],
            "confidence": [0.5, 0.4, 0.25, 0.6],
            "lift": [2.0, 2.0, 3.5, 3.5],
        }
    )
    section = affinity.build(pairs)
    assert list(section.figure.data[0].y) == ["a + c", "a + b"]
    assert section.takeaway == (
        "a and c are bought together 3.5 times as often as chance would have it (3 orders; 25% "
        "of orders with a hold both)."
    )


def test_repeat_purchase_reads_the_latest_closed_cohort():
    curve = pd.DataFrame(
        {
            "cohort_month": [date(2025, 1, 1)] * 2 + [date(2025, 2, 1)] * 2 + [date(2025, 3, 1)],
            "days_since_first_purchase": [1, 30, 1, 30, 1],
            "second_purchase_rate": [0.1, 0.3, 0.05, 0.2, 0.0],
            "eligible": [True, True, True, True, False],
        }
    )
    churn = pd.DataFrame(
        {
            "cohort_month": [date(2025, 1, 1), date(2025, 2, 1)],
            "customers": [10, 20],
            "churn_30d_rate": [0.3, 0.25],
            "median_days_to_second_purchase": [12.0, 20.5],
            "benchmark_churn_30d_rate": [0.28, 0.28],
            "gap": [0.02, -0.03],
        }
    )
    section = repeat_purchase.build(curve, churn)
    assert [trace.name for trace in section.figure.data] == ["2025-02", "2025-01"]
    assert section.takeaway == (
        "25.0% of the 2025-02 cohort (20 customers) neither bought nor visited within 30 days "
        "of their first purchase, better than the benchmark of 28%; the median second purchase "
        "came after 20.5 days."
    )


def test_aarrr_benchmarks_take_each_metrics_latest_month_in_funnel_order():
    rows = pd.DataFrame(
        {
            "month": [date(2025, 1, 1), date(2025, 2, 1), date(2025, 2, 1), date(2025, 2, 1)],
            "metric": ["activation_rate", "activation_rate", "reached_users", "acquisition_cost"],
            "stage": ["activation", "activation", "awareness", "acquisition"],
            "unit": [
                "fraction of signups",
                "fraction of signups",
                "users per month",
                "spend per new customer",
            ],
            "current_value": [0.1, 0.2, 12000.0, 20.0],
            "benchmark_value": [0.15, 0.15, 15000.0, 30.0],
            "gap": [-0.05, 0.05, -3000.0, -10.0],
            "status": ["worse", "better", "worse", "better"],
        }
    )
    section = aarrr_benchmarks.build(rows)
    bar = section.figure.data[0]
    assert list(bar.y) == ["reached_users", "acquisition_cost", "activation_rate"]
    assert list(bar.x) == [0.8, 20 / 30, 0.2 / 0.15]
    assert bar.text[0] == "12,000 vs 15,000 (2025-02)"
    assert bar.text[2] == "20.0% vs 15.0% (2025-02)"
    assert section.takeaway == (
        "Worse than the benchmark: reached_users; better: acquisition_cost, activation_rate."
    )
