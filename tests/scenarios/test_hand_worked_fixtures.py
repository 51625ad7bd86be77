"""Small raw datasets with hand-worked answers (tests/data/*/README.md explains each case).

Each dataset is a RAW_DATA_DIR of its own, built through the whole pipeline, so these are also
the "another dataset that follows the contract" acceptance tests.
"""

from __future__ import annotations

import math

import pandas as pd
import paths_reference

import products_reference
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
    assert set(metrics["model"]) == {
        "clv",
        "churn",
        "clusters",
        "product_recommendations",
        "demand_forecast",
    }
    churn = metrics[metrics["model"] == "churn"]["metric"].tolist()
    assert churn == ["insufficient_data"]
    # 115 days of purchases: a forecast, but too short for 4 folds of 28 days plus two weeks
    demand = metrics[metrics["model"] == "demand_forecast"]["metric"].tolist()
    # model_version: the forecast's refit is stored (it refits until it can backtest)
    assert demand == ["backtest_not_run", "model_version"]
    days = cohorts_small_warehouse.df(
        "select count(distinct forecast_date) as days from scoring.demand_forecast"
    )
    assert days["days"].tolist() == [28]
    customers = cohorts_small_warehouse.df("select churn_probability from marts.customers")
    assert len(customers) > 0 and customers["churn_probability"].isna().all()


# --- products (issue 20): tests/data/cohorts_small/README.md, "Order lines" -------------------
# Purchases of consenting users up to the cutoff (2025-04-29 10:00) and their lines, revenue =
# amount - discount split by quantity x unit_price / the order's gross:
#   o01 c1 Jan  100.00: sku-1 1 x 100                          -> 100
#   o02 c1 Feb   40.00 (50 - 10): sku-2 socks 2 x 25            -> 40
#   o03 c1 Apr   30.10: no lines                                -> unknown 30.10
#   o04 c2 Jan   80.00: sku-3 1 x 80                            -> 80
#   o07 c3 Feb   60.00: sku-1 1 x 40, sku-2 socks 1 x 20        -> 40, 20
#   o08 c3 Feb   20.00 (25 - 5): no lines                       -> unknown 20
#   o10 c4 Feb  100.00 (120 - 20): sku-1 1 x 60, sku-2 socks 3 x 12, sku-4 2 x 12 (gross 120)
#                                  -> 100 x 60/120 = 50, 100 x 36/120 = 30, 100 x 24/120 = 20
#   o11 c4 Apr   90.00: sku-1 1 x 70, sku-2 accessories 1 x 20  -> 70, 20
#   o14 c6 Mar   40.00 (45.50 - 5.50): sku-3 1 x 40 (gross 40 != amount 45.50) -> 40
#   o15 c6 Mar   10.00: sku-6 1 x 0, sku-7 2 x 0 (gross 0: equal split) -> 5, 5
#   o17 c8 Apr   25.99: sku-1 1 x 25.99                         -> 25.99
# Month totals: Jan 180, Feb 40 + 60 + 20 + 100 = 220, Mar 50, Apr 30.10 + 90 + 25.99 = 146.09;
# all 596.09. Not counted: c5's o12 and o13 (no consent; o13 calls sku-1 "boots" at the
# cutoff and o12 + o13 would make sku-1 + sku-4 a third co-order), cancelled o18 (sku-2 "gifts").

PRODUCT_COLUMNS = [
    "product_id", "category", "month", "orders", "units", "revenue", "customers",
    "new_customers", "repeat_customers", "revenue_share", "revenue_rank",
]  # fmt: skip


def _frame(rows, columns):
    return pd.DataFrame(rows, columns=columns)


