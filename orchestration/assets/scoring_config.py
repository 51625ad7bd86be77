"""The run config of the scoring assets (orchestration/assets/scoring.py): the settings a run
can change in the Launchpad."""

from typing import Literal

from dagster import Config
from pydantic import Field


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
        description="OpenMP threads of the gradient boosting, at most (one below 50,000 "
        "feature rows: faster on small data). The machines have 2 cores, "
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
