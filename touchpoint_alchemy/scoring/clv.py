"""Customer lifetime value: BG/NBD for purchase occasions and Gamma-Gamma for spend.

The input is a transaction log with one row per customer and purchase day (same-day purchases
already merged, as in ``intermediate.int_customer_purchase_days``). From it, for an
observation end date (the data cutoff, never the wall clock):

* ``frequency``: repeat purchase days (purchase days - 1);
* ``recency``: time from the first to the last purchase day;
* ``t``: time from the first purchase day to the observation end;
* ``monetary_value``: mean revenue of the repeat purchase days only (0 without repeats).

Times are in a configurable unit: ``day``, ``week`` (the default, as in Fader, Hardie & Lee
2005) or ``month`` (30.4375 days, as pymc-marketing counts it).

Both models are fitted with pymc-marketing. The default, ``method="map"``, uses explicit flat
priors (``HalfFlat``), so the maximum a posteriori point is the maximum likelihood estimate and
reproduces the published CDNOW parameters (tests/scenarios/test_clv_cdnow.py). ``method="mcmc"``
samples the posterior and adds a 90% credible interval for ``clv_12m``; it uses pymc-marketing's
default (proper, weakly informative) priors, because with flat priors the posterior of the dropout
parameters a and b is improper and the chains drift off to infinity (seen on the demo data).

BG/NBD is fitted on every customer. Gamma-Gamma is fitted on the repeat customers whose mean
repeat spend is positive (Fader & Hardie 2013: the model is of positive spend); the repeat
customers left out (free orders, full discounts, refunds) are counted, and their
``expected_avg_order_value`` is the fitted model's population mean spend ``p * v / (q - 1)``,
the same as a customer without repeat purchases.

A fit that fails on the data raises :class:`~touchpoint_alchemy.scoring.ModelFitError`: pymc's
``SamplingError`` (the log-likelihood is not finite at the starting point), non-finite
parameters, a Gamma-Gamma ``q <= 1`` (no finite mean spend) or non-finite scores. A fit that ends
but cannot be trusted is reported, not hidden (:func:`convergence_problem`): the optimizer's own
success flag (scipy's L-BFGS-B, which pymc's ``find_MAP`` runs) and the range of the shape
parameters, ``SHAPE_PARAMETER_RANGE``. DECISIONLOG.md, 43 to 45.

``clv_12m`` is the expected spend times the BG/NBD expected purchases in each of the next 12
months, each month discounted by ``(1 + monthly_discount_rate) ** month``.

The fitting and the convergence checks are in :mod:`touchpoint_alchemy.scoring.clv_fit`, the
scores from the fitted parameters (closed form, no pymc) in
:mod:`touchpoint_alchemy.scoring.clv_score`; this module computes what the asset writes from a
fit (:func:`score_clv`) or from the parameters a refit stored (:func:`apply_clv`, the daily
runs, DECISIONLOG 74). pymc-marketing is imported inside the functions: importing it takes
about 4 seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from touchpoint_alchemy.scoring import (
    GAMMA_GAMMA_EXCLUDED,
    NOT_CONVERGED_SUFFIX,
    InsufficientDataError,
    Metric,
    ModelNotFitted,
)
from touchpoint_alchemy.scoring.clv_fit import (
    BG_NBD_PARAMETERS,
    GAMMA_GAMMA_PARAMETERS,
    MIN_CUSTOMERS,
    MIN_SPENDING_REPEAT_CUSTOMERS,
    SHAPE_PARAMETER_RANGE,
    SHAPE_PARAMETERS,
    TIME_UNIT_DAYS,
    ClvFit,
    ClvSettings,
    Method,
    RecordingOptimizer,
    TimeUnit,
    bg_nbd_log_likelihood,
    convergence_problem,
    fit_clv,
    fit_model,
    gamma_gamma_log_likelihood,
    import_pymc_marketing,
    model_frame,
    spending_repeat_customers,
)
from touchpoint_alchemy.scoring.clv_score import (
    CUSTOMER_CLV_COLUMNS,
    ClvModel,
    score_customers,
)

#: the fitting and scoring code's names, importable from here as before the split (clv_fit.py)
__all__ = [
    "BG_NBD_PARAMETERS",
    "CUSTOMER_CLV_COLUMNS",
    "GAMMA_GAMMA_PARAMETERS",
    "MIN_CUSTOMERS",
    "MIN_SPENDING_REPEAT_CUSTOMERS",
    "PARAMETER_COLUMNS",
    "SHAPE_PARAMETERS",
    "SHAPE_PARAMETER_RANGE",
    "TIME_UNIT_DAYS",
    "ClvFit",
    "ClvModel",
    "ClvResult",
    "ClvSettings",
    "Method",
    "RecordingOptimizer",
    "TimeUnit",
    "apply_clv",
    "bg_nbd_log_likelihood",
    "clv_model",
    "convergence_problem",
    "fit_clv",
    "fit_metrics",
    "gamma_gamma_log_likelihood",
    "holdout_validation",
    "parameter_rows",
    "rfm_summary",
    "score_clv",
    "score_customers",
    "spending_repeat_customers",
]


PARAMETER_COLUMNS = ("model", "parameter", "value", "log_likelihood", "n_customers", "converged")


@dataclass
class ClvResult:
    """What the CLV asset writes: the scores, the parameters and the model metrics (a daily
    run's: none, the stored fit's are written again), and the model that scored."""

    #: CUSTOMER_CLV_COLUMNS
    scores: pd.DataFrame
    #: PARAMETER_COLUMNS (without fitted_at)
    parameters: pd.DataFrame
    metrics: dict[str, Metric]
    observation_end: date
    model: ClvModel


def rfm_summary(
    purchase_days: pd.DataFrame, observation_end: date, *, time_unit: TimeUnit = "week"
) -> pd.DataFrame:
    """frequency, recency, t and monetary_value per customer, as of ``observation_end``.

    ``purchase_days`` has one row per user_id and purchase_date with its revenue; several rows
    on one day are merged here as well. Purchases after ``observation_end`` are ignored.
    """
    unit = TIME_UNIT_DAYS[time_unit]
    end = pd.Timestamp(observation_end)
    days = purchase_days.assign(purchase_date=pd.to_datetime(purchase_days["purchase_date"]))
    days = days[days["purchase_date"] <= end]
    days = (
        days.groupby(["user_id", "purchase_date"], as_index=False)["revenue"]
        .sum()
        .sort_values(["user_id", "purchase_date"], kind="stable")
    )
    days["revenue"] = days["revenue"].astype(float)
    first = days.groupby("user_id")["purchase_date"].transform("min")
    repeat = days[days["purchase_date"] > first]
    per_user = days.groupby("user_id").agg(
        first=("purchase_date", "min"),
        last=("purchase_date", "max"),
        purchase_days=("purchase_date", "size"),
    )
    repeat_mean = repeat.groupby("user_id")["revenue"].mean()
    summary = pd.DataFrame(
        {
            "user_id": per_user.index.astype(str),
            "frequency": (per_user["purchase_days"] - 1).astype("int64").to_numpy(),
            "recency": ((per_user["last"] - per_user["first"]).dt.days / unit).to_numpy(),
            "t": ((end - per_user["first"]).dt.days / unit).to_numpy(),
            "monetary_value": repeat_mean.reindex(per_user.index).fillna(0.0).to_numpy(),
        }
    )
    return summary.sort_values("user_id", kind="stable").reset_index(drop=True)


def _per_customer(values: Any) -> np.ndarray:
    """Posterior mean per customer of a (chain, draw, customer_id) DataArray."""
    return np.asarray(values.mean(dim=("chain", "draw")).values, dtype=float)


def clv_model(fit: ClvFit, settings: ClvSettings) -> ClvModel:
    """What a refit stores for the daily runs (``Scored.model``): the parameters' draws, the
    parameter rows and the optimizer's reports of ``fit``."""
    return ClvModel(
        settings=settings,
        draws=dict(fit.draws),
        parameters=parameter_rows(fit).to_dict("records"),
        optimizer=dict(fit.optimizer),
    )


