"""The activity marts (active_users_daily, stickiness) on the demo warehouse against an
independent pandas computation.

Every expected frame is computed from the raw demo files through tests/support/reference.py
(validate, actor_touchpoints, consenting_users, resolve_cutoff) and the written definitions,
with plain sets of actors per day: never from the SQL or its run-length counting. The
hand-worked cases are the dbt unit tests in models/**/_activity.yml (run by test_build.py).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import reference
from compare import assert_same_rows

BREAKDOWNS = ("acquisition_channel", "device_type")


@pytest.fixture(scope="module")
def staged(demo_validated):
    return demo_validated[0]


@pytest.fixture(scope="module")
def activity(staged):
    """(touchpoints up to the data cutoff by stitched actor, the cutoff, consenting users)."""
    cutoff = reference.resolve_cutoff(staged)
    actors = reference.actor_touchpoints(staged)
    kept = actors[actors["occurred_at"] <= cutoff].copy()
    kept["day"] = kept["occurred_at"].dt.date
    return kept, cutoff, reference.consenting_users(staged)


def actor_segments(kept: pd.DataFrame, users: pd.DataFrame) -> pd.DataFrame:
    """actor_id -> acquisition_channel, device_type. Users: their own (null -> '(unknown)');
    actors that never logged in: the channel of their first touchpoint with one, device
    '(unknown)'."""
    by_user = users.set_index("user_id")
    rows = []
    for actor, own in kept.sort_values(["occurred_at", "touchpoint_id"]).groupby("actor_id"):
        user = own["user_id"].iloc[0]
        if isinstance(user, str):
            channel = by_user.at[user, "acquisition_channel"]
            device = by_user.at[user, "device_type"]
        else:
            channels = own["channel"].dropna()
            channel = channels.iloc[0] if len(channels) else None
            device = None
        rows.append(
            {
                "actor_id": actor,
                "acquisition_channel": channel if isinstance(channel, str) else reference.UNKNOWN,
                "device_type": device if isinstance(device, str) else reference.UNKNOWN,
            }
        )
    return pd.DataFrame(rows).set_index("actor_id")


def expected_active_users(kept: pd.DataFrame, cutoff: pd.Timestamp, segments) -> pd.DataFrame:
    active = kept.groupby("day")["actor_id"].agg(set).to_dict()
    first_day = kept.groupby("actor_id")["day"].min()
    groups = {("all", "all"): set(segments.index)}
    for breakdown in BREAKDOWNS:
        for value, members in segments.groupby(breakdown).groups.items():
            groups[(breakdown, value)] = set(members)
    days = pd.date_range(min(active), cutoff.date(), freq="D").date
    rows = []
    for day in days:

        def trailing(n: int, day: dt.date = day) -> set[str]:
            out: set[str] = set()
            for back in range(n):
                out |= active.get(day - dt.timedelta(days=back), set())
            return out

        today, week, month = active.get(day, set()), trailing(7), trailing(28)
        new = set(first_day.index[first_day == day])
        for (breakdown, value), members in groups.items():
            mau = len(month & members)
            rows.append(
                {
                    "activity_date": day,
                    "breakdown": breakdown,
                    "breakdown_value": value,
                    "dau": len(today & members),
                    "wau": len(week & members),
                    "mau": mau,
                    "dau_over_mau": len(today & members) / mau if mau else None,
                    "new_actors": len(new & members),
                }
            )
    return pd.DataFrame(rows)


def test_active_users_daily_matches_reference(demo_warehouse, activity):
    kept, cutoff, users = activity
    segments = actor_segments(kept, users)
    expected = expected_active_users(kept, cutoff, segments)
    actual = demo_warehouse.df("select * from marts.active_users_daily")
    # the cases the definitions single out occur in the demo data
    anonymous = segments.index.str.startswith("anon:")
    assert (anonymous & (segments["acquisition_channel"] != reference.UNKNOWN)).any()
    assert (segments["acquisition_channel"] == reference.UNKNOWN).any()
    assert expected["activity_date"].max() == cutoff.date()
    assert (expected["dau"] == 0).any() and (expected["wau"] < expected["mau"]).any()
    assert_same_rows(actual, expected, keys=["activity_date", "breakdown", "breakdown_value"])


def _period_start(period_type: str, day: dt.date) -> dt.date:
    if period_type == "day":
        return day
    if period_type == "week":
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


def _next_period(period_type: str, start: dt.date) -> dt.date:
    if period_type == "week":
        return start + dt.timedelta(days=7)
    return (start + dt.timedelta(days=32)).replace(day=1)


def expected_stickiness(kept: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Complete periods only: the cutoff reaches the last second of the period's last day."""
    days = kept[["actor_id", "day"]].drop_duplicates()
    rows = []
    for period_type in ("week", "month"):
        starts = days["day"].map(lambda d, p=period_type: _period_start(p, d))
        per_actor = days.groupby([starts, days["actor_id"]]).size()
        for (start, _actor), days_active in per_actor.items():
            end = pd.Timestamp(_next_period(period_type, start))
            if cutoff >= end - pd.Timedelta(seconds=1):
                rows.append((period_type, start, days_active))
    frame = pd.DataFrame(rows, columns=["period_type", "period_start", "days_active"])
    return frame.groupby(list(frame.columns)).size().rename("actors").reset_index()


