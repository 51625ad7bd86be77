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

The replaced scores are not predicted row by row for every feature (a prediction of every row by
all the boosters' trees per feature): :class:`Forest` walks each tree once per row, and again
from the first node where the median takes another branch, in compiled code
(:mod:`.tree_walk`), adding the leaf values in decision_function's order, so every contribution
is the same float (DECISIONLOG 79, 109). The plain way, :func:`contributions_by_prediction`,
checks it on the sample; with no more rows than the sample, the plain way measures them all.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterable
from typing import Any

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


#: rows whose drivers are measured at once (their scores in every booster with each candidate
#: feature at its median are kept: 3 boosters x 16 x 32,768 rows x 8 bytes = 13 MB)
DRIVER_CHUNK = 32_768


def _raw_scores(boosters: list[Any], x: np.ndarray) -> np.ndarray:
    """The boosters' raw scores (log-odds) of the rows of x, averaged."""
    return np.mean([booster.decision_function(x) for booster in boosters], axis=0)


def contributions_by_prediction(
    boosters: list[Any], x: np.ndarray, medians: np.ndarray, features: Iterable[int]
) -> np.ndarray:
    """Per row of x and feature j of ``features``: the averaged raw score minus that of the row
    with feature j at its median (0 for the other features). The plain way, one prediction of
    every row per feature: :class:`Forest` computes the same numbers, and falls back to this.

    The rows and their copies (one per feature) are predicted in one call per booster: a row's
    score does not depend on the other rows, and on a sample of 2,000 rows the calls' own cost
    (one per tree) was most of the time."""
    features = list(features)
    n = len(x)
    out = np.zeros((n, x.shape[1]))
    if not n:
        return out
    stacked = np.tile(x, (len(features) + 1, 1))
    for k, j in enumerate(features, start=1):
        stacked[k * n : (k + 1) * n, j] = medians[j]
    scores = _raw_scores(boosters, stacked).reshape(len(features) + 1, n)
    for k, j in enumerate(features, start=1):
        out[:, j] = scores[0] - scores[k]
    return out


class Forest:
    """The trees of the calibration folds' boosters (binary HistGradientBoostingClassifier with
    numeric splits), for :func:`contributions_by_prediction` without predicting every row once
    per feature: the compiled walk of :mod:`.tree_walk`, on ``threads`` threads.

    Raises ValueError for boosters it cannot walk (several trees per iteration, a categorical
    split); :func:`top_drivers` then measures the plain way."""

    def __init__(self, boosters: list[Any], threads: int = 1) -> None:
        self.threads = threads
        columns: dict[str, list[np.ndarray]] = {name: [] for name in _NODE_FIELDS}
        roots, tree_booster, offset = [], [], 0
        for b, booster in enumerate(boosters):
            if booster.n_trees_per_iteration_ != 1:
                raise ValueError("Forest needs binary classifiers (one tree per iteration)")
            for iteration in booster._predictors:
                nodes = iteration[0].nodes
                if nodes["is_categorical"].any():
                    raise ValueError("Forest walks numeric splits only")
                for name, dtype in _NODE_FIELDS.items():
                    column = nodes[name].astype(dtype)
                    columns[name].append(column + offset if name in ("left", "right") else column)
                roots.append(offset)
                tree_booster.append(b)
                offset += len(nodes)
        baselines = [float(np.ravel(booster._baseline_prediction)[0]) for booster in boosters]
        self.arrays = (
            *(np.concatenate(columns[name]) for name in _NODE_FIELDS),
            np.array(roots, dtype=np.int64),
            np.array(tree_booster, dtype=np.int64),
            np.array(baselines, dtype=np.float64),
        )

    def contributions(
        self, x: np.ndarray, medians: np.ndarray, features: Iterable[int]
    ) -> np.ndarray:
        """Equal to ``contributions_by_prediction(boosters, x, medians, features)``."""
        return self.contributions_and_scores(x, medians, features)[0]

    def contributions_and_scores(
        self, x: np.ndarray, medians: np.ndarray, features: Iterable[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`contributions`, and each booster's raw score of the rows of x (boosters x
        rows: its ``decision_function``, which the walk adds up in the same order)."""
        from touchpoint_alchemy.scoring.tree_walk import replaced_raw_scores

        features = np.asarray(list(features), dtype=np.int64)
        out = np.zeros((len(x), x.shape[1]))
        if not len(x) or not len(features):
            return out, np.zeros((len(self.arrays[-1]), len(x)))
        raws = replaced_raw_scores(x, features, medians, self.arrays, self.threads)
        # the boosters' scores averaged as _raw_scores averages them
        score = np.mean(raws[:, 0, :], axis=0)
        for c, j in enumerate(features):
            out[:, j] = score - np.mean(raws[:, c + 1, :], axis=0)
        return out, raws[:, 0, :]


#: the node fields of scikit-learn's predictor the walk reads, with the types it reads them as
_NODE_FIELDS = {
    "feature_idx": np.int64,
    "num_threshold": np.float64,
    "missing_go_to_left": np.bool_,
    "left": np.int64,
    "right": np.int64,
    "is_leaf": np.bool_,
    "value": np.float64,
}


def _measure(
    boosters: list[Any],
    x: np.ndarray,
    medians: np.ndarray,
    candidates: np.ndarray,
    sample: np.ndarray,
    plain: np.ndarray,
    threads: int,
) -> tuple[np.ndarray, np.ndarray | None]:
    """The contributions of ``candidates`` for every row of x, by :class:`Forest` when it gives
    the plain way's numbers on the sample, else the plain way (with a warning); and, from the
    Forest's walk, each booster's raw score of every row (None the plain way)."""
    try:
        forest = Forest(boosters, threads)
        measured = forest.contributions(sample, medians, range(x.shape[1]))
    except (AttributeError, TypeError, ValueError):
        measured = None
    contributions = np.zeros((len(x), x.shape[1]))
    if not np.array_equal(measured, plain):
        warnings.warn(
            "churn drivers: the trees do not give decision_function's scores; "
            "measuring every row by prediction",
            RuntimeWarning,
            stacklevel=3,
        )
        for start in range(0, len(x), DRIVER_CHUNK):
            block = x[start : start + DRIVER_CHUNK]
            contributions[start : start + len(block)] = contributions_by_prediction(
                boosters, block, medians, candidates
            )
        return contributions, None
    scores = np.zeros((len(boosters), len(x)))
    for start in range(0, len(x), DRIVER_CHUNK):
        block = x[start : start + DRIVER_CHUNK]
        rows = slice(start, start + len(block))
        contributions[rows], scores[:, rows] = forest.contributions_and_scores(
            block, medians, candidates
        )
    return contributions, scores


def top_drivers(
    model: CalibratedClassifierCV,
    x: np.ndarray,
    medians: np.ndarray,
    feature_names: tuple[str, ...],
    threads: int = 1,
) -> list[str]:
    """Per row of x, the TOP_DRIVERS features whose reference-median replacement lowers the
    risk most (:func:`drivers_and_raw_scores`)."""
    return drivers_and_raw_scores(model, x, medians, feature_names, threads)[0]


def drivers_and_raw_scores(
    model: CalibratedClassifierCV,
    x: np.ndarray,
    medians: np.ndarray,
    feature_names: tuple[str, ...],
    threads: int = 1,
) -> tuple[list[str], np.ndarray | None]:
    """Per row of x, the TOP_DRIVERS features whose reference-median replacement lowers the
    risk most; and the calibration folds' boosters' raw scores of the rows (boosters x rows),
    which the compiled walk computes on the way (None when the rows were measured by
    prediction), so that scoring need not predict them again.

    The contributions are measured on the raw score (log-odds) of the calibration folds'
    boosters, averaged: calibration is monotonic, so the ranking barely changes, and the
    calibrators are skipped. Only the DRIVER_CANDIDATES features with the largest mean absolute
    contribution on a sample of DRIVER_SAMPLE rows are measured for every row; a feature
    outside them matters little for most customers."""
    if len(x) == 0:
        return [], None
    boosters = [fold.estimator for fold in model.calibrated_classifiers_]
    sample = x[np.sort(np.random.default_rng(0).permutation(len(x))[:DRIVER_SAMPLE])]
    with threadpool_limits(threads):
        # the plain way on the sample: a scikit-learn whose trees add up otherwise (or are kept
        # under other names) is noticed, and every row is measured the plain way
        plain = contributions_by_prediction(boosters, sample, medians, range(x.shape[1]))
        importance = np.abs(plain).mean(axis=0)
        candidates = np.argsort(-importance, kind="stable")[:DRIVER_CANDIDATES]
        scores = None
        if len(sample) == len(x):  # every row is in the sample (in order): measured already
            contributions = plain
        else:
            contributions, scores = _measure(
                boosters, x, medians, candidates, sample, plain, threads
            )
        # features that were not measured never outrank a measured one
        unmeasured = np.ones(x.shape[1], dtype=bool)
        unmeasured[candidates] = False
        contributions[:, unmeasured] = -np.inf
    # Columns in name order, then a stable sort by descending contribution: ties go by name.
    by_name = np.argsort(np.array(feature_names), kind="stable")
    order = np.argsort(-contributions[:, by_name], axis=1, kind="stable")[:, :TOP_DRIVERS]
    chosen = by_name[order]
    return worded(chosen, np.take_along_axis(x, chosen, axis=1), feature_names), scores


def worded(chosen: np.ndarray, values: np.ndarray, feature_names: tuple[str, ...]) -> list[str]:
    """Per row, its picked features (``chosen``, indices into ``feature_names``) with their
    values described (:func:`describe_feature`) and joined with ``"; "``. Each distinct
    (feature, value) is described once (values repeat: days, counts) and the rows' texts are
    joined by Arrow, not row by row in Python (DECISIONLOG 158).
    A value is told apart by its bits: -0.0 and 0.0 are two, and any NaN words as missing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rows, width = chosen.shape
    if not rows or not width:
        return [""] * rows
    # a cell's key: its value's bits numbered among the distinct ones, times the features, plus
    # its feature (two sorts of integers: a unique over the pairs' rows sorts far slower)
    bits = np.ascontiguousarray(values, dtype=np.float64).reshape(-1).view(np.int64)
    distinct_bits, value_number = np.unique(bits, return_inverse=True)
    features = len(feature_names)
    keys = value_number.reshape(-1).astype(np.int64) * features + chosen.reshape(-1)
    distinct, inverse = np.unique(keys, return_inverse=True)
    inverse = inverse.reshape(-1)  # 1-D whatever the numpy version
    texts = pa.array(
        [
            describe_feature(feature_names[j], value)
            for j, value in zip(
                (distinct % features).tolist(),
                distinct_bits[distinct // features].view(np.float64).tolist(),
                strict=True,
            )
        ],
        type=pa.string(),
    )
    picks = texts.take(pa.array(inverse.reshape(rows, width).T.reshape(-1)))
    columns = [picks.slice(k * rows, rows) for k in range(width)]
    return pc.binary_join_element_wise(*columns, "; ").to_pylist()
