"""Demand forecast: the daily orders and revenue of the next ``horizon`` days after the data
cutoff, per series ('all' and each buyer acquisition channel), with 80% and 95% intervals, and
a rolling-origin backtest of the 'all' orders series against a seasonal-naive baseline.

The fit itself (Prophet: trend, day-of-week and yearly seasonality, holidays and peak seasons)
is :mod:`touchpoint_alchemy.scoring.forecast_fit`; this module holds what is plain arithmetic,
the error measures, the folds and the baseline, so they can be checked by hand:

- **sMAPE** (0-2 scale): the mean of 2 |F - A| / (|A| + |F|), a day with A = F = 0 counting 0.
- **MASE**: the mean absolute error over the in-sample mean absolute error of the lag-7
  seasonal-naive forecast on the fold's training window (mean |y_t - y_{t-7}|).
- **Seasonal naive**: the last observed week repeated (same weekday last week).
- **Coverage**: the share of test days whose actual lies inside the interval (bounds included).
- **Folds**: rolling origin; fold k of n tests the ``horizon`` days ending at
  ``last_date - (n - k) * horizon`` and trains on every day before them, so the n folds are the
  last n x horizon days of the history.

The backtest's figures over the folds: MASE is the mean of the folds' MASEs (each fold has its
own scale), sMAPE and coverage are means over all test days. DECISIONLOG.md, 68.

The backtest runs on the refits only (the weekly run, a full refresh): a daily run forecasts
every series from the day's history and keeps the last refit's figures, as the recommendations
keep their evaluation (DECISIONLOG.md, 148).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np

from touchpoint_alchemy.scoring import InsufficientDataError, Metric, Scored

if TYPE_CHECKING:
    import pandas as pd

MODEL = "demand_forecast"
SEASON = 7
LEVELS = (80, 95)
N_FOLDS = 4
#: the series and metric the backtest judges
BACKTEST_SERIES = ("all", "orders")
FORECAST_COLUMNS = (
    "forecast_date",
    "series",
    "metric",
    "value",
    "lower_80",
    "upper_80",
    "lower_95",
    "upper_95",
)
HISTORY_COLUMNS = ("history_date", "series", "metric", "value")
#: fewest days of history to fit on (two weeks: the weekly pattern seen twice)
MIN_HISTORY_DAYS = 2 * SEASON

#: (training values, training dates, horizon) -> frame of value, lower_80 .. upper_95
FitPredict = Callable[[np.ndarray, Sequence[date], int], "pd.DataFrame"]


def smape(actual: Sequence[float], forecast: Sequence[float]) -> float:
    """Symmetric MAPE on the 0-2 scale; a day where actual and forecast are both 0 counts 0."""
    a, f = np.asarray(actual, dtype=float), np.asarray(forecast, dtype=float)
    denominator = np.abs(a) + np.abs(f)
    terms = np.divide(2 * np.abs(f - a), denominator, out=np.zeros_like(a), where=denominator > 0)
    return float(terms.mean())


def naive_scale(train: Sequence[float], season: int = SEASON) -> float:
    """In-sample mean absolute error of the lag-``season`` naive forecast of ``train``."""
    y = np.asarray(train, dtype=float)
    if y.size <= season:
        raise ValueError(f"the scale needs more than {season} training values")
    return float(np.abs(y[season:] - y[:-season]).mean())


def mase(
    actual: Sequence[float], forecast: Sequence[float], train: Sequence[float], season: int = SEASON
) -> float:
    """Mean absolute error scaled by :func:`naive_scale` of the training window (nan when the
    training window has no variation to scale by)."""
    scale = naive_scale(train, season)
    error = float(np.abs(np.asarray(actual, float) - np.asarray(forecast, float)).mean())
    return error / scale if scale > 0 else float("nan")


def coverage(actual: Sequence[float], lower: Sequence[float], upper: Sequence[float]) -> float:
    """Share of the actuals inside [lower, upper]."""
    a = np.asarray(actual, dtype=float)
    return float(((a >= np.asarray(lower, float)) & (a <= np.asarray(upper, float))).mean())


def seasonal_naive(train: Sequence[float], horizon: int, season: int = SEASON) -> np.ndarray:
    """The last ``season`` training values repeated over ``horizon`` days: day h (1-based) gets
    ``train[-season + (h - 1) % season]``, the same weekday of the last observed week."""
    y = np.asarray(train, dtype=float)
    if y.size < season:
        raise ValueError(f"seasonal naive needs at least {season} training values")
    last_week = y[-season:]
    return np.array([last_week[(h - 1) % season] for h in range(1, horizon + 1)])


@dataclass(frozen=True)
class Fold:
    """One backtest fold: train on days up to ``origin``, test on ``origin + 1 .. end``."""

    origin: date
    end: date

    @property
    def start(self) -> date:
        return self.origin + timedelta(days=1)


def folds(last_date: date, horizon: int, n_folds: int = N_FOLDS) -> list[Fold]:
    """The rolling-origin folds of a history ending at ``last_date``, oldest first: fold k
    (1..n) tests the ``horizon`` days ending at ``last_date - (n - k) * horizon``."""
    result = []
    for k in range(n_folds, 0, -1):
        end = last_date - timedelta(days=(k - 1) * horizon)
        result.append(Fold(origin=end - timedelta(days=horizon), end=end))
    return result


@dataclass
class Backtest:
    """The backtest's figures (metric -> value) and its rows per test day."""

    metrics: dict[str, float]
    days: pd.DataFrame = field(repr=False)
    n: int = 0


