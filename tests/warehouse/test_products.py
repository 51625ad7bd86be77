"""The product tables (int_order_lines, the product and category marts, product_affinity and
audit.order_line_issues) on the demo warehouse against an independent pandas computation
(tests/support/products_reference.py), written from the definitions in words, row by row. The
hand-worked cases (a discount over 3 lines, purchases without lines, a zero gross, two
categories, a pair below the threshold) are in tests/scenarios/test_hand_worked_fixtures.py.
"""

from __future__ import annotations

import pytest

import products_reference
from compare import assert_same_rows

PERFORMANCE = [
    ("product_performance", "product_id", True, ["product_id", "month"]),
    ("product_performance_overall", "product_id", False, ["product_id"]),
    ("category_performance", "category", True, ["category", "month"]),
    ("category_performance_overall", "category", False, ["category"]),
]


@pytest.fixture(scope="module")
def staged(demo_validated):
    return demo_validated[0]


@pytest.fixture(scope="module")
def lines(staged):
    return products_reference.order_lines(staged)


def _with_line_key(frame):
    """line_number as a key: the 'unknown' row of a purchase without lines has none."""
    return frame.assign(line_number=frame["line_number"].fillna(-1).astype("int64"))


def test_order_lines_match_reference(demo_warehouse, lines):
    actual = demo_warehouse.df(
        "select *, purchase_month as month from intermediate.int_order_lines"
    )
    expected = lines.drop(columns=["purchased_at"])
    # the demo data holds what the definition is about: discounted orders of several lines
    discounted = expected.groupby("order_id").filter(lambda o: len(o) >= 3)
    assert len(discounted) > 0
    assert_same_rows(
        _with_line_key(actual), _with_line_key(expected), keys=["order_id", "line_number"]
    )
    sums = actual.groupby("order_id").agg(
        lines=("line_revenue", "sum"), order=("order_revenue", "max")
    )
    assert ((sums["lines"] - sums["order"].astype(float)).abs() < 1e-6).all()


@pytest.mark.parametrize(("table", "key", "by_month", "keys"), PERFORMANCE)
def test_performance_marts_match_reference(demo_warehouse, lines, table, key, by_month, keys):
    expected = products_reference.performance(lines, key, by_month)
    actual = demo_warehouse.df(f"select * from marts.{table}")
    assert (expected["repeat_customers"] > 0).any() and (expected["revenue_rank"] > 1).any()
    assert_same_rows(actual, expected, keys=keys)


def test_product_affinity_matches_reference(demo_warehouse, lines):
    expected = products_reference.affinity(lines, min_co_orders=3)
    below = products_reference.affinity(lines, min_co_orders=1)
    actual = demo_warehouse.df("select * from marts.product_affinity")
    # pairs on both sides of the threshold occur
    assert len(expected) > 0 and (below["co_orders"] < 3).any()
    assert_same_rows(actual, expected, keys=["product_id", "related_product_id"])


def test_order_line_issues_match_reference(demo_warehouse, staged):
    expected = products_reference.order_line_issues(staged)
    actual = demo_warehouse.df("select * from audit.order_line_issues")
    assert_same_rows(actual, expected, keys=["issue"])
