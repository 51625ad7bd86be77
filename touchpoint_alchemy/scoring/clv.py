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

pymc-marketing is imported inside the functions: importing it takes about 10 seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import numpy as np
import pandas as pd

from touchpoint_alchemy.scoring import (
    GAMMA_GAMMA_EXCLUDED,
    NOT_CONVERGED_SUFFIX,
    InsufficientDataError,
    Metric,
    ModelFitError,
    ModelNotFitted,
    fit_errors,
)

#: days per time unit; a month is 365.25 / 12 days, as in pymc-marketing
TIME_UNIT_DAYS = {"day": 1.0, "week": 7.0, "month": 30.4375}
#: pymc-marketing's code for each time unit (expected_customer_lifetime_value)
TIME_UNIT_CODES = {"day": "D", "week": "W", "month": "M"}

BG_NBD_PARAMETERS = ("r", "alpha", "a", "b")
GAMMA_GAMMA_PARAMETERS = ("p", "q", "v")
#: the shape parameters of each model (the others, alpha and v, are scales in time or money)
SHAPE_PARAMETERS = {"bg_nbd": ("r", "a", "b"), "gamma_gamma": ("p", "q")}
#: a shape parameter outside this range means the fit ran to the edge of the parameter space:
#: a -> infinity with b (or p and q) means no heterogeneity, where the likelihood is flat and the
#: optimizer stops wherever its tolerance says (DECISIONLOG.md, 45). Published fits are of order
#: 0.1 to 10 (CDNOW: r 0.24, a 0.79, b 2.4, p 6.3, q 3.7).
SHAPE_PARAMETER_RANGE = (1e-3, 1e3)
#: the BG/NBD fit needs this many customers, the Gamma-Gamma fit this many with a positive spend
MIN_CUSTOMERS = 10
MIN_SPENDING_REPEAT_CUSTOMERS = 5