def backtest(
    dates: Sequence[date],
    values: Sequence[float],
    fit_predict: FitPredict,
    horizon: int,
    n_folds: int = N_FOLDS,
) -> Backtest:
    """Rolling-origin backtest of ``fit_predict`` against the seasonal naive forecast, over the
    last ``n_folds`` x ``horizon`` days of the daily series (``dates`` consecutive)."""
    import pandas as pd

    dates = list(dates)
    y = np.asarray(values, dtype=float)
    if len(dates) < n_folds * horizon + MIN_HISTORY_DAYS:
        raise InsufficientDataError(
            f"{MODEL}: the backtest needs {n_folds} x {horizon} days plus {MIN_HISTORY_DAYS} of "
            f"training, the history has {len(dates)}"
        )
    rows, fold_mase, fold_mase_naive = [], [], []
    for number, fold in enumerate(folds(dates[-1], horizon, n_folds), start=1):
        n_train = dates.index(fold.origin) + 1
        train, actual = y[:n_train], y[n_train : n_train + horizon]
        predicted = fit_predict(train, dates[:n_train], horizon)
        naive = seasonal_naive(train, horizon)
        fold_mase.append(mase(actual, predicted["value"], train))
        fold_mase_naive.append(mase(actual, naive, train))
        rows.append(
            pd.DataFrame(
                {
                    "fold": number,
                    "date": dates[n_train : n_train + horizon],
                    "actual": actual,
                    "seasonal_naive": naive,
                    **{column: predicted[column].to_numpy() for column in predicted.columns},
                }
            )
        )
    days = pd.concat(rows, ignore_index=True)
    metrics = {
        "mase": float(np.mean(fold_mase)),
        "mase_seasonal_naive": float(np.mean(fold_mase_naive)),
        "smape": smape(days["actual"], days["value"]),
        "smape_seasonal_naive": smape(days["actual"], days["seasonal_naive"]),
        **{
            f"coverage_{level}": coverage(
                days["actual"], days[f"lower_{level}"], days[f"upper_{level}"]
            )
            for level in LEVELS
        },
    }
    return Backtest(metrics=metrics, days=days, n=len(days))


def _series_values(history: pd.DataFrame, series: str, metric: str) -> pd.Series:
    chosen = history[(history["series"] == series) & (history["metric"] == metric)]
    return chosen.set_index("history_date")["value"].sort_index().astype(float)


