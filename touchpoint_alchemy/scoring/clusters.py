"""Behaviour clusters: k-means over a few standardised behaviour features, k by silhouette.

Input is the ``score`` snapshot of the churn ``features`` frame (rows of other snapshots are
dropped when a ``snapshot`` column is present), one row per customer.

Features (``BEHAVIOUR_FEATURES``): frequency, avg_order_value, recency_days, tenure_days,
sessions_90d, touchpoints_90d and is_mobile (0/1). The non-negative, skewed counts and amounts
(all but is_mobile) are clipped at 0 and transformed with ``log1p``; then every feature is
standardised (``StandardScaler``; a constant feature becomes 0). Missing values: counts and
avg_order_value count as 0, a missing recency_days (no purchase yet) takes tenure_days (the
customer has not bought since signing up), a missing tenure_days takes the median, an unknown
is_mobile counts as 0.

Choice of k: ``KMeans(n_clusters=k, n_init=10, random_state=seed)`` for every k from k_min to
k_max with k < number of customers, scored by ``silhouette_score`` on a random sample of
``min(silhouette_sample, n)`` customers (``random_state=seed``). The highest silhouette wins;
ties go to the smaller k. A k whose fit yields fewer than two distinct clusters is skipped.

Cluster ids: 1 is the largest cluster, then by size descending; clusters of equal size are
ordered by their centroid (standardised coordinates, compared feature by feature).

Names, from the cluster's mean standardised feature z (and the raw share of mobile users), as
words in this order, each left out when its condition does not hold, ending in ``buyers``:

- recency: z > 0.5 ``lapsed``, z < -0.5 ``recent``
- frequency: z > 0.5 ``frequent``, z < -0.5 ``one-off``
- basket (avg_order_value): z > 0.5 ``high-basket``, z < -0.5 ``low-basket``
- engagement (sessions_90d): z > 0.5 ``highly engaged``
- device (mobile share): > 0.6 ``mobile``, < 0.4 ``desktop``, otherwise ``mixed-device``

e.g. "lapsed one-off desktop buyers", "recent frequent low-basket mobile buyers". Names are
unique: when several clusters get the same name, each of them gets `` (group N)`` appended,
N = 1, 2, ... in cluster-id order.

Threads: KMeans uses OpenMP; the machines have 2 cores shared with DuckDB, so fitting runs inside
``threadpoolctl.threadpool_limits(threads)`` (default 1). Results do not depend on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from touchpoint_alchemy.scoring import InsufficientDataError, ModelFitError

BEHAVIOUR_FEATURES = (
    "frequency",
    "avg_order_value",
    "recency_days",
    "tenure_days",
    "sessions_90d",
    "touchpoints_90d",
    "is_mobile",
)
LOG_FEATURES = (
    "frequency",
    "avg_order_value",
    "recency_days",
    "tenure_days",
    "sessions_90d",
    "touchpoints_90d",
)
ASSIGNMENT_COLUMNS = ("user_id", "cluster_id", "cluster_name")
PROFILE_COLUMNS = (
    "cluster_id",
    "cluster_name",
    "customers",
    "share",
    *(f"mean_{feature}" for feature in BEHAVIOUR_FEATURES if feature != "is_mobile"),
    "mobile_share",
)
HIGH_Z = 0.5
LOW_Z = -0.5
MOBILE_SHARE = 0.6
DESKTOP_SHARE = 0.4
N_INIT = 10


@dataclass
class ClusterResult:
    """Cluster of every customer, one profile row per cluster and the silhouette of every k."""

    #: user_id, cluster_id (int64, 1 = largest), cluster_name; sorted by user_id
    assignments: pd.DataFrame
    #: PROFILE_COLUMNS, one row per cluster, by cluster_id
    profiles: pd.DataFrame
    #: k -> silhouette score, for every k tried
    silhouettes: dict[int, float] = field(default_factory=dict)
    #: the chosen k and its silhouette
    k: int = 0
    silhouette: float = float("nan")
    #: the fitted model (ClusterModel), which the daily runs assign customers with
    model: Any = None


def behaviour_frame(features: pd.DataFrame) -> pd.DataFrame:
    """Raw behaviour features, float64, indexed by user_id (missing values as in the module doc)."""
    raw = pd.DataFrame(
        {
            column: pd.to_numeric(features[column]).to_numpy(dtype="float64", na_value=np.nan)
            for column in BEHAVIOUR_FEATURES
            if column != "is_mobile"
        },
        index=pd.Index(features["user_id"].astype(str), name="user_id"),
    )
    raw["is_mobile"] = (
        features["is_mobile"].astype("boolean").fillna(False).to_numpy(dtype="float64")
    )
    return raw[list(BEHAVIOUR_FEATURES)]


def _tenure_median(raw: pd.DataFrame) -> float:
    median = raw["tenure_days"].median()
    return 0.0 if np.isnan(median) else float(median)


def _transformed(raw: pd.DataFrame, tenure_median: float) -> np.ndarray:
    """Missing values filled (module doc), log1p of the clipped LOG_FEATURES."""
    filled = raw.copy()
    for column in ("frequency", "avg_order_value", "sessions_90d", "touchpoints_90d"):
        filled[column] = filled[column].fillna(0.0)
    filled["tenure_days"] = filled["tenure_days"].fillna(tenure_median)
    filled["recency_days"] = filled["recency_days"].fillna(filled["tenure_days"])
    for column in LOG_FEATURES:
        filled[column] = np.log1p(filled[column].clip(lower=0.0))
    return filled.to_numpy(dtype="float64")


def standardised(raw: pd.DataFrame) -> np.ndarray:
    """log1p of the clipped LOG_FEATURES, then StandardScaler over all BEHAVIOUR_FEATURES."""
    return StandardScaler().fit_transform(_transformed(raw, _tenure_median(raw)))


@dataclass
class ClusterModel:
    """The fitted clustering, kept between runs: the daily runs assign customers with it
    (``assign_with_model``) and a refit replaces it (touchpoint_alchemy/scoring/stored.py)."""

    #: the fill value of a missing tenure_days (the fit's median)
    tenure_median: float
    scaler: StandardScaler
    kmeans: KMeans
    #: KMeans label -> cluster_id (1 = the largest cluster of the fit)
    cluster_ids: dict[int, int]
    #: cluster_id -> its name (from the fit's profile)
    names: dict[int, str]


def _score_rows(features: pd.DataFrame) -> pd.DataFrame:
    """The score snapshot's behaviour features, by user_id (checked: one row per customer)."""
    missing = [c for c in ("user_id", *BEHAVIOUR_FEATURES) if c not in features.columns]
    if missing:
        raise ValueError(f"cluster_customers needs columns {missing}")
    if "snapshot" in features.columns:
        features = features[features["snapshot"].astype(str) == "score"]
    if features["user_id"].astype(str).duplicated().any():
        raise ValueError("cluster_customers needs one row per user_id")
    return behaviour_frame(features).sort_index(kind="mergesort")


