"""Where sessions go next, step by step, as a Sankey diagram (marts.paths, paths from the
session start)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from touchpoint_alchemy.report.figures import CORAL, DARK, layout
from touchpoint_alchemy.report.format import num, pct
from touchpoint_alchemy.report.section import Section

if TYPE_CHECKING:
    import pandas as pd

READS = ("paths",)
SESSION_START = "$session_start"
SESSION_END = "$session_end"
#: transitions drawn: the first STEPS steps, the EDGES largest transitions of each
STEPS = 4
EDGES = 8
#: link colours: a move to the next touchpoint, and a drop-off (the session ends)
FLOW, DROP_OFF = "rgba(141, 153, 174, 0.45)", "rgba(231, 111, 81, 0.35)"


def drawn_edges(paths: pd.DataFrame) -> pd.DataFrame:
    """The transitions the diagram draws: paths from the session start, steps 1..STEPS, per step
    the EDGES largest (sessions, then names) whose from node an earlier drawn edge reaches."""
    rows = paths[(paths["path_start"] == SESSION_START) & (paths["step_index"] <= STEPS)]
    kept = []
    reached: set[str] | None = None  # step 1: every first touchpoint is a start
    for step in sorted(rows["step_index"].unique()):
        edges = rows[rows["step_index"] == step]
        if reached is not None:
            edges = edges[edges["from_touchpoint"].isin(reached)]
        edges = edges.sort_values(
            ["sessions", "from_touchpoint", "to_touchpoint"], ascending=[False, True, True]
        ).head(EDGES)
        kept.append(edges)
        reached = set(edges["to_touchpoint"]) - {SESSION_END}
    if not kept:
        return rows
    import pandas as pd

    return pd.concat(kept, ignore_index=True)


def node_positions(
    keys: list[tuple[int, str]], sources: list[int], targets: list[int], values: list[int]
) -> tuple[list[float], list[float]]:
    """x: one column per step (a drop-off stays in the column after its step, plotly would push
    it to the right edge); y: the column's nodes from the largest down, each centred in a share
    of the height proportional to its sessions."""
    flow = [0] * len(keys)
    inflow = [0] * len(keys)
    for source, target, value in zip(sources, targets, values, strict=True):
        flow[source] += value
        inflow[target] += value
    flow = [max(out, into) for out, into in zip(flow, inflow, strict=True)]
    last = max(step for step, _ in keys)
    first = min(step for step, _ in keys)
    x = [0.01 + 0.98 * (step - first) / max(last - first, 1) for step, _ in keys]
    y = [0.0] * len(keys)
    for step in {step for step, _ in keys}:
        column = sorted(
            (i for i, key in enumerate(keys) if key[0] == step), key=lambda i: (-flow[i], keys[i])
        )
        total = sum(flow[i] for i in column) or 1
        done = 0
        for i in column:
            y[i] = 0.01 + 0.98 * (done + flow[i] / 2) / total
            done += flow[i]
    return x, y


def build(paths: pd.DataFrame) -> Section:
    import plotly.graph_objects as go

    section = Section(
        id="paths",
        title="Paths: where sessions go next, step by step",
        source=f"marts.paths (paths from the session start, repeated touchpoints collapsed; "
        f"the {EDGES} largest transitions of each of the first {STEPS} steps; 'end' is the "
        "session's last step)",
    )
    starts = paths[paths["path_start"] == SESSION_START] if not paths.empty else paths
    if starts.empty:
        section.no_data = "No sessions in marts.paths."
        return section
    edges = drawn_edges(paths)
    nodes: dict[tuple[int, str], int] = {}

    def node(step: int, touchpoint: str) -> int:
        return nodes.setdefault((step, touchpoint), len(nodes))

    sources, targets, values = [], [], []
    for edge in edges.itertuples(index=False):
        sources.append(node(edge.step_index, edge.from_touchpoint))
        targets.append(node(edge.step_index + 1, edge.to_touchpoint))
        values.append(int(edge.sessions))
    keys = list(nodes)
    labels = [f"{step}. {'end' if name == SESSION_END else name}" for step, name in keys]
    colors = [CORAL if name == SESSION_END else DARK for _, name in keys]
    x, y = node_positions(keys, sources, targets, values)
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={
                "label": labels,
                "color": colors,
                "pad": 12,
                "thickness": 14,
                "x": x,
                "y": y,
            },
            link={
                "source": sources,
                "target": targets,
                "value": values,
                "color": [DROP_OFF if keys[t][1] == SESSION_END else FLOW for t in targets],
                "hovertemplate": "%{source.label} → %{target.label}: %{value:,} sessions"
                "<extra></extra>",
            },
        )
    )
    section.figure = layout(fig, height=520)
    first = starts[starts["step_index"] == 1]
    sessions = first["sessions"].sum()
    ended = first.loc[first["to_touchpoint"] == SESSION_END, "sessions"].sum()
    moves = first[first["to_touchpoint"] != SESSION_END].sort_values(
        ["sessions", "from_touchpoint", "to_touchpoint"], ascending=[False, True, True]
    )
    takeaway = (
        f"{pct(ended / sessions)} of {num(sessions)} sessions end after their first touchpoint"
    )
    if not moves.empty:
        top = moves.iloc[0]
        takeaway += (
            f"; the most common first move is {top['from_touchpoint']} → "
            f"{top['to_touchpoint']} ({num(top['sessions'])} sessions, {pct(top['share'])} of "
            f"those that start with {top['from_touchpoint']})"
        )
    section.takeaway = takeaway + "."
    return section