CUSTOMER_CLV_COLUMNS = (
    "user_id",
    "frequency",
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
PARAMETER_COLUMNS = ("model", "parameter", "value", "log_likelihood", "n_customers", "converged")

TimeUnit = Literal["day", "week", "month"]
Method = Literal["map", "mcmc"]


@dataclass(frozen=True)
class ClvSettings:
    """How CLV is fitted. The defaults are the documented ones (docs/scoring.md)."""

    time_unit: TimeUnit = "week"
    monthly_discount_rate: float = 0.01
    method: Method = "map"
    holdout_days: int = 90
    seed: int = 42
    draws: int = 1000
    tune: int = 1000
    chains: int = 2

    def __post_init__(self) -> None:
        if self.time_unit not in TIME_UNIT_DAYS:
            raise ValueError(f"time_unit must be one of {sorted(TIME_UNIT_DAYS)}")
        if self.method not in ("map", "mcmc"):
            raise ValueError("method must be 'map' or 'mcmc'")
        if self.monthly_discount_rate < 0:
            raise ValueError("monthly_discount_rate must be >= 0")
        if self.holdout_days <= 0:
            raise ValueError("holdout_days must be a positive number of days")

    @property
    def unit_days(self) -> float:
        return TIME_UNIT_DAYS[self.time_unit]


@dataclass
class ClvFit:
    """Fitted BG/NBD and Gamma-Gamma models with their point estimates."""

    transaction_model: Any
    spend_model: Any
    parameters: dict[str, dict[str, float]]
    log_likelihood: dict[str, float]
    n_customers: dict[str, int]
    method: str
    #: model -> why its fit cannot be trusted (None: converged); see convergence_problem
    convergence: dict[str, str | None] = field(default_factory=dict)
    #: model -> the optimizer's own report, e.g. "L-BFGS-B: CONVERGENCE: ... (35 iterations)"
    optimizer: dict[str, str] = field(default_factory=dict)
    #: user_ids of the repeat customers left out of the Gamma-Gamma fit (mean repeat spend <= 0)
    excluded_from_spend: tuple[str, ...] = ()
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def population_mean_spend(self) -> float:
        """The Gamma-Gamma mean spend of a customer the model knows nothing about, p*v/(q-1)."""
        gg = self.parameters["gamma_gamma"]
        return gg["p"] * gg["v"] / (gg["q"] - 1)


@dataclass
class ClvResult:
    """What the CLV asset writes: the scores, the parameters and the model metrics."""

    #: CUSTOMER_CLV_COLUMNS
    scores: pd.DataFrame
    #: PARAMETER_COLUMNS (without fitted_at)
    parameters: pd.DataFrame
    metrics: dict[str, Metric]
    observation_end: date
    fit: ClvFit


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


def spending_repeat_customers(summary: pd.DataFrame) -> pd.Series:
    """True for the customers the Gamma-Gamma model is fitted on: a repeat purchase and a
    positive mean repeat spend (NaN is not positive)."""
    return (summary["frequency"] > 0) & (summary["monetary_value"] > 0)


def bg_nbd_log_likelihood(
    summary: pd.DataFrame, r: float, alpha: float, a: float, b: float
) -> float:
    """Total BG/NBD log-likelihood (Fader, Hardie & Lee 2005, equation 6)."""
    from scipy.special import betaln, gammaln

    x = summary["frequency"].to_numpy(float)
    t_x = summary["recency"].to_numpy(float)
    big_t = summary["t"].to_numpy(float)
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    alive = betaln(a, b + x) - betaln(a, b) + common - (r + x) * np.log(alpha + big_t)
    with np.errstate(divide="ignore", invalid="ignore"):
        dropped = (
            betaln(a + 1, np.maximum(b + x - 1, 1e-12))
            - betaln(a, b)
            + common
            - (r + x) * np.log(alpha + t_x)
        )
    dropped = np.where(x > 0, dropped, -np.inf)
    return float(np.logaddexp(alive, dropped).sum())


def gamma_gamma_log_likelihood(summary: pd.DataFrame, p: float, q: float, v: float) -> float:
    """Total Gamma-Gamma log-likelihood of the mean repeat spend of the repeat customers with a
    positive mean spend, the customers it is fitted on (Fader & Hardie 2013, "The Gamma-Gamma
    Model of Monetary Value", equation 1)."""
    from scipy.special import gammaln

    repeat = summary[spending_repeat_customers(summary)]
    x = repeat["frequency"].to_numpy(float)
    z = repeat["monetary_value"].to_numpy(float)
    ll = (
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(v)
        + (p * x - 1) * np.log(z)
        + p * x * np.log(x)
        - (p * x + q) * np.log(v + x * z)
    )
    return float(ll.sum())


def _model_frame(summary: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": summary["user_id"].to_numpy(),
            "frequency": summary["frequency"].to_numpy("int64"),
            "recency": summary["recency"].to_numpy(float),
            "T": summary["t"].to_numpy(float),
            "monetary_value": summary["monetary_value"].to_numpy(float),
        }
    )


class RecordingOptimizer:
    """scipy's L-BFGS-B, pymc's ``find_MAP`` default, as a custom ``method`` of
    ``scipy.optimize.minimize`` that keeps the ``OptimizeResult``: pymc-marketing's MAP fit
    returns the point only, and the success flag and message are what tell a converged fit from
    one that stopped. ``result`` stays None when ``find_MAP`` stopped the optimizer at its
    evaluation limit (it raises StopIteration through it)."""

    name = "L-BFGS-B"

    def __init__(self) -> None:
        self.result: Any = None
        self.calls = 0

    def __call__(self, fun, x0, args=(), jac=None, callback=None, **_: Any):
        from scipy import optimize

        self.calls += 1
        self.result = None
        result = optimize.minimize(fun, x0, args=args, jac=jac, method=self.name, callback=callback)
        self.result = result
        return result

    def report(self) -> str:
        if self.result is None:
            return f"{self.name}: stopped at pymc's limit of 5000 log-likelihood evaluations"
        status = "converged" if self.result.success else "did not converge"
        message = str(self.result.message).strip().rstrip(":")
        return f"{self.name} {status}: {message} ({self.result.nit} iterations)"


def convergence_problem(
    model: str, point: dict[str, float], optimizer: RecordingOptimizer | None
) -> str | None:
    """Why the fit of ``model`` ('bg_nbd' or 'gamma_gamma') cannot be taken as a clean maximum
    likelihood estimate, or None: the optimizer did not report success (MAP), or a shape
    parameter lies outside SHAPE_PARAMETER_RANGE."""
    problems = []
    if optimizer is not None and (optimizer.result is None or not optimizer.result.success):
        problems.append(optimizer.report())
    low, high = SHAPE_PARAMETER_RANGE
    outside = [
        f"{name} = {point[name]:.3g}"
        for name in SHAPE_PARAMETERS[model]
        if not low <= point[name] <= high
    ]
    if outside:
        problems.append(
            f"{', '.join(outside)} outside [{low:g}, {high:g}]: the fit ran to the edge of the "
            "parameter space, where the likelihood is flat and the values are arbitrary"
        )
    return "; ".join(problems) or None