def parameter_rows(fit: ClvFit) -> pd.DataFrame:
    """The ``scoring.clv_model_parameters`` rows (without fitted_at)."""
    rows = [
        {
            "model": model,
            "parameter": name,
            "value": value,
            "log_likelihood": fit.log_likelihood[model],
            "n_customers": fit.n_customers[model],
            "converged": fit.convergence.get(model) is None,
        }
        for model, values in fit.parameters.items()
        for name, value in values.items()
    ]
    return pd.DataFrame(rows, columns=list(PARAMETER_COLUMNS))


def fit_metrics(fit: ClvFit) -> dict[str, Metric]:
    """The fit's rows of ``scoring.model_metrics``: each model's log-likelihood, the repeat
    customers left out of the Gamma-Gamma fit, and a ``<model>_not_converged`` warning per
    model whose fit cannot be trusted."""
    metrics = {
        f"{model}_log_likelihood": Metric(value, fit.n_customers[model])
        for model, value in fit.log_likelihood.items()
    }
    excluded = len(fit.excluded_from_spend)
    metrics[GAMMA_GAMMA_EXCLUDED] = Metric(
        float(excluded),
        excluded,
        f"{excluded} repeat customers with a mean repeat spend <= 0 are left out of the "
        "Gamma-Gamma fit; their expected_avg_order_value is the population mean p*v/(q-1) = "
        f"{fit.population_mean_spend:.4g}",
    )
    for model, problem in fit.convergence.items():
        if problem is not None:
            metrics[f"{model}{NOT_CONVERGED_SUFFIX}"] = Metric(1.0, fit.n_customers[model], problem)
    return metrics


