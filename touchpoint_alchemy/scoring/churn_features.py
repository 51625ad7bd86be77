"""The churn model's feature matrix (``build_feature_matrix``): one row per (snapshot, user_id),
all float64, from the ``features`` frame and the long per-type ``touchpoint_counts`` frame (the
feature matrix paragraph of :mod:`touchpoint_alchemy.scoring.churn` describes the columns).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

__all__ = [
    "FEATURE_COLUMNS",
    "FEATURE_DECIMALS",
    "TOUCHPOINT_COLUMNS",
    "TOUCHPOINT_WINDOWS",
    "build_feature_matrix",
    "sanitise_touchpoint",
]

FEATURE_COLUMNS = (
    "recency_days",
    "frequency",
    "monetary",
    "avg_order_value",
    "tenure_days",
    "days_since_first_purchase",
    "sessions_30d",
    "sessions_90d",
    "touchpoints_30d",
    "touchpoints_90d",
    "latest_nps_score",
    "is_mobile",
)
TOUCHPOINT_COLUMNS = ("user_id", "snapshot", "touchpoint", "touchpoints_30d", "touchpoints_90d")
TOUCHPOINT_WINDOWS = ("30d", "90d")
FEATURE_DECIMALS = 9


def sanitise_touchpoint(touchpoint: object) -> str:
    """A touchpoint type as a column-name stem: lower case, runs outside [a-z0-9_] -> '_'."""
    if touchpoint is None or (isinstance(touchpoint, float) and math.isnan(touchpoint)):
        return "unknown"
    name = re.sub(r"[^a-z0-9_]+", "_", str(touchpoint).strip().lower()).strip("_")
    name = re.sub(r"_+", "_", name)
    if not name:
        return "unknown"
    if any(f"{name}_{window}" in FEATURE_COLUMNS for window in TOUCHPOINT_WINDOWS):
        return f"{name}_touchpoint"
    return name


def _sanitised_types(touchpoints: pd.Series) -> np.ndarray:
    """:func:`sanitise_touchpoint` of every row, once per distinct value (code -1: missing)."""
    codes, distinct = pd.factorize(touchpoints, use_na_sentinel=True)
    names = [sanitise_touchpoint(value) for value in distinct]
    return np.array([*names, sanitise_touchpoint(None)], dtype=object)[codes]


def _as_float(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series).to_numpy(dtype="float64", na_value=np.nan)


def build_feature_matrix(features: pd.DataFrame, touchpoint_counts: pd.DataFrame) -> pd.DataFrame:
    """Model features, index (snapshot, user_id) sorted, float64 columns (see module doc)."""
    missing = [c for c in ("user_id", "snapshot", *FEATURE_COLUMNS) if c not in features.columns]
    if missing:
        raise ValueError(f"build_feature_matrix needs feature columns {missing}")
    missing = [c for c in TOUCHPOINT_COLUMNS if c not in touchpoint_counts.columns]
    if missing:
        raise ValueError(f"build_feature_matrix needs touchpoint_counts columns {missing}")
    index = pd.MultiIndex.from_arrays(
        [features["snapshot"].astype(str), features["user_id"].astype(str)],
        names=["snapshot", "user_id"],
    )
    if index.duplicated().any():
        raise ValueError("build_feature_matrix needs one features row per (snapshot, user_id)")
    matrix = pd.DataFrame(
        {
            column: _as_float(features[column])
            for column in FEATURE_COLUMNS
            if column != "is_mobile"
        },
        index=index,
    )
    is_mobile = features["is_mobile"].astype("boolean").fillna(False)
    matrix["is_mobile"] = is_mobile.to_numpy(dtype="float64")
    # Engines differ in the last bits of a division (avg_order_value on Spark and DuckDB), and
    # the boosting's bin edges would turn that into different trees: 9 decimals are kept.
    matrix = matrix[list(FEATURE_COLUMNS)].round(FEATURE_DECIMALS).sort_index()

    if touchpoint_counts.empty:
        return matrix
    return pd.concat([matrix, _touchpoint_columns(matrix.index, touchpoint_counts)], axis=1)


def _touchpoint_columns(index: pd.MultiIndex, touchpoint_counts: pd.DataFrame) -> pd.DataFrame:
    """The ``<type>_30d`` / ``<type>_90d`` columns of the rows ``index`` ((snapshot, user_id)),
    sorted by name: the long counts summed into a dense array by row and type in one
    ``np.bincount`` per window (a grouping and unstack of the long frame by the three text keys
    took 8 s of the 50M full build's churn step; DECISIONLOG 118). Counts of a (snapshot,
    user_id) outside ``index`` are dropped; a type only they have still gets its (zero)
    columns."""
    keys = pd.MultiIndex.from_arrays(
        [
            touchpoint_counts["snapshot"].astype(str).to_numpy(),
            touchpoint_counts["user_id"].astype(str).to_numpy(),
        ]
    )
    rows = index.get_indexer(keys)
    type_codes, types = pd.factorize(_sanitised_types(touchpoint_counts["touchpoint"]), sort=True)
    kept = rows >= 0
    cells = rows[kept] * len(types) + type_codes[kept]
    columns = {}
    for window in TOUCHPOINT_WINDOWS:
        values = np.nan_to_num(_as_float(touchpoint_counts[f"touchpoints_{window}"]))[kept]
        summed = np.bincount(cells, weights=values, minlength=len(index) * len(types))
        summed = summed.reshape(len(index), len(types))
        for position, tp_type in enumerate(types):
            columns[f"{tp_type}_{window}"] = summed[:, position]
    return pd.DataFrame({name: columns[name] for name in sorted(columns)}, index=index)
