"""The churn drivers' contributions from the compiled tree walk (churn_drivers.Forest,
tree_walk.py) against the plain way: every row predicted again with the feature at its median,
through scikit-learn's own decision_function (contributions_by_prediction)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier

from touchpoint_alchemy.scoring.churn_drivers import (
    Forest,
    contributions_by_prediction,
    drivers_and_raw_scores,
    reference_medians,
    top_drivers,
)
from touchpoint_alchemy.scoring.churn_model import churn_probability


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
    """Numeric features with a median and a missing median (every row with an NPS answer
    moves), rows split over one or two threads."""
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


NAMES = ("recency_days", "support_chat_90d", "is_mobile", "latest_nps_score")


def test_top_drivers_by_the_walk_equal_the_plain_way(fitted, monkeypatch):
    """1,200 rows: all in the sample (measured the plain way), or a sample of 300 and the rest
    by the walk, in one block or in chunks of 100 rows: the same drivers."""
    model, x = fitted
    medians = reference_medians(x)
    plain = top_drivers(model, x, medians, NAMES)
    assert len(set(plain)) > 10  # the rows have different drivers
    monkeypatch.setattr("touchpoint_alchemy.scoring.churn_drivers.DRIVER_SAMPLE", 300)
    calls = []
    walk = Forest.contributions_and_scores

    def counted(self, rows, *args):
        calls.append(len(rows))
        return walk(self, rows, *args)

    monkeypatch.setattr(Forest, "contributions_and_scores", counted)
    assert top_drivers(model, x, medians, NAMES) == plain
    assert calls == [300, 1200]  # the check on the sample, then every row at once
    monkeypatch.setattr("touchpoint_alchemy.scoring.churn_drivers.DRIVER_CHUNK", 100)
    assert top_drivers(model, x, medians, NAMES, threads=2) == plain
    assert calls[2:] == [300] + [100] * 12


def test_trees_that_add_up_otherwise_fall_back_to_prediction(fitted, monkeypatch):
    """A Forest whose numbers differ from decision_function's on the sample is not used: a
    warning, and the drivers of the plain way."""
    model, x = fitted
    medians = reference_medians(x)
    whole = top_drivers(model, x, medians, NAMES)
    monkeypatch.setattr("touchpoint_alchemy.scoring.churn_drivers.DRIVER_SAMPLE", 300)
    monkeypatch.setattr(Forest, "contributions", lambda self, rows, *args: np.ones(rows.shape))
    with pytest.warns(RuntimeWarning, match="decision_function"):
        assert top_drivers(model, x, medians, NAMES) == whole


def test_the_walk_s_raw_scores_give_predict_proba_bit_for_bit(fitted, monkeypatch):
    """The boosters' raw scores the drivers' walk computes, through each fold's calibrator and
    averaged, are predict_proba's probabilities, the same floats; scikit-learn then predicts the
    check's sample only, not every row."""
    model, x = fitted
    medians = reference_medians(x)
    monkeypatch.setattr("touchpoint_alchemy.scoring.churn_drivers.DRIVER_SAMPLE", 300)
    monkeypatch.setattr("touchpoint_alchemy.scoring.churn_model.DRIVER_SAMPLE", 300)
    drivers, raw = drivers_and_raw_scores(model, x, medians, NAMES)
    assert raw.shape == (3, len(x))  # three calibration folds
    expected = model.predict_proba(x)[:, 1]
    predicted = []
    original = type(model).predict_proba

    def counted(self, rows):
        predicted.append(len(rows))
        return original(self, rows)

    monkeypatch.setattr(type(model), "predict_proba", counted)
    assert np.array_equal(churn_probability(model, x, raw), expected)
    assert predicted == [300]
    assert drivers == top_drivers(model, x, medians, NAMES)


def test_raw_scores_that_differ_fall_back_to_predict_proba(fitted, monkeypatch):
    """Raw scores that do not give predict_proba's numbers on the sample are not used, and
    without raw scores (the plain way) every row is predicted."""
    model, x = fitted
    medians = reference_medians(x)
    monkeypatch.setattr("touchpoint_alchemy.scoring.churn_drivers.DRIVER_SAMPLE", 300)
    _, raw = drivers_and_raw_scores(model, x, medians, NAMES)
    expected = model.predict_proba(x)[:, 1]
    assert np.array_equal(churn_probability(model, x, raw + 1e-3), expected)
    assert np.array_equal(churn_probability(model, x, None), expected)
    assert len(churn_probability(model, x[:0], None)) == 0