def _fit_model(
    model_class: Any,
    names: tuple[str, ...],
    data: pd.DataFrame,
    settings: ClvSettings,
    label: str,
) -> tuple[Any, dict[str, float], RecordingOptimizer | None]:
    """Fit one pymc-marketing model; returns it, its point estimates and (MAP) the optimizer."""
    import warnings

    from pymc.exceptions import SamplingError
    from pymc_extras.prior import Prior

    optimizer = RecordingOptimizer() if settings.method == "map" else None
    with warnings.catch_warnings(), fit_errors(label, SamplingError):
        warnings.simplefilter("ignore")
        if optimizer is not None:
            model = model_class(model_config={name: Prior("HalfFlat") for name in names})
            model.fit(
                data=data,
                method="map",
                progressbar=False,
                random_seed=settings.seed,
                map_kwargs={"method": optimizer},
            )
        else:
            model = model_class()
            model.fit(
                data=data,
                method="mcmc",
                progressbar=False,
                random_seed=settings.seed,
                draws=settings.draws,
                tune=settings.tune,
                chains=settings.chains,
                cores=1,
            )
    posterior = model.fit_result
    point = {name: float(posterior[name].mean()) for name in names}
    if not all(np.isfinite(value) for value in point.values()):
        raise ModelFitError(f"{label}: the fit ended at non-finite parameters {point}")
    return model, point, optimizer


def fit_clv(summary: pd.DataFrame, settings: ClvSettings | None = None) -> ClvFit:
    """Fit BG/NBD on every customer and Gamma-Gamma on the repeat customers with a positive
    mean repeat spend."""
    from pymc_marketing.clv import BetaGeoModel, GammaGammaModel

    settings = settings or ClvSettings()
    data = _model_frame(summary)
    spending = spending_repeat_customers(summary).to_numpy()
    repeat = data["frequency"].to_numpy() > 0
    if len(data) < MIN_CUSTOMERS:
        raise InsufficientDataError(
            f"CLV needs at least {MIN_CUSTOMERS} customers, got {len(data)}"
        )
    if spending.sum() < MIN_SPENDING_REPEAT_CUSTOMERS:
        raise InsufficientDataError(
            f"CLV needs at least {MIN_SPENDING_REPEAT_CUSTOMERS} customers with a repeat "
            f"purchase and a positive mean repeat spend (Gamma-Gamma), got {spending.sum()} "
            f"(of {repeat.sum()} repeat customers)"
        )
    transactions, bg, bg_optimizer = _fit_model(
        BetaGeoModel, BG_NBD_PARAMETERS, data, settings, "bg_nbd"
    )
    spend_data = data.loc[spending, ["customer_id", "frequency", "monetary_value"]]
    spend, gg, gg_optimizer = _fit_model(
        GammaGammaModel, GAMMA_GAMMA_PARAMETERS, spend_data, settings, "gamma_gamma"
    )
    if gg["q"] <= 1:
        raise ModelFitError(
            f"gamma_gamma: q = {gg['q']:.4g} <= 1, so the model's mean spend p*v/(q-1) is not "
            "finite and customers without repeat spend have no expected order value"
        )
    optimizers = {"bg_nbd": bg_optimizer, "gamma_gamma": gg_optimizer}
    return ClvFit(
        transaction_model=transactions,
        spend_model=spend,
        parameters={"bg_nbd": bg, "gamma_gamma": gg},
        log_likelihood={
            "bg_nbd": bg_nbd_log_likelihood(summary, **bg),
            "gamma_gamma": gamma_gamma_log_likelihood(summary, **gg),
        },
        n_customers={"bg_nbd": len(data), "gamma_gamma": int(spending.sum())},
        method=settings.method,
        convergence={
            "bg_nbd": convergence_problem("bg_nbd", bg, bg_optimizer),
            "gamma_gamma": convergence_problem("gamma_gamma", gg, gg_optimizer),
        },
        optimizer={
            model: optimizer.report()
            for model, optimizer in optimizers.items()
            if optimizer is not None
        },
        excluded_from_spend=tuple(data.loc[repeat & ~spending, "customer_id"].astype(str)),
    )