def test_stickiness_matches_reference(demo_warehouse, activity):
    kept, cutoff, _ = activity
    expected = expected_stickiness(kept, cutoff)
    actual = demo_warehouse.df("select * from marts.stickiness")
    weeks = expected[expected["period_type"] == "week"]
    # the demo data reaches the extremes, and the cutoff's own week and month are left out
    assert weeks["days_active"].max() == 7 and (expected["days_active"] == 1).any()
    assert weeks["period_start"].max() < _period_start("week", cutoff.date())
    assert expected.loc[expected["period_type"] == "month", "period_start"].max() < (
        _period_start("month", cutoff.date())
    )
    assert_same_rows(actual, expected, keys=["period_type", "period_start", "days_active"])


FUNNEL_ENTRY = "product_view"  # the first step of the first configured funnel (dbt_project.yml)


def expected_activity_retention(kept: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Per definition, cohort type, period type and cohort: actors with a start event in the
    cohort (first_time: their first such period; recurring: any), and of them, those with a
    return event k periods later, for every k up to the cutoff's own period."""
    definitions = {"any_touchpoint": kept, "funnel_entry": kept[kept["touchpoint"] == FUNNEL_ENTRY]}
    units = {"day": 1, "week": 7}
    rows = []
    for name, events in definitions.items():
        for period_type, days in units.items():
            starts_of = events["day"].map(lambda d, p=period_type: _period_start(p, d))
            periods = pd.DataFrame({"actor_id": events["actor_id"], "period": starts_of})
            active = periods.drop_duplicates().groupby("actor_id")["period"].agg(set)
            actors_in = periods.drop_duplicates().groupby("period")["actor_id"].agg(set)
            last = _period_start(period_type, cutoff.date())
            first_period = active.map(min)
            for cohort_type in ("first_time", "recurring"):
                cohorts: dict[dt.date, set[str]] = {}
                for actor, own in active.items():
                    chosen = [first_period[actor]] if cohort_type == "first_time" else own
                    for period in chosen:
                        cohorts.setdefault(period, set()).add(actor)
                for cohort, members in cohorts.items():
                    k, period = 0, cohort
                    while period <= last:
                        retained = len(members & actors_in.get(period, set()))
                        rows.append(
                            (name, cohort_type, period_type, cohort, k, len(members), retained)
                        )
                        k, period = k + 1, period + dt.timedelta(days=days)
    columns = ["definition", "cohort_type", "period_type", "cohort_period", "periods_since_start"]
    frame = pd.DataFrame(rows, columns=[*columns, "cohort_size", "retained_actors"])
    frame["retention_rate"] = frame["retained_actors"] / frame["cohort_size"]
    return frame


def test_activity_retention_matches_reference(demo_warehouse, activity):
    kept, cutoff, _ = activity
    expected = expected_activity_retention(kept, cutoff)
    actual = demo_warehouse.df("select * from marts.activity_retention")
    # the open period of the cutoff is in the grid, and some cells are zero
    open_week = _period_start("week", cutoff.date())
    assert (expected["cohort_period"] == open_week).any()
    assert (expected["retained_actors"] == 0).any()
    keys = ["definition", "cohort_type", "period_type", "cohort_period", "periods_since_start"]
    assert_same_rows(actual, expected, keys=keys)
