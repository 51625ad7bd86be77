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

The replaced scores are not predicted row by row for every feature (48 passes of all the
boosters' trees over every customer): :class:`Forest` walks again only the trees that split on
the replaced feature, for the rows on the other side of one of its thresholds than the median,
and adds the leaf values in decision_function's order, so every contribution is the same float
(DECISIONLOG 79). With the rows in the order of the feature's value, the rows one tree moves are
a prefix and a suffix, predicted from slices of one sorted copy instead of rows picked out for
every tree; the features are measured on ``threads`` threads, one feature each (DECISIONLOG 88).
The plain way, :func:`contributions_by_prediction`, checks it on the sample.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
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


#: rows whose drivers are measured at once (their leaf values in every tree are kept: 3 boosters
#: x 200 trees x 32,768 rows x 8 bytes = 157 MB)
DRIVER_CHUNK = 32_768


def _raw_scores(boosters: list[Any], x: np.ndarray) -> np.ndarray:
    """The boosters' raw scores (log-odds) of the rows of x, averaged."""
    return np.mean([booster.decision_function(x) for booster in boosters], axis=0)


def contributions_by_prediction(
    boosters: list[Any], x: np.ndarray, medians: np.ndarray, features: Iterable[int]
) -> np.ndarray:
    """Per row of x and feature j of ``features``: the averaged raw score minus that of the row
    with feature j at its median (0 for the other features). The plain way, one prediction of
    every row per feature: :class:`Forest` computes the same numbers, and falls back to this."""
    score = _raw_scores(boosters, x)
    out = np.zeros((len(x), x.shape[1]))
    for j in features:
        replaced = x.copy()
        replaced[:, j] = medians[j]
        out[:, j] = score - _raw_scores(boosters, replaced)
    return out


class Forest:
    """The trees of the calibration folds' boosters (binary HistGradientBoostingClassifier), for
    :func:`contributions_by_prediction` without predicting every row once per feature.

    ``decision_function`` adds the baseline and then each tree's leaf value, in tree order. A
    row with feature j at its median reaches the same leaf of a tree unless the tree splits on j
    at a threshold between the row's value and the median (or one of them is missing): only
    those (tree, row) pairs are walked again, the other leaf values are kept, and the sums are
    taken in the same order, so every score is the same float as the plain way's.
    """

    def __init__(self, boosters: list[Any], threads: int = 1) -> None:
        self.boosters = boosters
        self.threads = threads
        self.trees: list[list[Any]] = []
        self.bitsets: list[tuple[Any, Any]] = []
        self.baselines: list[float] = []
        #: per booster: feature -> (its trees, the thresholds of all their splits on it, sorted,
        #: and per tree how many of its own lie below each of those; None: a categorical split)
        self.splits: list[dict[int, tuple[np.ndarray, np.ndarray, np.ndarray | None]]] = []
        for booster in boosters:
            if booster.n_trees_per_iteration_ != 1:
                raise ValueError("Forest needs binary classifiers (one tree per iteration)")
            trees = [iteration[0] for iteration in booster._predictors]
            self.trees.append(trees)
            self.bitsets.append(booster._bin_mapper.make_known_categories_bitsets())
            self.baselines.append(float(np.ravel(booster._baseline_prediction)[0]))
            self.splits.append(_split_thresholds([tree.nodes for tree in trees]))

    def _leaves(self, b: int, x: np.ndarray) -> np.ndarray:
        """trees x rows: the leaf value of each row of x in each tree of booster b."""
        known, f_idx_map = self.bitsets[b]
        return np.stack([tree.predict(x, known, f_idx_map, self.threads) for tree in self.trees[b]])

    def _sum(self, b: int, leaves: np.ndarray) -> np.ndarray:
        """The raw scores from the leaf values, added as decision_function adds them."""
        total = np.zeros(leaves.shape[1])
        total += self.baselines[b]
        for values in leaves:
            total += values
        return total

    def _moved(self, b: int, j: int, column: np.ndarray, median: float) -> tuple[Any, Any]:
        """The trees of booster b that split on feature j, and per tree (rows) the rows whose
        value may take another branch than the median (``value <= threshold`` goes left; a
        missing value goes its own way)."""
        trees, thresholds, below = self.splits[b].get(j, (np.empty(0, int), None, None))
        missing = np.isnan(column)
        if below is None or math.isnan(median):
            moved = ~missing if below is not None else np.ones(len(column), dtype=bool)
            return trees, np.broadcast_to(moved, (len(trees), len(column)))
        side = np.searchsorted(thresholds, column, side="left")
        at_median = np.searchsorted(thresholds, median, side="left")
        return trees, (below[:, side] != below[:, [at_median]]) | missing

    def contributions(
        self, x: np.ndarray, medians: np.ndarray, features: Iterable[int]
    ) -> np.ndarray:
        """Equal to ``contributions_by_prediction(self.boosters, x, medians, features)``."""
        x = np.ascontiguousarray(x, dtype=np.float64)
        leaves = [self._leaves(b, x) for b in range(len(self.boosters))]
        raws = [self._sum(b, leaf) for b, leaf in enumerate(leaves)]
        score = np.mean(raws, axis=0)
        out = np.zeros((len(x), x.shape[1]))
        features = list(features)

        def replaced(j: int) -> list[np.ndarray]:
            median = medians[j]
            numeric = all(split.get(j, (None, None, 0))[2] is not None for split in self.splits)
            if numeric and not math.isnan(median):
                return self._replaced_in_value_order(x, j, median, leaves, raws)
            return [
                self._replaced_by_rows(b, x, j, median, leaf, raws[b])
                for b, leaf in enumerate(leaves)
            ]

        # One feature per thread: a tree's prediction and numpy's copies release the GIL, and
        # the features are independent (one thread each predicts better than two threads each
        # predicting the few rows one tree moves).
        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            for j, replaced_raws in zip(features, pool.map(replaced, features), strict=True):
                out[:, j] = score - np.mean(replaced_raws, axis=0)
        return out

    def _replaced_in_value_order(
        self, x: np.ndarray, j: int, median: float, leaves: list[np.ndarray], raws: list[Any]
    ) -> list[np.ndarray]:
        """Per booster, the raw scores of the rows of x with numeric feature j at ``median``.

        With the rows in the order of their value of j (missing last), the rows a tree sends
        elsewhere than the median are a prefix and a suffix: its own thresholds below a value
        only grow with the value, and they differ from the median's below one value and above
        another; the missing rows, last, always move. So each tree predicts slices of one sorted
        copy of x, where picking its rows out of x for every tree cost more than the trees."""
        column = x[:, j]
        order = np.argsort(column, kind="stable")  # NaN last
        valid = int(np.count_nonzero(~np.isnan(column)))
        replaced = x[order]
        replaced[:, j] = median
        values = column[order[:valid]]
        result = []
        for b, leaf in enumerate(leaves):
            trees, thresholds, below = self.splits[b].get(j, (np.empty(0, int), None, None))
            if not len(trees):
                result.append(raws[b])
                continue
            side = np.searchsorted(thresholds, values, side="left")  # non-decreasing
            at_median = int(np.searchsorted(thresholds, median, side="left"))
            known, f_idx_map = self.bitsets[b]
            moved_leaves = leaf.copy()  # in x's order: picking columns in value order cost more
            for t, counts in zip(trees, below, strict=True):
                # counts[k]: the tree's thresholds below a value with k of all below it
                target = counts[at_median]
                lo = np.searchsorted(side, np.searchsorted(counts, target, side="left"))
                hi = np.searchsorted(side, np.searchsorted(counts, target, side="right"))
                tree = self.trees[b][t]
                for start, stop in ((0, int(lo)), (int(hi), len(x))):
                    if stop > start:
                        moved_leaves[t, order[start:stop]] = tree.predict(
                            replaced[start:stop], known, f_idx_map, 1
                        )
            # the unmoved rows' sums are raws[b]'s: the same leaves added in the same order
            result.append(self._sum(b, moved_leaves))
        return result

    def _replaced_by_rows(
        self, b: int, x: np.ndarray, j: int, median: float, leaf: np.ndarray, raw: Any
    ) -> np.ndarray:
        """The raw scores of booster b for the rows of x with feature j at ``median``, the trees
        walked again for the rows that move (a categorical feature, or a missing median)."""
        trees, moved = self._moved(b, j, x[:, j], median)
        changed = np.flatnonzero(moved.any(axis=0)) if len(trees) else []
        raw = raw.copy()
        if len(changed):
            if len(changed) == len(x):  # plain copies: faster than picking every row
                changed = slice(None)
                replaced, moved_leaves = x.copy(), leaf.copy()
            else:
                replaced, moved_leaves = x[changed], leaf[:, changed]
                moved = moved[:, changed]
            replaced[:, j] = median
            known, f_idx_map = self.bitsets[b]
            for t, rows in zip(trees, moved, strict=True):
                tree = self.trees[b][t]
                if rows.all():
                    moved_leaves[t] = tree.predict(replaced, known, f_idx_map, 1)
                elif rows.any():
                    moved_leaves[t, rows] = tree.predict(replaced[rows], known, f_idx_map, 1)
            raw[changed] = self._sum(b, moved_leaves)
        return raw


def _split_thresholds(
    trees: list[np.ndarray],
) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
    """Feature -> (the trees splitting on it, all their thresholds on it sorted, and per tree
    the count of its own thresholds below each: ``below[i, k]`` for a value with k of all the
    thresholds below it; None when a split on it is categorical)."""
    per_feature: dict[int, list[tuple[int, np.ndarray, bool]]] = {}
    for t, nodes in enumerate(trees):
        inner = nodes[nodes["is_leaf"] == 0]
        for feature in np.unique(inner["feature_idx"]):
            on = inner[inner["feature_idx"] == feature]
            per_feature.setdefault(int(feature), []).append(
                (t, np.unique(on["num_threshold"]), bool(on["is_categorical"].any()))
            )
    splits = {}
    for feature, uses in per_feature.items():
        indices = np.array([t for t, _, _ in uses])
        thresholds = np.unique(np.concatenate([own for _, own, _ in uses]))
        below = None
        if not any(categorical for _, _, categorical in uses):
            below = np.array(
                [np.concatenate([[0], np.cumsum(np.isin(thresholds, own))]) for _, own, _ in uses]
            )
        splits[feature] = (indices, thresholds, below)
    return splits


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
    sample = x[np.sort(np.random.default_rng(0).permutation(len(x))[:DRIVER_SAMPLE])]
    with threadpool_limits(threads):
        # the plain way on the sample: a scikit-learn whose trees add up otherwise (or are kept
        # under other names) is noticed, and every row is measured the plain way
        plain = contributions_by_prediction(boosters, sample, medians, range(x.shape[1]))
        try:
            forest = Forest(boosters, threads)
            measured = forest.contributions(sample, medians, range(x.shape[1]))
        except (AttributeError, TypeError, ValueError):
            measured = None
        measure = forest.contributions if np.array_equal(measured, plain) else None
        if measure is None:
            warnings.warn(
                "churn drivers: the trees do not give decision_function's scores; "
                "measuring every row by prediction",
                RuntimeWarning,
                stacklevel=2,
            )
            measure = partial(contributions_by_prediction, boosters)
        importance = np.abs(plain).mean(axis=0)
        candidates = np.argsort(-importance, kind="stable")[:DRIVER_CANDIDATES]
        contributions = np.zeros((len(x), x.shape[1]))
        for start in range(0, len(x), DRIVER_CHUNK):
            block = x[start : start + DRIVER_CHUNK]
            contributions[start : start + len(block)] = measure(block, medians, candidates)
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
