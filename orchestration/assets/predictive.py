"""Predictive scoring assets: CLV (pymc-marketing), churn risk and behavioural clusters
(scikit-learn).

Each asset is a thin wrapper: it reads intermediate models as Arrow tables, calls a plain
function from ``touchpoint_alchemy.scoring``, writes its tables to the ``scoring`` schema and its
model-quality figures to ``scoring.model_metrics`` (one set of rows per model) and to the asset's
metadata. pymc and scikit-learn are imported inside the assets: importing them takes seconds,
and the code location must load fast.

When a model cannot be fitted on the data (too little data, or a fit that fails on it: the
library raises ``touchpoint_alchemy.scoring.ModelNotFitted``), the asset writes an empty table and
records ``insufficient_data`` or ``fit_failed`` with the reason in ``scoring.model_metrics``
instead of failing the run; the marts then show null scores. Any other exception fails the step
at once (``orchestration.retries.fail_fast_unless_transient``).
"""

import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset
from pydantic import Field

from orchestration.assets.dbt import model_asset_key
from orchestration.assets.scoring import SCORING_KEYS
from orchestration.resources import WarehouseResource
from orchestration.retries import TRANSIENT_RETRY, fail_fast_unless_transient
from orchestration.translator import OWNER
from touchpoint_alchemy.charts import histogram_svg, markdown_image

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from touchpoint_alchemy.scoring import Metric, ModelNotFitted

PURCHASE_DAYS = model_asset_key("int_customer_purchase_days")
CUSTOMER_FEATURES = model_asset_key("int_customer_features")
TOUCHPOINT_COUNTS = model_asset_key("int_customer_touchpoint_counts")
DATA_CUTOFF = model_asset_key("int_data_cutoff")
SCORING_SCHEMA = SCORING_KEYS["customer_clv"].path[-2]
# Side tables written beside the scored tables, in the same schema.
MODEL_METRICS_TABLE = "model_metrics"
CLV_PARAMETERS_TABLE = "clv_model_parameters"
CLUSTER_PROFILES_TABLE = "cluster_profiles"


class ClvConfig(Config):
    """CLV settings (Dagster run config of ``scoring/customer_clv``)."""

    time_unit: Literal["day", "week", "month"] = Field(
        default="week", description="Time unit of frequency, recency and T."
    )
    monthly_discount_rate: float = Field(
        default=0.01, description="Monthly discount rate of clv_12m."
    )
    method: Literal["map", "mcmc"] = Field(
        default="map",
        description="'map': flat priors, maximum likelihood point estimate. 'mcmc': posterior "
        "sampling, adds the 90% credible interval clv_12m_lower/upper (minutes, not seconds).",
    )
    holdout_days: int = Field(
        default=90, description="Length of the holdout period of the validation fit."
    )
    seed: int = 42
    draws: int = Field(default=1000, description="MCMC draws per chain.")
    tune: int = Field(default=1000, description="MCMC tuning steps per chain.")
    chains: int = Field(default=2, description="MCMC chains.")


class ChurnConfig(Config):
    """Churn model settings (Dagster run config of ``scoring/customer_churn``)."""

    medium_threshold: float = Field(
        default=0.5, description="churn_probability at or above this is 'medium' risk."
    )
    high_threshold: float = Field(
        default=0.75, description="churn_probability at or above this is 'high' risk."
    )
    seed: int = 42
    threads: int = Field(
        default=2,
        description="OpenMP threads of the gradient boosting. The machines have 2 cores, "
        "shared with DuckDB; steps run one at a time (in-process executor), so the model has "
        "both while it runs. Set 1 (or the environment variable OMP_WAIT_POLICY=PASSIVE) when "
        "other work shares the cores: OpenMP threads busy-wait, and two fits on two cores each "
        "ran about ten times slower.",
    )


class ClusterConfig(Config):
    """Behavioural clustering settings (Dagster run config of ``scoring/customer_clusters``)."""

    k_min: int = 3
    k_max: int = 8
    seed: int = 42


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _data_cutoff(warehouse: WarehouseResource) -> datetime | None:
    rows = warehouse.read_table(*DATA_CUTOFF.path).to_pylist()
    return rows[0]["data_cutoff_at"] if rows else None


def _arrow(frame: "pd.DataFrame", schema: "pa.Schema") -> "pa.Table":
    import pyarrow as pa

    if frame.empty:
        return schema.empty_table()
    return pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)


