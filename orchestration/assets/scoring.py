"""The Python scoring assets: RFM, Markov attribution, CLV (pymc-marketing), churn risk and
behavioural clusters (scikit-learn), product recommendations (scipy; its spec in
orchestration/assets/recommendations.py), the demand forecast (Prophet; its spec in
orchestration/assets/forecast.py), each a :class:`ScoringAsset` built by the one factory
(orchestration/assets/scoring_factory.py).

Each spec names the dbt models it reads, a fit that calls a plain function of
``touchpoint_alchemy.scoring`` and returns its tables and metrics (:class:`Scored`), and the
metadata it adds. The tables each asset writes, and their columns, are the dbt source
``scoring`` (models/staging/scoring/_scoring.yml); the marts read them back through the
stg_scoring__* views.

When a model cannot be fitted on the data (too little data, or a fit that fails on it: the
library raises ``touchpoint_alchemy.scoring.ModelNotFitted``), the asset writes empty tables and
records ``insufficient_data`` or ``fit_failed`` with the reason in ``scoring.model_metrics``
instead of failing the run; the marts then show null scores. Any other exception fails the step
at once (``orchestration.retries.fail_fast_unless_transient``).
"""

import os
from typing import TYPE_CHECKING, Any

from dagster import AssetsDefinition, Failure, MetadataValue

from orchestration.assets.clv import CUSTOMER_CLV
from orchestration.assets.forecast import DEMAND_FORECAST, DemandForecastConfig
from orchestration.assets.recommendations import RECOMMENDATIONS, RecommendationConfig
from orchestration.assets.scoring_config import ChurnConfig, ClusterConfig, ClvConfig
from orchestration.assets.scoring_factory import (
    MODEL_METRICS_TABLE,
    SCORING_KEYS,
    ScoringAsset,
    build_scoring_asset,
    shared_table_specs,
)

if TYPE_CHECKING:
    import pandas as pd

    from touchpoint_alchemy.scoring import Scored

__all__ = [
    "SCORING_ASSETS",
    "SCORING_KEYS",
    "ChurnConfig",
    "ClusterConfig",
    "ClvConfig",
    "DemandForecastConfig",
    "RecommendationConfig",
]


def _md(text: str) -> MetadataValue:
    return MetadataValue.md(text)


def _histogram(values: "pd.Series", title: str, alt: str) -> MetadataValue:
    from touchpoint_alchemy.charts import histogram_svg, markdown_image

    return _md(markdown_image(histogram_svg(values, title=title), alt))


def _score_snapshot() -> dict[str, str]:
    """The rows of the churn inputs that scoring with the stored model reads: the snapshot at
    the data cutoff (a refit reads the training and validation snapshots too)."""
    from touchpoint_alchemy.labels import churn_snapshots

    return {"snapshot": churn_snapshots()[-1]}


def _scored_customers(inputs: "dict[str, pd.DataFrame]") -> int:
    from touchpoint_alchemy.labels import churn_snapshots

    features = inputs["int_customer_features"]
    score = churn_snapshots()[-1]
    return int((features["snapshot"] == score).sum()) if len(features) else 0


# --- RFM ---------------------------------------------------------------------------------------


def _fit_rfm(inputs: "dict[str, pd.DataFrame]", config: None) -> "Scored":
    from touchpoint_alchemy.scoring import Scored
    from touchpoint_alchemy.scoring.rfm import score_rfm

    return Scored({"customer_rfm": score_rfm(inputs["int_customer_orders"])})


def _describe_rfm(scored: "Scored", config: None) -> dict[str, Any]:
    from touchpoint_alchemy.markdown import markdown_table

    segments = scored.tables["customer_rfm"]["rfm_segment"].value_counts().sort_index()
    return {"segments": _md(markdown_table(["segment", "customers"], segments.items()))}


# --- Markov attribution ------------------------------------------------------------------------


def _fit_markov(inputs: "dict[str, pd.DataFrame]", config: None) -> "Scored":
    from touchpoint_alchemy.scoring import Scored
    from touchpoint_alchemy.scoring.markov import markov_attribution_from_transitions

    credits, effects = markov_attribution_from_transitions(
        inputs["int_markov_transitions"], inputs["int_markov_order_channels"]
    )
    return Scored({"markov_attribution": credits, "markov_channel_effects": effects})


def _describe_markov(scored: "Scored", config: None) -> dict[str, Any]:
    from touchpoint_alchemy.markdown import markdown_table

    credits = scored.tables["markov_attribution"]
    effects = scored.tables["markov_channel_effects"].sort_values("share", ascending=False)
    table = markdown_table(
        ["channel", "removal effect", "share"],
        effects[["channel", "removal_effect", "share"]].itertuples(index=False, name=None),
        {"removal effect": "{:.4f}", "share": "{:.2%}"},
    )
    probability = float(effects["conversion_probability"].iloc[0]) if len(effects) else 0.0
    return {
        "conversion_probability": MetadataValue.float(probability),
        "converting_journeys": int(credits["order_id"].nunique()),
        "channel_effects": _md(table),
    }