def test_order_lines_allocate_revenue_by_hand(cohorts_small_warehouse):
    actual = cohorts_small_warehouse.df(
        "select order_id, coalesce(line_number, 0) as line_number, product_id, category, "
        "line_category, quantity, line_revenue from intermediate.int_order_lines"
    )
    # sku-2's latest purchase line is o11 (04-10, 'accessories'): its category on every line;
    # sku-1 stays 'shoes' (c5's 'boots' line does not count)
    expected = _frame(
        [
            ("o01", 1, "sku-1", "shoes", "shoes", 1, 100.00),
            ("o02", 1, "sku-2", "accessories", "socks", 2, 40.00),
            ("o03", 0, "unknown", "unknown", "unknown", 0, 30.10),
            ("o04", 1, "sku-3", "bags", "bags", 1, 80.00),
            ("o07", 1, "sku-1", "shoes", "shoes", 1, 40.00),
            ("o07", 2, "sku-2", "accessories", "socks", 1, 20.00),
            ("o08", 0, "unknown", "unknown", "unknown", 0, 20.00),
            ("o10", 1, "sku-1", "shoes", "shoes", 1, 50.00),  # 100 x 60 / 120
            ("o10", 2, "sku-2", "accessories", "socks", 3, 30.00),  # 100 x 36 / 120
            ("o10", 3, "sku-4", "belts", "belts", 2, 20.00),  # 100 x 24 / 120
            ("o11", 1, "sku-1", "shoes", "shoes", 1, 70.00),
            ("o11", 2, "sku-2", "accessories", "accessories", 1, 20.00),
            ("o14", 1, "sku-3", "bags", "bags", 1, 40.00),
            ("o15", 1, "sku-6", "gifts", "gifts", 1, 5.00),  # 10 / 2 lines
            ("o15", 2, "sku-7", "gifts", "gifts", 2, 5.00),
            ("o17", 1, "sku-1", "shoes", "shoes", 1, 25.99),
        ],
        ["order_id", "line_number", "product_id", "category", "line_category", "quantity",
         "line_revenue"],
    )  # fmt: skip
    assert_same_rows(actual, expected, keys=["order_id", "line_number"])


def test_product_performance_by_hand(cohorts_small_warehouse):
    jan, feb, mar, apr = "2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01"
    expected = _frame(
        [
            ("sku-1", "shoes", jan, 1, 1, 100.00, 1, 1, 0, 100 / 180, 1),
            ("sku-3", "bags", jan, 1, 1, 80.00, 1, 1, 0, 80 / 180, 2),
            # Feb: sku-1 o07 40 + o10 50; sku-2 o02 40 + o07 20 + o10 30: a tie at 90, rank 1
            ("sku-1", "shoes", feb, 2, 2, 90.00, 2, 2, 0, 90 / 220, 1),
            ("sku-2", "accessories", feb, 3, 6, 90.00, 3, 3, 0, 90 / 220, 1),
            ("sku-4", "belts", feb, 1, 2, 20.00, 1, 1, 0, 20 / 220, 3),
            ("unknown", "unknown", feb, 1, 0, 20.00, 1, 1, 0, 20 / 220, 3),
            ("sku-3", "bags", mar, 1, 1, 40.00, 1, 1, 0, 40 / 50, 1),
            ("sku-6", "gifts", mar, 1, 1, 5.00, 1, 1, 0, 5 / 50, 2),
            ("sku-7", "gifts", mar, 1, 2, 5.00, 1, 1, 0, 5 / 50, 2),
            # Apr: sku-1 o11 70 (c4: bought it in o10, repeat) + o17 25.99 (c8: new)
            ("sku-1", "shoes", apr, 2, 2, 95.99, 2, 1, 1, 95.99 / 146.09, 1),
            ("unknown", "unknown", apr, 1, 0, 30.10, 1, 1, 0, 30.10 / 146.09, 2),
            ("sku-2", "accessories", apr, 1, 1, 20.00, 1, 0, 1, 20 / 146.09, 3),
        ],
        PRODUCT_COLUMNS,
    )
    actual = cohorts_small_warehouse.df("select * from marts.product_performance")
    assert_same_rows(actual, expected, keys=["product_id", "month"])


