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
reproduces the published CDNOW parameters (tests/test_clv_cdnow.py). ``method="mcmc"`` samples
the posterior and adds a 90% credible interval for ``clv_12m``; it uses pymc-marketing's default
(proper, weakly informative) priors, because with flat priors the posterior of the dropout
parameters a and b is improper and the chains drift off to infinity (seen on the demo data).

``clv_12m`` is the Gamma-Gamma expected spend times the BG/NBD expected purchases in each of the
next 12 months, each month discounted by ``(1 + monthly_discount_rate) ** month``.

pymc-marketing is imported inside the functions: importing it takes about 10 seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import numpy as np
import pandas as pd

from touchpoint_alchemy.scoring import InsufficientDataError

#: days per time unit; a month is 365.25 / 12 days, as in pymc-marketing
TIME_UNIT_DAYS = {"day": 1.0, "week": 7.0, "month": 30.4375}
#: pymc-marketing's code for each time unit (expected_customer_lifetime_value)
TIME_UNIT_CODES = {"day": "D", "week": "W", "month": "M"}

BG_NBD_PARAMETERS = ("r", "alpha", "a", "b")
GAMMA_GAMMA_PARAMETERS = ("p", "q", "v")

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
    extras: dict[str, Any] = field(default_factory=dict)


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
    """Total Gamma-Gamma log-likelihood of the mean repeat spend of repeat customers
    (Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary Value", equation 1)."""
    from scipy.special import gammaln

    repeat = summary[summary["frequency"] > 0]
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


def _fit(model: Any, data: pd.DataFrame, settings: ClvSettings) -> None:
    if settings.method == "map":
        model.fit(data=data, method="map", progressbar=False, random_seed=settings.seed)
    else:
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


def _point(model: Any, names: tuple[str, ...]) -> dict[str, float]:
    posterior = model.fit_result
    return {name: float(posterior[name].mean()) for name in names}


def fit_clv(summary: pd.DataFrame, settings: ClvSettings | None = None) -> ClvFit:
    """Fit BG/NBD on every customer and Gamma-Gamma on the repeat customers."""
    import warnings

    from pymc_extras.prior import Prior
    from pymc_marketing.clv import BetaGeoModel, GammaGammaModel

    settings = settings or ClvSettings()
    data = _model_frame(summary)
    repeat = data[data["frequency"] > 0]
    if len(data) < 10:
        raise InsufficientDataError(f"CLV needs at least 10 customers, got {len(data)}")
    if len(repeat) < 5:
        raise InsufficientDataError(
            "CLV needs at least 5 customers with a repeat purchase (Gamma-Gamma), "
            f"got {len(repeat)}"
        )
    flat = settings.method == "map"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        transactions = BetaGeoModel(
            model_config={name: Prior("HalfFlat") for name in BG_NBD_PARAMETERS} if flat else None
        )
        _fit(transactions, data, settings)
        spend = GammaGammaModel(
            model_config=(
                {name: Prior("HalfFlat") for name in GAMMA_GAMMA_PARAMETERS} if flat else None
            )
        )
        _fit(spend, repeat[["customer_id", "frequency", "monetary_value"]], settings)
    bg = _point(transactions, BG_NBD_PARAMETERS)
    gg = _point(spend, GAMMA_GAMMA_PARAMETERS)
    return ClvFit(
        transaction_model=transactions,
        spend_model=spend,
        parameters={"bg_nbd": bg, "gamma_gamma": gg},
        log_likelihood={
            "bg_nbd": bg_nbd_log_likelihood(summary, **bg),
            "gamma_gamma": gamma_gamma_log_likelihood(summary, **gg),
        },
        n_customers={"bg_nbd": len(data), "gamma_gamma": len(repeat)},
        method=settings.method,
    )


def _per_customer(values: Any) -> np.ndarray:
    """Posterior mean per customer of a (chain, draw, customer_id) DataArray."""
    return np.asarray(values.mean(dim=("chain", "draw")).values, dtype=float)


def score_customers(
    fit: ClvFit, summary: pd.DataFrame, settings: ClvSettings | None = None
) -> pd.DataFrame:
    """The ``scoring.customer_clv`` rows: the summary plus p_alive, expected purchases,
    expected average order value and the discounted 12-month CLV."""
    import warnings

    settings = settings or ClvSettings()
    data = _model_frame(summary)
    unit = settings.unit_days
    bg, gg = fit.transaction_model, fit.spend_model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p_alive = _per_customer(bg.expected_probability_alive(data=data))
        purchases_90 = _per_customer(bg.expected_purchases(data=data, future_t=90 / unit))
        purchases_365 = _per_customer(bg.expected_purchases(data=data, future_t=365 / unit))
        spend = gg.expected_customer_spend(data=data)
        clv = gg.expected_customer_lifetime_value(
            transaction_model=bg,
            data=data,
            future_t=12,
            discount_rate=settings.monthly_discount_rate,
            time_unit=TIME_UNIT_CODES[settings.time_unit],
        )
    result = summary[["user_id", "frequency", "recency", "t", "monetary_value"]].copy()
    result["p_alive"] = p_alive
    result["expected_purchases_90d"] = purchases_90
    result["expected_purchases_365d"] = purchases_365
    result["expected_avg_order_value"] = _per_customer(spend)
    result["clv_12m"] = _per_customer(clv)
    if fit.method == "mcmc":
        stacked = clv.stack(sample=("chain", "draw"))
        result["clv_12m_lower"] = np.asarray(stacked.quantile(0.05, dim="sample").values, float)
        result["clv_12m_upper"] = np.asarray(stacked.quantile(0.95, dim="sample").values, float)
    else:
        result["clv_12m_lower"] = np.nan
        result["clv_12m_upper"] = np.nan
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
        }
        for model, values in fit.parameters.items()
        for name, value in values.items()
    ]
    return pd.DataFrame(rows)


def holdout_validation(
    purchase_days: pd.DataFrame, observation_end: date, settings: ClvSettings | None = None
) -> dict[str, tuple[float, int]]:
    """Fit BG/NBD (MAP) up to ``observation_end - holdout_days`` and compare its expected
    purchases in the holdout period with the purchase days that happened.

    Returns metric -> (value, n customers): the per-customer mean absolute error, the predicted
    and actual repeat purchases in total, and the aggregate error (predicted / actual - 1).
    """
    import warnings

    from pymc_extras.prior import Prior
    from pymc_marketing.clv import BetaGeoModel

    settings = settings or ClvSettings()
    end = pd.Timestamp(observation_end)
    calibration_end = end - pd.Timedelta(days=settings.holdout_days)
    summary = rfm_summary(purchase_days, calibration_end.date(), time_unit=settings.time_unit)
    if len(summary) < 10:
        raise InsufficientDataError(
            f"CLV holdout needs at least 10 customers before {calibration_end.date()}, "
            f"got {len(summary)}"
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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = BetaGeoModel(model_config={name: Prior("HalfFlat") for name in BG_NBD_PARAMETERS})
        model.fit(data=data, method="map", progressbar=False, random_seed=settings.seed)
        predicted = _per_customer(
            model.expected_purchases(data=data, future_t=settings.holdout_days / settings.unit_days)
        )
    n = len(summary)
    total_actual = float(actual.sum())
    total_predicted = float(predicted.sum())
    return {
        "holdout_mae": (float(np.abs(predicted - actual).mean()), n),
        "holdout_predicted_purchases": (total_predicted, n),
        "holdout_actual_purchases": (total_actual, n),
        "holdout_aggregate_error": (
            total_predicted / total_actual - 1 if total_actual else float("nan"),
            n,
        ),
    }
