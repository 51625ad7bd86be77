"""The journey report: charts from the marts, each with a one-line takeaway computed from the data.

:func:`render_journey_report` takes :class:`ReportInputs` (the marts as pandas DataFrames, keyed
by model name) and returns one self-contained HTML page: plotly.js is inlined once, every chart is
a plotly figure, and nothing is fetched from the network. A mart without rows gives its section a
"no data" note instead of a chart. plotly is imported inside the functions that draw.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from touchpoint_alchemy.scoring import ModelStatus  # standard library only

if TYPE_CHECKING:
    import pandas as pd

#: the models the report reads (marts, the quarantine, the data cutoff), by model name
INPUT_TABLES = (
    "headline_metrics",
    "funnel_conversion",
    "cohort_retention",
    "cohort_ltv",
    "channel_performance_overall",
    "attribution",
    "touchpoint_value_overall",
    "user_lifecycle",
    "customers",
    "nps_monthly",
    "experiment_results",
    "context_conversion",
    "rejected_rows",
    "int_data_cutoff",
)

#: median time between consecutive funnel steps, exact, from the chains behind funnel_conversion;
#: ``{relation}`` is intermediate.int_funnel_chains (one row per actor, entry day and step reached)
STEP_GAPS_SQL = """
with chains as (
    select funnel_name, actor_id, entry_date, step_number, seconds_from_entry
    from {relation}
),
gaps as (
    select
        funnel_name,
        step_number,
        seconds_from_entry - lag(seconds_from_entry) over (
            partition by funnel_name, actor_id, entry_date order by step_number
        ) as seconds_from_previous
    from chains
)
select
    funnel_name,
    step_number,
    median(seconds_from_previous) as median_seconds_from_previous,
    count(seconds_from_previous) as chains