def test_product_and_category_performance_overall_by_hand(cohorts_small_warehouse):
    columns = [c for c in PRODUCT_COLUMNS if c != "month"]
    products = _frame(
        [
            # sku-1: o01 100 + o07 40 + o10 50 + o11 70 + o17 25.99; c4 bought it twice
            ("sku-1", "shoes", 5, 5, 285.99, 4, 4, 1, 285.99 / 596.09, 1),
            ("sku-3", "bags", 2, 2, 120.00, 2, 2, 0, 120 / 596.09, 2),
            # sku-2: o02 40 + o07 20 + o10 30 + o11 20, units 2 + 1 + 3 + 1
            ("sku-2", "accessories", 4, 7, 110.00, 3, 3, 1, 110 / 596.09, 3),
            ("unknown", "unknown", 2, 0, 50.10, 2, 2, 0, 50.10 / 596.09, 4),
            ("sku-4", "belts", 1, 2, 20.00, 1, 1, 0, 20 / 596.09, 5),
            ("sku-6", "gifts", 1, 1, 5.00, 1, 1, 0, 5 / 596.09, 6),
            ("sku-7", "gifts", 1, 2, 5.00, 1, 1, 0, 5 / 596.09, 6),
        ],
        columns,
    )
    actual = cohorts_small_warehouse.df("select * from marts.product_performance_overall")
    assert_same_rows(actual, products, keys=["product_id"])
    # categories: gifts = sku-6 + sku-7 in one purchase (o15): 1 order, 1 + 2 units, 5 + 5
    categories = products.drop(columns=["product_id"]).iloc[:5]
    gifts = ("gifts", 1, 3, 10.00, 1, 1, 0, 10 / 596.09, 6)
    categories = pd.concat([categories, _frame([gifts], columns[1:])], ignore_index=True)
    actual = cohorts_small_warehouse.df("select * from marts.category_performance_overall")
    assert_same_rows(actual, categories, keys=["category"])
    march = cohorts_small_warehouse.df(
        "select * from marts.category_performance where month = date '2025-03-01'"
    )
    expected_march = _frame(
        [
            ("bags", "2025-03-01", 1, 1, 40.00, 1, 1, 0, 0.8, 1),
            ("gifts", "2025-03-01", 1, 3, 10.00, 1, 1, 0, 0.2, 2),
        ],
        ["category", *PRODUCT_COLUMNS[2:]],
    )
    assert_same_rows(march, expected_march, keys=["category"])


def test_product_affinity_by_hand(cohorts_small_warehouse):
    # purchases with lines: N = 9 (o01 o02 o04 o07 o10 o11 o14 o15 o17); sku-1 in 5 of them
    # (o01 o07 o10 o11 o17), sku-2 in 4 (o02 o07 o10 o11). Together in o07, o10, o11: 3 >= 3,
    # kept; sku-1 + sku-4, sku-2 + sku-4 (o10) and sku-6 + sku-7 (o15) have 1 each: dropped.
    # support 3/9; confidence 3/5 and 3/4; lift 3 x 9 / (5 x 4) = 1.35
    expected = _frame(
        [("sku-1", "sku-2", 3, 3 / 9, 3 / 5, 1.35), ("sku-2", "sku-1", 3, 3 / 9, 3 / 4, 1.35)],
        ["product_id", "related_product_id", "co_orders", "support", "confidence", "lift"],
    )
    actual = cohorts_small_warehouse.df("select * from marts.product_affinity")
    assert_same_rows(actual, expected, keys=["product_id", "related_product_id"])


def test_order_line_issues_by_hand(cohorts_small_warehouse):
    expected = _frame(
        [
            ("purchase without lines", "purchases", 2, 50.10),  # o03 30.10 + o08 20.00
            ("lines gross differs from amount", "purchases", 2, 50.00),  # o14 40, o15 10
            ("lines gross is zero", "purchases", 1, 10.00),  # o15
            ("product under several categories", "products", 1, 110.00),  # sku-2
        ],
        ["issue", "counted", "affected", "revenue"],
    )
    actual = cohorts_small_warehouse.df("select * from audit.order_line_issues")
    assert_same_rows(actual, expected, keys=["issue"])


def test_product_tables_on_cohorts_small_match_reference(cohorts_small_warehouse):
    """The pandas reference of the demo tests agrees with the hand-worked numbers too."""
    staged, _ = reference.validate(reference.load_raw(COHORTS_SMALL))
    lines = products_reference.order_lines(staged)
    for table, key, by_month, keys in [
        ("product_performance", "product_id", True, ["product_id", "month"]),
        ("category_performance", "category", True, ["category", "month"]),
    ]:
        actual = cohorts_small_warehouse.df(f"select * from marts.{table}")
        assert_same_rows(actual, products_reference.performance(lines, key, by_month), keys=keys)
    actual = cohorts_small_warehouse.df("select * from marts.product_affinity")
    expected = products_reference.affinity(lines)
    assert_same_rows(actual, expected, keys=["product_id", "related_product_id"])