def _per_customer(values: Any) -> np.ndarray:
    """Posterior mean per customer of a (chain, draw, customer_id) DataArray."""
    return np.asarray(values.mean(dim=("chain", "draw")).values, dtype=float)


def score_customers(
    fit: ClvFit, summary: pd.DataFrame, settings: ClvSettings | None = None
) -> pd.DataFrame:
    """The ``scoring.customer_clv`` rows: the summary plus p_alive, expected purchases,
    expected average order value and the discounted 12-month CLV.

    The expected order value comes from Gamma-Gamma for the customers it was fitted on; every
    other customer (no repeat purchase, or a mean repeat spend <= 0) gets the population mean
    p*v/(q-1), which is what the model's formula gives for a customer with no repeat spend:
    they are passed to it with frequency 0."""
    import warnings

    from pymc_marketing.clv.utils import customer_lifetime_value

    settings = settings or ClvSettings()
    data = _model_frame(summary)
    unit = settings.unit_days
    bg, gg = fit.transaction_model, fit.spend_model
    spending = spending_repeat_customers(summary).to_numpy()
    spend_data = data.assign(
        frequency=np.where(spending, data["frequency"], 0),
        monetary_value=np.where(spending, data["monetary_value"], 0.0),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p_alive = _per_customer(bg.expected_probability_alive(data=data))
        purchases_90 = _per_customer(bg.expected_purchases(data=data, future_t=90 / unit))
        purchases_365 = _per_customer(bg.expected_purchases(data=data, future_t=365 / unit))
        spend = _per_customer(gg.expected_customer_spend(data=spend_data))
        clv = customer_lifetime_value(
            transaction_model=bg,
            data=data.assign(future_spend=spend),
            future_t=12,
            discount_rate=settings.monthly_discount_rate,
            time_unit=TIME_UNIT_CODES[settings.time_unit],
        )
    result = summary[["user_id", "frequency", "recency", "t", "monetary_value"]].copy()
    result["p_alive"] = p_alive
    result["expected_purchases_90d"] = purchases_90
    result["expected_purchases_365d"] = purchases_365
    result["expected_avg_order_value"] = spend
    result["clv_12m"] = _per_customer(clv)
    if fit.method == "mcmc":
        stacked = clv.stack(sample=("chain", "draw"))
        result["clv_12m_lower"] = np.asarray(stacked.quantile(0.05, dim="sample").values, float)
        result["clv_12m_upper"] = np.asarray(stacked.quantile(0.95, dim="sample").values, float)
    else:
        result["clv_12m_lower"] = np.nan
        result["clv_12m_upper"] = np.nan
    scored = ["p_alive", "expected_purchases_90d", "expected_purchases_365d"]
    scored += ["expected_avg_order_value", "clv_12m"]
    broken = {c: int((~np.isfinite(result[c])).sum()) for c in scored}
    broken = {column: count for column, count in broken.items() if count}
    if broken:
        raise ModelFitError(
            "the fitted models give non-finite scores: "
            + ", ".join(f"{column} for {count} customers" for column, count in broken.items())
        )
    return result[list(CUSTOMER_CLV_COLUMNS)].reset_index(drop=True)


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
    data = _model_frame(summary)
    model, point, optimizer = _fit_model(
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


def score_clv(purchase_days: pd.DataFrame, settings: ClvSettings | None = None) -> ClvResult:
    """Everything the CLV asset writes, from ``intermediate.int_customer_purchase_days`` rows
    (user_id, purchase_date, revenue, observation_end_date).

    Raises InsufficientDataError or ModelFitError when the models cannot be fitted. A holdout
    fit that cannot be made does not stop the scores: it is recorded as ``holdout_not_fitted``.
    """
    settings = settings or ClvSettings()
    if purchase_days.empty:
        raise InsufficientDataError("no purchases up to the data cutoff")
    observation_end = pd.Timestamp(purchase_days["observation_end_date"].iloc[0]).date()
    summary = rfm_summary(purchase_days, observation_end, time_unit=settings.time_unit)
    fit = fit_clv(summary, settings)
    scores = score_customers(fit, summary, settings)
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
        fit=fit,
    )