def _record_metrics(
    warehouse: WarehouseResource,
    model: str,
    metrics: "dict[str, Metric | tuple[float | None, int]]",
    fitted_at: datetime,
    data_cutoff: datetime | None,
) -> None:
    import pyarrow as pa

    from touchpoint_alchemy.scoring import Metric

    names = sorted(metrics)
    rows = [Metric(*metrics[name]) for name in names]
    table = pa.table(
        {
            "model": pa.array([model] * len(names), pa.string()),
            "metric": pa.array(names, pa.string()),
            "value": pa.array([row.value for row in rows], pa.float64()),
            "n": pa.array([row.n for row in rows], pa.int64()),
            "fitted_at": pa.array([fitted_at] * len(names), pa.timestamp("us")),
            "data_cutoff": pa.array([data_cutoff] * len(names), pa.timestamp("us")),
            "detail": pa.array([row.detail for row in rows], pa.string()),
        }
    )
    warehouse.replace_rows(SCORING_SCHEMA, MODEL_METRICS_TABLE, table, key_column="model")


def _not_fitted(
    context: AssetExecutionContext, model: str, error: "ModelNotFitted", n: int
) -> "dict[str, Metric]":
    """The model_metrics row of a model without scores, and a warning in the run's log."""
    from touchpoint_alchemy.scoring import Metric

    context.log.warning(f"{model}: no scores ({error.metric}): {error}")
    return {error.metric: Metric(1.0, n, str(error))}


def _status_metadata(model: str, metrics: "dict[str, Metric]") -> dict[str, object]:
    from touchpoint_alchemy.scoring import Metric, model_status

    status = model_status(model, {name: Metric(*row) for name, row in metrics.items()})
    return {"fit_status": MetadataValue.text(status.describe())}


def _markdown(frame: "pd.DataFrame", float_format: str = "{:.4g}") -> str:
    header = "| " + " | ".join(frame.columns) + " |\n|" + "---|" * len(frame.columns) + "\n"

    def cell(value: object) -> str:
        if value is None:
            return ""
        text = float_format.format(value) if isinstance(value, float) else str(value)
        return text.replace("|", "\\|").replace("\n", " ")

    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return header + "\n".join(rows)


def _clv_schemas() -> "tuple[pa.Schema, pa.Schema]":
    import pyarrow as pa

    customers = pa.schema(
        [("user_id", pa.string()), ("frequency", pa.int64())]
        + [
            (name, pa.float64())
            for name in (
                "recency",
                "t",
                "monetary_value",
                "p_alive",
                "expected_purchases_90d",
                "expected_purchases_365d",
                "expected_avg_order_value",
                "clv_12m",
                "clv_12m_lower",
                "clv_12m_upper",
            )
        ]
    )
    parameters = pa.schema(
        [
            ("model", pa.string()),
            ("parameter", pa.string()),
            ("value", pa.float64()),
            ("log_likelihood", pa.float64()),
            ("n_customers", pa.int64()),
            ("converged", pa.bool_()),
            ("fitted_at", pa.timestamp("us")),
        ]
    )
    return customers, parameters