from gaps
where step_number > 1
group by funnel_name, step_number
order by funnel_name, step_number
"""

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
COLORS = {
    "new": "#2a9d8f",
    "returning": "#264653",
    "resurrecting": "#e9c46a",
    "dormant": "#e76f51",
    "low": "#2a9d8f",
    "medium": "#e9c46a",
    "high": "#e76f51",
}
ATTRIBUTION_MODELS = ("first_touch", "last_touch", "linear", "position_based", "time_decay")
RISK_BANDS = ("low", "medium", "high")
NOT_COMPARED = ("(anonymous)", "(unknown)")
LIFECYCLE_STATUSES = ("new", "returning", "resurrecting", "dormant")


@dataclass
class ReportInputs:
    """What the report is drawn from.

    ``tables`` maps a model name of :data:`INPUT_TABLES` to its rows (a missing name counts as
    an empty table); ``step_gaps`` is the result of :data:`STEP_GAPS_SQL`; ``dbt_tests`` counts
    the dbt test statuses of the build by kind, ``{"data tests": {"pass": 180}, "unit tests":
    {"pass": 12}}`` (None when unknown); ``models`` is the status of each predictive model
    (from scoring.model_metrics: fitted, did not converge, or no scores and why), by model name.
    """

    tables: Mapping[str, pd.DataFrame]
    built_at: datetime
    step_gaps: pd.DataFrame | None = None
    dbt_tests: Mapping[str, Mapping[str, int]] | None = None
    source: str = ""
    models: Mapping[str, ModelStatus] = field(default_factory=dict)

    def table(self, name: str) -> pd.DataFrame:
        import pandas as pd

        frame = self.tables.get(name)
        return frame.copy() if frame is not None else pd.DataFrame()


@dataclass
class Section:
    id: str
    title: str
    source: str
    takeaway: str = ""
    figure: Any = None
    table_html: str = ""
    note: str = ""
    no_data: str = ""

    @property
    def has_chart(self) -> bool:
        return self.figure is not None


@dataclass
class _Funnel:
    name: str
    steps: pd.DataFrame = field(repr=False)


# ---------------------------------------------------------------------------------------------
# formatting


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _pct(value: float | None, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}%}"


def _num(value: float | None, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.{digits}f}"


def _duration(seconds: float | None) -> str:
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "n/a"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _month(value: Any) -> str:
    return f"{value:%Y-%m}" if hasattr(value, "strftime") else str(value)[:7]


def _floats(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """Decimal columns (revenue, spend) arrive as Python Decimals: make them floats."""
    for column in columns:
        if column in frame.columns:
            frame[column] = frame[column].astype(float)
    return frame


def _layout(fig: Any, height: int = 420, **kwargs: Any) -> Any:
    fig.update_layout(
        template="plotly_white",
        height=height,
        margin={"l": 60, "r": 20, "t": 40, "b": 50},
        font={"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12},
        legend={"orientation": "h", "y": -0.18},
        **kwargs,
    )
    return fig


# ---------------------------------------------------------------------------------------------
# funnel


def funnel_steps(funnel_conversion: pd.DataFrame) -> list[_Funnel]:
    """Users per step of each funnel, summed over entry days, channels and devices, with the
    conversion from the previous step and from the start, and the users lost at each step."""
    funnels = []
    if funnel_conversion.empty:
        return funnels
    grouped = (
        funnel_conversion.groupby(["funnel_name", "step_number", "step_name"], as_index=False)[
            "users"
        ]
        .sum()
        .sort_values(["funnel_name", "step_number"])
    )
    for name, steps in grouped.groupby("funnel_name", sort=True):
        steps = steps.reset_index(drop=True)
        steps["users"] = steps["users"].astype("int64")
        previous = steps["users"].shift(1)
        steps["conversion_from_previous"] = (steps["users"] / previous).where(previous > 0)
        steps.loc[0, "conversion_from_previous"] = 1.0
        start = steps["users"].iloc[0]
        steps["conversion_from_start"] = steps["users"] / start if start else float("nan")
        steps["dropped"] = (previous - steps["users"]).fillna(0).astype("int64")
        funnels.append(_Funnel(str(name), steps))
    # the purchase funnel first, then by name
    return sorted(funnels, key=lambda f: (f.name != "purchase", f.name))


def _funnel_section(funnel: _Funnel, step_gaps: pd.DataFrame | None) -> Section:
    import plotly.graph_objects as go

    steps = funnel.steps.copy()
    gaps = {}
    if step_gaps is not None and not step_gaps.empty:
        mine = step_gaps[step_gaps["funnel_name"] == funnel.name]
        gaps = dict(zip(mine["step_number"], mine["median_seconds_from_previous"], strict=True))
    steps["median_seconds_from_previous"] = steps["step_number"].map(gaps)
    section = Section(
        id=f"funnel-{funnel.name}",
        title=f"{funnel.name.capitalize()} funnel: conversion and drop-off per step",
        source="marts.funnel_conversion (all entry days, channels and devices); times from "
        "intermediate.int_funnel_chains",
    )
    entries = int(steps["users"].iloc[0])
    if entries == 0:
        section.no_data = "No funnel entries in marts.funnel_conversion."
        return section
    labels = [f"{n}. {s}" for n, s in zip(steps["step_number"], steps["step_name"], strict=True)]
    fig = go.Figure(
        go.Funnel(
            y=labels,
            x=steps["users"].tolist(),
            texttemplate="%{x:,} · %{percentInitial:.1%} of start · "
            "%{percentPrevious:.1%} of previous",
            textposition="inside",
            marker={"color": "#264653"},
            hovertemplate="%{y}<br>%{x:,} entries<extra></extra>",
        )
    )
    section.figure = _layout(fig, height=360, showlegend=False)
    worst = steps.iloc[1:].sort_values("conversion_from_previous").head(1)
    last = steps.iloc[-1]
    takeaway = (
        f"{_pct(last['conversion_from_start'], 1)} of {_num(entries)} entries "
        f"(actor × day) reach {last['step_name']}"
    )
    if not worst.empty:
        step = worst.iloc[0]
        before = steps.loc[steps["step_number"] == step["step_number"] - 1, "step_name"].iloc[0]
        takeaway += (
            f"; the biggest loss is {before} → {step['step_name']}, where "
            f"{_pct(1 - step['conversion_from_previous'])} drop off"
        )
        gap = step["median_seconds_from_previous"]
        if gap == gap and gap is not None:
            takeaway += f" (those who continue take a median {_duration(gap)})"
    section.takeaway = takeaway + "."
    rows = []
    for _, s in steps.iterrows():
        first = s["step_number"] == 1
        gap = s["median_seconds_from_previous"]
        gap_value = "" if gap is None or gap != gap else f"{gap:.3f}"
        rows.append(
            f'<tr data-step="{int(s["step_number"])}">'
            f"<td>{int(s['step_number'])}</td><td>{_esc(s['step_name'])}</td>"
            f'<td class="num users" data-value="{int(s["users"])}">{_num(s["users"])}</td>'
            f'<td class="num">{"" if first else _pct(s["conversion_from_previous"], 1)}</td>'
            f'<td class="num">{"" if first else _pct(1 - s["conversion_from_previous"], 1)}</td>'
            f'<td class="num">{"" if first else _num(s["dropped"])}</td>'
            f'<td class="num">{_pct(s["conversion_from_start"], 1)}</td>'
            f'<td class="num gap" data-seconds="{"" if first else gap_value}">'
            f"{'' if first else _duration(s['median_seconds_from_previous'])}</td>"
            "</tr>"
        )
    section.table_html = (
        f'<table class="data funnel-table" data-funnel="{_esc(funnel.name)}">'
        "<thead><tr><th>#</th><th>step</th><th>entries</th><th>from previous</th>"
        "<th>drop-off</th><th>lost</th><th>from start</th>"
        "<th>median time from previous step</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    return section


def _funnel_by_context_section(funnel_conversion: pd.DataFrame, funnel: _Funnel) -> Section:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    section = Section(
        id="funnel-by-context",
        title=f"{funnel.name.capitalize()} funnel conversion by acquisition channel and device",
        source="marts.funnel_conversion: entries reaching the last step / entries; the "
        "takeaway leaves out (anonymous) and (unknown)",
    )
    frame = funnel_conversion[funnel_conversion["funnel_name"] == funnel.name]
    first, last = frame["step_number"].min(), frame["step_number"].max()
    if frame.empty or frame.loc[frame["step_number"] == first, "users"].sum() == 0:
        section.no_data = "No funnel entries in marts.funnel_conversion."
        return section
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("by acquisition channel", "by device"), shared_yaxes=True
    )
    parts = []
    for col, dimension in enumerate(("acquisition_channel", "device_type"), start=1):
        entries = frame[frame["step_number"] == first].groupby(dimension)["users"].sum()
        converted = frame[frame["step_number"] == last].groupby(dimension)["users"].sum()
        rates = (
            (converted.reindex(entries.index, fill_value=0) / entries)
            .where(entries > 0)
            .dropna()
            .sort_values(ascending=False)
        )
        # anonymous actors cannot reach a purchase step as themselves: compare known users only
        known = rates.drop(index=list(NOT_COMPARED), errors="ignore")
        fig.add_trace(
            go.Bar(
                x=rates.index.tolist(),
                y=rates.tolist(),
                customdata=entries.reindex(rates.index).tolist(),
                marker={"color": "#2a9d8f" if col == 1 else "#264653"},
                hovertemplate="%{x}<br>%{y:.1%} of %{customdata:,} entries<extra></extra>",
                name=dimension,
            ),
            row=1,
            col=col,
        )
        label = "channel" if dimension == "acquisition_channel" else "device"
        if len(known) >= 2:
            parts.append(
                f"by {label}, {known.index[0]} converts best ({_pct(known.iloc[0], 1)}) and "
                f"{known.index[-1]} worst ({_pct(known.iloc[-1], 1)})"
            )
        elif len(known) == 1:
            parts.append(f"by {label}, only {known.index[0]} ({_pct(known.iloc[0], 1)})")
    fig.update_yaxes(tickformat=".0%", row=1, col=1)
    section.figure = _layout(fig, showlegend=False)
    if parts:
        section.takeaway = ("; ".join(parts) + ".")[0].upper() + ("; ".join(parts) + ".")[1:]
    return section


# ---------------------------------------------------------------------------------------------
# cohorts and LTV


def _retention_section(retention: pd.DataFrame) -> Section:
    import plotly.graph_objects as go

    section = Section(
        id="cohort-retention",
        title="Cohort retention: share of each first-purchase cohort buying again in month k",
        source="marts.cohort_retention (month 0 is 100% by definition and left out)",
    )
    later = retention[retention["months_since_first_order"] >= 1]
    if later.empty:
        section.no_data = "No cohort has a month after its first purchase yet."
        return section
    later = later.assign(cohort=later["cohort_month"].map(_month))
    grid = later.pivot(index="cohort", columns="months_since_first_order", values="retention_rate")
    grid = grid.sort_index(ascending=False)
    fig = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=[f"M{k}" for k in grid.columns],
            y=grid.index.tolist(),
            colorscale="Blues",
            zmin=0,
            texttemplate="%{z:.0%}",
            hovertemplate="cohort %{y}, %{x}: %{z:.1%} active<extra></extra>",
            colorbar={"tickformat": ".0%"},
        )
    )
    fig.update_yaxes(type="category")
    section.figure = _layout(fig, height=460)
    month1 = later[later["months_since_first_order"] == 1]
    rate = month1["active_customers"].sum() / month1["cohort_size"].sum()
    best = month1.sort_values(["retention_rate", "cohort"], ascending=[False, True]).iloc[0]
    section.takeaway = (
        f"{_pct(rate)} of customers buy again in the month after their first purchase "
        f"({_plural(len(month1), 'cohort')}); the {best['cohort']} cohort retains best "
        f"({_pct(best['retention_rate'])} of {_num(best['cohort_size'])})."
    )
    return section


def _ltv_section(ltv: pd.DataFrame) -> Section:
    import plotly.graph_objects as go

    section = Section(
        id="cohort-ltv",
        title="Cohort LTV: cumulative revenue per customer by months since first purchase",
        source="marts.cohort_ltv",
    )
    if ltv.empty:
        section.no_data = "No customers in marts.cohort_ltv."
        return section
    ltv = _floats(ltv, "revenue", "cumulative_revenue")
    ltv["cohort"] = ltv["cohort_month"].map(_month)
    fig = go.Figure()
    for cohort, rows in ltv.sort_values(["cohort", "months_since_first_order"]).groupby("cohort"):
        fig.add_trace(
            go.Scatter(
                x=rows["months_since_first_order"],
                y=rows["ltv_per_customer"],
                mode="lines+markers",
                name=cohort,
                customdata=rows["cohort_size"],
                hovertemplate=f"{cohort}, month %{{x}}: %{{y:,.2f}} per customer"
                " (%{customdata:,} customers)<extra></extra>",
            )
        )
    fig.update_xaxes(title="months since first purchase", dtick=1)
    fig.update_yaxes(title="cumulative revenue per customer")
    section.figure = _layout(fig, height=440)
    horizon = min(6, int(ltv["months_since_first_order"].max()))
    at = ltv[ltv["months_since_first_order"] == horizon]
    value = at["cumulative_revenue"].sum() / at["cohort_size"].sum()
    best = at.sort_values(["ltv_per_customer", "cohort"], ascending=[False, True]).iloc[0]
    section.takeaway = (
        f"By month {horizon} a customer has brought {_num(value, 2)} on average "
        f"({_plural(len(at), 'cohort')} with {horizon} months of history); the best cohort, "
        f"{best['cohort']}, reached {_num(best['ltv_per_customer'], 2)}."
    )
    return section


def _ltv_cac_section(channels: pd.DataFrame) -> Section:
    import plotly.graph_objects as go

    section = Section(
        id="ltv-cac",
        title="LTV:CAC by acquisition channel (90-day LTV per new customer / CAC)",
        source="marts.channel_performance_overall (channels with spend and new customers)",
    )
    channels = _floats(channels, "spend", "revenue", "ltv_90d_revenue")
    if not channels.empty:
        channels = channels[channels["ltv_to_cac"].notna()]
    if channels.empty:
        section.no_data = "No channel has both marketing spend and new customers."
        return section
    channels = channels.sort_values(["ltv_to_cac", "channel"], ascending=[False, True])
    fig = go.Figure(
        go.Bar(
            x=channels["channel"].tolist(),
            y=channels["ltv_to_cac"].tolist(),
            customdata=channels[["ltv_90d_per_new_customer", "cac", "new_customers"]].to_numpy(),
            marker={"color": "#2a9d8f"},
            texttemplate="%{y:.1f}",
            hovertemplate="%{x}: LTV:CAC %{y:.1f}<br>90-day LTV %{customdata[0]:,.2f}, "
            "CAC %{customdata[1]:,.2f}, %{customdata[2]:,} new customers<extra></extra>",
        )
    )
    fig.add_hline(y=1, line_dash="dot", line_color="#e76f51", annotation_text="break-even")
    fig.update_yaxes(title="LTV:CAC")
    section.figure = _layout(fig, height=380, showlegend=False)
    best, worst = channels.iloc[0], channels.iloc[-1]
    section.takeaway = (
        f"{best['channel']} returns the most per acquisition cost: LTV:CAC "
        f"{best['ltv_to_cac']:.1f} (90-day LTV {_num(best['ltv_90d_per_new_customer'], 2)} vs "
        f"CAC {_num(best['cac'], 2)})"
        + (
            f"; {worst['channel']} the least ({worst['ltv_to_cac']:.1f})."
            if len(channels) > 1
            else "."
        )
    )
    incomplete = channels[channels["ltv_90d_is_complete"] == False]  # noqa: E712
    if not incomplete.empty:
        section.note = "Some recent customers' 90-day windows are still open, so LTV can grow."
    return section


# ---------------------------------------------------------------------------------------------
# attribution and touchpoint value


def _attribution_section(attribution: pd.DataFrame) -> Section:
    import plotly.graph_objects as go

    section = Section(
        id="attribution",
        title="Attribution: conversions credited to each channel, by model",
        source="marts.attribution (credited conversions summed over purchases)",
    )
    if attribution.empty:
        section.no_data = "No purchases in marts.attribution."
        return section
    credit = attribution.pivot_table(
        index="channel", columns="model", values="credited_conversions", aggfunc="sum"
    ).fillna(0.0)
    models = [m for m in (*ATTRIBUTION_MODELS, "markov") if m in credit.columns]
    models += sorted(set(credit.columns) - set(models))
    credit = credit[models]
    credit = credit.loc[credit.mean(axis=1).sort_values(ascending=False).index]
    fig = go.Figure()
    for model in models:
        fig.add_trace(
            go.Bar(
                x=credit.index.tolist(),
                y=credit[model].tolist(),
                name=model,
                hovertemplate=f"{model}<br>%{{x}}: %{{y:,.1f}} conversions<extra></extra>",
            )
        )
    fig.update_yaxes(title="credited conversions")
    section.figure = _layout(fig, barmode="group")
    spread = credit.max(axis=1) - credit.min(axis=1)
    channel = spread.idxmax()
    low, high = credit.loc[channel].idxmin(), credit.loc[channel].idxmax()
    if spread.max() < 0.5:
        section.takeaway = (
            f"The models agree on every channel; {credit.index[0]} gets the most credit "
            f"({_num(credit.iloc[0].mean())} conversions)."
        )
    else:
        section.takeaway = (
            f"The models disagree most on {channel}: {_num(credit.loc[channel, high])} "
            f"conversions under {high} vs {_num(credit.loc[channel, low])} under {low}; "
            f"{credit.index[0]} gets the most credit on average."
        )
    return section


def _touchpoint_value_section(value: pd.DataFrame) -> Section:
    import plotly.graph_objects as go

    section = Section(
        id="touchpoint-value",
        title="Touchpoint value: which touchpoints payment abandoners use more than converters",
        source="marts.touchpoint_value_overall (share of each group that had the touchpoint)",
    )
    if not value.empty:
        value = value[value["abandoner_lift"].notna()]
    if value.empty:
        section.no_data = "No payment converters and abandoners to compare."
        return section
    value = value.sort_values(["abandoner_lift", "touchpoint"], ascending=[True, False])
    fig = go.Figure()
    for column, name, color in (
        ("share_of_converters", "converters", "#2a9d8f"),
        ("share_of_abandoners", "payment abandoners", "#e76f51"),
    ):
        fig.add_trace(
            go.Bar(
                y=value["touchpoint"].tolist(),
                x=value[column].tolist(),
                orientation="h",
                name=name,
                marker={"color": color},
                customdata=value["abandoner_lift"].tolist(),
                hovertemplate=f"%{{y}}: %{{x:.0%}} of {name} (lift %{{customdata:.1f}}x)"
                "<extra></extra>",
            )
        )
    fig.update_xaxes(tickformat=".0%", title="share of the group with the touchpoint")
    section.figure = _layout(fig, height=max(360, 28 * len(value) + 120), barmode="group")
    top = value.iloc[-1]
    section.takeaway = (
        f"{_pct(top['share_of_abandoners'])} of payment abandoners had {top['touchpoint']}, vs "
        f"{_pct(top['share_of_converters'])} of converters ({top['abandoner_lift']:.1f}x lift)."
    )
    return section


# ---------------------------------------------------------------------------------------------
# lifecycle and customers


def _lifecycle_section(lifecycle: pd.DataFrame) -> Section:
    import plotly.graph_objects as go

    section = Section(
        id="lifecycle",
        title="Lifecycle: new, returning, resurrecting and dormant actors per month",
        source="marts.user_lifecycle (dormant counts are negative)",
    )
    if lifecycle.empty:
        section.no_data = "No activity in marts.user_lifecycle."
        return section
    period = "month" if (lifecycle["period_type"] == "month").any() else "week"
    rows = lifecycle[lifecycle["period_type"] == period]
    grid = rows.pivot_table(
        index="period_start", columns="status", values="actors", aggfunc="sum"
    ).fillna(0)
    grid = grid.reindex(columns=[s for s in LIFECYCLE_STATUSES if s in grid.columns])
    labels = [f"{p:%Y-%m-%d}" if period == "week" else _month(p) for p in grid.index]
    fig = go.Figure()
    for status in grid.columns:
        fig.add_trace(
            go.Bar(
                x=labels,
                y=grid[status].tolist(),
                name=status,
                marker={"color": COLORS.get(status)},
                hovertemplate=f"%{{x}} {status}: %{{y:,}}<extra></extra>",
            )
        )
    fig.update_xaxes(type="category")
    fig.update_yaxes(title=f"actors per {period}")
    section.figure = _layout(fig, barmode="relative")
    last = grid.iloc[-1]
    new, resurrecting = last.get("new", 0), last.get("resurrecting", 0)
    returning, dormant = last.get("returning", 0), last.get("dormant", 0)
    change = new + resurrecting + dormant
    section.takeaway = (
        f"In {labels[-1]}: {_num(new)} new, {_num(returning)} returning, "
        f"{_num(resurrecting)} resurrecting and {_num(abs(dormant))} gone dormant, so the active "
        f"base {'grew' if change >= 0 else 'shrank'} by {_num(abs(change))}."
    )
    return section


def _rfm_section(customers: pd.DataFrame) -> Section:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    section = Section(
        id="rfm",
        title="RFM segments: customers and value",
        source="marts.customers (net revenue to date, expected 12-month CLV)",
    )
    customers = _floats(customers, "net_revenue")
    if not customers.empty:
        customers = customers[customers["rfm_segment"].notna()]
    if customers.empty:
        section.no_data = "No scored customers in marts.customers."
        return section
    segments = (
        customers.groupby("rfm_segment")
        .agg(
            customers=("user_id", "count"),
            net_revenue=("net_revenue", "sum"),
            clv_12m=("clv_12m", "sum"),
        )
        .sort_values("net_revenue", ascending=False)
    )
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("customers", "net revenue and expected 12-month CLV")
    )
    names = segments.index.tolist()
    fig.add_trace(
        go.Bar(x=names, y=segments["customers"].tolist(), name="customers", marker_color="#264653"),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Bar(
            x=names, y=segments["net_revenue"].tolist(), name="net revenue", marker_color="#2a9d8f"
        ),
        row=1,
        col=2,
    )
    if customers["clv_12m"].notna().any():
        fig.add_trace(
            go.Bar(x=names, y=segments["clv_12m"].tolist(), name="CLV 12m", marker_color="#e9c46a"),
            row=1,
            col=2,
        )
    section.figure = _layout(fig, height=440, barmode="group")
    top = segments.iloc[0]
    section.takeaway = (
        f"{segments.index[0]} are {_pct(top['customers'] / segments['customers'].sum())} of "
        f"customers and bring {_pct(top['net_revenue'] / segments['net_revenue'].sum())} of net "
        f"revenue; {segments['customers'].idxmax()} is the largest segment "
        f"({_num(segments['customers'].max())} customers)."
    )
    return section


def _clv_section(customers: pd.DataFrame, models: Mapping[str, ModelStatus]) -> Section:
    import plotly.graph_objects as go

    section = Section(
        id="clv-risk",
        title="Expected 12-month CLV by churn risk band",
        source="marts.customers (clv_12m: BG/NBD × Gamma-Gamma; risk_band: churn model)",
    )
    if not customers.empty:
        customers = customers[customers["clv_12m"].notna() & customers["risk_band"].notna()]
    if customers.empty:
        missing = [
            f"{LABELS.get(name, name)}: {status.describe()}"
            for name, status in models.items()
            if name in ("clv", "churn") and not status.has_scores
        ]
        section.no_data = (
            "; ".join(missing) if missing else "No customer has both a CLV and a churn score."
        )
        return section
    clv = models.get("clv")
    if clv is not None and clv.state == "not converged":
        section.note = (
            f"The CLV fit did not converge ({clv.detail}): the parameters are not a clean "
            "maximum-likelihood fit, so read these values with care."
        )
    bands = [b for b in RISK_BANDS if b in set(customers["risk_band"])]
    bands += sorted(set(customers["risk_band"]) - set(bands))
    fig = go.Figure()
    for band in bands:
        values = customers.loc[customers["risk_band"] == band, "clv_12m"]
        fig.add_trace(
            go.Histogram(
                x=values.tolist(),
                name=f"{band} risk",
                marker_color=COLORS.get(band),
                nbinsx=40,
                hovertemplate=f"{band} risk<br>CLV %{{x}}: %{{y}} customers<extra></extra>",
            )
        )
    fig.update_xaxes(title="expected 12-month CLV")
    fig.update_yaxes(title="customers")
    section.figure = _layout(fig, barmode="stack")
    total = customers["clv_12m"].sum()
    high = customers[customers["risk_band"] == "high"]
    section.takeaway = (
        f"High churn risk customers are {_pct(len(high) / len(customers))} of scored customers "
        f"and hold {_pct(high['clv_12m'].sum() / total if total else float('nan'))} of the "
        f"expected 12-month CLV; the median customer is worth "
        f"{_num(customers['clv_12m'].median(), 2)}."
    )
    return section


# ---------------------------------------------------------------------------------------------
# feedback, experiments, context


def _nps_section(nps: pd.DataFrame) -> Section:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    section = Section(
        id="nps",
        title="NPS trend and comment themes",
        source="marts.nps_monthly (all channels)",
    )
    if not nps.empty:
        nps = nps[nps["acquisition_channel"] == "(all)"].sort_values("month")
        nps = nps[nps["responses"] > 0]
    if nps.empty:
        section.no_data = "No NPS responses in marts.nps_monthly."
        return section
    themes = [c.removesuffix("_mentions") for c in nps.columns if c.endswith("_mentions")]
    rates = {t: nps[f"{t}_mentions"].sum() / nps["responses"].sum() for t in themes}
    rates = dict(sorted(rates.items(), key=lambda kv: -kv[1]))
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.65, 0.35],
        subplot_titles=("NPS per month", "share of responses mentioning a theme"),
    )
    months = [_month(m) for m in nps["month"]]
    fig.add_trace(
        go.Scatter(
            x=months,
            y=nps["nps"].tolist(),
            mode="lines+markers",
            name="NPS",
            customdata=nps["responses"].tolist(),
            line={"color": "#264653"},
            hovertemplate="%{x}: NPS %{y:.0f} (%{customdata:,} responses)<extra></extra>",
        ),
        row=1,
        col=1,
    )
    if rates:
        fig.add_trace(
            go.Bar(
                x=list(rates),
                y=list(rates.values()),
                name="themes",
                marker_color="#e9c46a",
                hovertemplate="%{x}: %{y:.1%} of responses<extra></extra>",
            ),
            row=1,
            col=2,
        )
        fig.update_yaxes(tickformat=".0%", row=1, col=2)
    fig.update_xaxes(type="category", row=1, col=1)
    section.figure = _layout(fig, showlegend=False)
    first, last = nps.iloc[0], nps.iloc[-1]
    overall = 100 * (nps["promoters"].sum() - nps["detractors"].sum()) / nps["responses"].sum()
    takeaway = (
        f"NPS is {overall:.0f} over {_num(nps['responses'].sum())} responses, "
        f"{first['nps']:.0f} in {months[0]} and {last['nps']:.0f} in {months[-1]}"
    )
    if rates:
        theme, rate = next(iter(rates.items()))
        takeaway += f"; {theme} is the most mentioned theme ({_pct(rate)} of responses)"
    section.takeaway = takeaway + "."
    return section


def _experiments_section(experiments: pd.DataFrame) -> Section:
    import plotly.graph_objects as go

    section = Section(
        id="experiments",
        title="Experiments: uplift in conversion vs control, with 95% confidence intervals",
        source="marts.experiment_results (absolute uplift in percentage points)",
    )
    if not experiments.empty:
        experiments = experiments[~experiments["is_control"] & experiments["ci_low"].notna()]
    if experiments.empty:
        section.no_data = "No experiment with a control and a variant in marts.experiment_results."
        return section
    experiments = experiments.sort_values(["experiment_id", "variant"])
    labels = [
        f"{e} · {v}"
        for e, v in zip(experiments["experiment_id"], experiments["variant"], strict=True)
    ]
    uplift = experiments["absolute_uplift"] * 100
    significant = (experiments["ci_low"] > 0) | (experiments["ci_high"] < 0)
    fig = go.Figure(
        go.Scatter(
            x=uplift.tolist(),
            y=labels,
            mode="markers",
            marker={
                "size": 12,
                "color": ["#2a9d8f" if s else "#8d99ae" for s in significant],
            },
            error_x={
                "type": "data",
                "symmetric": False,
                "array": (experiments["ci_high"] * 100 - uplift).tolist(),
                "arrayminus": (uplift - experiments["ci_low"] * 100).tolist(),
                "thickness": 2,
            },
            customdata=experiments[["p_value", "assigned_users", "conversion_rate"]].to_numpy(),
            hovertemplate="%{y}<br>uplift %{x:+.1f} pts, p = %{customdata[0]:.3f}<br>"
            "%{customdata[1]:,} users, %{customdata[2]:.1%} converted<extra></extra>",
        )
    )
    fig.add_vline(x=0, line_dash="dot", line_color="#e76f51")
    fig.update_xaxes(title="absolute uplift (percentage points)")
    section.figure = _layout(fig, height=max(260, 70 * len(labels) + 140), showlegend=False)

    def describe(row: Any) -> str:
        return (
            f"{row['experiment_id']} {row['variant']}: {row['absolute_uplift'] * 100:+.1f} pts "
            f"(95% CI {row['ci_low'] * 100:+.1f} to {row['ci_high'] * 100:+.1f}, "
            f"p = {row['p_value']:.2f})"
        )

    winners = experiments[significant]
    if winners.empty:
        best = experiments.sort_values("absolute_uplift", ascending=False).iloc[0]
        section.takeaway = (
            f"None of {len(experiments)} variants beats its control at 95% confidence; the "
            f"closest is {describe(best)}."
        )
    else:
        section.takeaway = "Significant at 95%: " + "; ".join(
            describe(r) for _, r in winners.iterrows()
        )
        section.takeaway += "."
    srm = experiments[experiments["srm_detected"] == True]  # noqa: E712
    if not srm.empty:
        section.note = (
            "Sample-ratio mismatch in "
            + ", ".join(sorted(set(srm["experiment_id"])))
            + ": the split is suspect, don't trust those comparisons."
        )
    return section


WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _context_section(context: pd.DataFrame) -> Section:
    import plotly.graph_objects as go

    section = Section(
        id="hour-weekday",
        title="Session conversion by hour of day and weekday",
        source="marts.context_conversion (sessions with a payment_success / sessions, "
        "all devices and channels; hours in the reporting time zone)",
    )
    if context.empty or context["sessions"].sum() == 0:
        section.no_data = "No sessions in marts.context_conversion."
        return section
    cells = context.groupby(["weekday", "hour_of_day"], as_index=False)[
        ["sessions", "converting_sessions"]
    ].sum()
    rate = cells.pivot(index="weekday", columns="hour_of_day", values="converting_sessions").div(
        cells.pivot(index="weekday", columns="hour_of_day", values="sessions")
    )
    sessions = cells.pivot(index="weekday", columns="hour_of_day", values="sessions")
    rate = rate.reindex(index=range(1, 8), columns=range(24))
    sessions = sessions.reindex(index=range(1, 8), columns=range(24)).fillna(0)
    fig = go.Figure(
        go.Heatmap(
            z=rate.to_numpy(),
            x=[f"{h:02d}:00" for h in rate.columns],
            y=list(WEEKDAYS),
            customdata=sessions.to_numpy(),
            colorscale="YlGnBu",
            zmin=0,
            colorbar={"tickformat": ".0%"},
            hovertemplate="%{y} %{x}: %{z:.1%} of %{customdata:,} sessions<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    section.figure = _layout(fig, height=380)
    by_day = context.groupby("weekday")[["sessions", "converting_sessions"]].sum()
    by_day = (by_day["converting_sessions"] / by_day["sessions"]).sort_values(ascending=False)
    by_hour = context.groupby("hour_of_day")[["sessions", "converting_sessions"]].sum()
    by_hour = (by_hour["converting_sessions"] / by_hour["sessions"]).sort_values(ascending=False)
    day = [f"{WEEKDAYS[int(d) - 1]} ({_pct(r, 1)})" for d, r in by_day.items()]
    hour = [f"{int(h):02d}:00 ({_pct(r, 1)})" for h, r in by_hour.items()]
    days = (
        f"Sessions convert best on {day[0]} and worst on {day[-1]}"
        if len(day) > 1
        else f"All sessions start on {day[0]}"
    )
    hours = (
        f"the best hour is {hour[0]}, the worst {hour[-1]}"
        if len(hour) > 1
        else f"all at {hour[0]}"
    )
    section.takeaway = f"{days}; {hours}."
    return section


# ---------------------------------------------------------------------------------------------
# the page


def build_sections(inputs: ReportInputs) -> list[Section]:
    """Every section of the report, in page order."""
    funnel_conversion = inputs.table("funnel_conversion")
    funnels = funnel_steps(funnel_conversion)
    sections = [_funnel_section(f, inputs.step_gaps) for f in funnels]
    if not funnels:
        sections.append(
            Section(
                id="funnel-purchase",
                title="Purchase funnel: conversion and drop-off per step",
                source="marts.funnel_conversion",
                no_data="No funnel entries in marts.funnel_conversion.",
            )
        )
        sections.append(
            Section(
                id="funnel-by-context",
                title="Funnel conversion by acquisition channel and device",
                source="marts.funnel_conversion",
                no_data="No funnel entries in marts.funnel_conversion.",
            )
        )
    else:
        sections.append(_funnel_by_context_section(funnel_conversion, funnels[0]))
    builders: list[tuple[Callable[[pd.DataFrame], Section], str]] = [
        (_retention_section, "cohort_retention"),
        (_ltv_section, "cohort_ltv"),
        (_ltv_cac_section, "channel_performance_overall"),
        (_attribution_section, "attribution"),
        (_touchpoint_value_section, "touchpoint_value_overall"),
        (_lifecycle_section, "user_lifecycle"),
        (_rfm_section, "customers"),
        (lambda customers: _clv_section(customers, inputs.models), "customers"),
        (_nps_section, "nps_monthly"),
        (_experiments_section, "experiment_results"),
        (_context_section, "context_conversion"),
    ]
    sections.extend(build(inputs.table(name)) for build, name in builders)
    return sections


#: the predictive models by their model_metrics name
LABELS = {"clv": "CLV", "churn": "Churn", "clusters": "Clusters"}


def _model_order(name: str) -> tuple[int, str]:
    return (list(LABELS).index(name) if name in LABELS else len(LABELS), name)


def _models_html(models: Mapping[str, ModelStatus]) -> str:
    """One line per predictive model: fitted, fitted but did not converge, or no scores and
    why (scoring.model_metrics)."""
    if not models:
        return ""
    items = "".join(
        f'<li data-model="{_esc(name)}" data-state="{_esc(status.state)}" '
        f'class="{"good" if status.state == "fitted" else "bad"}">'
        f"<strong>{_esc(LABELS.get(name, name))}</strong>: {_esc(status.describe())}</li>"
        for name, status in sorted(models.items(), key=lambda item: _model_order(item[0]))
    )
    return (
        '<div id="model-status"><h2>Predictive models</h2>'
        f'<ul class="models">{items}</ul>'
        '<p class="source">Source: scoring.model_metrics</p></div>'
    )


def _header_html(inputs: ReportInputs) -> str:
    cutoff = inputs.table("int_data_cutoff")
    funnel = inputs.table("funnel_conversion")
    if not funnel.empty:
        window = f"{funnel['entry_date'].min():%Y-%m-%d} to {funnel['entry_date'].max():%Y-%m-%d}"
    else:
        window = "n/a"
    if not cutoff.empty and cutoff["data_cutoff_at"].notna().iloc[0]:
        row = cutoff.iloc[0]
        cutoff_text = f"{row['data_cutoff_at']:%Y-%m-%d %H:%M:%S} UTC ({row['cutoff_source']})"
    else:
        cutoff_text = "n/a"
    facts = [
        ("Data window (funnel entry days)", window),
        ("Data cutoff", cutoff_text),
        ("Report built", f"{inputs.built_at:%Y-%m-%d %H:%M:%S} UTC"),
    ]
    if inputs.source:
        facts.append(("Warehouse", inputs.source))
    facts_html = "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in facts)

    metrics = inputs.table("headline_metrics")
    tiles = ""
    for _, m in (metrics.sort_values("metric") if not metrics.empty else metrics).iterrows():
        value = m["metric_value"]
        text = (
            _pct(value, 1)
            if m["unit"] == "ratio"
            else _num(value, 0 if m["unit"] == "customers" else 2)
        )
        tiles += (
            f'<div class="tile" title="{_esc(m["description"])}">'
            f'<div class="value">{_esc(text)}</div><div class="label">{_esc(m["metric"])}</div>'
            "</div>"
        )

    counts = "".join(
        f'<tr><td>{_esc(name)}</td><td class="num">{_num(len(inputs.table(name)))}</td></tr>'
        for name in INPUT_TABLES
    )
    rejected = inputs.table("rejected_rows")
    if rejected.empty:
        quarantine = "<p>No rows were rejected.</p>"
    else:
        by_reason = (
            rejected.groupby("reason")
            .agg(rows=("reason", "size"), files=("source", lambda v: ", ".join(sorted(set(v)))))
            .reset_index()
            .sort_values(["rows", "reason"], ascending=[False, True])
        )
        quarantine = (
            f'<p><strong id="rejected-total">{_num(len(rejected))}</strong> raw rows rejected '
            "(audit.rejected_rows), by reason:</p>"
            '<table class="data quarantine"><thead><tr><th>reason</th>'
            '<th class="num">rows</th><th>files</th></tr></thead><tbody>'
            + "".join(
                f'<tr data-reason="{_esc(r.reason)}"><td>{_esc(r.reason)}</td>'
                f'<td class="num">{_num(r.rows)}</td><td>{_esc(r.files)}</td></tr>'
                for r in by_reason.itertuples()
            )
            + "</tbody></table>"
        )
    if inputs.dbt_tests:
        failing = sum(
            count
            for statuses in inputs.dbt_tests.values()
            for status, count in statuses.items()
            if status in ("fail", "error")
        )
        tests = (
            f'<p class="{"bad" if failing else "good"}">dbt tests of this build: '
            + "; ".join(
                f'<span data-kind="{_esc(kind)}">{_esc(kind)}: '
                + ", ".join(
                    f'<span data-status="{_esc(k)}">{_num(v)} {_esc(k)}</span>'
                    for k, v in statuses.items()
                )
                + "</span>"
                for kind, statuses in inputs.dbt_tests.items()
            )
            + "</p>"
        )
    else:
        tests = "<p>dbt test results of this build are not available.</p>"
    return (
        '<header id="report-header">'
        "<h1>Touchpoint Alchemy: journey report</h1>"
        f'<dl class="facts">{facts_html}</dl>'
        f'<div class="tiles">{tiles}</div>'
        '<div class="quality">'
        "<div><h2>Data quality</h2>"
        f'<div id="dbt-tests">{tests}</div>{quarantine}{_models_html(inputs.models)}</div>'
        '<div><h2>Rows read</h2><table class="data row-counts"><thead><tr><th>table</th>'
        f'<th class="num">rows</th></tr></thead><tbody>{counts}</tbody></table></div>'
        "</div></header>"
    )


CSS = """
:root { --ink: #1d2a33; --muted: #5c6b77; --line: #e3e8ec; --accent: #264653; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--ink); background: #f6f8f9; }
main { max-width: 1200px; margin: 0 auto; padding: 24px; }
h1 { margin: 0 0 12px; font-size: 24px; color: var(--accent); }
h2 { margin: 0 0 6px; font-size: 17px; }
header, section { background: #fff; border: 1px solid var(--line); border-radius: 8px;
                  padding: 18px 20px; margin-bottom: 18px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
.tiles { display: flex; flex-wrap: wrap; gap: 10px; margin: 14px 0; }
.tile { flex: 1 1 150px; border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; }
.tile .value { font-size: 20px; font-weight: 600; color: var(--accent); }
.tile .label { color: var(--muted); font-size: 12px; }
.quality { display: grid; grid-template-columns: 1fr 1fr; gap: 24px; }
table.data { border-collapse: collapse; font-size: 13px; }
table.data th, table.data td { padding: 3px 10px; border-bottom: 1px solid var(--line);
                               text-align: left; }
table.data .num { text-align: right; font-variant-numeric: tabular-nums; }
table.funnel-table { margin-top: 8px; width: 100%; }
table.funnel-table td:nth-child(n+3), table.funnel-table th:nth-child(n+3) { text-align: right; }
.takeaway { font-size: 15px; margin: 4px 0 8px; padding: 6px 10px; background: #eef6f5;
            border-left: 4px solid #2a9d8f; }
.source, .note { color: var(--muted); font-size: 12px; margin: 4px 0; }
.no-data { padding: 40px; text-align: center; color: var(--muted); background: #fafbfc;
           border: 1px dashed var(--line); border-radius: 6px; }
nav { font-size: 13px; margin-bottom: 18px; display: flex; flex-wrap: wrap; gap: 4px 14px; }
nav a { color: var(--accent); }
.good { color: #1f7a6f; } .bad { color: #b23a1e; font-weight: 600; }
footer { color: var(--muted); font-size: 12px; text-align: center; padding: 12px; }
"""


def _section_html(section: Section) -> str:
    if section.figure is not None:
        body = section.figure.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=f"chart-{section.id}",
            config=PLOTLY_CONFIG,
        )
    else:
        body = f'<div class="no-data">No data: {_esc(section.no_data)}</div>'
    return (
        f'<section id="{_esc(section.id)}" class="chart-section" '
        f'data-has-chart="{"true" if section.has_chart else "false"}">'
        f"<h2>{_esc(section.title)}</h2>"
        + (f'<p class="takeaway">{_esc(section.takeaway)}</p>' if section.takeaway else "")
        + body
        + section.table_html
        + (f'<p class="note">{_esc(section.note)}</p>' if section.note else "")
        + f'<p class="source">Source: {_esc(section.source)}</p></section>'
    )


def render_journey_report(inputs: ReportInputs) -> str:
    """The whole report as one HTML page, with plotly.js inlined (no network needed)."""
    from plotly.offline import get_plotlyjs

    sections = build_sections(inputs)
    nav = " ".join(f'<a href="#{_esc(s.id)}">{_esc(s.title.split(":")[0])}</a>' for s in sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Touchpoint Alchemy: journey report</title>"
        f"<style>{CSS}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script>'
        "</head><body><main>"
        + _header_html(inputs)
        + f"<nav>{nav}</nav>"
        + "".join(_section_html(s) for s in sections)
        + "<footer>Built by the reports/journey_report Dagster asset from the marts of "
        "Touchpoint Alchemy. Every chart is interactive: hover for values, drag to zoom, "
        "double-click to reset.</footer>"
        "</main></body></html>\n"
    )