# --- churn -------------------------------------------------------------------------------------


def _churn_threads(config: ChurnConfig) -> None:
    """OpenMP reads its thread count when it is first loaded: set it before any import."""
    os.environ.setdefault("OMP_NUM_THREADS", str(config.threads))


def _check_fit_snapshots(features: "pd.DataFrame") -> None:
    """A fit reads the training and validation snapshots of the churn features, which a run
    that scored churn with its stored model did not compute (CHURN_FEATURE_SCOPE=score,
    DECISIONLOG 151). Such features have no validation row although customers of the score
    snapshot had bought before the validation snapshot's time: fail, keeping the last scores,
    rather than report too little data."""
    from touchpoint_alchemy.labels import churn_horizon_days, churn_snapshots

    *_, validation, score = churn_snapshots()
    snapshots = features["snapshot"].astype(str)
    if (snapshots == validation).any():
        return
    # a day's margin: days_since_first_purchase counts day boundaries
    older = features.loc[snapshots == score, "days_since_first_purchase"] > churn_horizon_days() + 1
    if older.any():
        raise Failure(
            description=(
                "churn: int_customer_features holds the score snapshot alone (a run that scored "
                "churn with its stored model built it), so there is nothing to fit on. "
                "Materialize the churn asset with its upstream features (dbt builds them for the "
                "fit), or run the weekly refit (tag touchpoint/refit=true)."
            ),
            allow_retries=False,
        )


def _fit_churn(inputs: "dict[str, pd.DataFrame]", config: ChurnConfig) -> "Scored":
    from touchpoint_alchemy.scoring import Metric, Scored
    from touchpoint_alchemy.scoring.churn import score_churn

    _check_fit_snapshots(inputs["int_customer_features"])
    result = score_churn(
        inputs["int_customer_features"],
        inputs["int_customer_touchpoint_counts"],
        seed=config.seed,
        medium_threshold=config.medium_threshold,
        high_threshold=config.high_threshold,
        threads=config.threads,
    )
    metrics = {
        row.metric: Metric(float(row.value), int(row.n)) for row in result.metrics.itertuples()
    }
    return Scored({"customer_churn": result.scores}, metrics=metrics, model=result.model)


def _apply_churn(inputs: "dict[str, pd.DataFrame]", config: ChurnConfig, model: Any) -> "Scored":
    from touchpoint_alchemy.scoring import Scored
    from touchpoint_alchemy.scoring.churn_model import score_with_model

    scores = score_with_model(
        model,
        inputs["int_customer_features"],
        inputs["int_customer_touchpoint_counts"],
        medium_threshold=config.medium_threshold,
        high_threshold=config.high_threshold,
        threads=config.threads,
    )
    return Scored({"customer_churn": scores})


def _describe_churn(scored: "Scored", config: ChurnConfig) -> dict[str, Any]:
    import pandas as pd

    from touchpoint_alchemy.labels import churn_risk_bands
    from touchpoint_alchemy.markdown import frame_table

    metadata: dict[str, Any] = {
        name: MetadataValue.float(scored.metrics[name][0])
        for name in ("holdout_auc", "baseline_recency_auc", "holdout_brier")
        if name in scored.metrics
    }
    scores = scored.tables.get("customer_churn")
    if scores is not None and len(scores):
        bands = scores["risk_band"].value_counts().reindex(list(churn_risk_bands())).fillna(0)
        frame = pd.DataFrame({"risk_band": bands.index, "customers": bands.astype(int)})
        metadata["risk_bands"] = _md(frame_table(frame))
        metadata["churn_probability_distribution"] = _histogram(
            scores["churn_probability"], "churn_probability", "Churn probability distribution"
        )
    return metadata


# --- clusters ----------------------------------------------------------------------------------


def _fit_clusters(inputs: "dict[str, pd.DataFrame]", config: ClusterConfig) -> "Scored":
    from touchpoint_alchemy.scoring import Metric, Scored
    from touchpoint_alchemy.scoring.clusters import cluster_customers

    features = inputs["int_customer_features"]
    result = cluster_customers(features, k_min=config.k_min, k_max=config.k_max, seed=config.seed)
    n = len(result.assignments)
    metrics = {"k": Metric(float(result.k), n), "silhouette": Metric(float(result.silhouette), n)}
    metrics.update({f"silhouette_k{k}": Metric(float(v), n) for k, v in result.silhouettes.items()})
    return Scored(
        {"customer_clusters": result.assignments, "cluster_profiles": result.profiles},
        metrics=metrics,
        model=result.model,
    )


def _apply_clusters(
    inputs: "dict[str, pd.DataFrame]", config: ClusterConfig, model: Any
) -> "Scored":
    from touchpoint_alchemy.scoring import Scored
    from touchpoint_alchemy.scoring.clusters import assign_with_model

    assignments, profiles = assign_with_model(model, inputs["int_customer_features"])
    return Scored({"customer_clusters": assignments, "cluster_profiles": profiles})


