"""The product recommendations' holdout evaluation, and a refit: every user's lists
(:mod:`touchpoint_alchemy.scoring.recommendations`) with the evaluation of the method.

:func:`evaluate` fits on the purchases up to the cutoff minus the holdout and measures the top-10
lists of the customers who bought new products in the holdout, against the popularity baseline
(DECISIONLOG.md, 62). Only the refits evaluate; the daily runs recompute the lists and keep the
last refit's evaluation (DECISIONLOG 74). No Dagster, no database; pandas is imported inside the
functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from touchpoint_alchemy.scoring import Metric
from touchpoint_alchemy.scoring.recommendations import (
    EVALUATION_K,
    RecommendationSettings,
    popularity_order,
    recommend,
    recommend_everyone,
)

if TYPE_CHECKING:
    from datetime import datetime

    import pandas as pd
    import pyarrow as pa


@dataclass
class Recommendations:
    """The recommendations of every user (Arrow) and the evaluation's model_metrics rows."""

    table: pa.Table
    metrics: dict[str, Metric]


def popularity_baseline(pairs: pd.DataFrame, users: Iterable[str], count: int) -> pd.DataFrame:
    """The popularity baseline: the ``count`` products bought by most distinct customers
    (ties: product_id), each user's own products excluded (user_id, rank, product_id)."""
    import pandas as pd

    products = sorted(pairs["product_id"].unique())
    _, rank = popularity_order(pairs, products)
    ranked = [products[i] for i in sorted(range(len(products)), key=lambda i: rank[i])]
    own = pairs.groupby("user_id")["product_id"].agg(set).to_dict()
    rows = []
    for user in sorted(set(users)):
        mine = own.get(user, set())
        picks = [p for p in ranked if p not in mine][:count]
        rows.extend((user, r + 1, p) for r, p in enumerate(picks))
    return pd.DataFrame(rows, columns=["user_id", "rank", "product_id"])


def _list_metrics(
    recommended: pd.DataFrame, targets: pd.DataFrame, catalog: int, k: int, suffix: str
) -> dict[str, Metric]:
    """hit rate, recall and catalogue coverage of top-``k`` lists against the targets."""
    found = recommended.merge(targets, on=["user_id", "product_id"])
    per_user = targets.groupby("user_id").size().rename("targets").to_frame()
    per_user["found"] = found.groupby("user_id").size().reindex(per_user.index, fill_value=0)
    n = len(per_user)
    if n == 0:
        return {
            f"{name}{suffix}": Metric(None, 0, "no customer to evaluate")
            for name in (
                f"hit_rate_at_{k}",
                f"recall_at_{k}",
                "catalog_coverage",
            )
        }
    return {
        f"hit_rate_at_{k}{suffix}": Metric(float((per_user["found"] > 0).mean()), n),
        f"recall_at_{k}{suffix}": Metric(
            float((per_user["found"] / per_user["targets"]).mean()), n
        ),
        f"catalog_coverage{suffix}": Metric(
            float(recommended["product_id"].nunique() / catalog) if catalog else None, n
        ),
    }


def evaluate(
    customer_products: pd.DataFrame,
    cutoff: datetime,
    holdout_days: int = 60,
    repeatable: Iterable[str] = (),
    k: int = EVALUATION_K,
) -> dict[str, Metric]:
    """Fit on the purchases up to ``cutoff - holdout_days``, then measure the top-10 lists of
    the customers who bought before the holdout and bought, in it (up to ``cutoff``), products
    they had not bought before (the targets), for the model and the popularity baseline
    (metrics ``hit_rate_at_<k>``, ``recall_at_<k>``, ``catalog_coverage``, and the same with
    ``_popularity``; ``n`` = the evaluated customers)."""
    import pandas as pd

    fit_end = pd.Timestamp(cutoff) - pd.Timedelta(days=holdout_days)
    first = pd.to_datetime(customer_products["first_purchased_at"])
    fit = customer_products.loc[first <= fit_end, ["user_id", "product_id"]]
    new = customer_products.loc[
        (first > fit_end) & (first <= pd.Timestamp(cutoff)), ["user_id", "product_id"]
    ]
    targets = new[new["user_id"].isin(set(fit["user_id"]))].drop_duplicates()
    evaluated = sorted(targets["user_id"].unique())
    catalog = int(fit["product_id"].nunique())
    model = recommend(fit, evaluated, k, repeatable)
    baseline = popularity_baseline(fit, evaluated, k)
    metrics = _list_metrics(model, targets, catalog, k, "")
    metrics.update(_list_metrics(baseline, targets, catalog, k, "_popularity"))
    return metrics


def score_recommendations(
    customer_products: pd.DataFrame,
    users: Iterable[str],
    cutoff: datetime,
    settings: RecommendationSettings | None = None,
) -> Recommendations:
    """Recommendations of every user in ``users`` (and every customer) from
    ``customer_products`` (user_id, product_id, first_purchased_at: purchases up to the data
    ``cutoff``), and the holdout evaluation (the refits only)."""
    settings = settings or RecommendationSettings()
    table = recommend_everyone(customer_products, users, settings)
    metrics = evaluate(customer_products, cutoff, settings.holdout_days, settings.repeatable)
    return Recommendations(table=table, metrics=metrics)