def _tables(
    raw: pd.DataFrame, cluster_ids: np.ndarray, name_of: dict[int, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The assignments and the profiles of ``raw``'s customers in clusters ``cluster_ids``."""
    grouped = raw.groupby(cluster_ids)
    sizes = grouped.size()
    profiles = pd.DataFrame(
        {
            "cluster_id": sizes.index.to_numpy(dtype="int64"),
            "cluster_name": [name_of[int(cid)] for cid in sizes.index],
            "customers": sizes.to_numpy(dtype="int64"),
            "share": (sizes / len(raw)).to_numpy(dtype="float64"),
        }
    )
    means = grouped.mean()
    for feature in BEHAVIOUR_FEATURES:
        if feature != "is_mobile":
            profiles[f"mean_{feature}"] = means[feature].to_numpy(dtype="float64")
    profiles["mobile_share"] = grouped["is_mobile"].mean().to_numpy(dtype="float64")
    assignments = pd.DataFrame(
        {
            "user_id": raw.index.to_numpy(dtype=object),
            "cluster_id": cluster_ids,
            "cluster_name": [name_of[int(cid)] for cid in cluster_ids],
        }
    )
    return (
        assignments.reset_index(drop=True)[list(ASSIGNMENT_COLUMNS)],
        profiles[list(PROFILE_COLUMNS)],
    )


def assign_with_model(
    model: ClusterModel, features: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The assignments and profiles of the score snapshot's customers under a stored model:
    the fit's fill value, scaling and centroids; each customer goes to the nearest centroid, and
    the clusters keep the fit's ids and names (the profiles are today's customers')."""
    raw = _score_rows(features)
    if raw.empty:
        return pd.DataFrame(columns=list(ASSIGNMENT_COLUMNS)), pd.DataFrame(
            columns=list(PROFILE_COLUMNS)
        )
    x = model.scaler.transform(_transformed(raw, model.tenure_median))
    labels = model.kmeans.predict(x)
    cluster_ids = np.array([model.cluster_ids[int(label)] for label in labels], dtype="int64")
    return _tables(raw, cluster_ids, model.names)


def cluster_name(z: pd.Series, mobile_share: float) -> str:
    """The descriptive name of a cluster from its mean standardised features (module doc)."""
    words: list[str] = []
    for feature, high, low in (
        ("recency_days", "lapsed", "recent"),
        ("frequency", "frequent", "one-off"),
        ("avg_order_value", "high-basket", "low-basket"),
        ("sessions_90d", "highly engaged", None),
    ):
        if z[feature] > HIGH_Z:
            words.append(high)
        elif low is not None and z[feature] < LOW_Z:
            words.append(low)
    if mobile_share > MOBILE_SHARE:
        words.append("mobile")
    elif mobile_share < DESKTOP_SHARE:
        words.append("desktop")
    else:
        words.append("mixed-device")
    words.append("buyers")
    return " ".join(words)


def unique_names(names: list[str]) -> list[str]:
    """Append ' (group N)' to every name that occurs more than once, N counting from 1."""
    counts = pd.Series(names).value_counts()
    seen: dict[str, int] = {}
    result = []
    for name in names:
        if counts[name] > 1:
            seen[name] = seen.get(name, 0) + 1
            result.append(f"{name} (group {seen[name]})")
        else:
            result.append(name)
    return result


def _relabel(labels: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Cluster ids 1..k by size descending, ties by centroid (lexicographic)."""
    clusters = np.unique(labels)
    keys = []
    for cluster in clusters:
        members = labels == cluster
        keys.append((-int(members.sum()), *x[members].mean(axis=0).tolist(), int(cluster)))
    ordered = [int(key[-1]) for key in sorted(keys)]
    mapping = {cluster: position + 1 for position, cluster in enumerate(ordered)}
    return np.array([mapping[int(label)] for label in labels], dtype="int64")


def cluster_customers(
    features: pd.DataFrame,
    *,
    k_min: int = 3,
    k_max: int = 8,
    seed: int = 42,
    silhouette_sample: int = 5000,
    threads: int = 1,
) -> ClusterResult:
    """Cluster the score-snapshot customers by behaviour and name the clusters (module doc)."""
    if k_min < 2 or k_max < k_min:
        raise ValueError("cluster_customers needs 2 <= k_min <= k_max")
    if silhouette_sample < 2:
        raise ValueError("cluster_customers needs silhouette_sample >= 2")
    raw = _score_rows(features)
    n = len(raw)
    if n < k_min + 1:
        raise InsufficientDataError(
            f"cluster_customers needs at least k_min + 1 = {k_min + 1} customers, got {n}"
        )
    infinite = np.isposinf(raw.to_numpy(dtype="float64")).sum(axis=0)
    if infinite.any():
        # StandardScaler would raise ValueError; a ValueError from the fit is then a bug of ours
        columns = ", ".join(
            f"{name} ({count} customers)"
            for name, count in zip(raw.columns, infinite, strict=True)
            if count
        )
        raise ModelFitError(f"clusters: infinite behaviour feature values: {columns}")
    tenure_median = _tenure_median(raw)
    scaler = StandardScaler()
    x = scaler.fit_transform(_transformed(raw, tenure_median))

    silhouettes: dict[int, float] = {}
    labels_by_k: dict[int, np.ndarray] = {}
    fits: dict[int, KMeans] = {}
    sample_size = min(silhouette_sample, n)
    with threadpool_limits(threads):
        for k in range(k_min, min(k_max, n - 1) + 1):
            fits[k] = KMeans(n_clusters=k, n_init=N_INIT, random_state=seed)
            labels = fits[k].fit_predict(x)
            if len(np.unique(labels)) < 2:
                continue
            try:
                score = silhouette_score(x, labels, sample_size=sample_size, random_state=seed)
            except ValueError:  # the sample holds a single cluster
                continue
            silhouettes[k] = float(score)
            labels_by_k[k] = labels
    if not silhouettes:
        raise InsufficientDataError(
            "cluster_customers found no k with at least two distinct clusters"
        )
    best_k = min(silhouettes, key=lambda k: (-silhouettes[k], k))
    cluster_ids = _relabel(labels_by_k[best_k], x)

    z = pd.DataFrame(x, columns=list(BEHAVIOUR_FEATURES)).groupby(cluster_ids).mean()
    grouped = raw.groupby(cluster_ids)
    sizes = grouped.size()
    mobile_share = grouped["is_mobile"].mean()
    names = unique_names(
        [cluster_name(z.loc[cid], float(mobile_share.loc[cid])) for cid in sizes.index]
    )
    labels = labels_by_k[best_k]
    model = ClusterModel(
        tenure_median=tenure_median,
        scaler=scaler,
        kmeans=fits[best_k],
        cluster_ids={int(label): int(cid) for label, cid in zip(labels, cluster_ids, strict=True)},
        names=dict(zip(sizes.index.tolist(), names, strict=True)),
    )
    assignments, profiles = assign_with_model(model, features)
    return ClusterResult(
        assignments=assignments,
        profiles=profiles,
        silhouettes=silhouettes,
        k=best_k,
        silhouette=silhouettes[best_k],
        model=model,
    )