def _describe_clusters(scored: "Scored", config: ClusterConfig) -> dict[str, Any]:
    from touchpoint_alchemy.markdown import frame_table

    profiles = scored.tables.get("cluster_profiles")
    if profiles is None or not len(profiles):
        return {}
    return {"k": int(scored.metrics["k"][0]), "profiles": _md(frame_table(profiles))}


SCORING_SPECS = [
    ScoringAsset(
        name="customer_rfm",
        modules=(
            "touchpoint_alchemy.scoring",
            "touchpoint_alchemy.scoring.rfm",
            "touchpoint_alchemy.labels",
        ),
        inputs={"int_customer_orders": None},
        fit=_fit_rfm,
        describe=_describe_rfm,
        kinds=frozenset({"python", "pandas", "duckdb"}),
        description=(
            "RFM quintile scores (1-5) and segment per customer, computed in Python by "
            "touchpoint_alchemy.scoring.rfm from intermediate.int_customer_orders."
        ),
    ),
    ScoringAsset(
        name="markov_attribution",
        modules=("touchpoint_alchemy.scoring", "touchpoint_alchemy.scoring.markov"),
        # only the columns the chain needs: the path table is about a third of the touchpoints,
        # and its touchpoint and actor ids would double the frame (50M touchpoints: 15M rows)
        inputs={"int_markov_transitions": None, "int_markov_order_channels": None},
        fit=_fit_markov,
        describe=_describe_markov,
        kinds=frozenset({"python", "pandas", "numpy", "duckdb"}),
        description=(
            "Markov-chain attribution, solved in Python by touchpoint_alchemy.scoring.markov "
            "from the transition counts of intermediate.int_markov_transitions (SQL): each "
            "purchase's conversion split over the channels of its path "
            "(int_markov_order_channels) by removal effect (exact absorbing-chain "
            "probabilities). Also writes the per-channel removal effects to "
            "scoring.markov_channel_effects."
        ),
    ),
    CUSTOMER_CLV,
    ScoringAsset(
        name="customer_churn",
        modules=(
            "touchpoint_alchemy.scoring",
            "touchpoint_alchemy.scoring.churn",
            "touchpoint_alchemy.scoring.churn_drivers",
            "touchpoint_alchemy.scoring.churn_features",
            "touchpoint_alchemy.scoring.churn_model",
            "touchpoint_alchemy.scoring.tree_walk",
            "touchpoint_alchemy.scoring.stored",
            "touchpoint_alchemy.labels",
        ),
        inputs={"int_customer_features": None, "int_customer_touchpoint_counts": None},
        apply_rows={
            "int_customer_features": _score_snapshot,
            "int_customer_touchpoint_counts": _score_snapshot,
        },
        fit=_fit_churn,
        apply=_apply_churn,
        prepare=_churn_threads,
        describe=_describe_churn,
        config=ChurnConfig,
        model="churn",
        unfitted_n=_scored_customers,
        kinds=frozenset({"python", "sklearn", "duckdb"}),
        description=(
            "Churn risk per customer: a calibrated HistGradientBoostingClassifier fitted on the "
            "'train' snapshot of intermediate.int_customer_features (plus per-type touchpoint "
            "counts), validated on the 'validation' snapshot against a recency-only baseline, "
            "refitted there and applied at the data cutoff. Risk bands and the three strongest "
            "drivers in plain words. Holdout AUC, Brier score and baseline AUC go to "
            f"scoring.{MODEL_METRICS_TABLE} (model 'churn')."
        ),
    ),
    ScoringAsset(
        name="customer_clusters",
        modules=(
            "touchpoint_alchemy.scoring",
            "touchpoint_alchemy.scoring.clusters",
            "touchpoint_alchemy.scoring.stored",
            "touchpoint_alchemy.labels",
        ),
        inputs={"int_customer_features": None},
        fit=_fit_clusters,
        apply=_apply_clusters,
        describe=_describe_clusters,
        config=ClusterConfig,
        model="clusters",
        unfitted_n=_scored_customers,
        kinds=frozenset({"python", "sklearn", "duckdb"}),
        description=(
            "Behavioural clusters: k-means on standardized behaviour features of the customers "
            "at the data cutoff (intermediate.int_customer_features, snapshot 'score'), k in "
            "3..8 chosen by silhouette score, each cluster named from its profile. Also writes "
            "scoring.cluster_profiles and the silhouette scores to "
            f"scoring.{MODEL_METRICS_TABLE} (model 'clusters')."
        ),
    ),
    RECOMMENDATIONS,
    DEMAND_FORECAST,
]

#: every scoring asset, in the order of SCORING_SPECS
SCORING_ASSETS = [
    *(build_scoring_asset(spec) for spec in SCORING_SPECS),
    # the table every model writes its own rows of: an asset without a step of its own
    AssetsDefinition(specs=shared_table_specs()),
]
