"""Identity stitching and sessions on the demo data, against the independent reference."""

from __future__ import annotations

import pandas as pd
import pytest

import reference
from compare import assert_same_rows


@pytest.fixture(scope="module")
def staged(demo_validated):
    return demo_validated[0]


@pytest.fixture(scope="module")
def sessions(staged):
    return reference.sessionize(reference.actor_touchpoints(staged))


def test_actors_match_reference(demo_warehouse, staged):
    expected = reference.actor_touchpoints(staged)[["touchpoint_id", "actor_id", "user_id"]]
    actual = demo_warehouse.df(
        "select touchpoint_id, actor_id, user_id from intermediate.int_touchpoints"
    )
    assert (expected["actor_id"].str.startswith("anon:")).sum() > 100, "demo has anonymous actors"
    assert_same_rows(actual, expected, keys=["touchpoint_id"])


def test_pre_login_touchpoints_are_stitched(demo_warehouse):
    stitched = demo_warehouse.df(
        "select count(*) as n from intermediate.int_touchpoints where is_stitched"
    )["n"].iloc[0]
    assert stitched > 1000


def test_session_of_every_touchpoint_matches_reference(demo_warehouse, sessions):
    expected = sessions[["touchpoint_id", "session_id", "session_number"]]
    actual = demo_warehouse.df(
        "select touchpoint_id, actor_id || '#' || session_number as session_id, session_number "
        "from intermediate.int_touchpoints"
    )
    assert_same_rows(actual, expected, keys=["touchpoint_id"])


def test_session_attributes_match_reference(demo_warehouse, sessions):
    ordered = sessions.sort_values(["session_id", "occurred_at", "touchpoint_id"])
    grouped = ordered.groupby("session_id", sort=True)
    expected = pd.DataFrame(
        {
            "started_at": grouped["occurred_at"].min(),
            "ended_at": grouped["occurred_at"].max(),
            "touchpoint_count": grouped.size(),
            "engaged_ms": grouped["dwell_ms"].sum(min_count=1).fillna(0),
            "is_converted": grouped["touchpoint"].agg(lambda t: (t == "payment_success").any()),
            "start_channel": grouped["channel"].first().where(grouped["channel"].first().notna()),
            "landing_page": grouped["page"].agg(lambda p: p.iloc[0]),
        }
    ).reset_index()
    expected["duration_seconds"] = (
        expected["ended_at"] - expected["started_at"]
    ).dt.total_seconds()
    # first() skips nulls; the landing channel is the first touchpoint's, null or not
    expected["start_channel"] = grouped["channel"].agg(lambda c: c.iloc[0]).to_numpy()
    actual = demo_warehouse.df("select * from intermediate.int_sessions")
    assert len(actual) > 10_000
    assert_same_rows(actual, expected, keys=["session_id"])
