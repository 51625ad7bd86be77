"""The demand forecast asset (``scoring/demand_forecast``, side table
``scoring/demand_history``): its run config, fit and metadata, built by the scoring-asset
factory like the others (listed in orchestration/assets/scoring.py). The model:
touchpoint_alchemy.scoring.forecast (backtest, measures) and forecast_fit (Prophet, imported in
the step only). The backtest runs on the refits only; a daily run forecasts from the day's
history and keeps the last refit's figures (DECISIONLOG 148)."""

from typing import TYPE_CHECKING, Any

from dagster import Config, MetadataValue
from pydantic import Field

from orchestration.assets.scoring_factory import MODEL_METRICS_TABLE, ScoringAsset

if TYPE_CHECKING:
    import pandas as pd

    from touchpoint_alchemy.scoring import Scored


class DemandForecastConfig(Config):
    """Demand forecast settings (Dagster run config of ``scoring/demand_forecast``). The
    horizon is the dbt var ``forecast_horizon_days``."""

    holiday_country: str | None = Field(
        default="US",
        description="Country whose public holidays the model learns (holidays package code); "
        "null for none.",
    )
    peak_seasons: list[str] = Field(
        default=["11-20/12-24"],
        description="Peak seasons, 'MM-DD/MM-DD' (first and last day, every year): each is a "
        "holiday of the model spanning its days.",
    )
    interval_samples: int = Field(
        default=1000, description="Predictive samples behind the 80% and 95% intervals."
    )
    seed: int = 42


def _settings(config: DemandForecastConfig) -> Any:
    """The model's settings; a bad setting fails the step before any table is read."""
    from touchpoint_alchemy.scoring.forecast_fit import ForecastSettings

    return ForecastSettings(
        holiday_country=config.holiday_country,
        peak_seasons=tuple(config.peak_seasons),
        interval_samples=config.interval_samples,
        seed=config.seed,
    )


def _cutoff_date(inputs: "dict[str, pd.DataFrame]") -> Any:
    from touchpoint_alchemy.scoring import InsufficientDataError

    cutoff = inputs["int_data_cutoff"]["data_cutoff_at"]
    if not len(cutoff) or cutoff.isna().all():
        raise InsufficientDataError("demand_forecast: no data cutoff (no purchase)")
    return cutoff.iloc[0].date()


def _fit(inputs: "dict[str, pd.DataFrame]", config: DemandForecastConfig) -> "Scored":
    """A refit: the forecast and its backtest, whose settings the daily runs keep."""
    from touchpoint_alchemy.labels import forecast_horizon_days
    from touchpoint_alchemy.scoring.forecast import forecast_demand
    from touchpoint_alchemy.scoring.forecast_fit import prophet_forecast

    cutoff = _cutoff_date(inputs)
    settings = _settings(config)
    return forecast_demand(
        inputs["int_demand_daily"],
        cutoff,
        forecast_horizon_days(),
        lambda values, dates, horizon: prophet_forecast(values, dates, horizon, settings),
        settings=settings,
    )


def _apply(inputs: "dict[str, pd.DataFrame]", config: DemandForecastConfig, _: Any) -> "Scored":
    """A daily run: every series forecast from the day's history, without the backtest (its
    4 fits); the last refit's figures are written again."""
    from touchpoint_alchemy.labels import forecast_horizon_days
    from touchpoint_alchemy.scoring.forecast import forecast_series
    from touchpoint_alchemy.scoring.forecast_fit import prophet_forecast

    cutoff = _cutoff_date(inputs)
    settings = _settings(config)
    return forecast_series(
        inputs["int_demand_daily"],
        cutoff,
        forecast_horizon_days(),
        lambda values, dates, horizon: prophet_forecast(values, dates, horizon, settings),
    )


def _stale(backtested: Any, config: DemandForecastConfig) -> str | None:
    from touchpoint_alchemy.labels import forecast_horizon_days

    return backtested.changed(_settings(config), forecast_horizon_days())


def _describe(scored: "Scored", config: DemandForecastConfig) -> dict[str, Any]:
    from touchpoint_alchemy.markdown import markdown_table

    metadata: dict[str, Any] = {}
    names = ("mase", "smape")
    if all(name in scored.metrics for name in names):
        rows = [
            (name, scored.metrics[name][0], scored.metrics[f"{name}_seasonal_naive"][0])
            for name in names
        ]
        metadata["backtest"] = MetadataValue.md(
            markdown_table(
                ["measure", "model", "seasonal naive"],
                rows,
                {"model": "{:.3f}", "seasonal naive": "{:.3f}"},
            )
            + "\n\ncoverage: "
            + ", ".join(
                f"{level}% interval {scored.metrics[f'coverage_{level}'][0]:.0%}"
                for level in (80, 95)
            )
        )
    forecast = scored.tables.get("demand_forecast")
    if forecast is not None and len(forecast):
        total = forecast[(forecast["series"] == "all")].groupby("metric")["value"].sum()
        metadata.update(
            {f"next_{metric}": MetadataValue.float(float(v)) for metric, v in total.items()}
        )
    return metadata


DEMAND_FORECAST = ScoringAsset(
    name="demand_forecast",
    modules=(
        "touchpoint_alchemy.scoring",
        "touchpoint_alchemy.scoring.forecast",
        "touchpoint_alchemy.scoring.forecast_fit",
        "touchpoint_alchemy.labels",
    ),
    fit_imports=("prophet", "cmdstanpy.utils"),
    apply_imports=("prophet", "cmdstanpy.utils"),
    inputs={"int_demand_daily": None, "int_data_cutoff": None},
    fit=_fit,
    apply=_apply,
    stale=_stale,
    prepare=_settings,
    describe=_describe,
    config=DemandForecastConfig,
    model="demand_forecast",
    unfitted_n=lambda inputs: int(inputs["int_demand_daily"]["history_date"].nunique()),
    kinds=frozenset({"python", "prophet", "duckdb"}),
    description=(
        "Daily demand forecast (orders and revenue, series 'all' and each buyer acquisition "
        "channel) for the forecast_horizon_days after the data cutoff date, with 80% and 95% "
        "intervals: Prophet (trend, day-of-week and yearly seasonality, public holidays and "
        "peak seasons) fitted on intermediate.int_demand_daily, which it also writes to "
        "scoring.demand_history. The rolling-origin backtest (4 folds of the horizon: MASE, "
        "sMAPE against seasonal naive, interval coverage) goes to "
        f"scoring.{MODEL_METRICS_TABLE} (model 'demand_forecast'); it runs on the refits only, "
        "the daily runs forecast from the day's history and keep the last refit's figures."
    ),
)