# Repeat purchase and early churn on cohorts_small (README: "Repeat purchase and early churn").
# Data cutoff 2025-04-29 10:00. Second purchases (the next purchase on a later timestamp):
#   c1 01-05 10:00 -> o02 02-10 12:00: 36 d + 2 h = 36.0833 d, so counted from d = 37
#   c2 01-31 23:00 -> none (o05 cancelled)
#   c3 02-14 18:00 -> o08 02-20 18:00: 6 d exactly, counted from d = 6 (the boundary counts)
#   c4 02-05 09:30 -> o11 04-10 14:00: 23 + 31 + 10 = 64 d + 4.5 h = 64.1875 d, from d = 65
#   c6 03-08 16:00 -> o15 03-25 16:00: 17 d exactly, from d = 17
#   c8 04-15 20:00 -> none
# eligible while latest first purchase + d <= cutoff:
#   2025-01: c2 01-31 23:00 + 87 d = 04-28 23:00 <= cutoff; + 88 d = 04-29 23:00 > cutoff -> d <= 87
#   2025-02: c3 02-14 18:00 + 73 d = 04-28 18:00; + 74 d = 04-29 18:00 -> d <= 73
#   2025-03: c6 03-08 16:00 + 51 d = 04-28 16:00; + 52 d = 04-29 16:00 -> d <= 51
#   2025-04: c8 04-15 20:00 + 13 d = 04-28 20:00; + 14 d = 04-29 20:00 -> d <= 13 (d = 30 is open)
# cohort -> (customers, days from which each second purchase counts, last eligible day)
CURVE_COHORTS = {
    "2025-01-01": (2, [37], 87),  # c1, c2 (c5 does not consent: not 3)
    "2025-02-01": (2, [6, 65], 73),  # c3, c4
    "2025-03-01": (1, [17], 51),  # c6
    "2025-04-01": (1, [], 13),  # c8
}


def test_repeat_purchase_curve_hand_worked(cohorts_small_warehouse):
    rows = []
    for cohort, (customers, from_days, last_eligible) in CURVE_COHORTS.items():
        for d in range(1, 366):
            buyers = sum(1 for start in from_days if d >= start)
            rows.append(
                {
                    "cohort_month": cohort,
                    "days_since_first_purchase": d,
                    "customers": customers,
                    "second_purchase_customers": buyers,
                    "second_purchase_rate": buyers / customers,
                    "eligible": d <= last_eligible,
                }
            )
    actual = cohorts_small_warehouse.df("select * from marts.repeat_purchase_curve")
    assert_same_rows(actual, pd.DataFrame(rows), keys=["cohort_month", "days_since_first_purchase"])


def test_early_churn_hand_worked(cohorts_small_warehouse):
    """Windows (first, first + 30 d], the four touchpoints tp-ec-* (README):
    2025-01: c1 has no purchase in (01-05 10:00, 02-04 10:00] and tp-ec-c1 is 1 us past the end;
      c2's only touchpoint tp-ec-c2 is at the first purchase's own instant (excluded): 2 of 2
      churned, rate 1.0, gap 1.0 - 0.28 = 0.72; median over c1 alone = 36 + 2/24 = 36.083333 d.
    2025-02: c3 bought again at 6 d; c4 did not buy until 64.19 d, but the anonymous touchpoint
      tp-ec-a4 (device dev-c4, stitched to c4 by the later login tp-ec-c4) is at exactly 02-05
      09:30 + 30 d = 03-07 09:30 (the end counts): 0 of 2, gap -0.28; median of 6 and 64.1875 =
      35.09375.
    2025-03: c6 bought again at 17 d: 0 of 1, median 17.0.
    2025-04: c8's window ends 05-15 20:00 > the cutoff 04-29 10:00: no row."""
    expected = pd.DataFrame(
        [
            ("2025-01-01", 2, 2, 1.0, 36 + 2 / 24, 0.28, 0.72),
            ("2025-02-01", 2, 0, 0.0, (6 + 64.1875) / 2, 0.28, -0.28),
            ("2025-03-01", 1, 0, 0.0, 17.0, 0.28, -0.28),
        ],
        columns=[
            "cohort_month",
            "customers",
            "churned_30d",
            "churn_30d_rate",
            "median_days_to_second_purchase",
            "benchmark_churn_30d_rate",
            "gap",
        ],
    )
    actual = cohorts_small_warehouse.df("select * from marts.early_churn")
    assert_same_rows(actual, expected, keys=["cohort_month"])


