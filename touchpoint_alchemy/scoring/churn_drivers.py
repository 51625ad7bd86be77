"""Churn drivers: why a customer's risk is high, in plain words.

For each feature j the column is replaced, for every scored customer at once, by its
median over the fitting rows (the validation snapshot) and the boosters of the final model
score again (raw log-odds, averaged over the calibration folds; calibration is monotonic);
``contribution_j = score - score_with_j_at_median``. A customer's ``top_drivers`` are the three
features with the largest contribution (ties by feature name), described in plain words
(``describe_feature``) and joined with ``"; "``. To bound the cost at scale, only the
``DRIVER_CANDIDATES`` (15) features with the largest mean absolute contribution on a sample of
``DRIVER_SAMPLE`` (2,000) customers are measured for everyone. Contributions are one-at-a-time
and do not add up to p; they are a readable hint, not an attribution.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from threadpoolctl import threadpool_limits

TOP_DRIVERS = 3
#: features measured per customer for top_drivers (chosen on a sample, see top_drivers)
DRIVER_CANDIDATES = 15
DRIVER_SAMPLE = 2000


def _number(value: float) -> str:
    """Whole numbers without decimals, others with two; thousands separated by commas."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def _count(value: float, singular: str, plural: str | None = None) -> str:
    plural = plural or f"{singular}s"
    return f"{_number(value)} {singular if value == 1 else plural}"


def describe_feature(name: str, value: object) -> str:
    """One feature value of one customer in plain words, e.g. '212 days since the last purchase'."""
    number = float("nan") if value is None or value is pd.NA else float(value)  # type: ignore[arg-type]
    missing = math.isnan(number)
    match name:
        case "latest_nps_score":
            return "no NPS answer" if missing else f"latest NPS score {_number(number)}"
        case "is_mobile":
            return "mobile user" if not missing and number >= 0.5 else "not on mobile"
    if missing:
        return {
            "recency_days": "no purchase yet",
            "days_since_first_purchase": "no purchase yet",
            "avg_order_value": "no orders yet",
        }.get(name, f"{name.replace('_', ' ')} unknown")
    match name:
        case "recency_days":
            return f"{_count(number, 'day')} since the last purchase"
        case "frequency":
            return f"{_count(number, 'purchase')} so far"
        case "monetary":
            return f"spent {number:,.2f} in total"
        case "avg_order_value":
            return f"average order {number:,.2f}"
        case "tenure_days":
            return f"signed up {_count(number, 'day')} ago"
        case "days_since_first_purchase":
            return f"first purchase {_count(number, 'day')} ago"
    window = re.fullmatch(r"(.+)_(\d+)d", name)
    if window:
        stem, days = window.groups()
        what = {"sessions": ("session", "sessions"), "touchpoints": ("touchpoint", "touchpoints")}
        singular, plural = what.get(stem, (stem.replace("_", " "),) * 2)
        return f"{_count(number, singular, plural)} in the last {days} days"
    return f"{name.replace('_', ' ')} {_number(number)}"


def reference_medians(reference: np.ndarray) -> np.ndarray:
    """Each feature's median over the reference rows (NaN for an all-missing feature): the value
    :func:`top_drivers` replaces a feature with. Kept with the stored model."""
    medians = np.full(reference.shape[1], np.nan)
    for j in range(reference.shape[1]):
        column = reference[:, j]
        if not np.isnan(column).all():
            medians[j] = np.nanmedian(column)
    return medians


def top_drivers(
    model: CalibratedClassifierCV,
    x: np.ndarray,
    medians: np.ndarray,
    feature_names: tuple[str, ...],
    threads: int = 1,
) -> list[str]:
    """Per row of x, the TOP_DRIVERS features whose reference-median replacement lowers the
    risk most.

    The contributions are measured on the raw score (log-odds) of the calibration folds'
    boosters, averaged: calibration is monotonic, so the ranking barely changes, and the
    calibrators are skipped. Only the DRIVER_CANDIDATES features with the largest mean absolute
    contribution on a sample of DRIVER_SAMPLE rows are measured for every row; a feature
    outside them matters little for most customers."""
    if len(x) == 0:
        return []
    boosters = [fold.estimator for fold in model.calibrated_classifiers_]

    def raw_score(rows: np.ndarray) -> np.ndarray:
        return np.mean([booster.decision_function(rows) for booster in boosters], axis=0)

    def contribution(rows: np.ndarray, features: range | np.ndarray) -> np.ndarray:
        score = raw_score(rows)
        out = np.zeros((len(rows), x.shape[1]))
        for j in features:
            replaced = rows.copy()
            replaced[:, j] = medians[j]
            out[:, j] = score - raw_score(replaced)
        return out

    with threadpool_limits(threads):
        sample = np.random.default_rng(0).permutation(len(x))[:DRIVER_SAMPLE]
        importance = np.abs(contribution(x[np.sort(sample)], range(x.shape[1]))).mean(axis=0)
        candidates = np.argsort(-importance, kind="stable")[:DRIVER_CANDIDATES]
        contributions = contribution(x, candidates)
        # features that were not measured never outrank a measured one
        unmeasured = np.ones(x.shape[1], dtype=bool)
        unmeasured[candidates] = False
        contributions[:, unmeasured] = -np.inf
    # Columns in name order, then a stable sort by descending contribution: ties go by name.
    by_name = np.argsort(np.array(feature_names), kind="stable")
    order = np.argsort(-contributions[:, by_name], axis=1, kind="stable")[:, :TOP_DRIVERS]
    chosen = by_name[order]
    return [
        "; ".join(describe_feature(feature_names[j], row[j]) for j in picks)
        for row, picks in zip(x, chosen, strict=True)
    ]
