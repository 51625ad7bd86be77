"""The demand forecast's model: Prophet (piecewise-linear trend, day-of-week seasonality, yearly
seasonality once the history covers two years, a country's public holidays and the configured
peak seasons as holidays), fitted by MAP, its 80% and 95% intervals the quantiles of
Prophet's predictive samples (trend changes and observation noise), drawn from a seeded
random state so the same history always gives the same forecast. Imported inside the scoring
step only: Prophet loads cmdstanpy and the holidays package. DECISIONLOG.md, 68.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from touchpoint_alchemy.scoring import fit_errors

#: a peak season "MM-DD/MM-DD" (first and last day, every year); one that wraps the year end
#: (e.g. "12-20/01-05") is allowed
PeakSeason = str


@dataclass(frozen=True)
class ForecastSettings:
    """The model's settings (the asset's run config)."""

    #: the country whose public holidays are holidays of the model (a code of the holidays
    #: package, e.g. "US"); None: no country holidays
    holiday_country: str | None = "US"
    #: the peak seasons, each a holiday of its own spanning its days
    peak_seasons: tuple[PeakSeason, ...] = ("11-20/12-24",)
    #: predictive samples behind the intervals
    interval_samples: int = 1000
    seed: int = 42

    def __post_init__(self) -> None:
        if self.interval_samples < 100:
            raise ValueError("interval_samples must be at least 100")
        for season in self.peak_seasons:
            _season_days(season, 2000)  # fails on a malformed season
        if self.holiday_country:
            _check_country(self.holiday_country)


def _check_country(code: str) -> None:
    """Fail on a country the holidays package does not know, before any table is read (Prophet
    would fail on it after the fit's reads). Loading the country's calendar here also takes it
    off the fit: the step's settings are made in the warm-up thread while dbt builds
    (orchestration/warmup.py), and Prophet's holidays then find it loaded."""
    import holidays

    try:
        holidays.country_holidays(code)
    except NotImplementedError as error:
        raise ValueError(
            f"holiday_country {code!r} is not a country code of the holidays package"
        ) from error


def _season_days(season: PeakSeason, year: int) -> pd.DatetimeIndex:
    try:
        first, last = (pd.Timestamp(f"{year}-{part.strip()}") for part in season.split("/"))
    except ValueError as error:
        raise ValueError(f"peak season {season!r} is not 'MM-DD/MM-DD'") from error
    if last < first:
        last = last.replace(year=year + 1)
    return pd.date_range(first, last, freq="D")


def peak_holidays(seasons: Sequence[PeakSeason], first: date, last: date) -> pd.DataFrame:
    """Prophet's holidays frame (holiday, ds) of the peak seasons' days from ``first`` to
    ``last``: one holiday per season, so each season has one effect for all its days."""
    rows = [
        (f"peak_{number}", day)
        for number, season in enumerate(seasons, start=1)
        for year in range(first.year - 1, last.year + 1)
        for day in _season_days(season, year)
        if pd.Timestamp(first) <= day <= pd.Timestamp(last)
    ]
    return pd.DataFrame(rows, columns=["holiday", "ds"])


#: cmdstanpy's line for a CmdStan process that exited non-zero (cmdstanpy/model.py)
_CMDSTAN_EXIT = "%s error: code '%d' %s"


class _OptimizerExit(logging.Filter):
    """CmdStan's L-BFGS optimizer exits with code 1 when its line search stops making progress,
    which happens on some histories. cmdstanpy logs that as an ERROR with the operating
    system's text for errno 1 ("Chain [1] error: code '1' Operation not permitted"), then
    raises, and Prophet fits the same data with Newton, saying so in a warning. The fit goes
    on, and a failure of Newton too is the step's ``fit_failed`` metric, so the line is a
    warning, worded for what it is."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == _CMDSTAN_EXIT and record.levelno >= logging.ERROR:
            prefix, code = record.args[:2] if isinstance(record.args, tuple) else ("", "?")
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg = "%s: CmdStan's optimizer exited with code %s (not an OS error)"
            record.args = (prefix, code)
        return True


@contextmanager
def _optimizer_exits_as_warnings() -> Iterator[None]:
    from cmdstanpy.utils import get_logger

    logger, note = get_logger(), _OptimizerExit()
    logger.addFilter(note)
    try:
        yield
    finally:
        logger.removeFilter(note)


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Prophet samples from numpy's global random state: seed it, then put it back."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def prophet_forecast(
    values: np.ndarray, dates: Sequence[date], horizon: int, settings: ForecastSettings
) -> pd.DataFrame:
    """Fit Prophet on the daily ``values`` at ``dates`` and forecast the next ``horizon`` days:
    value (the point forecast), lower_80, upper_80, lower_95, upper_95, each at least 0 and
    nested (lower_95 <= lower_80 <= value <= upper_80 <= upper_95)."""
    from cmdstanpy.utils import get_logger
    from prophet import Prophet

    # cmdstanpy sets its level on its first use: let it, then quiet its two lines per fit
    get_logger().setLevel(logging.WARNING)
    logging.getLogger("prophet").setLevel(logging.WARNING)

    frame = pd.DataFrame({"ds": pd.to_datetime(list(dates)), "y": np.asarray(values, float)})
    last = frame["ds"].iloc[-1]
    future = pd.DataFrame({"ds": pd.date_range(last + pd.Timedelta(days=1), periods=horizon)})
    holidays = peak_holidays(settings.peak_seasons, dates[0], future["ds"].iloc[-1].date())
    model = Prophet(
        growth="linear",
        weekly_seasonality=True,
        yearly_seasonality="auto",  # on from two years of history
        daily_seasonality=False,
        holidays=holidays if len(holidays) else None,
        uncertainty_samples=settings.interval_samples,
    )
    if settings.holiday_country:
        model.add_country_holidays(country_name=settings.holiday_country)
    if frame["y"].abs().sum() == 0:  # nothing to learn: Prophet cannot scale an all-zero series
        zeros = np.zeros(horizon)
        return pd.DataFrame({c: zeros for c in ("value", *_BOUNDS)})
    with (
        fit_errors("demand_forecast", RuntimeError),
        _seeded(settings.seed),
        _optimizer_exits_as_warnings(),
    ):
        model.fit(frame)
        samples = model.predictive_samples(future)["yhat"]
    model.uncertainty_samples = 0  # the point forecast without sampling again
    point = model.predict(future)["yhat"].to_numpy()
    quantiles = np.quantile(samples, [0.025, 0.10, 0.90, 0.975], axis=1)
    lower_95, lower_80, upper_80, upper_95 = quantiles
    value = np.maximum(point, 0.0)
    lower_80 = np.minimum(np.maximum(lower_80, 0.0), value)
    lower_95 = np.minimum(np.maximum(lower_95, 0.0), lower_80)
    upper_80 = np.maximum(upper_80, value)
    upper_95 = np.maximum(upper_95, upper_80)
    return pd.DataFrame(
        {
            "value": value,
            "lower_80": lower_80,
            "upper_80": upper_80,
            "lower_95": lower_95,
            "upper_95": upper_95,
        }
    )


_BOUNDS = ("lower_80", "upper_80", "lower_95", "upper_95")