@asset(
    key=SCORING_KEYS["customer_clv"],
    deps=[PURCHASE_DAYS, DATA_CUTOFF],
    group_name="scoring",
    owners=[OWNER],
    retry_policy=TRANSIENT_RETRY,
    kinds={"python", "pymc", "duckdb"},
    description=(
        "Customer lifetime value per customer: BG/NBD (purchase occasions, p_alive) and "
        "Gamma-Gamma (spend) fitted with pymc-marketing on intermediate.int_customer_purchase_days"
        ", observed up to the data cutoff. clv_12m is discounted monthly. Also writes "
        f"scoring.{CLV_PARAMETERS_TABLE} and the holdout validation to "
        f"scoring.{MODEL_METRICS_TABLE} (model 'clv')."
    ),
)
@fail_fast_unless_transient
def customer_clv(
    context: AssetExecutionContext, config: ClvConfig, warehouse: WarehouseResource
) -> MaterializeResult:
    import pandas as pd

    from touchpoint_alchemy.scoring import ModelNotFitted
    from touchpoint_alchemy.scoring.clv import ClvSettings, score_clv

    settings = ClvSettings(**config.model_dump())
    fitted_at = _now()
    cutoff = _data_cutoff(warehouse)
    purchase_days = warehouse.read_table(*PURCHASE_DAYS.path).to_pandas()
    customers_schema, parameters_schema = _clv_schemas()
    schema_name, table_name = SCORING_KEYS["customer_clv"].path[-2:]
    observation_end = None
    try:
        result = score_clv(purchase_days, settings)
        scored, metrics = result.scores, result.metrics
        parameters = result.parameters.assign(fitted_at=fitted_at)
        observation_end = result.observation_end
    except ModelNotFitted as error:
        scored = pd.DataFrame({name: [] for name in customers_schema.names})
        parameters = pd.DataFrame({name: [] for name in parameters_schema.names})
        metrics = _not_fitted(context, "clv", error, int(purchase_days["user_id"].nunique()))
    warehouse.write_table(schema_name, table_name, _arrow(scored, customers_schema))
    warehouse.write_table(schema_name, CLV_PARAMETERS_TABLE, _arrow(parameters, parameters_schema))
    _record_metrics(warehouse, "clv", metrics, fitted_at, cutoff)
    metadata: dict[str, object] = {
        "dagster/row_count": len(scored),
        "time_unit": settings.time_unit,
        "method": settings.method,
        "observation_end": str(observation_end),
        **_status_metadata("clv", metrics),
        "model_metrics": MetadataValue.md(_metrics_markdown(metrics)),
    }
    if len(parameters):
        metadata["parameters"] = MetadataValue.md(
            _markdown(parameters[["model", "parameter", "value", "log_likelihood", "converged"]])
        )
        metadata["optimizer"] = MetadataValue.md(
            "\n".join(f"- {model}: {text}" for model, text in result.fit.optimizer.items())
            or "(MCMC)"
        )
        metadata["total_clv_12m"] = MetadataValue.float(float(scored["clv_12m"].sum()))
        metadata["clv_12m_distribution"] = MetadataValue.md(
            markdown_image(histogram_svg(scored["clv_12m"], title="clv_12m"), "CLV distribution")
        )
    return MaterializeResult(metadata=metadata)


def _metrics_markdown(metrics: "dict[str, Metric]") -> str:
    import pandas as pd

    from touchpoint_alchemy.scoring import Metric

    rows = [
        (name, row.value, row.n, row.detail or "")
        for name, row in sorted((name, Metric(*row)) for name, row in metrics.items())
    ]
    return _markdown(pd.DataFrame(rows, columns=["metric", "value", "n", "detail"]))


def _churn_schema() -> "pa.Schema":
    import pyarrow as pa

    return pa.schema(
        [
            ("user_id", pa.string()),
            ("churn_probability", pa.float64()),
            ("risk_band", pa.string()),
            ("top_drivers", pa.string()),
        ]
    )


@asset(
    key=SCORING_KEYS["customer_churn"],
    deps=[CUSTOMER_FEATURES, TOUCHPOINT_COUNTS, DATA_CUTOFF],
    group_name="scoring",
    owners=[OWNER],
    retry_policy=TRANSIENT_RETRY,
    kinds={"python", "sklearn", "duckdb"},
    description=(
        "Churn risk per customer: a calibrated HistGradientBoostingClassifier fitted on the "
        "'train' snapshot of intermediate.int_customer_features (plus per-type touchpoint "
        "counts), validated on the 'validation' snapshot against a recency-only baseline, "
        "refitted there and applied at the data cutoff. Risk bands and the three strongest "
        "drivers in plain words. "
        f"Holdout AUC, Brier score and baseline AUC go to scoring.{MODEL_METRICS_TABLE} "
        "(model 'churn')."
    ),
)
@fail_fast_unless_transient
def customer_churn(
    context: AssetExecutionContext, config: ChurnConfig, warehouse: WarehouseResource
) -> MaterializeResult:
    os.environ.setdefault("OMP_NUM_THREADS", str(config.threads))
    import pandas as pd

    from touchpoint_alchemy.scoring import ModelNotFitted
    from touchpoint_alchemy.scoring.churn import score_churn

    fitted_at = _now()
    cutoff = _data_cutoff(warehouse)
    features = warehouse.read_table(*CUSTOMER_FEATURES.path).to_pandas()
    counts = warehouse.read_table(*TOUCHPOINT_COUNTS.path).to_pandas()
    schema = _churn_schema()
    try:
        result = score_churn(
            features,
            counts,
            seed=config.seed,
            medium_threshold=config.medium_threshold,
            high_threshold=config.high_threshold,
            threads=config.threads,
        )
        scores = result.scores
        metrics = {
            row.metric: (float(row.value), int(row.n)) for row in result.metrics.itertuples()
        }
    except ModelNotFitted as error:
        scores = pd.DataFrame({name: [] for name in schema.names})
        scored_customers = int((features["snapshot"] == "score").sum()) if len(features) else 0
        metrics = _not_fitted(context, "churn", error, scored_customers)
    schema_name, table_name = SCORING_KEYS["customer_churn"].path[-2:]
    warehouse.write_table(schema_name, table_name, _arrow(scores, schema))
    _record_metrics(warehouse, "churn", metrics, fitted_at, cutoff)
    metadata: dict[str, object] = {
        "dagster/row_count": len(scores),
        **_status_metadata("churn", metrics),
        "model_metrics": MetadataValue.md(_metrics_markdown(metrics)),
    }
    for name in ("holdout_auc", "baseline_recency_auc", "holdout_brier"):
        if name in metrics:
            metadata[name] = MetadataValue.float(metrics[name][0])
    if len(scores):
        bands = scores["risk_band"].value_counts().reindex(["low", "medium", "high"]).fillna(0)
        metadata["risk_bands"] = MetadataValue.md(
            _markdown(pd.DataFrame({"risk_band": bands.index, "customers": bands.astype(int)}))
        )
        metadata["churn_probability_distribution"] = MetadataValue.md(
            markdown_image(
                histogram_svg(scores["churn_probability"], title="churn_probability"),
                "Churn probability distribution",
            )
        )
    return MaterializeResult(metadata=metadata)


