"""Churn scoring: a calibrated gradient-boosted classifier with a time-based holdout.

Input is the ``features`` frame (one row per user_id and snapshot) and the long
``touchpoint_counts`` frame. The snapshots are: one or more training ones (``train`` or
``train_0``, ``train_1``, ...: as of cutoff - 2 x horizon and 30, 60, ... days before that),
``validation`` (as of cutoff - horizon) and ``score`` (as of the data cutoff). A customer has
*churned* when there is no purchase in the horizon after the snapshot's ``as_of_at``; the score
snapshot has no label yet.

Feature matrix (``build_feature_matrix``, in :mod:`.churn_features`), one row per (snapshot,
user_id), all float64:
``FEATURE_COLUMNS`` (``latest_nps_score`` keeps NaN for customers who never answered, which
HistGradientBoosting routes as missing; ``is_mobile`` is 0/1, unknown counts as 0), then per
touchpoint type ``<type>_30d`` and ``<type>_90d`` pivoted from the long table, 0 when a
(user, snapshot, touchpoint) row is missing. Types are the union over all snapshots, lower-cased
and sanitised to ``[a-z0-9_]`` (other runs of characters become ``_``; an empty name becomes
``unknown``); types that sanitise to the same name are summed, and a type whose columns would
clash with a base column (``sessions``, ``touchpoints``) gets the suffix ``_touchpoint``. The
touchpoint columns are sorted by name.

Model (``make_estimator``): ``CalibratedClassifierCV(HistGradientBoostingClassifier(...),
cv=3)`` with ``max_iter=200, learning_rate=0.05, max_leaf_nodes=15, l2_regularization=1.0`` and
no early stopping (every fit runs the same 200 iterations). Calibration is ``sigmoid`` (Platt),
``isotonic`` only when the fitting set has at least ``ISOTONIC_MIN_ROWS`` (20,000) rows:
on smaller sets isotonic regression overfits, and its steps tie many customers at one
probability, which costs ranking quality (demo data: holdout AUC 0.850 isotonic, 0.864
Platt). The 3 calibration folds are unshuffled stratified folds, and
the boosting has a fixed ``random_state``, so the same input and seed give the same output.

Evaluation is time-based: fit on the training snapshots (every training label ends before the
validation snapshot's as-of time), measure on ``validation``: holdout AUC, Brier score, the AUC
of ``recency_days`` alone as the score (the no-model baseline; a customer without a purchase
counts as the most lapsed), the churn rate and the row counts. The final model is the same
estimator refitted on every labelled snapshot (training and validation; the latest labels end at
the cutoff), and it scores the ``score`` snapshot.

Risk bands: ``low`` when p < medium_threshold, ``medium`` when medium_threshold <= p <
high_threshold, ``high`` when p >= high_threshold (defaults 0.5 and 0.75).

Drivers (``top_drivers``, ``describe_feature``; in :mod:`.churn_drivers`): each feature in
turn set to its median, and the drop in the final model's raw score; the three largest, in words.

Scale and threads: each fit uses at most ``MAX_FIT_ROWS`` (200,000) rows (a seeded sample), on
``threads`` OpenMP threads (``threadpool_limits``), one below ``PARALLEL_MIN_ROWS`` rows: on the
demo's 2,346, two threads took 2.7x as long as one on a busy machine (11x when they busy-wait).
Results do not depend on the thread count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import brier_score_loss, roc_auc_score
from threadpoolctl import threadpool_limits

from touchpoint_alchemy.scoring import InsufficientDataError, ModelFitError
from touchpoint_alchemy.scoring.churn_drivers import (
    DRIVER_CANDIDATES,
    DRIVER_SAMPLE,
    TOP_DRIVERS,
    describe_feature,
    reference_medians,
    top_drivers,
)
from touchpoint_alchemy.scoring.churn_features import (
    FEATURE_COLUMNS,
    TOUCHPOINT_COLUMNS,
    TOUCHPOINT_WINDOWS,
    build_feature_matrix,
    sanitise_touchpoint,
)

#: the drivers' names, importable from here as before the split (churn_drivers.py)
__all__ = [
    "CALIBRATION_FOLDS",
    "DRIVER_CANDIDATES",
    "DRIVER_SAMPLE",
    "FEATURE_COLUMNS",
    "HGB_PARAMS",
    "INPUT_COLUMNS",
    "ISOTONIC_MIN_ROWS",
    "MAX_FIT_ROWS",
    "METRICS",
    "METRIC_COLUMNS",
    "MIN_LABELLED_ROWS",
    "RISK_BANDS",
    "SCORE_COLUMNS",
    "SNAPSHOTS",
    "TOP_DRIVERS",
    "TOUCHPOINT_COLUMNS",
    "TOUCHPOINT_WINDOWS",
    "ChurnResult",
    "build_feature_matrix",
    "describe_feature",
    "make_estimator",
    "sanitise_touchpoint",
    "score_churn",
    "top_drivers",
]

PARALLEL_MIN_ROWS = 50_000  # fewer feature rows are fitted on one thread (module doc)
RISK_BANDS = ("low", "medium", "high")
SNAPSHOTS = ("train", "validation", "score")

INPUT_COLUMNS = ("user_id", "snapshot", *FEATURE_COLUMNS, "churned")

SCORE_COLUMNS = ("user_id", "churn_probability", "risk_band", "top_drivers")
METRIC_COLUMNS = ("metric", "value", "n")
METRICS = (
    "holdout_auc",
    "holdout_brier",
    "baseline_recency_auc",
    "holdout_churn_rate",
    "train_rows",
    "validation_customers",
    "scored_customers",
)

MIN_LABELLED_ROWS = 20
CALIBRATION_FOLDS = 3
ISOTONIC_MIN_ROWS = 20_000
HGB_PARAMS: dict[str, object] = {
    "max_iter": 200,
    "learning_rate": 0.05,
    "max_leaf_nodes": 15,
    "l2_regularization": 1.0,
    "early_stopping": False,
}


@dataclass
class ChurnResult:
    """Scores of the ``score`` snapshot and the holdout metrics of the time-based split."""

    #: user_id, churn_probability (float64), risk_band (RISK_BANDS), top_drivers; by user_id
    scores: pd.DataFrame
    #: metric (METRICS), value (float64), n (int64: rows the metric is computed on)
    metrics: pd.DataFrame
    #: the model's feature columns, in order
    feature_names: tuple[str, ...] = field(default_factory=tuple)
    #: calibration method of the evaluation fit (train) and of the final fit (all labelled)
    calibration_method: dict[str, str] = field(default_factory=dict)
    #: the final model (churn_model.ChurnModel), which the daily runs score with
    model: Any = None


def make_estimator(n_rows: int, seed: int) -> CalibratedClassifierCV:
    """The churn model for a fitting set of n_rows rows (isotonic from ISOTONIC_MIN_ROWS rows)."""
    method = "isotonic" if n_rows >= ISOTONIC_MIN_ROWS else "sigmoid"
    booster = HistGradientBoostingClassifier(random_state=seed, **HGB_PARAMS)  # type: ignore[arg-type]
    return CalibratedClassifierCV(booster, method=method, cv=CALIBRATION_FOLDS)


def _labels(features: pd.DataFrame, index: pd.MultiIndex, snapshot: str) -> np.ndarray:
    """The churned labels of the rows ``index`` ((snapshot, user_id) pairs); ``snapshot``
    names them in error messages."""
    labelled = features.assign(
        snapshot=features["snapshot"].astype(str), user_id=features["user_id"].astype(str)
    ).set_index(["snapshot", "user_id"])["churned"]
    churned = labelled.reindex(index)
    if churned.isna().any():
        raise ValueError(f"score_churn: the {snapshot!r} snapshot has rows without a churned label")
    labels = churned.astype("boolean").astype(bool).to_numpy(dtype="int64")
    if len(labels) < MIN_LABELLED_ROWS:
        raise InsufficientDataError(
            f"score_churn: the {snapshot!r} snapshot has {len(labels)} rows, "
            f"it needs at least {MIN_LABELLED_ROWS}"
        )
    counts = np.bincount(labels, minlength=2)
    if counts.min() == 0:
        raise InsufficientDataError(
            f"score_churn: every customer of the {snapshot!r} snapshot has "
            f"churned={bool(labels[0])}; a model needs both classes"
        )
    if counts.min() < CALIBRATION_FOLDS:
        raise InsufficientDataError(
            f"score_churn: the {snapshot!r} snapshot has only {counts.min()} customers of one "
            f"class, calibration needs at least {CALIBRATION_FOLDS} (one per fold)"
        )
    return labels


def _training_rows(matrix: pd.DataFrame) -> pd.DataFrame:
    """Rows of every training snapshot ('train', or 'train_0', 'train_1', ...), index kept."""
    names = matrix.index.get_level_values("snapshot").astype(str)
    return matrix[(names == "train") | names.str.startswith("train_")]


def _snapshot(matrix: pd.DataFrame, snapshot: str) -> pd.DataFrame:
    if snapshot in matrix.index.get_level_values("snapshot"):
        return matrix.xs(snapshot, level="snapshot")
    return matrix.iloc[:0].droplevel("snapshot")


#: at most this many rows per fit (a seeded sample): enough for a stable model, bounded time
MAX_FIT_ROWS = 200_000


def _cap_rows(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if len(x) <= MAX_FIT_ROWS:
        return x, y
    keep = np.sort(np.random.default_rng(seed).permutation(len(x))[:MAX_FIT_ROWS])
    return x[keep], y[keep]


def _check_fittable(matrix: pd.DataFrame) -> None:
    """The data conditions under which scikit-learn's fit raises ValueError, checked before the
    fit and raised as ModelFitError with a reason (a ValueError from the fit itself is then a
    bug of ours, and fails the run): no feature to learn from, or infinite values (missing
    values are fine: gradient boosting routes them)."""
    if matrix.shape[1] == 0:
        raise ModelFitError(
            "churn: no feature takes two distinct values in the labelled snapshots, so there "
            "is nothing to learn from"
        )
    infinite = np.isinf(matrix.to_numpy(dtype="float64")).sum(axis=0)
    if infinite.any():
        columns = ", ".join(
            f"{name} ({count} rows)"
            for name, count in zip(matrix.columns, infinite, strict=True)
            if count
        )
        raise ModelFitError(f"churn: infinite feature values: {columns}")


def score_churn(
    features: pd.DataFrame,
    touchpoint_counts: pd.DataFrame,
    *,
    seed: int = 42,
    medium_threshold: float = 0.5,
    high_threshold: float = 0.75,
    threads: int = 1,
) -> ChurnResult:
    """Evaluate on the time-based holdout, refit on validation and score the score snapshot."""
    missing = [column for column in INPUT_COLUMNS if column not in features.columns]
    if missing:
        raise ValueError(f"score_churn needs feature columns {missing}")
    if not 0.0 <= medium_threshold <= high_threshold <= 1.0:
        raise ValueError("score_churn needs 0 <= medium_threshold <= high_threshold <= 1")
    matrix = build_feature_matrix(features, touchpoint_counts)
    threads = threads if len(matrix) >= PARALLEL_MIN_ROWS else 1
    # A feature with < 2 distinct labelled values (e.g. no NPS answers) cannot be binned: drop it.
    labelled = matrix[matrix.index.get_level_values("snapshot") != "score"]
    informative = [c for c in matrix.columns if labelled[c].nunique(dropna=True) >= 2]
    matrix = matrix[informative]
    feature_names = tuple(str(column) for column in matrix.columns)
    train = _training_rows(matrix)
    validation = _snapshot(matrix, "validation")
    y_train = _labels(features, train.index, "train")
    y_validation = _labels(
        features, pd.MultiIndex.from_product([["validation"], validation.index]), "validation"
    )
    _check_fittable(matrix)
    x_train = train.to_numpy(dtype="float64")
    x_validation = validation.to_numpy(dtype="float64")

    x_fit, y_fit = _cap_rows(x_train, y_train, seed)
    evaluation = make_estimator(len(x_fit), seed)
    with threadpool_limits(threads):
        evaluation.fit(x_fit, y_fit)
        p_validation = evaluation.predict_proba(x_validation)[:, 1]
    recency = validation["recency_days"].to_numpy(dtype="float64")
    if np.isnan(recency).all():
        recency = np.zeros_like(recency)
    recency = np.where(np.isnan(recency), np.nanmax(recency) + 1.0, recency)

    # The final model learns from every labelled snapshot: the training ones and validation.
    x_final, y_final = _cap_rows(
        np.vstack([x_train, x_validation]), np.concatenate([y_train, y_validation]), seed
    )
    final = make_estimator(len(x_final), seed)
    with threadpool_limits(threads):
        final.fit(x_final, y_final)
    from touchpoint_alchemy.scoring.churn_model import ChurnModel, score_with_model

    model = ChurnModel(final, feature_names, reference_medians(x_validation))
    scores = score_with_model(
        model,
        features,
        touchpoint_counts,
        medium_threshold=medium_threshold,
        high_threshold=high_threshold,
        threads=threads,
        matrix=matrix,
    )
    n_train, n_validation, n_score = len(x_train), len(x_validation), len(scores)
    metrics = pd.DataFrame(
        [
            ("holdout_auc", roc_auc_score(y_validation, p_validation), n_validation),
            ("holdout_brier", brier_score_loss(y_validation, p_validation), n_validation),
            ("baseline_recency_auc", roc_auc_score(y_validation, recency), n_validation),
            ("holdout_churn_rate", y_validation.mean(), n_validation),
            ("train_rows", n_train, n_train),
            ("validation_customers", n_validation, n_validation),
            ("scored_customers", n_score, n_score),
        ],
        columns=list(METRIC_COLUMNS),
    ).astype({"metric": object, "value": "float64", "n": "int64"})
    return ChurnResult(
        model=model,
        scores=scores,
        metrics=metrics,
        feature_names=feature_names,
        calibration_method={
            "train": evaluation.method,
            "final": final.method,
        },
    )
