"""Independent pandas reference of marts.paths (issue 21), written from the definition in words,
never from the dbt SQL.

A session's path is its touchpoints (stitched, consenting actors: ``reference.actor_touchpoints``,
sessions: ``reference.sessionize``) up to the data cutoff, in time order (ties: touchpoint_id),
with repeated consecutive identical touchpoints collapsed into one step. The path starts at the
session's first step ('$session_start') or at the first occurrence of a start touchpoint
(sessions without it have no such path). Transition k (1 .. max_steps) goes from the path's k-th
step to its (k+1)-th, or to '$session_end' when the path has only k steps. Per path start, k,
from and to: sessions, distinct actors, and the share of the sessions whose k-th step is
``from``.
"""

from __future__ import annotations

import itertools

import pandas as pd

import reference

SESSION_START = "$session_start"
SESSION_END = "$session_end"
KEYS = ["path_start", "step_index", "from_touchpoint", "to_touchpoint"]


def session_touchpoints(staged: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every consenting actor's touchpoints with their session (all history)."""
    return reference.sessionize(reference.actor_touchpoints(staged))


def paths(
    sessions: pd.DataFrame,
    cutoff: pd.Timestamp | None,
    max_steps: int = 5,
    start_touchpoint: str | None = None,
) -> pd.DataFrame:
    """The paths mart from ``sessions`` (``session_touchpoints``) for one path start."""
    kept = sessions if cutoff is None else sessions[sessions["occurred_at"] <= cutoff]
    kept = kept.sort_values(["session_id", "occurred_at", "touchpoint_id"])
    path_start = start_touchpoint or SESSION_START
    rows = []
    for (session_id, actor_id), own in kept.groupby(["session_id", "actor_id"], sort=False):
        collapsed = [name for name, _ in itertools.groupby(own["touchpoint"])]
        if start_touchpoint is not None:
            if start_touchpoint not in collapsed:
                continue
            collapsed = collapsed[collapsed.index(start_touchpoint) :]
        for k in range(1, min(max_steps, len(collapsed)) + 1):
            to = collapsed[k] if k < len(collapsed) else SESSION_END
            rows.append((path_start, k, collapsed[k - 1], to, session_id, actor_id))
    frame = pd.DataFrame(rows, columns=[*KEYS, "session_id", "actor_id"])
    out = frame.groupby(KEYS).agg(
        sessions=("session_id", "nunique"), actors=("actor_id", "nunique")
    )
    out = out.reset_index()
    reached = out.groupby(["path_start", "step_index", "from_touchpoint"])["sessions"]
    out["share"] = out["sessions"] / reached.transform("sum")
    return out
