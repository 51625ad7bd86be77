"""The report's demand forecast section on small hand-made frames (no warehouse): the series it
draws (all, orders), the backtest window it marks and the sentence it writes, worked by hand."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from touchpoint_alchemy.report.sections import demand_forecast


def _frames(history_days: int = 30, horizon: int = 3):
    start = date(2025, 1, 1)
    history = pd.DataFrame(
        [
            (start + timedelta(days=i), series, metric, value)
            for i in range(history_days)
            for series, metric, value in (
                ("all", "orders", float(i % 7)),
                ("all", "revenue", 100.0),
                ("email", "orders", 1.0),
            )
        ],
        columns=["history_date", "series", "metric", "value"],
    )
    last = start + timedelta(days=history_days - 1)
    forecast = pd.DataFrame(
        [
            (last + timedelta(days=h), series, metric, value, value - 1, value + 1, 0.0, value + 2)
            for h in range(1, horizon + 1)
            for series, metric, value in (("all", "orders", 4.0), ("email", "orders", 9.0))
        ],
        columns=[
            "forecast_date",
            "series",
            "metric",
            "value",
            "lower_80",
            "upper_80",
            "lower_95",
            "upper_95",
        ],
    )
    metrics = pd.DataFrame(
        {
            "model": ["demand_forecast"] * 4 + ["churn"],
            "metric": ["mase", "mase_seasonal_naive", "smape", "coverage_80", "mase"],
            "value": [0.8, 1.25, 0.4, 0.75, 9.0],
        }
    )
    return history, forecast, metrics


def test_demand_forecast_draws_all_orders_and_marks_the_backtest():
    history, forecast, metrics = _frames()
    section = demand_forecast.build(history, forecast, metrics)
    assert section.has_chart
    names = [trace.name for trace in section.figure.data]
    assert names == ["95% interval", "80% interval", "orders", "forecast"]
    # the 'all' orders forecast only (4 a day for 3 days), not email's 9
    assert list(section.figure.data[3].y) == [4.0, 4.0, 4.0]
    assert list(section.figure.data[2].y) == [float(i % 7) for i in range(30)]
    # the 95% band: upper bounds forward, then lower bounds back
    assert list(section.figure.data[0].y) == [6.0, 6.0, 6.0, 0.0, 0.0, 0.0]
    # the backtest window: the last 4 x 3 days of the history, 2025-01-19 .. 2025-01-30
    shape = section.figure.layout.shapes[0]
    assert (str(shape.x0)[:10], str(shape.x1)[:10]) == ("2025-01-19", "2025-01-30")
    assert section.takeaway == (
        "About 12 orders are expected in the 3 days after the data cutoff, 4.0 a day. On the "
        "last 4 × 3 days the model beats repeating last week: MASE 0.80 against 1.25, sMAPE "
        "0.40; 75% of those days fell inside the 80% interval."
    )


def test_demand_forecast_without_backtest_or_without_forecast():
    history, forecast, metrics = _frames()
    section = demand_forecast.build(history, forecast, metrics[metrics["model"] == "churn"])
    assert section.has_chart and not section.figure.layout.shapes
    assert section.takeaway == (
        "About 12 orders are expected in the 3 days after the data cutoff, 4.0 a day."
    )
    empty = demand_forecast.build(history.iloc[:0], forecast.iloc[:0], metrics.iloc[:0])
    assert not empty.has_chart and empty.no_data
