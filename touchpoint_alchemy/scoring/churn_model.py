"""The fitted churn model, and scoring with it.

:func:`touchpoint_alchemy.scoring.churn.score_churn` fits the model (evaluation on the time-based
holdout, then the final fit on every labelled snapshot) and scores the ``score`` snapshot through
:func:`score_with_model`; a run that does not refit calls :func:`score_with_model` with the
model a refit stored (``touchpoint_alchemy.scoring.stored``), so both score the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from threadpoolctl import threadpool_limits

from touchpoint_alchemy.scoring.churn import (
    PARALLEL_MIN_ROWS,
    RISK_BANDS,
    SCORE_COLUMNS,
    _snapshot,
    build_feature_matrix,
)
from touchpoint_alchemy.scoring.churn_drivers import DRIVER_SAMPLE, drivers_and_raw_scores


@dataclass
class ChurnModel:
    """The final churn model and what scoring with it needs besides the features."""

    estimator: CalibratedClassifierCV
    #: its feature columns, in order (a column today's features lack is 0: a touchpoint type
    #: nobody had; a column the model does not know is left out)
    feature_names: tuple[str, ...]
    #: each feature's median over the validation snapshot: the drivers' reference
    medians: np.ndarray


def risk_band(
    probability: np.ndarray, medium_threshold: float = 0.5, high_threshold: float = 0.75
) -> np.ndarray:
    """'low' below medium_threshold, 'high' from high_threshold, 'medium' in between."""
    bands = np.full(len(probability), RISK_BANDS[0], dtype=object)
    bands[probability >= medium_threshold] = RISK_BANDS[1]
    bands[probability >= high_threshold] = RISK_BANDS[2]
    return bands


def score_matrix(model: ChurnModel, matrix: pd.DataFrame) -> pd.DataFrame:
    """The ``score`` snapshot's rows of ``matrix`` (``build_feature_matrix``) in the model's
    columns."""
    scoring = _snapshot(matrix, "score")
    return scoring.reindex(columns=list(model.feature_names), fill_value=0.0)


def score_with_model(
    model: ChurnModel,
    features: pd.DataFrame,
    touchpoint_counts: pd.DataFrame,
    *,
    medium_threshold: float = 0.5,
    high_threshold: float = 0.75,
    threads: int = 1,
    matrix: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Churn probability, risk band and drivers of every customer of the ``score`` snapshot
    (SCORE_COLUMNS, by user_id), on ``threads`` threads (one below PARALLEL_MIN_ROWS rows of
    ``features``: of all snapshots in a fit, as for the fit; a run that scores with the stored
    model reads the ``score`` snapshot only). The scores do not depend on the thread count.
    ``matrix``: the feature matrix, when the caller has built it; else it is built for the
    ``score`` snapshot only."""
    if not 0.0 <= medium_threshold <= high_threshold <= 1.0:
        raise ValueError("score_with_model needs 0 <= medium_threshold <= high_threshold <= 1")
    threads = threads if len(features) >= PARALLEL_MIN_ROWS else 1
    if matrix is None:
        matrix = build_feature_matrix(
            features[features["snapshot"].astype(str) == "score"],
            touchpoint_counts[touchpoint_counts["snapshot"].astype(str) == "score"],
        )
    scoring = score_matrix(model, matrix)
    x_score = scoring.to_numpy(dtype="float64")
    drivers, raw = drivers_and_raw_scores(
        model.estimator, x_score, model.medians, model.feature_names, threads
    )
    p_score = churn_probability(model.estimator, x_score, raw, threads)
    scores = pd.DataFrame(
        {
            "user_id": scoring.index.astype(str).to_numpy(dtype=object),
            "churn_probability": p_score.astype("float64"),
            "risk_band": risk_band(p_score, medium_threshold, high_threshold),
            "top_drivers": np.array(drivers, dtype=object),
        }
    )
    scores = scores.sort_values("user_id", kind="mergesort").reset_index(drop=True)
    return scores[list(SCORE_COLUMNS)]


def churn_probability(
    estimator: CalibratedClassifierCV, x: np.ndarray, raw: np.ndarray | None, threads: int = 1
) -> np.ndarray:
    """``estimator.predict_proba(x)[:, 1]``. With ``raw``, its calibration folds' boosters' raw
    scores of x (boosters x rows, from the drivers' walk), the boosters are not run again: each
    fold's calibrator maps its booster's scores, and the folds are averaged, in the order and the
    arithmetic of scikit-learn's ``predict_proba``. Checked against ``predict_proba`` on
    DRIVER_SAMPLE rows; any difference (another scikit-learn, another calibration) and every row
    is predicted (DECISIONLOG 127)."""
    if not len(x):
        return np.empty(0)
    if raw is not None:
        mapped = _calibrated_mean(estimator, raw)
        rows = np.sort(np.random.default_rng(0).permutation(len(x))[:DRIVER_SAMPLE])
        with threadpool_limits(threads):
            expected = estimator.predict_proba(x[rows])[:, 1]
        if mapped is not None and np.array_equal(mapped[rows], expected):
            return mapped
    with threadpool_limits(threads):
        return estimator.predict_proba(x)[:, 1]


def _calibrated_mean(estimator: CalibratedClassifierCV, raw: np.ndarray) -> np.ndarray | None:
    """The positive class's calibrated probability averaged over the folds, from each fold's raw
    scores, or None for a model this does not cover (not binary, or not sigmoid or isotonic)."""
    folds = estimator.calibrated_classifiers_
    if len(estimator.classes_) != 2 or len(folds) != len(raw):
        return None
    total = np.zeros(raw.shape[1])
    for fold, scores in zip(folds, raw, strict=True):
        if getattr(fold, "method", None) not in ("sigmoid", "isotonic"):
            return None
        positive = np.asarray(fold.calibrators[0].predict(scores), dtype=np.float64)
        # as scikit-learn's _CalibratedClassifier: a probability just above 1 is 1
        positive[(positive > 1.0) & (positive <= 1.0 + 1e-5)] = 1.0
        total += positive
    total /= len(folds)
    return total