def test_aarrr_benchmarks_hand_worked(cohorts_small_warehouse):
    """Months from December 2024 (the signups) to April 2025; two months worked by hand.
    2024-12: 7 consenting signups (c5 does not consent), none active within 7 days, 1 referral
      (c6); no touchpoint, spend or customer yet.
    2025-01: reached c1 (tp-c1-*) and c2 (tp-ec-c2) = 2; acquisition cost = 250.00 paid_search
      spend / 2 new customers (c1, c2) = 125.0; early churn of the January cohort 1.0."""
    nan = float("nan")
    expected = pd.DataFrame(
        [
            ("2024-12-01", "reached_users", 0.0, 15000.0, -15000.0, "worse"),
            ("2024-12-01", "acquisition_cost", nan, 30.0, nan, None),
            ("2024-12-01", "activation_rate", 0 / 7, 0.15, -0.15, "worse"),
            ("2024-12-01", "repeat_purchase_rate", nan, 0.30, nan, None),
            ("2024-12-01", "referral_rate", 1 / 7, 0.08, 1 / 7 - 0.08, "better"),
            ("2024-12-01", "early_churn_30d", nan, 0.28, nan, None),
            ("2025-01-01", "reached_users", 2.0, 15000.0, -14998.0, "worse"),
            ("2025-01-01", "acquisition_cost", 125.0, 30.0, 95.0, "worse"),
            ("2025-01-01", "activation_rate", nan, 0.15, nan, None),
            ("2025-01-01", "repeat_purchase_rate", nan, 0.30, nan, None),
            ("2025-01-01", "referral_rate", nan, 0.08, nan, None),
            ("2025-01-01", "early_churn_30d", 1.0, 0.28, 0.72, "worse"),
        ],
        columns=["month", "metric", "current_value", "benchmark_value", "gap", "status"],
    )
    actual = cohorts_small_warehouse.df(
        "select * from marts.aarrr_benchmarks where month <= date '2025-01-01'"
    )
    assert_same_rows(actual, expected, keys=["month", "metric"])
    months = cohorts_small_warehouse.df("select distinct month from marts.aarrr_benchmarks")
    assert len(months) == 5  # 2024-12 .. 2025-04


# Paths on cohorts_small (README: "Paths"). Data cutoff 2025-04-29 10:00, path_max_steps 5.
# Sessions, collapsed:
#   c1 01-05        product_view, add_to_cart
#   c1 02-04, c2 01-31, c4 03-07 (device dev-c4)   page_view
#   c4 03-20        login
#   c7 04-20        page_view, search (x3 -> 1), product_view, search, category_view,
#                   wishlist_add, page_view: 7 steps, transitions 1..5 only
#   c7 04-21        page_view, search
#   anon:dev-pa 04-22  page_view, search (x2 -> 1)
#   c5 04-22        no consent: not counted
#   c7 04-29        page_view at 09:50; its search at 10:05 is after the cutoff
#   c7 04-30        after the cutoff: not counted
# Step 1 from page_view: 7 sessions, 4 end (c1, c2, c4, c7 04-29) and 3 go to search (c7 twice,
# anon:dev-pa: 2 actors). Step 2 from search: 3 sessions, c7 04-20 to product_view, 2 end.
PATHS_BY_HAND = [
    (1, "product_view", "add_to_cart", 1, 1, 1.0),
    (1, "page_view", "$session_end", 4, 4, 4 / 7),
    (1, "page_view", "search", 3, 2, 3 / 7),
    (1, "login", "$session_end", 1, 1, 1.0),
    (2, "add_to_cart", "$session_end", 1, 1, 1.0),
    (2, "search", "product_view", 1, 1, 1 / 3),
    (2, "search", "$session_end", 2, 2, 2 / 3),
    (3, "product_view", "search", 1, 1, 1.0),
    (4, "search", "category_view", 1, 1, 1.0),
    (5, "category_view", "wishlist_add", 1, 1, 1.0),
]


def test_paths_hand_worked(cohorts_small_warehouse):
    expected = pd.DataFrame(
        [("$session_start", *row) for row in PATHS_BY_HAND],
        columns=[*paths_reference.KEYS, "sessions", "actors", "share"],
    )
    actual = cohorts_small_warehouse.df("select * from marts.paths")
    assert_same_rows(actual, expected, keys=paths_reference.KEYS)
    # and the independent pandas computation of the definition agrees on this fixture
    staged, _ = reference.validate(reference.load_raw(COHORTS_SMALL))
    sessions = paths_reference.session_touchpoints(staged)
    computed = paths_reference.paths(sessions, reference.resolve_cutoff(staged))
    assert_same_rows(computed, expected, keys=paths_reference.KEYS)
