"""The demand forecast (issue 21) on the demo warehouse: the history it was fitted on against a
pandas computation from the raw orders (tests/support/reference.py: validation, consent, the
purchase rule, the cutoff), the forecast's days, series, metrics and nested intervals, and the
backtest's rows of scoring.model_metrics, the seasonal-naive figures recomputed here from the
history with dates (not with the library's arrays). The measures and folds are checked by hand
in tests/unit/test_forecast.py."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from touchpoint_alchemy.labels import forecast_horizon_days

import reference
from compare import assert_same_rows

METRICS = {"mase", "mase_seasonal_naive", "smape", "smape_seasonal_naive"} | {
    "coverage_80",
    "coverage_95",
}


@pytest.fixture(scope="module")
def staged(demo_validated):
    return demo_validated[0]


@pytest.fixture(scope="module")
def history(demo_warehouse) -> pd.DataFrame:
    frame = demo_warehouse.df("select * from scoring.demand_history")
    return frame.assign(history_date=pd.to_datetime(frame["history_date"]).dt.date)


@pytest.fixture(scope="module")
def forecast(demo_warehouse) -> pd.DataFrame:
    frame = demo_warehouse.df("select * from scoring.demand_forecast")
    return frame.assign(forecast_date=pd.to_datetime(frame["forecast_date"]).dt.date)


def cutoff_date(staged) -> dt.date:
    return reference.resolve_cutoff(staged).date()


def expected_history(staged) -> pd.DataFrame:
    """Every day from the first purchase to the cutoff day, per series ('all' and the buyer's
    acquisition channel, '(unknown)' without one) and metric, zeros included."""
    buys = reference.purchases(staged)
    users = reference.consenting_users(staged)[["user_id", "acquisition_channel"]]
    buys = buys.merge(users, on="user_id", how="left")
    buys["channel"] = (
        buys["acquisition_channel"]
        .astype(object)
        .where(buys["acquisition_channel"].notna(), "(unknown)")
    )
    buys["day"] = pd.to_datetime(buys["created_at"]).dt.date
    days = [d.date() for d in pd.date_range(buys["day"].min(), cutoff_date(staged))]
    rows = []
    for series, frame in [("all", buys), *buys.groupby("channel")]:
        daily = frame.groupby("day")
        for metric, values in (("orders", daily.size()), ("revenue", daily["revenue"].sum())):
            values = values.reindex(days, fill_value=0)
            rows += [(d, series, metric, float(v)) for d, v in values.items()]
    return pd.DataFrame(rows, columns=["history_date", "series", "metric", "value"])


def test_demand_history_matches_the_orders(history, staged):
    expected = expected_history(staged)
    assert len(history) == len(expected)
    assert_same_rows(history, expected, keys=["history_date", "series", "metric"])


def test_forecast_covers_the_horizon_of_every_series_and_metric(forecast, history, staged):
    horizon = forecast_horizon_days()
    first = cutoff_date(staged) + dt.timedelta(days=1)
    days = {first + dt.timedelta(days=h) for h in range(horizon)}
    pairs = set(history[["series", "metric"]].itertuples(index=False, name=None))
    assert "all" in {s for s, _ in pairs} and len({s for s, _ in pairs}) > 2  # and channels
    assert {m for _, m in pairs} == {"orders", "revenue"}
    keys = set(forecast[["forecast_date", "series", "metric"]].itertuples(index=False, name=None))
    assert len(keys) == len(forecast) == horizon * len(pairs)
    assert keys == {(d, s, m) for d in days for s, m in pairs}


def test_forecast_intervals_are_nested_and_not_negative(forecast):
    columns = ["lower_95", "lower_80", "value", "upper_80", "upper_95"]
    values = forecast[columns].to_numpy()
    assert not np.isnan(values).any()
    assert (values >= 0).all()
    assert (np.diff(values, axis=1) >= -1e-9).all(), "lower_95 <= lower_80 <= value <= upper_80"
    wide = forecast[(forecast["series"] == "all") & (forecast["metric"] == "orders")]
    assert (wide["upper_95"] > wide["lower_95"]).all()


def _metrics(demo_warehouse) -> dict[str, tuple[float, int]]:
    rows = demo_warehouse.df(
        "select metric, value, n from scoring.model_metrics where model = 'demand_forecast'"
    )
    return {r.metric: (r.value, r.n) for r in rows.itertuples()}


def test_backtest_rows_are_in_model_metrics(demo_warehouse):
    metrics = _metrics(demo_warehouse)
    # the row of the model that forecast (DECISIONLOG 148): fitted in this run, every row scored
    version = metrics.pop("model_version")
    assert version[0] == 0
    assert set(metrics) == METRICS
    horizon = forecast_horizon_days()
    assert {n for _, n in metrics.values()} == {4 * horizon}
    for name in ("smape", "smape_seasonal_naive"):
        assert 0 <= metrics[name][0] <= 2
    for name in ("coverage_80", "coverage_95"):
        assert 0 <= metrics[name][0] <= 1
    assert metrics["coverage_95"][0] >= metrics["coverage_80"][0]


def test_seasonal_naive_figures_recomputed_from_the_history(demo_warehouse, history, staged):
    """Four folds of the horizon ending at the cutoff day; the baseline for a test day t of a
    fold with origin o is y on the day of t's weekday in the last training week,
    t - 7 * ceil((t - o) / 7); the MASE scale is the mean |y_d - y_(d-7)| of the training days."""
    horizon = forecast_horizon_days()
    series = history[(history["series"] == "all") & (history["metric"] == "orders")]
    y = dict(zip(series["history_date"], series["value"], strict=True))
    end = cutoff_date(staged)
    mases, smapes = [], []
    for k in range(4):
        origin = end - dt.timedelta(days=(4 - k) * horizon)
        train = [d for d in sorted(y) if d <= origin]
        scale = np.mean([abs(y[d] - y[d - dt.timedelta(days=7)]) for d in train[7:]])
        errors = []
        for h in range(1, horizon + 1):
            t = origin + dt.timedelta(days=h)
            naive = y[t - dt.timedelta(days=7 * -(-h // 7))]
            errors.append(abs(y[t] - naive))
            total = abs(y[t]) + abs(naive)
            smapes.append(2 * abs(y[t] - naive) / total if total else 0.0)
        mases.append(np.mean(errors) / scale)
    metrics = _metrics(demo_warehouse)
    assert metrics["mase_seasonal_naive"][0] == pytest.approx(np.mean(mases), rel=1e-9)
    assert metrics["smape_seasonal_naive"][0] == pytest.approx(np.mean(smapes), rel=1e-9)


def test_the_model_beats_seasonal_naive_on_mase(demo_warehouse):
    metrics = _metrics(demo_warehouse)
    assert metrics["mase"][0] < metrics["mase_seasonal_naive"][0]
