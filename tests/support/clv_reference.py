"""An independent reference for the CLV tests: a purchase log written as raw files of the data
contract, and the BG/NBD and Gamma-Gamma maximum-likelihood fits computed here with pandas and
scipy from the closed-form log-likelihoods, never with the project's code or pymc-marketing.

- BG/NBD: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way", equation 6;
- Gamma-Gamma: Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value", equation 1 (the
  likelihood of a customer's mean repeat spend given the number of repeat purchases).

The fits maximise over the logarithms of the parameters with Nelder-Mead, a different optimizer
from the pipeline's (L-BFGS-B with gradients, through pymc), from the same start, 1 for every
parameter.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import gammaln, hyp2f1

#: the raw files other than orders and users, header only
EMPTY_FILES = {
    "touchpoints": "touchpoint_id,user_id,anonymous_id,occurred_at,touchpoint,channel,campaign,"
    "page,dwell_ms,properties",
    "order_items": "order_id,line_number,product_id,category,quantity,unit_price",
    "marketing_spend": "spend_date,channel,campaign,spend,impressions,clicks",
    "nps_responses": "response_id,user_id,responded_at,score,comment",
    "experiment_assignments": "experiment_id,user_id,variant,assigned_at",
}


def write_contract_files(log: pd.DataFrame, folder: Path) -> None:
    """The raw files of a purchase log (columns user_id, day, dollar_value): every line a paid
    order at noon UTC of its day (amount = dollar_value, no discount, USD), every customer a
    consenting user who signed up on the day of the first purchase; the other files header-only.
    The users file is needed: only consenting users' purchases reach the models."""
    folder.mkdir(parents=True, exist_ok=True)
    noon = log["day"].dt.strftime("%Y-%m-%dT12:00:00Z")
    orders = pd.DataFrame(
        {
            "order_id": [f"cdnow-{i:05d}" for i in range(1, len(log) + 1)],
            "user_id": log["user_id"].to_numpy(),
            "created_at": noon.to_numpy(),
            "paid_at": noon.to_numpy(),
            "status": "paid",
            "amount": log["dollar_value"].map(lambda v: f"{v:.2f}").to_numpy(),
            "discount": "0",
            "currency": "USD",
        }
    )
    orders.to_csv(folder / "orders.csv", index=False, quoting=csv.QUOTE_MINIMAL)
    first = log.groupby("user_id")["day"].min()
    users = pd.DataFrame(
        {
            "user_id": first.index,
            "signed_up_at": first.dt.strftime("%Y-%m-%dT00:00:00Z").to_numpy(),
            "acquisition_channel": "direct",
            "device_type": "desktop",
            "city": "",
            "email": "",
            "phone": "",
            "consent_analytics": "true",
        }
    )
    users.to_csv(folder / "users.csv", index=False)
    for name, header in EMPTY_FILES.items():
        (folder / f"{name}.csv").write_text(header + "\n")


def customer_summary(log: pd.DataFrame, end: str, unit_days: float = 7.0) -> pd.DataFrame:
    """x (repeat purchase days), t_x, T (in units of ``unit_days``, T to the date ``end``) and
    z (mean spend of the repeat purchase days, 0 without), per user_id; same-day purchases are
    one purchase."""
    days = log.groupby(["user_id", "day"], as_index=False)["dollar_value"].sum()
    by_user = days.groupby("user_id")
    first, last = by_user["day"].min(), by_user["day"].max()
    repeat = days[days["day"] > days["user_id"].map(first)]
    return pd.DataFrame(
        {
            "x": (by_user.size() - 1).astype(float),
            "t_x": (last - first).dt.days / unit_days,
            "T": (pd.Timestamp(end) - first).dt.days / unit_days,
            "z": repeat.groupby("user_id")["dollar_value"].mean().reindex(first.index).fillna(0.0),
        }
    )


def bg_nbd_log_likelihood(
    r: float, alpha: float, a: float, b: float, summary: pd.DataFrame
) -> float:
    """FHL 2005 eq. 6: L = A1 * A2 * (A3 + d * A4), d = 1 when x > 0.

    A2 = B(a, b + x) / B(a, b) is computed as the product over j < x of (b + j) / (a + b + j),
    the same number for integer x, but exact also when a and b are huge (at 1e22 the
    differences of log-gamma values lose every digit)."""
    x, t_x, big_t = (summary[c].to_numpy(float) for c in ("x", "t_x", "T"))
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    j = np.arange(int(x.max()))
    steps = np.concatenate([[0.0], np.cumsum(np.log(b + j) - np.log(a + b + j))])
    a2 = steps[x.astype(int)]
    a3 = -(r + x) * np.log(alpha + big_t)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.log(a) - np.log(b + x - 1) - (r + x) * np.log(alpha + t_x)
    a4 = np.where(x > 0, a4, -np.inf)
    return float(np.sum(a1 + a2 + np.logaddexp(a3, a4)))


def gamma_gamma_log_likelihood(p: float, q: float, v: float, summary: pd.DataFrame) -> float:
    """Fader & Hardie 2013 eq. 1, over the repeat customers with a positive mean spend."""
    spending = summary[(summary["x"] > 0) & (summary["z"] > 0)]
    x, z = spending["x"].to_numpy(float), spending["z"].to_numpy(float)
    return float(
        np.sum(
            gammaln(p * x + q)
            - gammaln(p * x)
            - gammaln(q)
            + q * np.log(v)
            + (p * x - 1) * np.log(z)
            + p * x * np.log(x)
            - (p * x + q) * np.log(v + x * z)
        )
    )


def _maximise(log_likelihood, names: tuple[str, ...], summary: pd.DataFrame) -> dict[str, float]:
    result = optimize.minimize(
        lambda theta: -log_likelihood(*np.exp(theta), summary),
        np.zeros(len(names)),
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 40_000, "maxfev": 40_000},
    )
    assert result.success, result.message
    return dict(zip(names, np.exp(result.x).tolist(), strict=True))


def bg_nbd_mle(summary: pd.DataFrame) -> dict[str, float]:
    return _maximise(bg_nbd_log_likelihood, ("r", "alpha", "a", "b"), summary)


def gamma_gamma_mle(summary: pd.DataFrame) -> dict[str, float]:
    return _maximise(gamma_gamma_log_likelihood, ("p", "q", "v"), summary)


def conditional_expected_purchases(t, x, t_x, big_t, r, alpha, a, b):
    """E[Y(t) | x, t_x, T] of BG/NBD (Fader, Hardie & Lee 2005, equation 10)."""
    x, t_x, big_t = (np.asarray(v, float) for v in (x, t_x, big_t))
    head = (a + b + x - 1) / (a - 1)
    z = t / (alpha + big_t + t)
    tail = 1 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x) * hyp2f1(
        r + x, b + x, a + b + x - 1, z
    )
    alive = 1 + (x > 0) * (a / np.maximum(b + x - 1, 1e-12)) * (
        (alpha + big_t) / (alpha + t_x)
    ) ** (r + x)
    return head * tail / alive
