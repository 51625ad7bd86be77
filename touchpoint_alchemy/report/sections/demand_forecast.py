"""The daily orders of the latest months, the forecast of the next days with its 80% and 95%
intervals, and the backtest's error against seasonal naive (scoring.demand_history,
scoring.demand_forecast, scoring.model_metrics; series 'all', metric orders)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from touchpoint_alchemy.report.figures import CORAL, DARK, GREY, TEAL, layout
from touchpoint_alchemy.report.format import num, pct
from touchpoint_alchemy.report.section import Section

if TYPE_CHECKING:
    import pandas as pd

READS = ("demand_history", "demand_forecast", "model_metrics")
MODEL = "demand_forecast"
#: days of history drawn before the forecast
SHOWN_DAYS = 140
#: the backtest's folds (touchpoint_alchemy.scoring.forecast.N_FOLDS)
FOLDS = 4


def _all_orders(frame: pd.DataFrame, date_column: str) -> pd.DataFrame:
    import pandas as pd

    rows = frame[(frame["series"] == "all") & (frame["metric"] == "orders")].copy()
    rows[date_column] = pd.to_datetime(rows[date_column])
    return rows.sort_values(date_column)


def build(
    demand_history: pd.DataFrame, demand_forecast: pd.DataFrame, model_metrics: pd.DataFrame
) -> Section:
    import plotly.graph_objects as go

    section = Section(
        id="demand-forecast",
        title="Demand forecast: daily orders, and the next days with 80% and 95% intervals",
        source="scoring.demand_history and scoring.demand_forecast (series all, orders); the "
        "backtest's error from scoring.model_metrics (model demand_forecast)",
    )
    history = _all_orders(demand_history, "history_date") if len(demand_history) else None
    forecast = _all_orders(demand_forecast, "forecast_date") if len(demand_forecast) else None
    if history is None or forecast is None or history.empty or forecast.empty:
        section.no_data = "No demand forecast: no purchase history to fit."
        return section
    history = history.tail(SHOWN_DAYS)
    x = forecast["forecast_date"].tolist()
    fig = go.Figure()
    for level, opacity in ((95, 0.15), (80, 0.3)):
        fig.add_trace(
            go.Scatter(
                x=x + x[::-1],
                y=forecast[f"upper_{level}"].tolist() + forecast[f"lower_{level}"].tolist()[::-1],
                fill="toself",
                fillcolor=f"rgba(42, 157, 143, {opacity})",
                line={"width": 0},
                name=f"{level}% interval",
                hoverinfo="skip",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=history["history_date"].tolist(),
            y=history["value"].tolist(),
            mode="lines",
            name="orders",
            line={"color": DARK, "width": 1},
            hovertemplate="%{x|%Y-%m-%d}: %{y:.0f} orders<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=forecast["value"].tolist(),
            mode="lines",
            name="forecast",
            line={"color": TEAL, "width": 2},
            hovertemplate="%{x|%Y-%m-%d}: %{y:.1f} orders forecast<extra></extra>",
        )
    )
    horizon = len(forecast)
    metrics = model_metrics[model_metrics["model"] == MODEL].set_index("metric")["value"]
    backtest = {"mase", "mase_seasonal_naive", "smape", "coverage_80"} <= set(metrics.index)
    if backtest:
        last = history["history_date"].iloc[-1]
        start = max(last - _days(FOLDS * horizon - 1), history["history_date"].iloc[0])
        fig.add_vrect(
            x0=start,
            x1=last,
            fillcolor=GREY,
            opacity=0.12,
            line_width=0,
            annotation_text=f"backtest: MASE {metrics['mase']:.2f} "
            f"(seasonal naive {metrics['mase_seasonal_naive']:.2f})",
            annotation_position="top left",
            annotation_font_color=CORAL,
        )
    fig.update_yaxes(title="orders a day", rangemode="tozero")
    section.figure = layout(fig, height=420)
    total = float(forecast["value"].sum())
    text = (
        f"About {num(total)} orders are expected in the {horizon} days after the data cutoff, "
        f"{num(total / horizon, 1)} a day."
    )
    if backtest:
        verdict = "beats" if metrics["mase"] < metrics["mase_seasonal_naive"] else "does not beat"
        text += (
            f" On the last {FOLDS} × {horizon} days the model {verdict} repeating last week: "
            f"MASE {metrics['mase']:.2f} against {metrics['mase_seasonal_naive']:.2f}, sMAPE "
            f"{metrics['smape']:.2f}; {pct(metrics['coverage_80'])} of those days fell inside "
            "the 80% interval."
        )
    section.takeaway = text
    return section


def _days(count: int):
    import pandas as pd

    return pd.Timedelta(days=count)
