"""Repeat purchase, early churn and AARRR against benchmarks, in pandas, from the written
definitions (issue 20; docs/marts.md), never from the SQL.

Built on reference.py's loading, validation, consent, identity stitching and purchase rules:

- the second purchase of a customer is the earliest purchase on a later timestamp than the first
  (purchases at the first's instant do not count), up to the data cutoff;
- the curve counts, per first-purchase cohort month and day d = 1..365, the customers with
  second - first <= d x 24 h; eligible when the cohort's latest first purchase + d days <= cutoff;
- a customer churned early when no purchase and no touchpoint of the stitched actor falls in
  (first, first + N days]; only cohorts with latest first purchase + N days <= cutoff;
- aarrr_benchmarks sets each month's metric against the seed's benchmark, gap = current -
  benchmark, 'better' when the gap is >= 0 (higher is better) or <= 0 (lower is better).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd

import reference

CURVE_DAYS = 365
DAY = pd.Timedelta(days=1)


def _month(value) -> dt.date:
    return dt.date(value.year, value.month, 1)


def second_purchases(staged: dict[str, pd.DataFrame], cutoff: object = None) -> pd.DataFrame:
    """One row per customer (consenting, a purchase up to the cutoff): user_id, cohort_month,
    first_at, second_at (NaT without one), days (second - first in fractional days, NaN)."""
    buys = reference.purchases(staged, cutoff)
    rows = []
    for user_id, own in buys.groupby("user_id"):
        times = own["created_at"]
        first = times.min()
        later = times[times > first]
        second = later.min() if len(later) else pd.NaT
        rows.append(
            {
                "user_id": user_id,
                "cohort_month": _month(first),
                "first_at": first,
                "second_at": second,
                "days": (second - first) / DAY if len(later) else np.nan,
            }
        )
    return pd.DataFrame(rows)


def repeat_purchase_curve(staged: dict[str, pd.DataFrame], cutoff: object = None) -> pd.DataFrame:
    limit = reference.resolve_cutoff(staged, cutoff)
    customers = second_purchases(staged, cutoff)
    rows = []
    for cohort, members in customers.groupby("cohort_month"):
        gaps = (members["second_at"] - members["first_at"]).dropna()
        latest = members["first_at"].max()
        for d in range(1, CURVE_DAYS + 1):
            within = int((gaps <= pd.Timedelta(days=d)).sum())
            rows.append(
                {
                    "cohort_month": cohort,
                    "days_since_first_purchase": d,
                    "customers": len(members),
                    "second_purchase_customers": within,
                    "second_purchase_rate": within / len(members),
                    "eligible": latest + pd.Timedelta(days=d) <= limit,
                }
            )
    return pd.DataFrame(rows)


def early_churn(
    staged: dict[str, pd.DataFrame],
    benchmark: float,
    cutoff: object = None,
    days: int = 30,
) -> pd.DataFrame:
    limit = reference.resolve_cutoff(staged, cutoff)
    window = pd.Timedelta(days=days)
    customers = second_purchases(staged, cutoff)
    touchpoints = reference.actor_touchpoints(staged)
    times_of = {actor: own["occurred_at"] for actor, own in touchpoints.groupby("actor_id")}
    rows = []
    for cohort, members in customers.groupby("cohort_month"):
        if members["first_at"].max() + window > limit:
            continue  # a window still open at the cutoff
        churned = 0
        for row in members.itertuples(index=False):
            end = row.first_at + window
            bought = pd.notna(row.second_at) and row.second_at <= end
            times = times_of.get(row.user_id, pd.Series([], dtype="datetime64[us]"))
            touched = bool(((times > row.first_at) & (times <= end)).any())
            churned += not (bought or touched)
        rate = churned / len(members)
        known = members["days"].dropna()
        rows.append(
            {
                "cohort_month": cohort,
                "customers": len(members),
                "churned_30d": churned,
                "churn_30d_rate": rate,
                "median_days_to_second_purchase": float(np.median(known)) if len(known) else np.nan,
                "benchmark_churn_30d_rate": benchmark,
                "gap": rate - benchmark,
            }
        )
    return pd.DataFrame(rows)


def acquisition_cost(staged: dict[str, pd.DataFrame], cutoff: object = None) -> dict:
    """month -> marketing spend of the month (spend_date up to the cutoff's date) / customers
    whose first purchase falls in the month (NaN without new customers)."""
    limit = reference.resolve_cutoff(staged, cutoff)
    spend = staged["marketing_spend"]
    spend = spend[spend["spend_date"] <= limit.date()]
    by_month: dict[dt.date, Decimal] = {}
    for day, value in zip(spend["spend_date"], spend["spend"], strict=True):
        by_month[_month(day)] = by_month.get(_month(day), Decimal(0)) + Decimal(repr(value))
    new = second_purchases(staged, cutoff)["cohort_month"].value_counts().to_dict()
    months = set(by_month) | set(new)
    return {
        m: float(by_month.get(m, Decimal(0))) / new[m] if new.get(m) else np.nan for m in months
    }


def aarrr_benchmarks(
    aarrr_monthly: pd.DataFrame,
    acquisition_costs: dict,
    churn: pd.DataFrame,
    benchmarks: pd.DataFrame,
) -> pd.DataFrame:
    """Every month of aarrr_monthly x every metric of the benchmarks seed."""
    churn_of = dict(zip(churn["cohort_month"], churn["churn_30d_rate"], strict=True))
    rows = []
    for month_row in aarrr_monthly.itertuples(index=False):
        month = pd.Timestamp(month_row.month).date()
        current = {
            "reached_users": float(month_row.awareness),
            "activation_rate": month_row.activation_rate,
            "repeat_purchase_rate": month_row.retention_rate,
            "referral_rate": month_row.referral_rate,
            "acquisition_cost": acquisition_costs.get(month, np.nan),
            "early_churn_30d": churn_of.get(month, np.nan),
        }
        for bench in benchmarks.itertuples(index=False):
            value = current[bench.metric]
            value = np.nan if value is None or pd.isna(value) else float(value)
            gap = value - float(bench.benchmark_value)
            if np.isnan(gap):
                status = None
            elif bool(bench.higher_is_better):
                status = "better" if gap >= 0 else "worse"
            else:
                status = "better" if gap <= 0 else "worse"
            rows.append(
                {
                    "month": month,
                    "metric": bench.metric,
                    "stage": bench.stage,
                    "unit": bench.unit,
                    "higher_is_better": bool(bench.higher_is_better),
                    "current_value": value,
                    "benchmark_value": float(bench.benchmark_value),
                    "gap": gap,
                    "status": status,
                }
            )
    return pd.DataFrame(rows)
