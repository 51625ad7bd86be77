"""CLV scores from fitted parameters, in closed form: numpy and scipy, no pymc.

Every run scores the customers this way: the refit right after fitting BG/NBD and Gamma-Gamma
with pymc-marketing (:mod:`touchpoint_alchemy.scoring.clv_fit`), the daily runs from the
parameters the last refit stored (``scoring.model_store``, DECISIONLOG 72 and 74), so a daily
run never imports pymc (about 4 seconds) and scores exactly as the refit did on the same data.

The expressions are pymc-marketing's (1.3), evaluated on every posterior draw of the parameters
(one draw for MAP):

* ``p_alive``: Fader, Hardie & Lee (2008), "Computing P(alive) using the BG/NBD model";
* expected purchases in ``(T, T + t]``: Fader, Hardie & Lee (2005), equation 10;
* expected order value: Fader & Hardie (2013), "The Gamma-Gamma model of monetary value",
  equation 5, for the customers Gamma-Gamma was fitted on; the population mean ``p*v/(q-1)``
  for every other customer (frequency 0);
* ``clv_12m``: the expected order value times the expected purchases of each of the next 12
  months, each discounted by ``(1 + monthly_discount_rate) ** month``
  (``pymc_marketing.clv.utils.customer_lifetime_value``).

A score is the mean over the draws; with MCMC ``clv_12m_lower`` and ``clv_12m_upper`` are the
5% and 95% quantiles of the draws' CLV (NaN for MAP).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from touchpoint_alchemy.scoring import ModelFitError
from touchpoint_alchemy.scoring.clv_fit import (
    TIME_UNIT_DAYS,
    ClvSettings,
    spending_repeat_customers,
)

#: days per month of the CLV horizon, as pymc-marketing counts them
DAYS_PER_MONTH = 30.4375
#: months of ``clv_12m``
CLV_MONTHS = 12
#: draws x customers evaluated at once (MCMC: 2,000 draws by default)
BLOCK_VALUES = 4_000_000

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


@dataclass(frozen=True)
class ClvModel:
    """What a refit stores and a daily run scores with: the parameters' draws and the fit's
    ``scoring.clv_model_parameters`` rows."""

    #: the settings of the fit (a daily run with other fit settings refits: :func:`stale`)
    settings: ClvSettings
    #: parameter (r, alpha, a, b, p, q, v) -> its draws (one for MAP)
    draws: dict[str, np.ndarray]
    #: the fit's scoring.clv_model_parameters rows (without fitted_at)
    parameters: list[dict[str, Any]] = field(default_factory=list)
    #: model -> the optimizer's report (MAP)
    optimizer: dict[str, str] = field(default_factory=dict)

    def parameter_frame(self) -> pd.DataFrame:
        columns = ["model", "parameter", "value", "log_likelihood", "n_customers", "converged"]
        return pd.DataFrame(self.parameters, columns=columns)


def stale(model: ClvModel, settings: ClvSettings) -> str | None:
    """Why ``model`` cannot score with ``settings`` (another time unit, method or fit setting
    than it was fitted with), or None: the discount rate only applies to the scores."""
    current = dataclasses.replace(settings, monthly_discount_rate=0.0)
    fitted = dataclasses.replace(model.settings, monthly_discount_rate=0.0)
    if current == fitted:
        return None
    changed = [
        f"{f.name} {getattr(fitted, f.name)!r} -> {getattr(current, f.name)!r}"
        for f in dataclasses.fields(ClvSettings)
        if getattr(fitted, f.name) != getattr(current, f.name)
    ]
    return "the stored CLV fit has other settings (" + ", ".join(changed) + ")"


def expected_purchases(
    future_t: float, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray, d: dict[str, np.ndarray]
) -> np.ndarray:
    """BG/NBD expected purchases in ``(T, T + future_t]`` (draws x customers)."""
    from scipy.special import hyp2f1

    r, alpha, a, b = d["r"], d["alpha"], d["a"], d["b"]
    t = future_t
    numerator = 1 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x) * hyp2f1(
        r + x, b + x, a + b + x - 1, t / (alpha + big_t + t)
    )
    numerator *= (a + b + x - 1) / (a - 1)
    denominator = 1 + (x > 0) * (a / (b + x - 1)) * ((alpha + big_t) / (alpha + t_x)) ** (r + x)
    return numerator / denominator


def p_alive(
    x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray, d: dict[str, np.ndarray]
) -> np.ndarray:
    """BG/NBD probability that the customer is still active (draws x customers)."""
    from scipy.special import expit

    r, alpha, a, b = d["r"], d["alpha"], d["a"], d["b"]
    log_div = (r + x) * np.log((alpha + big_t) / (alpha + t_x)) + np.log(
        a / (b + np.maximum(x, 1) - 1)
    )
    return np.where(x == 0, 1.0, expit(-log_div))


def expected_spend(x: np.ndarray, mean_value: np.ndarray, d: dict[str, np.ndarray]) -> np.ndarray:
    """Gamma-Gamma expected order value (draws x customers)."""
    p, q, v = d["p"], d["q"], d["v"]
    weight = p * x / (p * x + q - 1)
    return (1 - weight) * (v * p / (q - 1)) + weight * mean_value


def _block(model: ClvModel, frame: pd.DataFrame, settings: ClvSettings) -> dict[str, np.ndarray]:
    """The scores of the customers of ``frame`` (a slice of the summary)."""
    d = {name: np.asarray(values, float)[:, np.newaxis] for name, values in model.draws.items()}
    unit = TIME_UNIT_DAYS[settings.time_unit]
    x = frame["frequency"].to_numpy("int64")[np.newaxis, :]
    t_x = frame["recency"].to_numpy(float)[np.newaxis, :]
    big_t = frame["t"].to_numpy(float)[np.newaxis, :]
    spending = spending_repeat_customers(frame).to_numpy()[np.newaxis, :]
    mean_value = frame["monetary_value"].to_numpy(float)[np.newaxis, :]
    spend = expected_spend(np.where(spending, x, 0), np.where(spending, mean_value, 0.0), d)
    spend = spend.mean(axis=0)
    rate = settings.monthly_discount_rate
    factor = DAYS_PER_MONTH / unit
    steps = np.arange(1, CLV_MONTHS + 1) if rate != 0.0 else np.arange(CLV_MONTHS, CLV_MONTHS + 1)
    clv: np.ndarray | float = 0.0
    previous: np.ndarray | float = 0.0
    for horizon in steps * factor:
        cumulative = expected_purchases(horizon, x, t_x, big_t, d)
        clv = clv + spend * (cumulative - previous) / (1 + rate) ** (horizon / factor)
        previous = cumulative
    clv = np.asarray(clv)
    scores = {
        "p_alive": p_alive(x, t_x, big_t, d).mean(axis=0),
        "expected_purchases_90d": expected_purchases(90 / unit, x, t_x, big_t, d).mean(axis=0),
        "expected_purchases_365d": expected_purchases(365 / unit, x, t_x, big_t, d).mean(axis=0),
        "expected_avg_order_value": spend,
        "clv_12m": clv.mean(axis=0),
    }
    if settings.method == "mcmc":
        scores["clv_12m_lower"] = np.quantile(clv, 0.05, axis=0)
        scores["clv_12m_upper"] = np.quantile(clv, 0.95, axis=0)
    else:
        scores["clv_12m_lower"] = scores["clv_12m_upper"] = np.full(len(frame), np.nan)
    return scores


def score_customers(
    model: ClvModel, summary: pd.DataFrame, settings: ClvSettings | None = None
) -> pd.DataFrame:
    """The ``scoring.customer_clv`` rows: ``summary`` (frequency, recency, t, monetary_value per
    customer, :func:`touchpoint_alchemy.scoring.clv.rfm_summary`) plus p_alive, expected
    purchases, expected average order value and the discounted 12-month CLV. ``settings``: the
    discount rate (the fit's time unit and method are the model's). Raises ModelFitError when a
    score is not finite."""
    settings = dataclasses.replace(
        model.settings,
        monthly_discount_rate=(settings or model.settings).monthly_discount_rate,
    )
    draws = max(len(values) for values in model.draws.values())
    size = max(BLOCK_VALUES // draws, 1)
    blocks = [
        _block(model, summary.iloc[start : start + size], settings)
        for start in range(0, len(summary), size)
    ] or [_block(model, summary, settings)]
    result = summary[["user_id", "frequency", "recency", "t", "monetary_value"]].copy()
    for column in CUSTOMER_CLV_COLUMNS[5:]:
        result[column] = np.concatenate([block[column] for block in blocks])
    scored = list(CUSTOMER_CLV_COLUMNS[5:10])
    broken = {c: int((~np.isfinite(result[c])).sum()) for c in scored}
    broken = {column: count for column, count in broken.items() if count}
    if broken:
        raise ModelFitError(
            "the fitted models give non-finite scores: "
            + ", ".join(f"{column} for {count} customers" for column, count in broken.items())
        )
    return result[list(CUSTOMER_CLV_COLUMNS)].reset_index(drop=True)
