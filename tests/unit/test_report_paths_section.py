"""The report's paths section (a Sankey of marts.paths) on a small hand-made frame: which
transitions it draws and the sentence it writes, worked out by hand."""

from __future__ import annotations

import pandas as pd

from touchpoint_alchemy.report.sections import paths

END = "$session_end"


def frame(rows):
    columns = ["path_start", "step_index", "from_touchpoint", "to_touchpoint", "sessions"]
    out = pd.DataFrame(rows, columns=[*columns, "share"])
    out["actors"] = out["sessions"]
    return out


# 10 sessions from the session start: 6 start with home (2 end, 4 go to search), 4 with search
# (1 ends, 3 go to product). Step 2: search -> product 4 of the 4 that went home -> search
# (the other step-2 edges start at nodes step 1 never reached and are not drawn). A configured
# start's rows ('cart') are not drawn.
ROWS = [
    ("$session_start", 1, "home", END, 2, 2 / 6),
    ("$session_start", 1, "home", "search", 4, 4 / 6),
    ("$session_start", 1, "search", END, 1, 1 / 4),
    ("$session_start", 1, "search", "product", 3, 3 / 4),
    ("$session_start", 2, "search", "product", 4, 4 / 4),
    ("$session_start", 2, "product", END, 3, 3 / 3),
    ("$session_start", 2, "login", END, 5, 1.0),
    ("cart", 1, "cart", "pay", 9, 1.0),
]


def test_paths_draws_reachable_transitions_from_the_session_start():
    section = paths.build(frame(ROWS))
    assert section.has_chart
    sankey = section.figure.data[0]
    labels = list(sankey.node.label)
    drawn = [
        (labels[s], labels[t], v)
        for s, t, v in zip(sankey.link.source, sankey.link.target, sankey.link.value, strict=True)
    ]
    # step 1 by sessions (ties by name), then step 2 from the nodes step 1 reached
    assert drawn == [
        ("1. home", "2. search", 4),
        ("1. search", "2. product", 3),
        ("1. home", "2. end", 2),
        ("1. search", "2. end", 1),
        ("2. search", "3. product", 4),
        ("2. product", "3. end", 3),
    ]
    # drop-off nodes are coloured apart and stay in the column after their step
    assert sankey.node.color[labels.index("2. end")] == paths.CORAL
    columns = {label: x for label, x in zip(labels, sankey.node.x, strict=True)}
    assert columns["2. end"] == columns["2. search"] < columns["3. end"] == columns["3. product"]
    assert section.takeaway == (
        "30% of 10 sessions end after their first touchpoint; the most common first move is "
        "home → search (4 sessions, 67% of those that start with home)."
    )


def test_paths_keeps_the_largest_transitions_per_step():
    rows = [("$session_start", 1, f"t{i:02d}", END, 100 - i, 1.0) for i in range(12)]
    edges = paths.drawn_edges(frame(rows))
    assert edges["from_touchpoint"].tolist() == [f"t{i:02d}" for i in range(paths.EDGES)]


def test_paths_without_session_start_rows_has_a_note():
    section = paths.build(frame([("cart", 1, "cart", END, 1, 1.0)]))
    assert not section.has_chart and section.no_data
