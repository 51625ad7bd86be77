"""The CLV asset (``scoring/customer_clv``): BG/NBD and Gamma-Gamma with pymc-marketing
(touchpoint_alchemy.scoring.clv), built by the scoring-asset factory like the others (listed in
orchestration/assets/scoring.py). A refit fits and stores the parameters in
``scoring.model_store``; the daily runs score with them in closed form
(touchpoint_alchemy.scoring.clv_score), without importing pymc (DECISIONLOG 74)."""

from typing import TYPE_CHECKING, Any

from dagster import MetadataValue

from orchestration.assets.scoring_config import ClvConfig
from orchestration.assets.scoring_factory import MODEL_METRICS_TABLE, ScoringAsset

if TYPE_CHECKING:
    import pandas as pd

    from touchpoint_alchemy.scoring import Scored


def _check_clv_settings(config: ClvConfig) -> None:
    """An invalid setting fails the step before any table is read (a ValueError: not retried)."""
    from touchpoint_alchemy.scoring.clv import ClvSettings

    ClvSettings(**config.model_dump())


def _clv_scored(result: Any, model: Any = None) -> "Scored":
    from touchpoint_alchemy.scoring import Scored

    return Scored(
        {"customer_clv": result.scores, "clv_model_parameters": result.parameters},
        metrics=result.metrics,
        details={"observation_end": result.observation_end, "optimizer": result.model.optimizer},
        model=model,
    )


def _fit_clv(inputs: "dict[str, pd.DataFrame]", config: ClvConfig) -> "Scored":
    from touchpoint_alchemy.scoring.clv import ClvSettings, score_clv

    result = score_clv(inputs["int_customer_purchase_days"], ClvSettings(**config.model_dump()))
    return _clv_scored(result, result.model)


def _apply_clv(inputs: "dict[str, pd.DataFrame]", config: ClvConfig, model: Any) -> "Scored":
    """A daily run: the stored parameters score today's customers, pymc is not imported."""
    from touchpoint_alchemy.scoring.clv import ClvSettings, apply_clv

    settings = ClvSettings(**config.model_dump())
    return _clv_scored(apply_clv(inputs["int_customer_purchase_days"], model, settings))


def _clv_stale(model: Any, config: ClvConfig) -> str | None:
    from touchpoint_alchemy.scoring.clv import ClvSettings
    from touchpoint_alchemy.scoring.clv_score import stale

    return stale(model, ClvSettings(**config.model_dump()))


def _describe_clv(scored: "Scored", config: ClvConfig) -> dict[str, Any]:
    from touchpoint_alchemy.charts import histogram_svg, markdown_image
    from touchpoint_alchemy.markdown import frame_table

    metadata: dict[str, Any] = {
        "time_unit": config.time_unit,
        "method": config.method,
        "observation_end": str(scored.details.get("observation_end")),
    }
    parameters = scored.tables.get("clv_model_parameters")
    if parameters is not None and len(parameters):
        columns = ["model", "parameter", "value", "log_likelihood", "converged"]
        optimizer = scored.details["optimizer"]
        scores = scored.tables["customer_clv"]
        metadata["parameters"] = MetadataValue.md(frame_table(parameters[columns]))
        metadata["optimizer"] = MetadataValue.md(
            "\n".join(f"- {model}: {text}" for model, text in optimizer.items()) or "(MCMC)"
        )
        metadata["total_clv_12m"] = MetadataValue.float(float(scores["clv_12m"].sum()))
        chart = histogram_svg(scores["clv_12m"], title="clv_12m")
        metadata["clv_12m_distribution"] = MetadataValue.md(
            markdown_image(chart, "CLV distribution")
        )
    return metadata


CUSTOMER_CLV = ScoringAsset(
    name="customer_clv",
    modules=(
        "touchpoint_alchemy.scoring",
        "touchpoint_alchemy.scoring.clv",
        "touchpoint_alchemy.scoring.clv_fit",
        "touchpoint_alchemy.scoring.clv_score",
        "touchpoint_alchemy.scoring.lazy_imports",
        "touchpoint_alchemy.scoring.stored",
    ),
    fit_imports=(
        "touchpoint_alchemy.scoring.clv_fit:import_pymc_marketing",
        "pymc_extras.prior",
        "touchpoint_alchemy.scoring.clv_fit:load_compiler",
    ),
    inputs={"int_customer_purchase_days": None},
    fit=_fit_clv,
    apply=_apply_clv,
    stale=_clv_stale,
    prepare=_check_clv_settings,
    describe=_describe_clv,
    config=ClvConfig,
    model="clv",
    unfitted_n=lambda inputs: int(inputs["int_customer_purchase_days"]["user_id"].nunique()),
    kinds=frozenset({"python", "pymc", "duckdb"}),
    description=(
        "Customer lifetime value per customer: BG/NBD (purchase occasions, p_alive) and "
        "Gamma-Gamma (spend) fitted with pymc-marketing on "
        "intermediate.int_customer_purchase_days, observed up to the data cutoff. clv_12m is "
        "discounted monthly. Also writes scoring.clv_model_parameters and the holdout "
        f"validation to scoring.{MODEL_METRICS_TABLE} (model 'clv'). The daily runs score "
        "with the parameters the last refit stored in scoring.model_store (closed form, no "
        "pymc)."
    ),
)
