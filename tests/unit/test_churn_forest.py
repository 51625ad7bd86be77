"""The churn drivers' contributions from the trees (churn_drivers.Forest) against the plain way:
every row predicted again with the feature at its median, through scikit-learn's own
decision_function (contributions_by_prediction)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier

from touchpoint_alchemy.scoring.churn_drivers import (
    Forest,
    contributions_by_prediction,
    reference_medians,
    top_drivers,
)


@pytest.fixture(scope="module")
def fitted():
    """A calibrated boosted model on 1,200 rows: a continuous feature with missing values, counts
    mostly 0, a 0/1 flag, and an all-missing feature (median NaN) in the scored rows."""
    rng = np.random.default_rng(3)
    n = 1200
    recency = rng.integers(1, 366, n).astype("float64")
    chats = rng.poisson(0.4, n).astype("float64")
    mobile = (rng.random(n) < 0.5).astype("float64")
    nps = rng.integers(0, 11, n).astype("float64")
    nps[rng.random(n) < 0.3] = np.nan
    x = np.column_stack([recency, chats, mobile, nps])
    churned = (recency / 365 + 0.3 * chats - 0.2 * mobile + rng.normal(0, 0.3, n)) > 0.6
    # the churn model's form (make_estimator) with fewer iterations: the test stays fast
    booster = HistGradientBoostingClassifier(max_iter=40, max_leaf_nodes=15, random_state=1)
    model = CalibratedClassifierCV(booster, method="sigmoid", cv=3).fit(x, churned.astype(int))
    return model, x


@pytest.mark.parametrize("threads", [1, 2])
def test_forest_equals_prediction_bit_for_bit(fitted, threads):
    """Numeric features with a median (the rows in value order, missing values last) and a
    missing median (the rows a tree moves picked out), one feature per thread."""
    model, x = fitted
    boosters = [fold.estimator for fold in model.calibrated_classifiers_]
    medians = reference_medians(x)
    medians_missing = medians.copy()
    medians_missing[3] = np.nan  # every row with an NPS answer moves
    forest = Forest(boosters, threads)
    for reference in (medians, medians_missing):
        expected = contributions_by_prediction(boosters, x, reference, range(x.shape[1]))
        got = forest.contributions(x, reference, range(x.shape[1]))
        assert np.array_equal(got, expected)  # the same floats, not close ones
        assert (expected != 0).any(axis=0).all()  # every feature moves some score


def test_rows_at_the_median_contribute_exactly_zero(fitted):
    model, x = fitted
    boosters = [fold.estimator for fold in model.calibrated_classifiers_]
    medians = reference_medians(x)
    got = Forest(boosters).contributions(x, medians, [2])
    at_median = x[:, 2] == medians[2]
    assert at_median.any() and (got[at_median, 2] == 0).all()
    assert (got[:, [0, 1, 3]] == 0).all()  # features not asked for stay 0


def test_top_drivers_in_chunks_equal_one_block(fitted, monkeypatch):
    """Measured in chunks of 100 rows (each its own leaf values) or at once: the same drivers."""
    model, x = fitted
    names = ("recency_days", "support_chat_90d", "is_mobile", "latest_nps_score")
    medians = reference_medians(x)
    whole = top_drivers(model, x, medians, names)
    monkeypatch.setattr("touchpoint_alchemy.scoring.churn_drivers.DRIVER_CHUNK", 100)
    assert top_drivers(model, x, medians, names) == whole


def test_trees_that_add_up_otherwise_fall_back_to_prediction(fitted, monkeypatch):
    """A Forest whose numbers differ from decision_function's on the sample is not used: a
    warning, and the drivers of the plain way."""
    model, x = fitted
    names = ("recency_days", "support_chat_90d", "is_mobile", "latest_nps_score")
    medians = reference_medians(x)
    whole = top_drivers(model, x, medians, names)
    monkeypatch.setattr(Forest, "contributions", lambda self, rows, *args: np.ones(rows.shape))
    with pytest.warns(RuntimeWarning, match="decision_function"):
        assert top_drivers(model, x, medians, names) == whole