@asset(
    key=SCORING_KEYS["customer_clusters"],
    deps=[CUSTOMER_FEATURES, DATA_CUTOFF],
    group_name="scoring",
    owners=[OWNER],
    retry_policy=TRANSIENT_RETRY,
    kinds={"python", "sklearn", "duckdb"},
    description=(
        "Behavioural clusters: k-means on standardized behaviour features of the customers at the "
        "data cutoff (intermediate.int_customer_features, snapshot 'score'), k in 3..8 chosen by "
        "silhouette score, each cluster named from its profile. Also writes "
        f"scoring.{CLUSTER_PROFILES_TABLE} and the silhouette scores to "
        f"scoring.{MODEL_METRICS_TABLE} (model 'clusters')."
    ),
)
@fail_fast_unless_transient
def customer_clusters(
    context: AssetExecutionContext, config: ClusterConfig, warehouse: WarehouseResource
) -> MaterializeResult:
    import pandas as pd
    import pyarrow as pa

    from touchpoint_alchemy.scoring import ModelNotFitted
    from touchpoint_alchemy.scoring.clusters import cluster_customers

    fitted_at = _now()
    cutoff = _data_cutoff(warehouse)
    features = warehouse.read_table(*CUSTOMER_FEATURES.path).to_pandas()
    schema_name, table_name = SCORING_KEYS["customer_clusters"].path[-2:]
    assignment_schema = pa.schema(
        [("user_id", pa.string()), ("cluster_id", pa.int64()), ("cluster_name", pa.string())]
    )
    try:
        result = cluster_customers(
            features, k_min=config.k_min, k_max=config.k_max, seed=config.seed
        )
        assignments, profiles = result.assignments, result.profiles
        n_scored = len(assignments)
        metrics = {
            "k": (float(result.k), n_scored),
            "silhouette": (float(result.silhouette), n_scored),
        }
        metrics.update(
            {f"silhouette_k{k}": (float(v), n_scored) for k, v in result.silhouettes.items()}
        )
        profile_table = pa.Table.from_pandas(profiles, preserve_index=False)
    except ModelNotFitted as error:
        assignments = pd.DataFrame({name: [] for name in assignment_schema.names})
        profile_table = pa.table(
            {
                "cluster_id": pa.array([], pa.int64()),
                "cluster_name": pa.array([], pa.string()),
                "customers": pa.array([], pa.int64()),
                "share": pa.array([], pa.float64()),
            }
        )
        profiles = profile_table.to_pandas()
        scored_customers = int((features["snapshot"] == "score").sum()) if len(features) else 0
        metrics = _not_fitted(context, "clusters", error, scored_customers)
    warehouse.write_table(schema_name, table_name, _arrow(assignments, assignment_schema))
    warehouse.write_table(schema_name, CLUSTER_PROFILES_TABLE, profile_table)
    _record_metrics(warehouse, "clusters", metrics, fitted_at, cutoff)
    metadata: dict[str, object] = {
        "dagster/row_count": len(assignments),
        **_status_metadata("clusters", metrics),
        "model_metrics": MetadataValue.md(_metrics_markdown(metrics)),
    }
    if len(profiles):
        metadata["k"] = int(metrics["k"][0])
        metadata["profiles"] = MetadataValue.md(_markdown(profiles))
    return MaterializeResult(metadata=metadata)
