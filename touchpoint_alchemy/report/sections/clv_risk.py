"""The distribution of expected 12-month CLV per churn risk band: the customers' values from
marts.customers, the shares and the median from marts.clv_by_risk_band. Without scores, the
note says which model has none and why (scoring.model_metrics)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from touchpoint_alchemy.labels import churn_risk_bands
from touchpoint_alchemy.report.figures import COLORS, layout
from touchpoint_alchemy.report.format import num, pct
from touchpoint_alchemy.report.inputs import model_statuses
from touchpoint_alchemy.report.section import Section

if TYPE_CHECKING:
    import pandas as pd

READS = ("customers", "clv_by_risk_band", "model_metrics")
#: the predictive models by their model_metrics name
LABELS = {"clv": "CLV", "churn": "Churn", "clusters": "Clusters"}


def build(
    customers: pd.DataFrame, clv_by_risk_band: pd.DataFrame, model_metrics: pd.DataFrame
) -> Section:
    import plotly.graph_objects as go

    section = Section(
        id="clv-risk",
        title="Expected 12-month CLV by churn risk band",
        source="marts.customers and marts.clv_by_risk_band (clv_12m: BG/NBD × Gamma-Gamma; "
        "risk_band: churn model)",
    )
    models = model_statuses(model_metrics)
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
    present = set(customers["risk_band"])
    known = churn_risk_bands()
    bands = [b for b in known if b in present] + sorted(present - set(known))
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
    section.figure = layout(fig, barmode="stack")
    section.takeaway = _takeaway(clv_by_risk_band)
    return section


def _takeaway(bands: pd.DataFrame) -> str:
    if bands.empty or not (bands["risk_band"] == "(all)").any():
        return ""
    everyone = bands[bands["risk_band"] == "(all)"].iloc[0]
    high = bands[bands["risk_band"] == "high"]
    # no row for a band: none of the scored customers is in it
    customers, clv = (
        (high["share_of_customers"].iloc[0], high["share_of_clv_12m"].iloc[0])
        if not high.empty
        else (0.0, 0.0)
    )
    return (
        f"High churn risk customers are {pct(customers)} of scored customers and hold "
        f"{pct(clv)} of the expected 12-month CLV; the median customer is worth "
        f"{num(everyone['median_clv_12m'], 2)}."
    )
