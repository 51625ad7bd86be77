"""One section per funnel: entries, conversion and drop-off per step, and the time between steps.

Every figure is a row of marts.funnel_conversion_overall (all entries: channel and device
'(all)') or marts.funnel_step_timing; the section only picks and orders them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from touchpoint_alchemy.report.figures import DARK, layout
from touchpoint_alchemy.report.format import duration, num, pct
from touchpoint_alchemy.report.section import Section, Table

if TYPE_CHECKING:
    import pandas as pd

READS = ("funnel_conversion_overall", "funnel_step_timing")
ALL = "(all)"
NO_ENTRIES = "No funnel entries in marts.funnel_conversion."


def funnel_names(overall: pd.DataFrame) -> list[str]:
    """The funnels with rows: the purchase funnel first, then by name."""
    if overall.empty:
        return []
    return sorted(set(overall["funnel_name"]), key=lambda name: (name != "purchase", name))


def all_entries(overall: pd.DataFrame, funnel: str) -> pd.DataFrame:
    """The funnel's steps over all entries, in step order."""
    rows = overall[
        (overall["funnel_name"] == funnel)
        & (overall["acquisition_channel"] == ALL)
        & (overall["device_type"] == ALL)
    ]
    return rows.sort_values("step_number").reset_index(drop=True)


def build(funnel_conversion_overall: pd.DataFrame, funnel_step_timing: pd.DataFrame):
    names = funnel_names(funnel_conversion_overall)
    if not names:
        return Section(
            id="funnel-purchase",
            title="Purchase funnel: conversion and drop-off per step",
            source="marts.funnel_conversion_overall",
            no_data=NO_ENTRIES,
        )
    return [
        funnel_section(name, all_entries(funnel_conversion_overall, name), funnel_step_timing)
        for name in names
    ]


def funnel_section(name: str, steps: pd.DataFrame, timing: pd.DataFrame) -> Section:
    import plotly.graph_objects as go

    section = Section(
        id=f"funnel-{name}",
        title=f"{name.capitalize()} funnel: conversion and drop-off per step",
        source="marts.funnel_conversion_overall (all entry days, channels and devices); times "
        "from marts.funnel_step_timing",
    )
    if steps.empty or steps["users"].iloc[0] == 0:
        section.no_data = NO_ENTRIES
        return section
    if not timing.empty:
        mine = timing.loc[
            timing["funnel_name"] == name, ["step_number", "median_seconds_from_previous"]
        ]
        steps = steps.merge(mine, on="step_number", how="left")
    else:
        steps = steps.assign(median_seconds_from_previous=float("nan"))
    labels = [f"{n}. {s}" for n, s in zip(steps["step_number"], steps["step_name"], strict=True)]
    fig = go.Figure(
        go.Funnel(
            y=labels,
            x=steps["users"].astype("int64").tolist(),
            texttemplate="%{x:,} · %{percentInitial:.1%} of start · "
            "%{percentPrevious:.1%} of previous",
            textposition="inside",
            marker={"color": DARK},
            hovertemplate="%{y}<br>%{x:,} entries<extra></extra>",
        )
    )
    section.figure = layout(fig, height=360, showlegend=False)
    section.takeaway = _takeaway(steps)
    section.table = Table("funnel_table.html.j2", _rows(steps), {"funnel": name})
    return section


def _takeaway(steps: pd.DataFrame) -> str:
    last = steps.iloc[-1]
    text = (
        f"{pct(last['conversion_from_start'], 1)} of {num(steps['users'].iloc[0])} entries "
        f"(actor × day) reach {last['step_name']}"
    )
    worst = steps.iloc[1:].dropna(subset=["drop_off_from_previous"])
    if not worst.empty:
        step = worst.sort_values(["drop_off_from_previous", "step_number"], ascending=[False, True])
        step = step.iloc[0]
        before = steps.loc[steps["step_number"] == step["step_number"] - 1, "step_name"].iloc[0]
        text += (
            f"; the biggest loss is {before} → {step['step_name']}, where "
            f"{pct(step['drop_off_from_previous'])} drop off"
        )
        gap = step["median_seconds_from_previous"]
        if gap == gap and gap is not None:
            text += f" (those who continue take a median {duration(gap)})"
    return text + "."


def _rows(steps: pd.DataFrame) -> list[dict]:
    rows = []
    for step in steps.to_dict("records"):
        first = step["step_number"] == 1
        gap = step["median_seconds_from_previous"]
        timed = not first and gap is not None and gap == gap
        rows.append(
            {
                "step_number": int(step["step_number"]),
                "step_name": step["step_name"],
                "users": int(step["users"]),
                "users_text": num(step["users"]),
                "from_previous": "" if first else pct(step["conversion_from_previous"], 1),
                "drop_off": "" if first else pct(step["drop_off_from_previous"], 1),
                "lost": "" if first else num(step["users_lost"]),
                "from_start": pct(step["conversion_from_start"], 1),
                "seconds": f"{gap:.3f}" if timed else "",
                "gap": "" if first else duration(gap),
            }
        )
    return rows