def holdout_validation(
    purchase_days: pd.DataFrame, observation_end: date, settings: ClvSettings | None = None
) -> dict[str, Metric]:
    """Fit BG/NBD (MAP) up to ``observation_end - holdout_days`` and compare its expected
    purchases in the holdout period with the purchase days that happened.

    Returns metric -> (value, n customers): the per-customer mean absolute error, the predicted
    and actual repeat purchases in total, and the aggregate error (predicted / actual - 1); plus
    ``holdout_not_converged`` when that fit cannot be trusted.
    """
    import warnings

    import_pymc_marketing()
    from pymc_marketing.clv import BetaGeoModel

    settings = settings or ClvSettings()
    map_settings = ClvSettings(
        time_unit=settings.time_unit, holdout_days=settings.holdout_days, seed=settings.seed
    )
    end = pd.Timestamp(observation_end)
    calibration_end = end - pd.Timedelta(days=settings.holdout_days)
    summary = rfm_summary(purchase_days, calibration_end.date(), time_unit=settings.time_unit)
    if len(summary) < MIN_CUSTOMERS:
        raise InsufficientDataError(
            f"CLV holdout needs at least {MIN_CUSTOMERS} customers before "
            f"{calibration_end.date()}, got {len(summary)}"
        )
    dates = pd.to_datetime(purchase_days["purchase_date"])
    in_holdout = purchase_days[(dates > calibration_end) & (dates <= end)]
    actual = (
        in_holdout.groupby("user_id")["purchase_date"]
        .nunique()
        .reindex(summary["user_id"])
        .fillna(0)
        .to_numpy(float)
    )
    data = model_frame(summary)
    model, point, optimizer = fit_model(
        BetaGeoModel, BG_NBD_PARAMETERS, data, map_settings, "holdout bg_nbd"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        predicted = _per_customer(
            model.expected_purchases(data=data, future_t=settings.holdout_days / settings.unit_days)
        )
    n = len(summary)
    total_actual = float(actual.sum())
    total_predicted = float(predicted.sum())
    metrics = {
        "holdout_mae": Metric(float(np.abs(predicted - actual).mean()), n),
        "holdout_predicted_purchases": Metric(total_predicted, n),
        "holdout_actual_purchases": Metric(total_actual, n),
        "holdout_aggregate_error": Metric(
            total_predicted / total_actual - 1 if total_actual else float("nan"), n
        ),
    }
    problem = convergence_problem("bg_nbd", point, optimizer)
    if problem is not None:
        metrics[f"holdout{NOT_CONVERGED_SUFFIX}"] = Metric(1.0, n, problem)
    return metrics


def _summary(purchase_days: pd.DataFrame, settings: ClvSettings) -> tuple[date, pd.DataFrame]:
    """The observation end (the data cutoff's day) and the RFM summary of ``purchase_days``."""
    if purchase_days.empty:
        raise InsufficientDataError("no purchases up to the data cutoff")
    observation_end = pd.Timestamp(purchase_days["observation_end_date"].iloc[0]).date()
    summary = rfm_summary(purchase_days, observation_end, time_unit=settings.time_unit)
    return observation_end, summary


def score_clv(purchase_days: pd.DataFrame, settings: ClvSettings | None = None) -> ClvResult:
    """Everything the CLV asset writes, from ``intermediate.int_customer_purchase_days`` rows
    (user_id, purchase_date, revenue, observation_end_date): the fit, its scores, its metrics
    and the holdout validation.

    Raises InsufficientDataError or ModelFitError when the models cannot be fitted. A holdout
    fit that cannot be made does not stop the scores: it is recorded as ``holdout_not_fitted``.
    """
    settings = settings or ClvSettings()
    observation_end, summary = _summary(purchase_days, settings)
    fit = fit_clv(summary, settings)
    model = clv_model(fit, settings)
    scores = score_customers(model, summary, settings)
    metrics = fit_metrics(fit)
    try:
        metrics.update(holdout_validation(purchase_days, observation_end, settings))
    except ModelNotFitted as error:
        metrics["holdout_not_fitted"] = Metric(1.0, len(summary), str(error))
    return ClvResult(
        scores=scores,
        parameters=parameter_rows(fit),
        metrics=metrics,
        observation_end=observation_end,
        model=model,
    )


def apply_clv(
    purchase_days: pd.DataFrame, model: ClvModel, settings: ClvSettings | None = None
) -> ClvResult:
    """The daily run's :func:`score_clv`: every customer of ``purchase_days`` scored with the
    parameters of a stored fit (``model``, from ``score_clv(...).model``), without fitting and
    without importing pymc; the parameter rows are the fit's."""
    settings = settings or model.settings
    observation_end, summary = _summary(purchase_days, settings)
    return ClvResult(
        scores=score_customers(model, summary, settings),
        parameters=model.parameter_frame(),
        metrics={},
        observation_end=observation_end,
        model=model,
    )
