"""marts.paths on the demo warehouse against an independent pandas computation.

The expected frame is computed from the raw demo files through tests/support/paths_reference.py
(reference.actor_touchpoints, reference.sessionize, the written definition of a path), never
from the SQL or its per-session fact. The hand-worked cases: cohorts_small in
tests/scenarios/test_hand_worked_fixtures.py and the dbt unit tests in models/**/_journeys.yml.
"""

from __future__ import annotations

import paths_reference
import pytest

import reference
from compare import assert_same_rows


@pytest.fixture(scope="module")
def expected(demo_validated):
    staged = demo_validated[0]
    sessions = paths_reference.session_touchpoints(staged)
    return sessions, paths_reference.paths(sessions, reference.resolve_cutoff(staged))


def test_paths_match_reference(demo_warehouse, expected):
    sessions, frame = expected
    actual = demo_warehouse.df("select * from marts.paths")
    # the demo data has the cases the definition singles out: repeated consecutive touchpoints
    # (collapsed), sessions longer than path_max_steps + 1 steps, and drop-offs at every step
    repeats = sessions.sort_values(["session_id", "occurred_at", "touchpoint_id"])
    same = repeats["touchpoint"].eq(repeats.groupby("session_id")["touchpoint"].shift())
    assert same.any()
    assert set(frame["step_index"]) == {1, 2, 3, 4, 5}
    last = frame[frame["step_index"] == 5]
    assert (last["to_touchpoint"] != paths_reference.SESSION_END).any()
    ends = frame[frame["to_touchpoint"] == paths_reference.SESSION_END]
    assert set(ends["step_index"]) == {1, 2, 3, 4, 5}
    assert (frame["actors"] < frame["sessions"]).any()
    assert_same_rows(actual, frame, keys=paths_reference.KEYS)