@dataclass(frozen=True)
class Backtested:
    """What a refit's backtest measured, kept for the daily runs (``Scored.model``): they
    forecast without backtesting and write the stored figures again, which still describe the
    model as long as its settings, horizon and folds are the same (:meth:`changed`).
    ``settings`` is the fit's own (forecast_fit.ForecastSettings); ``ran`` is False when the
    history was too short to backtest, so the next run backtests again."""

    settings: object
    horizon: int
    n_folds: int
    ran: bool

    def changed(self, settings: object, horizon: int, n_folds: int = N_FOLDS) -> str | None:
        """Why these figures do not describe a forecast with ``settings`` and ``horizon`` (the
        next run then refits and backtests), or None."""
        if (self.settings, self.horizon, self.n_folds) != (settings, horizon, n_folds):
            return "the stored backtest measured other settings or another horizon"
        if not self.ran:
            return "the last refit had too little history to backtest"
        return None


def forecast_series(
    history: pd.DataFrame, cutoff_date: date, horizon: int, fit_predict: FitPredict
) -> Scored:
    """Forecast every series and metric of ``history`` (intermediate.int_demand_daily: one row
    per day, series and metric, zeros included) for cutoff date + 1 .. + ``horizon``, without
    the backtest (a daily run). Returns the tables demand_forecast and demand_history."""
    import pandas as pd

    history, days = _daily_history(history)
    frames = []
    pairs = history[["series", "metric"]].drop_duplicates().sort_values(["series", "metric"])
    for series, metric in pairs.itertuples(index=False):
        values = _series_values(history, series, metric).reindex(days, fill_value=0.0)
        predicted = fit_predict(values.to_numpy(), days, horizon)
        dates = [cutoff_date + timedelta(days=h) for h in range(1, horizon + 1)]
        frames.append(predicted.assign(forecast_date=dates, series=series, metric=metric))
    forecast = pd.concat(frames, ignore_index=True)[list(FORECAST_COLUMNS)]
    table = history[list(HISTORY_COLUMNS)].sort_values(["series", "metric", "history_date"])
    return Scored({"demand_forecast": forecast, "demand_history": table.reset_index(drop=True)})


def forecast_demand(
    history: pd.DataFrame,
    cutoff_date: date,
    horizon: int,
    fit_predict: FitPredict,
    n_folds: int = N_FOLDS,
    settings: object = None,
) -> Scored:
    """:func:`forecast_series`, and the backtest of the 'all' orders series (a refit): its
    model_metrics rows, and what it measured as ``Scored.model`` (:class:`Backtested`;
    ``settings``: those ``fit_predict`` forecasts with, recorded there)."""
    scored = forecast_series(history, cutoff_date, horizon, fit_predict)
    history, days = _daily_history(history)
    all_orders = _series_values(history, *BACKTEST_SERIES).reindex(days, fill_value=0.0)
    try:
        result = backtest(days, all_orders.to_numpy(), fit_predict, horizon, n_folds)
    except InsufficientDataError as error:
        scored.metrics["backtest_not_run"] = Metric(1.0, len(days), str(error))
        ran = False
    else:
        scored.metrics.update(
            {name: Metric(value, result.n) for name, value in result.metrics.items()}
        )
        scored.details["backtest_days"] = result.days
        ran = True
    scored.model = Backtested(settings=settings, horizon=horizon, n_folds=n_folds, ran=ran)
    return scored


def _daily_history(history: pd.DataFrame) -> tuple[pd.DataFrame, list[date]]:
    """``history`` with plain dates, and its days; too little history raises."""
    import pandas as pd

    if history.empty:
        raise InsufficientDataError(f"{MODEL}: no purchase up to the data cutoff")
    history = history.assign(history_date=pd.to_datetime(history["history_date"]).dt.date)
    days = sorted(history["history_date"].unique())
    if len(days) < MIN_HISTORY_DAYS:
        raise InsufficientDataError(
            f"{MODEL}: {len(days)} days of history, at least {MIN_HISTORY_DAYS} needed"
        )
    return history, days
