"""Each variant's uplift in conversion against its control, with the 95% confidence interval
(marts.experiment_results); an interval that excludes 0 reads as significant."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from touchpoint_alchemy.report.figures import CORAL, GREY, TEAL, layout
from touchpoint_alchemy.report.section import Section

if TYPE_CHECKING:
    import pandas as pd

READS = ("experiment_results",)


def build(experiment_results: pd.DataFrame) -> Section:
    import plotly.graph_objects as go

    section = Section(
        id="experiments",
        title="Experiments: uplift in conversion vs control, with 95% confidence intervals",
        source="marts.experiment_results (absolute uplift in percentage points)",
    )
    experiments = experiment_results
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
            marker={"size": 12, "color": [TEAL if s else GREY for s in significant]},
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
    fig.add_vline(x=0, line_dash="dot", line_color=CORAL)
    fig.update_xaxes(title="absolute uplift (percentage points)")
    section.figure = layout(fig, height=max(260, 70 * len(labels) + 140), showlegend=False)
    winners = experiments[significant]
    if winners.empty:
        best = experiments.sort_values("absolute_uplift", ascending=False).iloc[0]
        section.takeaway = (
            f"None of {len(experiments)} variants beats its control at 95% confidence; the "
            f"closest is {_describe(best)}."
        )
    else:
        section.takeaway = (
            "Significant at 95%: " + "; ".join(_describe(r) for _, r in winners.iterrows()) + "."
        )
    srm = experiments[experiments["srm_detected"] == True]  # noqa: E712
    if not srm.empty:
        section.note = (
            "Sample-ratio mismatch in "
            + ", ".join(sorted(set(srm["experiment_id"])))
            + ": the split is suspect, don't trust those comparisons."
        )
    return section


def _describe(row: Any) -> str:
    return (
        f"{row['experiment_id']} {row['variant']}: {row['absolute_uplift'] * 100:+.1f} pts "
        f"(95% CI {row['ci_low'] * 100:+.1f} to {row['ci_high'] * 100:+.1f}, "
        f"p = {row['p_value']:.2f})"
    )
