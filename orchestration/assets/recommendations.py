"""The product recommendations asset (``scoring/product_recommendations``): its run config, fit
and metadata, built by the scoring-asset factory like the others (listed in
orchestration/assets/scoring.py). The model: touchpoint_alchemy.scoring.recommendations (the
lists) and recommendation_evaluation (the holdout evaluation of a refit). The
holdout evaluation runs on the refits only; what a refit stores (``scoring.model_store``) is the
settings it evaluated (DECISIONLOG 74)."""

from typing import TYPE_CHECKING, Any

from dagster import Config, MetadataValue
from pydantic import Field

from orchestration.assets.scoring_factory import MODEL_METRICS_TABLE, ScoringAsset

if TYPE_CHECKING:
    import pandas as pd

    from touchpoint_alchemy.scoring import Scored


class RecommendationConfig(Config):
    """Product recommendation settings (Dagster run config of
    ``scoring/product_recommendations``)."""

    recommendation_count: int = Field(default=10, description="Products recommended per user.")
    holdout_days: int = Field(
        default=60, description="Length of the evaluation's holdout, up to the data cutoff."
    )
    repeatable_products: list[str] = Field(
        default=[],
        description="product_ids recommended again to customers who bought them (consumables).",
    )


def _settings(config: RecommendationConfig) -> Any:
    """The settings of the model; a bad setting fails the step before any table is read."""
    from touchpoint_alchemy.scoring.recommendations import RecommendationSettings

    return RecommendationSettings(
        recommendation_count=config.recommendation_count,
        holdout_days=config.holdout_days,
        repeatable=tuple(config.repeatable_products),
    )


def _fit(inputs: "dict[str, pd.DataFrame]", config: RecommendationConfig) -> "Scored":
    from touchpoint_alchemy.scoring import Scored
    from touchpoint_alchemy.scoring.recommendation_evaluation import score_recommendations

    cutoff = inputs["int_data_cutoff"]["data_cutoff_at"]
    settings = _settings(config)
    result = score_recommendations(
        inputs["int_customer_products"],
        inputs["int_users"]["user_id"],
        cutoff.iloc[0] if len(cutoff) else None,
        settings,
    )
    # what the daily runs keep: the settings the evaluation (the metrics) measured
    return Scored({"product_recommendations": result.table}, result.metrics, model=settings)


def _apply(inputs: "dict[str, pd.DataFrame]", config: RecommendationConfig, _: Any) -> "Scored":
    """A daily run: the lists from the day's purchases (similarities included: a small part of
    the step), without the holdout evaluation; the last refit's metrics are written again."""
    from touchpoint_alchemy.scoring import Scored
    from touchpoint_alchemy.scoring.recommendations import recommend_everyone

    table = recommend_everyone(
        inputs["int_customer_products"], inputs["int_users"]["user_id"], _settings(config)
    )
    return Scored({"product_recommendations": table})


def _stale(evaluated: Any, config: RecommendationConfig) -> str | None:
    from touchpoint_alchemy.scoring.recommendations import evaluation_changed

    return evaluation_changed(evaluated, _settings(config))


def _describe(scored: "Scored", config: RecommendationConfig) -> dict[str, Any]:
    from touchpoint_alchemy.markdown import markdown_table

    rows = [
        (
            name.removesuffix("_popularity"),
            "popularity" if name.endswith("_popularity") else "model",
            *scored.metrics[name][:2],
        )
        for name in sorted(scored.metrics)
        if scored.metrics[name][0] is not None
    ]
    import pyarrow.compute as pc

    table = scored.tables.get("product_recommendations")  # Arrow (recommend_everyone)
    return {
        "users": pc.count_distinct(table["user_id"]).as_py() if table is not None else 0,
        "evaluation": MetadataValue.md(markdown_table(["metric", "ranking", "value", "n"], rows)),
    }


RECOMMENDATIONS = ScoringAsset(
    name="product_recommendations",
    modules=(
        "touchpoint_alchemy.scoring",
        "touchpoint_alchemy.scoring.recommendations",
        "touchpoint_alchemy.scoring.recommendation_evaluation",
        "touchpoint_alchemy.scoring.stored",
    ),
    inputs={
        "int_customer_products": None,
        "int_users": lambda: ["user_id"],
        "int_data_cutoff": None,
    },
    fit=_fit,
    apply=_apply,
    stale=_stale,
    prepare=_settings,
    describe=_describe,
    config=RecommendationConfig,
    model="product_recommendations",
    unfitted_n=lambda inputs: int(inputs["int_users"]["user_id"].nunique()),
    kinds=frozenset({"python", "scipy", "duckdb"}),
    description=(
        "Product recommendations per consenting user: item-to-item collaborative filtering "
        "(cosine similarity on the customer x product purchase matrix, "
        "intermediate.int_customer_products), bought products excluded unless repeatable, "
        "popularity for users without purchase. The holdout evaluation (hit rate, recall, "
        "catalogue coverage, against the popularity baseline) goes to "
        f"scoring.{MODEL_METRICS_TABLE} (model 'product_recommendations'); it runs on the "
        "refits only, the daily runs recompute the lists and keep the last refit's evaluation."
    ),
)
