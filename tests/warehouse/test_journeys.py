"""The journey marts (touchpoint_value, touchpoint_value_overall, context_conversion,
user_lifecycle) on the demo warehouse against an independent pandas computation.

Every expected frame below is computed from the raw demo files through tests/support/reference.py
(validate, actor_touchpoints, sessionize) and the written definitions, never from the SQL.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import reference
from compare import assert_same_rows

CONVERSION = "payment_success"
PAYMENT_INTENTS = ("checkout_start", "payment_submit")
WINDOW = pd.Timedelta(seconds=reference.DEFAULT_FUNNEL_WINDOW_SECONDS)
STATUSES = ("new", "returning", "resurrecting", "dormant")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@pytest.fixture(scope="module")
def staged(demo_validated):
    return demo_validated[0]


@pytest.fixture(scope="module")
def actors(staged):
    return reference.actor_touchpoints(staged)


# ---------------------------------------------------------------------------------------------
# touchpoint_value
# ---------------------------------------------------------------------------------------------


def _abandoned_intents(actors: pd.DataFrame) -> pd.Series:
    """For each payment-intent touchpoint (index of ``actors``): True when no conversion of the
    same actor falls in [t, t + window]."""
    conversions = {
        actor: np.sort(times.to_numpy())
        for actor, times in actors.loc[actors["touchpoint"] == CONVERSION].groupby("actor_id")[
            "occurred_at"
        ]
    }
    intents = actors[actors["touchpoint"].isin(PAYMENT_INTENTS)]
    abandoned = {}
    columns = (intents.index, intents["actor_id"], intents["occurred_at"])
    for index, actor, t in zip(*columns, strict=True):
        times = conversions.get(actor, np.array([], dtype="datetime64[us]"))
        position = np.searchsorted(times, np.datetime64(t), side="left")
        followed = position < len(times) and times[position] <= np.datetime64(t + WINDOW)
        abandoned[index] = not followed
    return pd.Series(abandoned, dtype=bool)


def _touchpoint_value(actors: pd.DataFrame, period: pd.Series) -> pd.DataFrame:
    """Touchpoint value per (period, touchpoint), every touchpoint in every period."""
    frame = actors.assign(period=period)
    frame["abandoned_intent"] = _abandoned_intents(actors).reindex(frame.index, fill_value=False)
    frame["conversion"] = frame["touchpoint"] == CONVERSION
    status = frame.groupby(["period", "actor_id"]).agg(
        converter=("conversion", "any"), abandoned_intent=("abandoned_intent", "any")
    )
    status["abandoner"] = ~status["converter"] & status["abandoned_intent"]
    rows = []
    for period_value, in_period in frame.groupby("period"):
        own = status.loc[period_value]
        active = len(own)
        converters = set(own.index[own["converter"]])
        abandoners = set(own.index[own["abandoner"]])
        for touchpoint in sorted(actors["touchpoint"].unique()):
            rows_of = in_period[in_period["touchpoint"] == touchpoint]
            reached = set(rows_of["actor_id"])
            c_reached = len(reached & converters)
            a_reached = len(reached & abandoners)
            share_c = c_reached / len(converters) if converters else np.nan
            share_a = a_reached / len(abandoners) if abandoners else np.nan
            dwell = rows_of["dwell_ms"].dropna().astype("float64")
            without = active - len(reached)
            rows.append(
                {
                    "period": period_value,
                    "touchpoint": touchpoint,
                    "actors_reached": len(reached),
                    "converters_reached": c_reached,
                    "abandoners_reached": a_reached,
                    "share_of_converters": share_c,
                    "share_of_abandoners": share_a,
                    "abandoner_lift": share_a / share_c if share_c else np.nan,
                    "median_dwell_ms": float(dwell.median()) if len(dwell) else np.nan,
                    "conversion_rate_with": c_reached / len(reached) if reached else np.nan,
                    "conversion_rate_without": (
                        (len(converters) - c_reached) / without if without else np.nan
                    ),
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def expected_touchpoint_value(actors):
    months = actors["occurred_at"].map(lambda t: dt.date(t.year, t.month, 1))
    return _touchpoint_value(actors, months).rename(columns={"period": "month"})


@pytest.fixture(scope="module")
def expected_touchpoint_value_overall(actors):
    overall = pd.Series("all", index=actors.index)
    return _touchpoint_value(actors, overall).drop(columns="period")


def test_touchpoint_value_matches_reference(demo_warehouse, expected_touchpoint_value):
    actual = demo_warehouse.df("select * from marts.touchpoint_value")
    assert len(expected_touchpoint_value) >= 12 * 10
    assert_same_rows(actual, expected_touchpoint_value, keys=["touchpoint", "month"])


def test_touchpoint_value_overall_matches_reference(
    demo_warehouse, expected_touchpoint_value_overall
):
    actual = demo_warehouse.df("select * from marts.touchpoint_value_overall")
    assert len(expected_touchpoint_value_overall) >= 10
    assert_same_rows(actual, expected_touchpoint_value_overall, keys=["touchpoint"])


def test_view_delivery_info_is_the_abandoners_touchpoint(demo_warehouse):
    """The seeded insight: abandoners look at delivery information far more than converters."""
    overall = demo_warehouse.df(
        "select touchpoint, abandoner_lift from marts.touchpoint_value_overall"
        " order by abandoner_lift desc nulls last"
    )
    assert overall["touchpoint"].iloc[0] == "view_delivery_info"
    assert overall["abandoner_lift"].iloc[0] > 2
    monthly = demo_warehouse.df(
        "select month, abandoner_lift from marts.touchpoint_value"
        " where touchpoint = 'view_delivery_info'"
    )
    assert len(monthly) == 12
    assert (monthly["abandoner_lift"] > 2).all()


# ---------------------------------------------------------------------------------------------
# context_conversion
# ---------------------------------------------------------------------------------------------


def test_context_conversion_matches_reference_in_utc(demo_warehouse, staged, actors):
    touchpoints = reference.sessionize(actors).sort_values(
        ["actor_id", "occurred_at", "touchpoint_id"]
    )
    sessions = touchpoints.groupby("session_id", sort=False).agg(
        user_id=("user_id", "first"),
        started_at=("occurred_at", "first"),
        channel=("channel", lambda channels: channels.iloc[0]),  # "first" would skip nulls
        converted=("touchpoint", lambda names: (names == CONVERSION).any()),
    )
    devices = reference.consenting_users(staged).set_index("user_id")["device_type"]

    def device(user: object) -> str:
        if not isinstance(user, str):
            return reference.ANONYMOUS
        known = devices.get(user)
        return known if isinstance(known, str) else reference.UNKNOWN

    sessions["device_type"] = sessions["user_id"].map(device)
    sessions["channel"] = sessions["channel"].fillna("(direct)")
    sessions["hour_of_day"] = sessions["started_at"].dt.hour
    sessions["weekday"] = sessions["started_at"].dt.dayofweek + 1
    expected = (
        sessions.groupby(["hour_of_day", "weekday", "device_type", "channel"])
        .agg(sessions=("converted", "size"), converting_sessions=("converted", "sum"))
        .reset_index()
    )
    expected["weekday_name"] = [WEEKDAY_NAMES[d - 1] for d in expected["weekday"]]
    expected["conversion_rate"] = expected["converting_sessions"] / expected["sessions"]

    actual = demo_warehouse.df("select * from marts.context_conversion")
    assert expected["sessions"].sum() > 10_000
    assert set(expected["device_type"]) >= {reference.ANONYMOUS, reference.UNKNOWN}
    assert_same_rows(actual, expected, keys=["hour_of_day", "weekday", "device_type", "channel"])


# ---------------------------------------------------------------------------------------------
# user_lifecycle
# ---------------------------------------------------------------------------------------------


def _period_start(period_type: str, t: pd.Timestamp) -> dt.date:
    day = t.date()
    if period_type == "week":
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


def _next_period(period_type: str, start: dt.date) -> dt.date:
    if period_type == "week":
        return start + dt.timedelta(days=7)
    return (start + dt.timedelta(days=32)).replace(day=1)


@pytest.fixture(scope="module")
def active_sets(staged, actors) -> dict[str, dict[dt.date, set[str]]]:
    """period_type -> every period from the first to the last active one -> active actors
    (touchpoints up to the data cutoff)."""
    cutoff = reference.resolve_cutoff(staged)
    kept = actors[actors["occurred_at"] <= cutoff]
    out: dict[str, dict[dt.date, set[str]]] = {}
    for period_type in ("week", "month"):
        starts = kept["occurred_at"].map(lambda t, p=period_type: _period_start(p, t))
        by_period = kept.groupby(starts)["actor_id"].agg(set).to_dict()
        period, last = min(by_period), max(by_period)
        out[period_type] = {}
        while period <= last:
            out[period_type][period] = by_period.get(period, set())
            period = _next_period(period_type, period)
    return out


def test_user_lifecycle_matches_reference(demo_warehouse, active_sets):
    rows = []
    for period_type, periods in active_sets.items():
        seen: set[str] = set()
        previous: set[str] = set()
        for start, active in periods.items():
            counts = {
                "new": len(active - seen),
                "returning": len(active & previous),
                "resurrecting": len((active & seen) - previous),
                "dormant": -len(previous - active),
            }
            rows += [
                {"period_type": period_type, "period_start": start, "status": s, "actors": n}
                for s, n in counts.items()
            ]
            seen |= active
            previous = active
    expected = pd.DataFrame(rows)
    actual = demo_warehouse.df("select * from marts.user_lifecycle")
    assert len(expected) == 4 * (53 + 12)
    assert_same_rows(actual, expected, keys=["period_type", "period_start", "status"])


def test_user_lifecycle_invariants(demo_warehouse, active_sets):
    """new + returning + resurrecting = active(p); -dormant(p) = active(p-1) - returning(p)."""
    actual = demo_warehouse.df("select * from marts.user_lifecycle")
    actual["period_start"] = pd.to_datetime(actual["period_start"]).dt.date
    wide = actual.pivot_table(
        index=["period_type", "period_start"], columns="status", values="actors", aggfunc="sum"
    )
    assert list(wide.columns.sort_values()) == sorted(STATUSES)
    for period_type, periods in active_sets.items():
        previous_active = 0
        for start, active in periods.items():
            row = wide.loc[(period_type, start)]
            assert row["new"] + row["returning"] + row["resurrecting"] == len(active)
            assert -row["dormant"] == previous_active - row["returning"]
            previous_active = len(active)
