"""The growth marts (channel_performance, channel_performance_overall, aarrr_monthly) against an
independent pandas computation from the raw demo files.

Every column of every row is recomputed here from the written definitions (the models'
descriptions, docs/marts.md), on top of tests/support/reference.py's loading, validation, consent,
identity stitching and purchase rules. Edge cases (the 7-day activation and 90-day LTV
boundaries, division by zero, a month without activity, the data cutoff) are dbt unit tests in
the models' YAML.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

import reference
from compare import assert_same_rows

CONVERSION_TOUCHPOINT = "payment_success"
SHARE_TOUCHPOINT = "share"
REFERRAL_CHANNEL = "referral"
UNKNOWN = "(unknown)"
ACTIVATION_WINDOW = pd.Timedelta(days=7)
LTV_WINDOW = pd.Timedelta(days=90)


def month_of(value) -> dt.date:
    return dt.date(value.year, value.month, 1)


def next_month(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def ratio(numerator, denominator) -> float:
    """numerator / denominator, NaN (null) when the denominator is 0."""
    return float(numerator) / float(denominator) if denominator else np.nan


def ltv_window_closed(month: dt.date, cutoff_date: dt.date) -> bool:
    last_day = next_month(month) - dt.timedelta(days=1)
    return last_day + dt.timedelta(days=90) <= cutoff_date


class Inputs:
    """The demo data as of the data cutoff, the way the definitions describe it."""

    def __init__(self, staged: dict[str, pd.DataFrame]) -> None:
        self.cutoff = reference.resolve_cutoff(staged)
        self.cutoff_date = self.cutoff.date()

        users = reference.consenting_users(staged)
        users = users[users["signed_up_at"] <= self.cutoff].copy()
        users["channel"] = users["acquisition_channel"].astype(object).fillna(UNKNOWN)
        users["month"] = users["signed_up_at"].map(month_of)
        self.all_users = reference.consenting_users(staged).assign(
            channel=lambda f: f["acquisition_channel"].astype(object).fillna(UNKNOWN)
        )
        self.signups = users

        tps = reference.actor_touchpoints(staged)
        tps = tps[tps["occurred_at"] <= self.cutoff].copy()
        tps["channel"] = tps["channel"].astype(object).fillna(UNKNOWN)
        tps["month"] = tps["occurred_at"].map(month_of)
        self.touchpoints = tps

        buys = reference.purchases(staged).copy()  # consenting users, up to the cutoff
        buys["month"] = buys["created_at"].map(month_of)
        first = buys.groupby("user_id")["created_at"].min().rename("first_at")
        buys = buys.join(first, on="user_id")
        channel_of = dict(zip(self.all_users["user_id"], self.all_users["channel"], strict=True))
        buys["channel"] = buys["user_id"].map(channel_of)
        self.purchases = buys

        in_window = buys[buys["created_at"] <= buys["first_at"] + LTV_WINDOW]
        ltv = in_window.groupby("user_id")["revenue_decimal"].apply(reference._decimal_sum)
        customers = first.reset_index()
        customers["month"] = customers["first_at"].map(month_of)
        customers["channel"] = customers["user_id"].map(channel_of)
        customers["ltv_90d"] = customers["user_id"].map(ltv)
        self.customers = customers

        spend = staged["marketing_spend"]
        spend = spend[spend["spend_date"] <= self.cutoff_date].copy()
        spend["month"] = spend["spend_date"].map(month_of)
        self.spend = spend


@pytest.fixture(scope="module")
def inputs(demo_validated) -> Inputs:
    staged, _ = demo_validated
    return Inputs(staged)


def channel_measures(
    spend: pd.DataFrame,
    reached: set[str],
    converted: set[str],
    customers: pd.DataFrame,
    purchases: pd.DataFrame,
) -> dict[str, object]:
    """The measures of one (month, channel) or one channel over the whole period."""
    total_spend = sum((Decimal(repr(v)) for v in spend["spend"]), Decimal(0))
    impressions = int(spend["impressions"].fillna(0).sum())
    clicks = int(spend["clicks"].fillna(0).sum())
    new_customers = len(customers)
    converted_actors = len(reached & converted)
    revenue = reference._decimal_sum(purchases["revenue_decimal"])
    ltv_revenue = reference._decimal_sum(customers["ltv_90d"])
    cac = ratio(total_spend, new_customers)
    ltv_per_customer = ratio(ltv_revenue, new_customers)
    return {
        "spend": float(total_spend),
        "impressions": impressions,
        "clicks": clicks,
        "ctr": ratio(clicks, impressions),
        "new_customers": new_customers,
        "cac": cac,
        "reached_actors": len(reached),
        "converted_actors": converted_actors,
        "cvr": ratio(converted_actors, len(reached)),
        "atc": ratio(total_spend, converted_actors),
        "revenue": float(revenue),
        "roas": ratio(revenue, total_spend),
        "ltv_90d_revenue": float(ltv_revenue),
        "ltv_90d_per_new_customer": ltv_per_customer,
        "ltv_to_cac": np.nan if np.isnan(cac) else ratio(ltv_per_customer, cac),
    }


def expected_channel_performance(data: Inputs) -> pd.DataFrame:
    tps = data.touchpoints
    conversions = tps[tps["touchpoint"] == CONVERSION_TOUCHPOINT]
    converted_by_month = conversions.groupby("month")["actor_id"].agg(set).to_dict()
    reached_by_key = tps.groupby(["month", "channel"])["actor_id"].agg(set).to_dict()

    keys = set(reached_by_key)
    keys |= set(zip(data.spend["month"], data.spend["channel"], strict=True))
    keys |= set(zip(data.customers["month"], data.customers["channel"], strict=True))
    keys |= set(zip(data.purchases["month"], data.purchases["channel"], strict=True))

    rows = []
    for month, channel in sorted(keys):
        spend = data.spend[(data.spend["month"] == month) & (data.spend["channel"] == channel)]
        customers = data.customers[
            (data.customers["month"] == month) & (data.customers["channel"] == channel)
        ]
        buys = data.purchases[
            (data.purchases["month"] == month) & (data.purchases["channel"] == channel)
        ]
        measures = channel_measures(
            spend,
            reached_by_key.get((month, channel), set()),
            converted_by_month.get(month, set()),
            customers,
            buys,
        )
        rows.append(
            {"month": month, "channel": channel}
            | measures
            | {"ltv_90d_is_complete": ltv_window_closed(month, data.cutoff_date)}
        )
    return pd.DataFrame(rows)


def expected_channel_performance_overall(data: Inputs) -> pd.DataFrame:
    tps = data.touchpoints
    converted = set(tps.loc[tps["touchpoint"] == CONVERSION_TOUCHPOINT, "actor_id"])
    reached_by_channel = tps.groupby("channel")["actor_id"].agg(set).to_dict()
    channels = (
        set(reached_by_channel)
        | set(data.spend["channel"])
        | set(data.customers["channel"])
        | set(data.purchases["channel"])
    )
    rows = []
    for channel in sorted(channels):
        customers = data.customers[data.customers["channel"] == channel]
        measures = channel_measures(
            data.spend[data.spend["channel"] == channel],
            reached_by_channel.get(channel, set()),
            converted,
            customers,
            data.purchases[data.purchases["channel"] == channel],
        )
        complete = (
            ltv_window_closed(customers["month"].max(), data.cutoff_date)
            if len(customers)
            else pd.NA
        )
        rows.append({"channel": channel} | measures | {"ltv_90d_is_complete": complete})
    return pd.DataFrame(rows)


def expected_aarrr_monthly(data: Inputs) -> pd.DataFrame:
    tps, signups, buys, customers = data.touchpoints, data.signups, data.purchases, data.customers
    first_month = min(tps["month"].min(), signups["month"].min(), buys["month"].min())
    last_month = month_of(data.cutoff)
    first_at = dict(zip(customers["user_id"], customers["first_at"], strict=True))

    rows = []
    month = first_month
    while month <= last_month:
        month_tps = tps[tps["month"] == month]
        awareness = month_tps["actor_id"].nunique()
        sharing = month_tps.loc[month_tps["touchpoint"] == SHARE_TOUCHPOINT, "actor_id"].nunique()

        month_signups = signups[signups["month"] == month]
        acquisition = len(month_signups)
        activation = 0
        for user_id, signed_up_at in zip(
            month_signups["user_id"], month_signups["signed_up_at"], strict=True
        ):
            first = first_at.get(user_id)
            if first is not None and signed_up_at <= first <= signed_up_at + ACTIVATION_WINDOW:
                activation += 1
        referral = int((month_signups["channel"] == REFERRAL_CHANNEL).sum())

        month_buys = buys[buys["month"] == month]
        before = customers[customers["month"] < month]
        retained = month_buys.loc[month_buys["user_id"].isin(set(before["user_id"])), "user_id"]
        revenue = reference._decimal_sum(month_buys["revenue_decimal"])
        purchasing = month_buys["user_id"].nunique()
        rows.append(
            {
                "month": month,
                "awareness": awareness,
                "acquisition": acquisition,
                "acquisition_rate": ratio(acquisition, awareness),
                "activation": activation,
                "activation_rate": ratio(activation, acquisition),
                "retained_customers": retained.nunique(),
                "customers_active_before": len(before),
                "retention_rate": ratio(retained.nunique(), len(before)),
                "revenue": float(revenue),
                "purchasing_customers": purchasing,
                "revenue_per_customer": ratio(revenue, purchasing),
                "referral_signups": referral,
                "sharing_actors": sharing,
                "referral_rate": ratio(referral, acquisition),
            }
        )
        month = next_month(month)
    return pd.DataFrame(rows)


def test_channel_performance(demo_warehouse, inputs):
    expected = expected_channel_performance(inputs)
    actual = demo_warehouse.df("select * from marts.channel_performance")
    assert len(expected) > 50
    # the demo data has channels without spend: their ratios over spend must be null, not errors
    assert expected["roas"].isna().any() and expected["cac"].notna().any()
    assert_same_rows(actual, expected, keys=["month", "channel"], atol=0.005)


def test_channel_performance_overall(demo_warehouse, inputs):
    expected = expected_channel_performance_overall(inputs)
    actual = demo_warehouse.df("select * from marts.channel_performance_overall")
    assert set(expected["channel"]) >= {"paid_search", "referral", "organic", UNKNOWN}
    assert_same_rows(actual, expected, keys=["channel"], atol=0.005)


def test_aarrr_monthly(demo_warehouse, inputs):
    expected = expected_aarrr_monthly(inputs)
    actual = demo_warehouse.df("select * from marts.aarrr_monthly")
    assert len(expected) == 12
    assert_same_rows(actual, expected, keys=["month"], atol=0.005)


def test_growth_marts_reconcile_with_customers(demo_warehouse):
    """Monthly rows add up to the overall rows and to marts.customers."""
    totals = demo_warehouse.df(
        """
        with monthly as (
            select
                sum(spend) as spend,
                sum(new_customers) as new_customers,
                sum(revenue) as revenue
            from marts.channel_performance
        ),
        overall as (
            select
                sum(spend) as spend,
                sum(new_customers) as new_customers,
                sum(revenue) as revenue
            from marts.channel_performance_overall
        ),
        customers as (
            select count(*) as new_customers, sum(net_revenue) as revenue from marts.customers
        ),
        aarrr as (select sum(revenue) as revenue from marts.aarrr_monthly)
        select
            monthly.spend as monthly_spend,
            overall.spend as overall_spend,
            monthly.new_customers as monthly_new,
            overall.new_customers as overall_new,
            customers.new_customers as customers,
            monthly.revenue as monthly_revenue,
            overall.revenue as overall_revenue,
            customers.revenue as customers_revenue,
            aarrr.revenue as aarrr_revenue
        from monthly, overall, customers, aarrr
        """
    ).iloc[0]
    assert totals["monthly_spend"] == totals["overall_spend"]
    assert totals["monthly_new"] == totals["overall_new"] == totals["customers"]
    revenues = {
        float(totals[c])
        for c in ("monthly_revenue", "overall_revenue", "customers_revenue", "aarrr_revenue")
    }
    assert len(revenues) == 1, revenues
