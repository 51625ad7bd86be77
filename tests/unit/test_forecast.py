"""The demand forecast's arithmetic against hand-worked numbers (touchpoint_alchemy.scoring.
forecast): sMAPE, the MASE scale, coverage, the seasonal-naive baseline, the rolling-origin
folds and a whole backtest with a stand-in model; and the Prophet fit's contract on a small
synthetic series (forecast_fit: nested, non-negative, deterministic). The demo build's figures
are checked in tests/warehouse/test_demand_forecast.py."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from touchpoint_alchemy.scoring import InsufficientDataError
from touchpoint_alchemy.scoring.forecast import (
    FORECAST_COLUMNS,
    HISTORY_COLUMNS,
    Backtested,
    backtest,
    coverage,
    folds,
    forecast_demand,
    forecast_series,
    mase,
    naive_scale,
    seasonal_naive,
    smape,
)

#: two weeks with a weekly shape, then four test days
SERIES = [1, 2, 3, 4, 5, 6, 7, 2, 2, 3, 4, 5, 6, 8, 1, 2, 3, 5]
START = date(2025, 3, 3)


def days(n: int, start: date = START) -> list[date]:
    return [start + timedelta(days=i) for i in range(n)]


def last_value_model(values, dates, horizon) -> pd.DataFrame:
    """A stand-in model: the last training value, +-1 (80%) and +-3 (95%)."""
    value = np.full(horizon, float(values[-1]))
    return pd.DataFrame(
        {
            "value": value,
            "lower_80": value - 1,
            "upper_80": value + 1,
            "lower_95": value - 3,
            "upper_95": value + 3,
        }
    )


def test_smape_on_the_0_to_2_scale_with_zero_days_counting_zero():
    # 2*2/4 = 1, 0 (both zero), 2*2/6 = 2/3
    assert smape([1, 0, 4], [3, 0, 2]) == pytest.approx((1 + 0 + 2 / 3) / 3)
    assert smape([0, 0], [5, 1]) == pytest.approx(2.0)


def test_mase_scale_is_the_in_sample_lag_7_naive_error():
    train = SERIES[:14]  # lag-7 differences 1, 0, 0, 0, 0, 0, 1
    assert naive_scale(train) == pytest.approx(2 / 7)
    assert mase([2, 4], [3, 3], train) == pytest.approx(1 / (2 / 7))
    assert np.isnan(mase([1], [2], [1] * 14))  # no variation to scale by
    with pytest.raises(ValueError):
        naive_scale([1] * 7)


def test_coverage_counts_the_bounds_as_inside():
    assert coverage([1, 5, 10], [0, 6, 10], [2, 7, 12]) == pytest.approx(2 / 3)


def test_seasonal_naive_repeats_the_last_observed_week():
    assert seasonal_naive(range(1, 15), 9).tolist() == [8, 9, 10, 11, 12, 13, 14, 8, 9]


def test_folds_are_the_last_n_horizons_before_the_cutoff():
    result = folds(date(2025, 12, 31), 28, 4)
    assert [(f.origin, f.start, f.end) for f in result] == [
        (date(2025, 9, 10), date(2025, 9, 11), date(2025, 10, 8)),
        (date(2025, 10, 8), date(2025, 10, 9), date(2025, 11, 5)),
        (date(2025, 11, 5), date(2025, 11, 6), date(2025, 12, 3)),
        (date(2025, 12, 3), date(2025, 12, 4), date(2025, 12, 31)),
    ]


def test_backtest_against_hand_worked_folds():
    """Two folds of two days over SERIES. Fold 1 trains on days 0-13 (scale 2/7), tests
    actuals 1, 2: model 8, 8 (MAE 6.5, MASE 22.75), naive 2, 2 (MAE 0.5, MASE 1.75). Fold 2
    trains on days 0-15 (lag-7 differences 1,0,0,0,0,0,1,1,0: scale 1/3), tests 3, 5: model
    2, 2 (MAE 2, MASE 6), naive 3, 4 (MAE 0.5, MASE 1.5)."""
    result = backtest(days(len(SERIES)), SERIES, last_value_model, horizon=2, n_folds=2)
    assert result.n == 4
    assert result.days["actual"].tolist() == [1, 2, 3, 5]
    assert result.days["seasonal_naive"].tolist() == [2, 2, 3, 4]
    expected = {
        "mase": (22.75 + 6) / 2,
        "mase_seasonal_naive": (1.75 + 1.5) / 2,
        "smape": (14 / 9 + 12 / 10 + 2 / 5 + 6 / 7) / 4,
        "smape_seasonal_naive": (2 / 3 + 0 + 0 + 2 / 9) / 4,
        "coverage_80": 1 / 4,  # only |3 - 2| <= 1
        "coverage_95": 2 / 4,  # and |5 - 2| <= 3
    }
    assert result.metrics == pytest.approx(expected)


def test_backtest_needs_the_folds_plus_two_weeks():
    with pytest.raises(InsufficientDataError, match="backtest needs"):
        backtest(days(17), SERIES[:17], last_value_model, horizon=2, n_folds=2)


def _history(n: int) -> pd.DataFrame:
    rows = [
        (day, series, metric, float(i % 7) * (10 if metric == "revenue" else 1))
        for i, day in enumerate(days(n))
        for series in ("all", "search")
        for metric in ("orders", "revenue")
    ]
    return pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))


def test_forecast_demand_forecasts_every_series_after_the_cutoff():
    history = _history(30)
    cutoff = START + timedelta(days=29)
    scored = forecast_demand(history, cutoff, 3, last_value_model, n_folds=4)
    forecast = scored.tables["demand_forecast"]
    assert list(forecast.columns) == list(FORECAST_COLUMNS)
    assert len(forecast) == 2 * 2 * 3
    assert sorted(set(forecast["forecast_date"])) == [cutoff + timedelta(days=h) for h in (1, 2, 3)]
    assert scored.tables["demand_history"].shape == (len(history), 4)
    # 30 days hold 4 folds of 3 days plus two weeks: the backtest ran, on 12 days
    assert scored.metrics["mase"].n == 12
    short = forecast_demand(_history(20), START + timedelta(days=19), 3, last_value_model)
    assert set(short.metrics) == {"backtest_not_run"}
    with pytest.raises(InsufficientDataError):
        forecast_demand(_history(0), cutoff, 3, last_value_model)
    with pytest.raises(InsufficientDataError):
        forecast_demand(_history(10), cutoff, 3, last_value_model)


def test_a_daily_forecast_is_the_refits_without_the_backtest():
    history = _history(30)
    cutoff = START + timedelta(days=29)
    refit = forecast_demand(history, cutoff, 3, last_value_model, settings="S")
    daily = forecast_series(history, cutoff, 3, last_value_model)
    assert set(daily.tables) == {"demand_forecast", "demand_history"}
    for name, table in daily.tables.items():
        pd.testing.assert_frame_equal(table, refit.tables[name])
    assert daily.metrics == {} and daily.model is None
    # what the refit measured, kept for the daily runs: still valid for the same settings only
    assert refit.model == Backtested(settings="S", horizon=3, n_folds=4, ran=True)
    assert refit.model.changed("S", 3) is None
    assert "other settings" in refit.model.changed("T", 3)
    assert "another horizon" in refit.model.changed("S", 7)
    short = forecast_demand(_history(20), START + timedelta(days=19), 3, last_value_model)
    assert short.model.ran is False
    assert "too little history" in short.model.changed(None, 3)


def test_cmdstan_exit_code_is_logged_as_a_warning_not_an_os_error(caplog):
    """cmdstanpy logs an optimizer's exit code 1 as ERROR with errno 1's text; within a fit it is
    a warning naming the exit code (Prophet then fits with Newton)."""
    from cmdstanpy.utils import get_logger

    from touchpoint_alchemy.scoring.forecast_fit import _optimizer_exits_as_warnings

    logger = get_logger()
    with caplog.at_level(logging.DEBUG, logger=logger.name):
        with _optimizer_exits_as_warnings():
            logger.error("%s error: code '%d' %s", "Chain [1]", 1, "Operation not permitted")
            logger.error("another error")
        logger.error("%s error: code '%d' %s", "Chain [1]", 1, "Operation not permitted")
    levels = [(record.levelname, record.getMessage()) for record in caplog.records]
    assert levels == [
        ("WARNING", "Chain [1]: CmdStan's optimizer exited with code 1 (not an OS error)"),
        ("ERROR", "another error"),
        ("ERROR", "Chain [1] error: code '1' Operation not permitted"),  # outside a fit
    ]


def test_prophet_forecast_is_nested_non_negative_and_deterministic():
    from touchpoint_alchemy.scoring.forecast_fit import (
        ForecastSettings,
        peak_holidays,
        prophet_forecast,
    )

    rng = np.random.default_rng(1)
    weekly = np.tile([2, 2, 2, 3, 4, 6, 7], 12)
    values = rng.poisson(weekly).astype(float)
    settings = ForecastSettings(holiday_country=None, interval_samples=200)
    dates = days(values.size)
    first = prophet_forecast(values, dates, 14, settings)
    again = prophet_forecast(values, dates, 14, settings)
    pd.testing.assert_frame_equal(first, again)
    ordered = first[["lower_95", "lower_80", "value", "upper_80", "upper_95"]].to_numpy()
    assert (ordered >= 0).all() and (np.diff(ordered, axis=1) >= 0).all()
    # the weekly pattern is learnt: the weekend days forecast above the midweek ones
    weekday = np.array([(dates[-1] + timedelta(days=h)).weekday() for h in range(1, 15)])
    assert first["value"][weekday >= 5].mean() > first["value"][weekday <= 2].mean() + 2
    # an all-zero series forecasts zeros
    zeros = prophet_forecast(np.zeros(20), days(20), 5, settings)
    assert (zeros.to_numpy() == 0).all()
    # a peak season that wraps the year end, as Prophet holidays
    frame = peak_holidays(("12-30/01-02",), date(2025, 1, 1), date(2025, 12, 31))
    assert frame["ds"].dt.strftime("%m-%d").tolist() == ["01-01", "01-02", "12-30", "12-31"]
    assert set(frame["holiday"]) == {"peak_1"}
    with pytest.raises(ValueError, match="MM-DD"):
        ForecastSettings(peak_seasons=("late November",))
    # a country the holidays package does not know fails with the settings, not in the fit
    with pytest.raises(ValueError, match="'XX' is not a country code"):
        ForecastSettings(holiday_country="XX")
    assert ForecastSettings(holiday_country="DE").holiday_country == "DE"
